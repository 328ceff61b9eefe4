import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { bootstrapCredentials } from '../ops/credentials.js';
import { closeUpstreamPools } from '../providers/upstream-http.js';
import { closeOpaPools } from '../policy/opa.js';
import { buildApp, type ServerRole } from './app.js';
import { loadConfig } from './config-load.js';
import { openStore } from '../store/open-store.js';
import { createLogger } from './runtime.js';

export interface ServeOptions {
  readonly configFile?: string;
  readonly role: ServerRole;
  readonly port?: number;
  readonly host?: string;
  /** Where first-run credentials are written (default: beside the SQLite file, or .firebreak/). */
  readonly credentialsFile?: string;
}

/** `firebreak serve`: listen until SIGTERM/SIGINT, then stop accepting, finish in-flight calls, flush traces. */
export async function serve(options: ServeOptions): Promise<void> {
  const { config, source } = loadConfig(options.configFile);
  if (options.port !== undefined) config.server.port = options.port;
  if (options.host !== undefined) config.server.host = options.host;
  const log = createLogger(config.server.logLevel);
  if (!config.recording.redact)
    log.warn('recording.redact is off: stored traces keep secrets and personal data as sent');

  const store = await openStore(config.database.url);
  // Before the app loads its credential index, so the printed key works on the first request.
  const created = await bootstrapCredentials({ config, store, now: Date.now });
  const fb = await buildApp(config, { store, logger: log, role: options.role });
  const address = await fb.app.listen({ port: config.server.port, host: config.server.host });
  log.info(
    { address, role: options.role, config: source, store: store.capabilities.dialect },
    'firebreak listening',
  );

  if (created) {
    const file =
      options.credentialsFile ??
      join(
        config.database.url.startsWith('sqlite:') ? dirname(config.database.url.slice(7)) : '.firebreak',
        'credentials',
      );
    mkdirSync(dirname(file), { recursive: true });
    const text =
      `# Created on first start; only their SHA-256 digests are in the database. Delete this file once saved.\n` +
      `export FIREBREAK_GATEWAY_KEY=${created.gatewayKey.secret}   # app ${created.gatewayKey.app}, environment ${created.gatewayKey.env}\n` +
      `export FIREBREAK_TOKEN=${created.adminToken.secret}   # API token, role admin\n`;
    writeFileSync(file, text, { mode: 0o600 });
    chmodSync(file, 0o600);
    process.stdout.write(
      `\n  Firebreak is running at ${address}\n\n` +
        `  Gateway key (app ${created.gatewayKey.app}, env ${created.gatewayKey.env}): ${created.gatewayKey.secret}\n` +
        `  Admin API token:                         ${created.adminToken.secret}\n\n` +
        `  Shown once; also saved to ${file} (mode 600).\n\n`,
    );
  } else {
    process.stdout.write(
      `\n  Firebreak is running at ${address} (keys: firebreak.yaml, or see .firebreak/credentials from the first start)\n\n`,
    );
  }

  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'shutting down: finishing in-flight requests and flushing traces');
      void fb
        .close(10_000)
        .then(async ({ unflushed }) => {
          if (unflushed > 0) log.error({ unflushed }, 'traces could not be written before shutdown');
          else log.info({ written: fb.recorder.stats().written }, 'all traces flushed');
          await closeUpstreamPools();
          await closeOpaPools();
          await store.close();
        })
        .finally(resolve);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
