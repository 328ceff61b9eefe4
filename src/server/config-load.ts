import { existsSync, readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { configSchema, type FirebreakConfig } from '../core/config.js';
import { formatPath } from '../core/validation.js';

/** Thrown for any problem with firebreak.yaml or the environment; the CLI prints the message alone. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export const DEFAULT_CONFIG_FILE = 'firebreak.yaml';

/** `${VAR}` and `${VAR:-default}` in string values, resolved from the environment. */
function interpolate(value: unknown, env: NodeJS.ProcessEnv, path: string[]): unknown {
  if (typeof value === 'string')
    return value.replace(
      /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g,
      (_m, name: string, fallback?: string) => {
        const v = env[name];
        if (v !== undefined && v !== '') return v;
        if (fallback !== undefined) return fallback;
        throw new ConfigError(`${formatPath(path)}: environment variable ${name} is not set`);
      },
    );
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, env, [...path, String(i)]));
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v, env, [...path, k])]));
  return value;
}

export function parseConfig(
  text: string,
  source: string,
  env: NodeJS.ProcessEnv = process.env,
): FirebreakConfig {
  let raw: unknown;
  try {
    raw = parse(text, { prettyErrors: true }) ?? {};
  } catch (error) {
    throw new ConfigError(
      `${source}: not valid YAML: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const result = configSchema.safeParse(interpolate(raw, env, []));
  if (!result.success) {
    const lines = result.error.issues
      .slice(0, 10)
      .map((i) => `  ${formatPath(i.path) || '(top level)'}: ${i.message}`);
    throw new ConfigError(`${source} is invalid:\n${lines.join('\n')}`);
  }
  const cfg = result.data;
  // Environment variables win over the file, so one file serves every replica.
  const url = env['FIREBREAK_DATABASE_URL'];
  if (url) cfg.database.url = url;
  const port = env['FIREBREAK_PORT'];
  if (port) {
    const n = Number(port);
    if (!Number.isInteger(n) || n < 0 || n > 65535)
      throw new ConfigError(`FIREBREAK_PORT: "${port}" is not a port number`);
    cfg.server.port = n;
  }
  if (env['FIREBREAK_HOST']) cfg.server.host = env['FIREBREAK_HOST'];
  const level = env['FIREBREAK_LOG_LEVEL'];
  if (level) {
    const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
    const found = levels.find((l) => l === level);
    if (!found) throw new ConfigError(`FIREBREAK_LOG_LEVEL: "${level}" is not one of ${levels.join(', ')}`);
    cfg.server.logLevel = found;
  }
  return cfg;
}

/** The built-in configuration when there is no firebreak.yaml: one demo app on the simulator. */
export const BUILT_IN_CONFIG = `
providers:
  simulator:
    type: simulator
    models: [sim-1]
apps:
  demo:
    environments: [dev]
`;

export function loadConfig(
  file: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): { config: FirebreakConfig; source: string } {
  const path = file ?? env['FIREBREAK_CONFIG'] ?? DEFAULT_CONFIG_FILE;
  if (!existsSync(path)) {
    if (file !== undefined || env['FIREBREAK_CONFIG'] !== undefined)
      throw new ConfigError(`config file ${path} does not exist`);
    return {
      config: parseConfig(BUILT_IN_CONFIG, 'built-in configuration', env),
      source: 'built-in configuration',
    };
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  return { config: parseConfig(text, path, env), source: path };
}
