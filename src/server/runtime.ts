import pino, { type Logger } from 'pino';
import type { FirebreakConfig } from '../core/config.js';
import type { OpsContext } from '../ops/context.js';
import { openStore } from '../store/open-store.js';
import type { Store } from '../store/port.js';
import { loadConfig } from './config-load.js';

/** Config + store + operations context, for CLI commands that work in-process on the store. */
export interface Runtime {
  readonly config: FirebreakConfig;
  readonly source: string;
  readonly store: Store;
  readonly ops: OpsContext;
}

export async function openRuntime(configFile: string | undefined): Promise<Runtime> {
  const { config, source } = loadConfig(configFile);
  const store = await openStore(config.database.url);
  return { config, source, store, ops: { config, store, now: Date.now } };
}

/** Structured JSON logs; credentials in headers never reach them. */
export function createLogger(level: FirebreakConfig['server']['logLevel']): Logger {
  return pino({
    level,
    redact: {
      paths: ['req.headers.authorization', 'req.headers["x-api-key"]', '*.apiKey', '*.key', '*.token'],
      censor: '[REDACTED]',
    },
  });
}
