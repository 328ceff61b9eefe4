import type { FirebreakConfig } from './config.js';

/**
 * What model names mean, from the configuration alone (the gateway's router resolves the same names to
 * provider objects). Used to validate releases and flags before they are accepted.
 */
export function modelNames(config: FirebreakConfig): string[] {
  const names = config.models.map((m) => m.name);
  for (const p of Object.values(config.providers)) if (p.type === 'simulator') names.push(...p.models);
  return [...new Set(names)];
}

export function modelKnown(config: FirebreakConfig, name: string): boolean {
  if (modelNames(config).includes(name)) return true;
  const slash = name.indexOf('/');
  return slash > 0 && slash < name.length - 1 && name.slice(0, slash) in config.providers;
}

/** The family a `model:<family>` flag names: the configured `family`, else the model name itself. */
export function modelFamily(config: FirebreakConfig, name: string): string {
  return config.models.find((m) => m.name === name)?.family ?? name;
}

export function modelFamilies(config: FirebreakConfig): string[] {
  return [...new Set(modelNames(config).map((n) => modelFamily(config, n)))];
}
