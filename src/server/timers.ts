import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { FastifyBaseLogger } from 'fastify';
import { nextAttemptAt, type RetryPolicy } from '../core/channels/retry.js';
import { checkTimer } from '../ops/timers.js';
import type { Timer, TimerFinish, TimerStore } from '../store/port.js';

/**
 * The timer scheduler (issue 5 item 10): every control replica runs one. Each tick it claims the due
 * timers of the kinds it has handlers for (store/timer-queries.ts: one statement, a lease per timer),
 * runs their handlers and records the outcome. Timers are rows, so they survive restarts.
 *
 * Delivery guarantee: a timer fires once across replicas in the normal case (the claim is atomic and
 * leased). A replica that dies (or stalls past `leaseMs`) mid-run loses its lease and another replica
 * runs the timer again, so after a crash a handler may run twice: **handlers must be idempotent by
 * their timer's key** (check the state they would change before changing it). A stale run cannot end a
 * timer it no longer holds (the finish is fenced by owner and attempt).
 *
 * Leases are compared with the clock of the replica that claims, so replicas' clocks should agree to
 * well within `leaseMs` (NTP does).
 *
 * Time is the injected clock (`now`), so tests drive the scheduler with `runDue()` and never sleep.
 *
 * Usage (for the next layer, e.g. escalations):
 *   fb.timers.registerTimerHandler('escalation', async (t) => { …; return { status: 'done' }; });
 *   await fb.timers.scheduleTimer('escalation', `escalation:${page}`, at, { page });
 *   await fb.timers.cancelTimer(`escalation:${page}`);   // on acknowledgement
 * (ops/timers.ts offers scheduleTimer/cancelTimer on an OpsContext, for operations.)
 */

/** A claimed timer as a handler sees it. */
export interface DueTimer {
  readonly id: string;
  readonly kind: string;
  readonly key: string;
  readonly payload: unknown;
  readonly dueAt: number;
  /** This run, 1-based (a run taken over after a crash counts). */
  readonly attempt: number;
  /** When the first run started: retry schedules count from here (core/channels/retry.ts). */
  readonly firstRunAt: number;
}

/**
 * What a run ends in. A handler that returns nothing is done; one that throws is retried per its retry
 * policy and ends `failed` (error kept) once the attempts are used up. `retry` and `failed` let a handler
 * decide for itself (the delivery handler: Retry-After, a 400 that must not be retried).
 */
export type TimerOutcome =
  | { readonly status: 'done' }
  | { readonly status: 'retry'; readonly at: number; readonly error: string }
  /** Not a failure: run again at `at` (waiting for something else first); not counted as an attempt. */
  | { readonly status: 'later'; readonly at: number }
  | { readonly status: 'failed'; readonly error: string };

export type TimerHandler = (timer: DueTimer) => Promise<TimerOutcome | undefined>;

export interface TimerHandlerOptions {
  /** Backoff for a handler that throws. Default: 1 s, 2 s, 4 s … capped at 1 min, 5 runs in all. */
  readonly retry?: RetryPolicy;
}

export const defaultTimerRetryPolicy: RetryPolicy = {
  baseMs: 1_000,
  factor: 2,
  capMs: 60_000,
  maxAttempts: 5,
  jitter: 0.2,
};

export interface TimerSchedulerSettings {
  /** How often the loop looks for due timers; 0 runs no loop (tests call `runDue`). Default 250 ms. */
  readonly tickMs?: number;
  /** How long a claim holds before another replica may take the timer over. Default 60 s. */
  readonly leaseMs?: number;
  /** Timers claimed per statement. Default 50. */
  readonly batch?: number;
  /** This replica's name in `lease_owner`. Default: host, pid and a random suffix. */
  readonly owner?: string;
  /**
   * How long finished timers are kept: done and cancelled ones 7 days, failed ones (whose error says
   * what went wrong) 30 days. The loop prunes at most once an hour.
   */
  readonly keepDoneMs?: number;
  readonly keepFailedMs?: number;
}

