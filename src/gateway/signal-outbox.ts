import type { FastifyBaseLogger } from 'fastify';
import type { DetectionRule } from '../core/detection/rules-config.js';
import { matchSignal } from '../core/detection/rules.js';
import { signalsFromFindings, type Signal, type TraceContext } from '../core/detection/signal.js';
import type { Finding } from '../core/guards/types.js';

export interface SignalOutboxOptions {
  /**
   * Stores one signal durably for the control plane: a `signal` timer keyed by its fingerprint, due now
   * (buildApp wires it; ops/detection.ts runs it). Idempotent on the fingerprint.
   */
  readonly persist: (signal: Signal) => Promise<unknown>;
  readonly rules: readonly DetectionRule[];
  readonly now: () => number;
  readonly log: FastifyBaseLogger;
  /** Signals waiting for the store at most; beyond it the oldest are dropped (and counted). Default 1000. */
  readonly maxPending?: number;
  /** First retry delay after a store error, doubling up to 30 s. Default 500 ms. */
  readonly retryMs?: number;
}

export interface SignalOutboxStats {
  readonly pending: number;
  readonly persisted: number;
  readonly dropped: number;
  readonly storeErrors: number;
}

/**
 * Findings → signals, off the request path (issue 5 item 1). After a call's findings are known the
 * pipeline offers them here; when some detection rule could act on one, each such signal is persisted
 * as a durable timer of kind `signal` (key: its fingerprint, due now), which a control replica's
 * scheduler picks up and runs through the rules (ops/detection.ts). Nothing is awaited by the caller.
 * Store errors are retried with backoff from a bounded in-memory queue; what overflows it is dropped
 * and counted, never blocking or failing a call. Gateway-only replicas do the same: the timer row is
 * the hand-over to the control plane.
 */
export class SignalOutbox {
  private readonly queue: Signal[] = [];
  private readonly maxPending: number;
  private readonly baseRetryMs: number;
  private retryMs: number;
  private flushing: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private persisted = 0;
  private dropped = 0;
  private storeErrors = 0;

  constructor(private readonly opts: SignalOutboxOptions) {
    this.maxPending = opts.maxPending ?? 1000;
    this.baseRetryMs = opts.retryMs ?? 500;
    this.retryMs = this.baseRetryMs;
  }

  /** Never throws, never waits: the call has been answered (or is being) whatever happens here. */
  offer(trace: TraceContext, findings: readonly Finding[]): void {
    if (this.closed || findings.length === 0 || this.opts.rules.length === 0) return;
    try {
      const signals = signalsFromFindings(trace, findings, this.opts.now()).filter(
        (s) => matchSignal(this.opts.rules, s).length > 0,
      );
      if (signals.length === 0) return;
      for (const s of signals) this.queue.push(s);
      const over = this.queue.length - this.maxPending;
      if (over > 0) {
        this.queue.splice(0, over);
        this.dropped += over;
        this.opts.log.warn({ dropped: this.dropped }, 'signal outbox full: oldest signals dropped');
      }
      if (this.retryTimer === undefined) this.kick();
    } catch (error) {
      this.opts.log.error({ err: error }, 'findings could not be turned into signals');
    }
  }

  stats(): SignalOutboxStats {
    return {
      pending: this.queue.length,
      persisted: this.persisted,
      dropped: this.dropped,
      storeErrors: this.storeErrors,
    };
  }

  /** Waits until the queue is empty or `deadlineMs` passes; resolves to what is still pending. */
  async drain(deadlineMs = 5_000): Promise<number> {
    const until = Date.now() + deadlineMs;
    while (this.queue.length > 0 && Date.now() < until) {
      if (this.retryTimer !== undefined) {
        clearTimeout(this.retryTimer);
        this.retryTimer = undefined;
      }
      this.kick();
      await this.flushing;
      if (this.queue.length > 0) await new Promise((r) => setTimeout(r, 20));
    }
    await this.flushing;
    return this.queue.length;
  }

  /** Stops accepting signals and tries to persist what is queued (up to `deadlineMs`). */
  async close(deadlineMs = 5_000): Promise<number> {
    this.closed = true;
    const left = await this.drain(deadlineMs);
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    if (left > 0) this.opts.log.warn({ left }, 'signal outbox closed with signals not persisted');
    return left;
  }

  private kick(): void {
    if (this.flushing) return;
    this.flushing = this.flush().finally(() => {
      this.flushing = undefined;
    });
  }

  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      const s = this.queue[0] as Signal;
      try {
        await this.opts.persist(s);
      } catch (error) {
        this.storeErrors += 1;
        this.opts.log.warn(
          { err: error instanceof Error ? error.message : String(error), pending: this.queue.length },
          'signal could not be stored; will retry',
        );
        if (!this.closed) {
          this.retryTimer = setTimeout(() => {
            this.retryTimer = undefined;
            this.kick();
          }, this.retryMs);
          this.retryTimer.unref();
          this.retryMs = Math.min(this.retryMs * 2, 30_000);
        }
        return;
      }
      // The head may have been dropped by an overflow meanwhile; remove this signal only.
      if (this.queue[0] === s) this.queue.shift();
      this.persisted += 1;
      this.retryMs = this.baseRetryMs;
    }
  }
}
