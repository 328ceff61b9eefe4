// The built guards with their default settings, for the check-set benches (system-prompt-check.js,
// unseen-check.js): from dist/, with a clear error when it has not been built.
const dist = new URL('../dist/', import.meta.url);
const { GuardSet } = await import(new URL('core/guards/engine.js', dist).href).catch((error) => {
  throw new Error(`cannot load dist/ (run \`npm run build\` first): ${error.message}`);
});
const { defaultGuardSettings } = await import(new URL('core/guards/guard-settings.js', dist).href);

export const settings = defaultGuardSettings;
export const guards = new GuardSet(settings);