const DAY = 86_400_000;
const PRUNE_EVERY_MS = 3_600_000;
const PRUNE_BATCH = 1_000;

export interface TimerRunReport {
  readonly id: string;
  readonly kind: string;
  readonly key: string;
  readonly attempt: number;
  readonly outcome: TimerOutcome;
  /** False when the outcome was not written: the lease was lost (taken over, or cancelled mid-run). */
  readonly recorded: boolean;
}

interface Registration {
  readonly handler: TimerHandler;
  readonly retry: RetryPolicy;
}

const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));

export class TimerScheduler {
  readonly owner: string;
  private readonly handlers = new Map<string, Registration>();
  private readonly tickMs: number;
  private readonly leaseMs: number;
  private readonly batch: number;
  private readonly inFlight = new Set<Promise<unknown>>();
  private interval: NodeJS.Timeout | undefined;
  private ticking = false;
  private failing = false;
  private stopped = false;
  private readonly keepDoneMs: number;
  private readonly keepFailedMs: number;
  private lastPrune: number | undefined;

  constructor(
    private readonly store: TimerStore,
    private readonly now: () => number,
    private readonly log: FastifyBaseLogger,
    settings: TimerSchedulerSettings = {},
  ) {
    this.tickMs = settings.tickMs ?? 250;
    this.leaseMs = settings.leaseMs ?? 60_000;
    this.batch = settings.batch ?? 50;
    this.keepDoneMs = settings.keepDoneMs ?? 7 * DAY;
    this.keepFailedMs = settings.keepFailedMs ?? 30 * DAY;
    this.owner =
      settings.owner ?? `${hostname().slice(0, 64)}:${process.pid}:${randomBytes(4).toString('hex')}`;
  }

  /** Handles timers of `kind` from the next claim on. One handler per kind. */
  registerTimerHandler(kind: string, handler: TimerHandler, options: TimerHandlerOptions = {}): void {
    if (this.handlers.has(kind)) throw new Error(`a timer handler for "${kind}" is already registered`);
    this.handlers.set(kind, { handler, retry: options.retry ?? defaultTimerRetryPolicy });
  }

  /**
   * Schedules (or moves) the timer with this key to fire at `dueAt` (epoch ms, the injected clock).
   * Idempotent on the key; see TimerStore.schedule for done/failed/running timers.
   */
  async scheduleTimer(kind: string, key: string, dueAt: number, payload: unknown = null): Promise<Timer> {
    checkTimer({ kind, key, dueAt });
    return this.store.schedule({ kind, key, dueAt, payload }, this.now());
  }

  /** Stops a pending timer (or one mid-run from being retried); false when there was none to stop. */
  cancelTimer(key: string): Promise<boolean> {
    return this.store.cancel(key, this.now());
  }

  start(): void {
    if (this.tickMs <= 0 || this.interval || this.stopped) return;
    this.interval = setInterval(() => {
      if (this.ticking) return;
      this.ticking = true;
      this.runDue()
        .then(() => this.pruneIfDue())
        .then(() => {
          this.failing = false;
        })
        .catch((error: unknown) => {
          if (!this.failing) this.log.warn({ err: errorText(error) }, 'timer claim failed; will retry');
          this.failing = true;
        })
        .finally(() => {
          this.ticking = false;
        });
    }, this.tickMs);
    this.interval.unref();
  }

  /**
   * Claims every timer due at `now` (batch by batch) and runs them; resolves once they have finished.
   * Called by the loop each tick, and directly by tests with a controlled clock.
   */
  async runDue(now = this.now()): Promise<TimerRunReport[]> {
    const reports: TimerRunReport[] = [];
    for (let round = 0; round < 100 && !this.stopped; round++) {
      const claimed = await this.store.claim({
        owner: this.owner,
        kinds: [...this.handlers.keys()],
        now,
        leaseMs: this.leaseMs,
        limit: this.batch,
      });
      const runs = claimed.map((t) => this.track(this.run(t)));
      reports.push(...(await Promise.all(runs)));
      if (claimed.length < this.batch) break;
    }
    return reports;
  }

