import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { FromWorker, ToWorker, WorkerInit } from './trace-worker-protocol.js';

/**
 * The compiled worker script. From dist/ it sits beside this file. When this file runs as TypeScript
 * (vitest transforms src/*.ts, but a worker thread started on a .ts path would get no transform), the
 * compiled dist/ copy is used: `npm test` builds first. Undefined when there is none: record in-thread.
 */
export function traceWorkerScript(): URL | undefined {
  const here = import.meta.url;
  const url = here.endsWith('.ts')
    ? new URL(here.replace(/\/src\/gateway\/[^/]+\.ts$/, '/dist/gateway/trace-worker.js'))
    : new URL('./trace-worker.js', here);
  return url.href !== here && existsSync(fileURLToPath(url)) ? url : undefined;
}

/**
 * A database URL a second connection can open and reach the same data with: not `:memory:` (private
 * to its connection), and for SQLite only an existing file (the store this process opened created it;
 * a missing one is some other database, and opening it would create it).
 */
export function shareableDatabaseUrl(url: string): boolean {
  if (/^postgres(ql)?:\/\//.test(url)) return true;
  const path = url.startsWith('sqlite:') ? url.slice('sqlite:'.length) : url;
  return path !== '' && !path.includes(':memory:') && existsSync(path);
}

interface Waiter {
  resolve(msg: FromWorker): void;
  reject(error: Error): void;
}

/** Main-thread handle on the trace worker: one promise per request, rejected if the thread dies. */
export class TraceWorker {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, Waiter>();
  private seq = 0;
  private exited = false;
  /** Resolves once the worker's store is open; rejects if it could not open it or the thread died. */
  readonly ready: Promise<void>;
  /** Called once if the thread dies while it was not asked to close. */
  onCrash: (error: Error) => void = () => undefined;
  private closing = false;

  constructor(script: URL, init: WorkerInit) {
    this.worker = new Worker(script, { workerData: init });
    // Never keeps the process alive by itself: shutdown drains and closes it explicitly.
    this.worker.unref();
    let markReady: () => void = () => undefined;
    let failOpen: (error: Error) => void = () => undefined;
    this.ready = new Promise((resolve, reject) => {
      markReady = resolve;
      failOpen = reject;
    });
    this.ready.catch(() => undefined);
    this.worker.on('message', (msg: FromWorker) => {
      if (msg.type === 'ready') markReady();
      else if (msg.type === 'open-failed') failOpen(new Error(msg.error));
      else {
        const waiter = this.waiting.get(msg.seq);
        this.waiting.delete(msg.seq);
        waiter?.resolve(msg);
      }
    });
    const die = (error: Error) => {
      if (this.exited) return;
      this.exited = true;
      failOpen(error);
      for (const w of this.waiting.values()) w.reject(error);
      this.waiting.clear();
      if (!this.closing) this.onCrash(error);
    };
    this.worker.on('error', die);
    this.worker.on('exit', (code) => die(new Error(`trace worker exited (code ${code})`)));
  }

  /**
   * Writes one batch; resolves with how many entries were left out as undecodable, rejects with the
   * store's error, or if the thread dies meanwhile.
   */
  async write(records: readonly string[]): Promise<number> {
    const seq = ++this.seq;
    const answer = await this.ask({ type: 'write', seq, records }, seq);
    if (answer.type !== 'done') return 0;
    if (answer.error !== null) throw new Error(answer.error);
    return answer.invalid;
  }

  /** Closes the worker's store and ends the thread; terminates it if that takes longer than `ms`. */
  async close(ms = 5_000): Promise<void> {
    if (this.exited) return;
    this.closing = true;
    const exited = new Promise((resolve) => this.worker.once('exit', resolve));
    this.worker.postMessage({ type: 'close' } satisfies ToWorker);
    const timer = setTimeout(() => void this.worker.terminate(), ms);
    await exited;
    clearTimeout(timer);
  }

  private ask(msg: ToWorker, seq: number): Promise<FromWorker> {
    if (this.exited) return Promise.reject(new Error('trace worker is not running'));
    return new Promise((resolve, reject) => {
      this.waiting.set(seq, { resolve, reject });
      this.worker.postMessage(msg);
    });
  }
}
