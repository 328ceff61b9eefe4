/**
 * Firebreak as the benchmark runs it: built from dist/, recording ON into a SQLite file, one gateway key
 * from the config, an `openai-compatible` provider pointing at the fake upstream.
 * Usage: node bench/firebreak-server.js <upstream-url> <sqlite-file> <gateway-key>
 * (normally started by bench/gateway-overhead.js).
 */
import { buildApp } from '../dist/server/app.js';
import { parseConfig } from '../dist/server/config-load.js';
import { createLogger } from '../dist/server/runtime.js';
import { openStore } from '../dist/store/open-store.js';
import { closeUpstreamPools } from '../dist/providers/upstream-http.js';
import { serveIpc } from './child-ipc.js';

const [upstreamUrl, sqliteFile, gatewayKey] = process.argv.slice(2);
if (!upstreamUrl || !sqliteFile || !gatewayKey)
  throw new Error('usage: node bench/firebreak-server.js <upstream-url> <sqlite-file> <gateway-key>');

const yaml = `
server: { host: 127.0.0.1, port: 0, logLevel: silent }
database: { url: 'sqlite:${sqliteFile}' }
providers:
  upstream:
    type: openai-compatible
    baseUrl: ${upstreamUrl}/v1
models:
  - { name: bench-model, provider: upstream }
apps:
  bench: { environments: [prod] }
keys:
  - { key: '${gatewayKey}', app: bench, env: prod }
`;
// An empty environment: FIREBREAK_* variables of the shell must not change what is measured.
const config = parseConfig(yaml, 'bench config', {});
const store = await openStore(config.database.url);
const fb = await buildApp(config, { store, logger: createLogger(config.server.logLevel) });
await fb.app.listen({ port: config.server.port, host: config.server.host });
const address = fb.app.server.address();

serveIpc(address.port, {
  extra: () => ({ recorder: { ...fb.recorder.stats(), thread: fb.recorder.thread } }),
  stop: async () => {
    await fb.close(10_000);
    await closeUpstreamPools();
    await store.close();
  },
});