  /**
   * Deletes finished timers past their keeping time (batch by batch); returns how many. Safe at any
   * time: every handler is idempotent by the state it changes, so a key whose done timer is gone and is
   * scheduled again only re-checks that state. Called by the loop once an hour, by tests directly.
   */
  async prune(now = this.now()): Promise<number> {
    let total = 0;
    for (const [statuses, keep] of [
      [['done', 'cancelled'], this.keepDoneMs],
      [['failed'], this.keepFailedMs],
    ] as const)
      for (let round = 0; round < 100 && !this.stopped; round++) {
        const n = await this.store.prune({ statuses, before: now - keep, limit: PRUNE_BATCH });
        total += n;
        if (n < PRUNE_BATCH) break;
      }
    return total;
  }

  private async pruneIfDue(): Promise<void> {
    const now = this.now();
    if (this.lastPrune !== undefined && now - this.lastPrune < PRUNE_EVERY_MS) return;
    this.lastPrune = now;
    const n = await this.prune(now);
    if (n > 0) this.log.info({ pruned: n }, 'finished timers pruned');
  }

  /** Stops the loop and waits (up to `deadlineMs`) for runs in progress; unfinished ones are re-run elsewhere after their lease. */
  async stop(deadlineMs = 10_000): Promise<void> {
    this.stopped = true;
    if (this.interval) clearInterval(this.interval);
    this.interval = undefined;
    if (this.inFlight.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.inFlight]),
      new Promise((resolve) => {
        timer = setTimeout(resolve, deadlineMs);
        timer.unref();
      }),
    ]);
    clearTimeout(timer);
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p)).catch(() => undefined);
    return p;
  }

  private async run(t: Timer): Promise<TimerRunReport> {
    const reg = this.handlers.get(t.kind);
    const firstRunAt = t.firstRunAt ?? t.dueAt;
    let outcome: TimerOutcome;
    if (!reg) {
      outcome = { status: 'failed', error: `no handler for timer kind "${t.kind}"` };
    } else {
      try {
        outcome = (await reg.handler({
          id: t.id,
          kind: t.kind,
          key: t.key,
          payload: t.payload,
          dueAt: t.dueAt,
          attempt: t.attempts,
          firstRunAt,
        })) ?? { status: 'done' };
      } catch (error) {
        const message = errorText(error);
        const next = nextAttemptAt(t.attempts, firstRunAt, t.id, reg.retry);
        outcome =
          next === null
            ? { status: 'failed', error: `${message} (gave up after ${t.attempts} attempts)` }
            : { status: 'retry', at: next, error: message };
      }
    }
    const finish: TimerFinish =
      outcome.status === 'retry'
        ? { status: 'pending', dueAt: outcome.at, error: outcome.error }
        : outcome.status === 'later'
          ? { status: 'later', dueAt: outcome.at }
          : outcome;
    let recorded = false;
    try {
      recorded = await this.store.finish(
        t.id,
        { owner: this.owner, attempts: t.attempts, dueAt: t.dueAt },
        finish,
        this.now(),
      );
    } catch (error) {
      // The timer stays running under this lease; another replica (or this one) takes it after expiry.
      this.log.warn({ timer: t.key, err: errorText(error) }, 'timer outcome could not be recorded');
    }
    if (outcome.status === 'failed')
      this.log.error({ timer: t.key, kind: t.kind, err: outcome.error }, 'timer failed');
    else if (outcome.status === 'retry')
      this.log.warn({ timer: t.key, kind: t.kind, err: outcome.error, at: outcome.at }, 'timer will retry');
    return { id: t.id, kind: t.kind, key: t.key, attempt: t.attempts, outcome, recorded };
  }
}
