/**
 * Messages between the recorder (main thread) and the trace worker (gateway/trace-worker.ts). The
 * worker is a stateless executor of one request at a time: buffering, retries, backoff and counters
 * stay in the recorder, so a crashed worker loses nothing the recorder has not seen acknowledged.
 */
export interface WorkerInit {
  readonly url: string;
  readonly redact: boolean;
}

export type ToWorker =
  /** Decode (each record is its JSON text), redact, map to rows and insert (idempotently); answered by `done`. */
  | { readonly type: 'write'; readonly seq: number; readonly records: readonly string[] }
  /** Close the store and end the thread. */
  | { readonly type: 'close' };

export type FromWorker =
  | { readonly type: 'ready' }
  | { readonly type: 'open-failed'; readonly error: string }
  /** `invalid`: entries left out because they could not be decoded (see decodeBatch). */
  | { readonly type: 'done'; readonly seq: number; readonly error: string | null; readonly invalid: number };
