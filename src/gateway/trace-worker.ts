import { parentPort, workerData } from 'node:worker_threads';
import { decodeBatch } from './trace-codec.js';
import { openStore } from '../store/open-store.js';
import type { Store } from '../store/port.js';
import type { FromWorker, ToWorker, WorkerInit } from './trace-worker-protocol.js';

/**
 * The trace worker thread: owns its own store connection and does the CPU-heavy part of recording
 * (decoding, redaction, row mapping, the synchronous better-sqlite3 insert) on the core the
 * gateway's event loop is not using. Started by TraceWorker (trace-worker-client.ts) from dist/.
 */
const port = parentPort;
if (!port) throw new Error('trace-worker.js runs as a worker thread only');
const init = workerData as WorkerInit;
const post = (msg: FromWorker) => port.postMessage(msg);
const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

let store: Store | undefined;
try {
  store = await openStore(init.url);
  post({ type: 'ready' });
} catch (error) {
  post({ type: 'open-failed', error: message(error) });
  port.close();
}

if (store) {
  const s = store;
  port.on('message', (msg: ToWorker) => {
    switch (msg.type) {
      case 'write':
        Promise.resolve(msg.records)
          .then(async (entries) => {
            const { rows, marks, invalid } = decodeBatch(entries, init.redact);
            await s.traces.insertRows(rows, marks);
            return invalid;
          })
          .then(
            (invalid) => post({ type: 'done', seq: msg.seq, error: null, invalid }),
            (error: unknown) => post({ type: 'done', seq: msg.seq, error: message(error), invalid: 0 }),
          );
        break;
      case 'close':
        void s.close().finally(() => port.close());
        break;
    }
  });
}
