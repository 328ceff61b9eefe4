import type { TraceRecord } from '../core/trace.js';
import { decodeBatch, encodeTrace } from './trace-codec.js';
import type { TraceStore } from '../store/port.js';
import { shareableDatabaseUrl, traceWorkerScript, TraceWorker } from './trace-worker-client.js';

export interface RecorderOptions {
  readonly bufferLimit: number;
  readonly batchSize: number;
  readonly flushIntervalMs: number;
  readonly redact: boolean;
}

export interface RecorderStats {
  readonly pending: number;
  readonly written: number;
  readonly dropped: number;
  readonly storeHealthy: boolean;
  readonly lastError: string | null;
}

interface Log {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

/**
 * Writes traces in batches off the request path. `record()` only appends to a bounded in-memory buffer.
 * When the store fails, the batch stays at the head of the buffer and is retried with backoff, so traces
 * survive store outages; only when the buffer is full are new traces dropped, and counted.
 *
 * Where a batch is written: given the URL the store was opened from, a worker thread with its own
 * connection redacts, maps and inserts it (trace-worker.ts), so that CPU is spent off the event loop;
 * it takes over once its store is open. `:memory:` SQLite, a missing worker script, a worker that cannot
 * open the store or that dies: the in-thread path, through `store`, with the same buffer, retries and
 * counters.
 */
export class TraceRecorder {
  /**
   * Pending traces, each as its JSON text: encoded once when recorded, a trace is one flat string while
   * it waits (instead of an object graph every young-generation GC copies until it is written) and goes
   * to the worker thread as it is (cloning strings is a copy; cloning the graphs was a visible share of
   * the event loop).
   */
  private buffer: string[] = [];
  private written = 0;
  private dropped = 0;
  private failures = 0;
  private lastError: string | null = null;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private stopped = false;
  /** Set while a worker is starting; `useWorker` once its store is open. */
  private worker: TraceWorker | undefined;
  private useWorker = false;

  constructor(
    private readonly store: TraceStore,
    private readonly options: RecorderOptions,
    private readonly log: Log,
    /** The URL `store` was opened from; enables the worker thread. */
    private readonly databaseUrl?: string,
  ) {}

  record(trace: TraceRecord): void {
    if (this.buffer.length >= this.options.bufferLimit) {
      this.dropped += 1;
      if (this.dropped === 1 || this.dropped % 1000 === 0)
        this.log.warn(
          { dropped: this.dropped, bufferLimit: this.options.bufferLimit },
          'trace buffer full: dropping traces',
        );
      return;
    }
    let json: string;
    try {
      json = encodeTrace(trace);
    } catch (error) {
      // Not JSON (a cycle, a BigInt): it could never be stored either. Counted, never thrown at the caller.
      this.dropped += 1;
      this.log.warn({ trace: trace.id, err: String(error) }, 'trace is not JSON: dropped');
      return;
    }
    this.buffer.push(json);
  }

  start(): void {
    this.stopped = false;
    this.startWorker();
    this.schedule(this.options.flushIntervalMs);
  }

  /** Where batches are being written: the worker thread, or this (main) thread. */
  get thread(): 'worker' | 'main' {
    return this.useWorker ? 'worker' : 'main';
  }

  stats(): RecorderStats {
    return {
      pending: this.buffer.length,
      written: this.written,
      dropped: this.dropped,
      storeHealthy: this.failures === 0,
      lastError: this.lastError,
    };
  }

  /** Flushes until the buffer is empty or the deadline passes; returns how many traces are left unwritten. */
  async drain(deadlineMs: number): Promise<number> {
    this.stopped = true;
    clearTimeout(this.timer);
    const end = Date.now() + deadlineMs;
    while (this.buffer.length > 0 && Date.now() < end) {
      const ok = await this.flushOnce();
      if (!ok) await new Promise((r) => setTimeout(r, Math.min(200, Math.max(0, end - Date.now()))));
    }
    const worker = this.worker;
    this.worker = undefined;
    this.useWorker = false;
    await worker?.close();
    return this.buffer.length;
  }

  private startWorker(): void {
    const url = this.databaseUrl;
    const script = traceWorkerScript();
    if (this.worker || url === undefined || script === undefined || !shareableDatabaseUrl(url)) return;
    const worker = new TraceWorker(script, { url, redact: this.options.redact });
    this.worker = worker;
    worker.onCrash = (error) => this.dropWorker(worker, `trace worker stopped: ${error.message}`);
    worker.ready.then(
      () => {
        if (this.worker === worker) this.useWorker = true;
      },
      (error: unknown) => this.dropWorker(worker, `trace worker could not open the store: ${String(error)}`),
    );
  }

  /** Back to the in-thread path for good (the buffer is untouched: nothing is lost). */
  private dropWorker(worker: TraceWorker, reason: string): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    this.useWorker = false;
    this.log.info({ reason }, 'recording traces on the main thread');
    void worker.close();
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.flushOnce().then((ok) => {
        // Back off while the store is failing (up to 5 s); go straight on while there is a backlog.
        const next = ok
          ? this.buffer.length >= this.options.batchSize
            ? 0
            : this.options.flushIntervalMs
          : Math.min(5_000, 100 * 2 ** Math.min(this.failures, 6));
        this.schedule(next);
      });
    }, ms);
    this.timer.unref();
  }

  private flushOnce(): Promise<boolean> {
    if (this.buffer.length === 0) return Promise.resolve(true);
    if (this.flushing) return this.flushing.then(() => true);
    const worker = this.useWorker ? this.worker : undefined;
    const batch = this.buffer.slice(0, this.options.batchSize);
    let ok = true;
    // The worker decodes and redacts on its side; in-thread batches are decoded and redacted here.
    this.flushing = (worker ? worker.write(batch) : this.insertHere(batch)).then(
      (invalid) => {
        // Entries are removed only once written, so a failed batch is retried, never lost.
        this.buffer.splice(0, batch.length);
        this.written += batch.length - invalid;
        if (invalid > 0) {
          this.dropped += invalid;
          this.log.warn({ dropped: invalid }, 'trace could not be decoded: dropped');
        }
        if (this.failures > 0)
          this.log.info(
            { pending: this.buffer.length, failures: this.failures },
            'trace store reachable again',
          );
        this.failures = 0;
      },
      (error: unknown) => {
        ok = false;
        this.failures += 1;
        this.lastError = error instanceof Error ? error.message : String(error);
        // The batch stays at the head of the buffer, as it was recorded, for the retry.
        if (this.failures === 1)
          this.log.warn(
            { err: this.lastError, pending: this.buffer.length },
            'trace store unavailable: buffering traces',
          );
      },
    );
    return this.flushing.then(() => {
      this.flushing = undefined;
      return ok;
    });
  }

  private async insertHere(batch: readonly string[]): Promise<number> {
    const { rows, marks, invalid } = decodeBatch(batch, this.options.redact);
    await this.store.insertRows(rows, marks);
    return invalid;
  }
}
