import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp, type FirebreakApp } from '../../src/server/app.js';
import { parseConfig } from '../../src/server/config-load.js';
import type { TimerSchedulerSettings } from '../../src/server/timers.js';
import { cancelTimer, scheduleTimer } from '../../src/ops/timers.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/port.js';
import { testConfigYaml } from '../support/harness.js';
import { freshDatabaseUrl, storeKinds } from '../support/stores.js';

/**
 * Issue 5 item 10: durable timers survive restarts and fire once across replicas; time is injected, so
 * nothing here waits for a timer (except the one test of the loop itself, which polls briefly).
 */
const config = parseConfig(testConfigYaml(), 'test config', {});

interface Replica {
  readonly fb: FirebreakApp;
  readonly store: Store;
  close(): Promise<void>;
}

describe.each(storeKinds)('durable timers (%s)', (kind) => {
  const T0 = Date.UTC(2025, 0, 6, 9, 0, 0);
  let clock = T0;
  const now = () => clock;
  const open: Replica[] = [];

  /**
   * A replica on the database at `url`, with its own store connection (or `shared`'s: SQLite is one
   * process, and a second in-process connection would block the thread on the first one's write lock);
   * no timer loop unless `settings` ask for one.
   */
  async function replica(
    url: string,
    settings: TimerSchedulerSettings = { tickMs: 0 },
    shared?: Replica,
  ): Promise<Replica> {
    const store = shared?.store ?? (await openStore(url));
    const fb = await buildApp(config, { store, logger: pino({ level: 'silent' }), now, timers: settings });
    let closed = false;
    const r: Replica = {
      fb,
      store,
      async close() {
        if (closed) return;
        closed = true;
        await fb.close(2_000);
        if (!shared) await store.close();
      },
    };
    open.push(r);
    return r;
  }

  /** A second replica: its own connection on PostgreSQL, the same store on SQLite. */
  const second = (url: string, settings: TimerSchedulerSettings, first: Replica) =>
    replica(url, settings, kind === 'sqlite' ? first : undefined);

  afterEach(async () => {
    // Replicas sharing a store first, then the ones that own it.
    for (const r of open.splice(0).reverse()) await r.close();
    clock = T0;
  });

  it('schedules idempotently by key, cancels, and leaves a done timer done', async () => {
    const a = await replica(await freshDatabaseUrl(kind));
    const fired: unknown[] = [];
    a.fb.timers.registerTimerHandler('test', (t) => {
      fired.push(t.payload);
      return Promise.resolve(undefined);
    });
    const first = await a.fb.timers.scheduleTimer('test', 'k1', T0 + 60_000, { n: 1 });
    const moved = await a.fb.timers.scheduleTimer('test', 'k1', T0 + 30_000, { n: 2 });
    expect(moved.id).toBe(first.id);
    expect(moved).toMatchObject({ dueAt: T0 + 30_000, payload: { n: 2 }, status: 'pending', attempts: 0 });
    expect(await a.store.timers.list({ kind: 'test', limit: 10 })).toHaveLength(1);

    expect(await a.fb.timers.runDue()).toEqual([]);
    clock = T0 + 30_000;
    expect((await a.fb.timers.runDue()).map((r) => r.outcome)).toEqual([{ status: 'done' }]);
    expect(fired).toEqual([{ n: 2 }]);
    // Done stays done: scheduling the key again does not fire it again.
    const again = await a.fb.timers.scheduleTimer('test', 'k1', T0 + 40_000, { n: 3 });
    expect(again).toMatchObject({ status: 'done', dueAt: T0 + 30_000, attempts: 1 });
    clock = T0 + 50_000;
    expect(await a.fb.timers.runDue()).toEqual([]);

    // Cancelled: not fired; scheduling it again revives it. The ops functions do the same.
    await scheduleTimer(a.fb.ops, { kind: 'test', key: 'k2', dueAt: T0 + 60_000, payload: 'x' });
    expect(await cancelTimer(a.fb.ops, 'k2')).toBe(true);
    expect(await cancelTimer(a.fb.ops, 'k2')).toBe(false);
    clock = T0 + 70_000;
    expect(await a.fb.timers.runDue()).toEqual([]);
    expect(await a.store.timers.get('k2')).toMatchObject({ status: 'cancelled' });
    await scheduleTimer(a.fb.ops, { kind: 'test', key: 'k2', dueAt: T0 + 70_000, payload: 'y' });
    expect((await a.fb.timers.runDue()).map((r) => r.key)).toEqual(['k2']);
    expect(fired).toEqual([{ n: 2 }, 'y']);

    await expect(
      scheduleTimer(a.fb.ops, { kind: 'Bad Kind', key: 'k3', dueAt: T0, payload: null }),
    ).rejects.toMatchObject({ code: 'validation_failed', details: { path: 'kind' } });
    await expect(a.fb.timers.scheduleTimer('test', '', T0)).rejects.toMatchObject({
      code: 'validation_failed',
    });
  });

  it('leaves timers of kinds it has no handler for to the replicas that have one', async () => {
    const a = await replica(await freshDatabaseUrl(kind));
    await a.fb.timers.scheduleTimer('someone-else', 'other:1', T0);
    expect(await a.fb.timers.runDue()).toEqual([]);
    expect(await a.store.timers.get('other:1')).toMatchObject({ status: 'pending', attempts: 0 });
  });

  it('a timer scheduled before a restart fires after it, exactly once', async () => {
    const url = await freshDatabaseUrl(kind);
    const before = await replica(url);
    let fired = 0;
    before.fb.timers.registerTimerHandler('reminder', () => {
      fired++;
      return Promise.resolve(undefined);
    });
    await before.fb.timers.scheduleTimer('reminder', 'reminder:INC-1', T0 + 5 * 60_000, {
      incident: 'INC-1',
    });
    expect(await before.fb.timers.runDue()).toEqual([]);
    await before.close();

    clock = T0 + 6 * 60_000;
    const after = await replica(url);
    const seen: unknown[] = [];
    after.fb.timers.registerTimerHandler('reminder', (t) => {
      fired++;
      seen.push(t.payload);
      return Promise.resolve(undefined);
    });
    const reports = await after.fb.timers.runDue();
    expect(reports).toMatchObject([{ key: 'reminder:INC-1', attempt: 1, recorded: true }]);
    expect(await after.fb.timers.runDue()).toEqual([]);
    clock += 60 * 60_000;
    expect(await after.fb.timers.runDue()).toEqual([]);
    expect(fired).toBe(1);
    expect(seen).toEqual([{ incident: 'INC-1' }]);
    expect(await after.store.timers.get('reminder:INC-1')).toMatchObject({
      status: 'done',
      attempts: 1,
      leaseOwner: null,
    });
  });

  it('two replicas racing for the same due timers fire each once', async () => {
    const url = await freshDatabaseUrl(kind);
    const a = await replica(url, { tickMs: 0, batch: 7 });
    const b = await second(url, { tickMs: 0, batch: 7 }, a);
    const fired: { key: string; by: string }[] = [];
    for (const r of [a, b])
      r.fb.timers.registerTimerHandler('race', async (t) => {
        fired.push({ key: t.key, by: r.fb.timers.owner });
        // Hold the claim across an await, so the other replica's claims run meanwhile.
        await new Promise((resolve) => setTimeout(resolve, 1));
        return undefined;
      });
    const keys = Array.from({ length: 40 }, (_, i) => `race:${i}`);
    for (const key of keys) await a.fb.timers.scheduleTimer('race', key, T0);

    await Promise.all([
      a.fb.timers.runDue(),
      b.fb.timers.runDue(),
      a.fb.timers.runDue(),
      b.fb.timers.runDue(),
    ]);
    expect(fired.map((f) => f.key).sort()).toEqual([...keys].sort());
    const done = await a.store.timers.list({ kind: 'race', status: 'done', limit: 100 });
    expect(done).toHaveLength(40);
    expect(done.every((t) => t.attempts === 1)).toBe(true);
  });

  it('claims made at the same moment on two connections never overlap', async () => {
    const url = await freshDatabaseUrl(kind);
    const a = await replica(url);
    const b = await second(url, { tickMs: 0 }, a);
    for (let i = 0; i < 30; i++) await a.fb.timers.scheduleTimer('claim', `claim:${i}`, T0);
    const claims = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        (i % 2 ? a : b).store.timers.claim({
          owner: `replica-${i}`,
          kinds: ['claim'],
          now: T0,
          leaseMs: 60_000,
          limit: 3,
        }),
      ),
    );
    const ids = claims.flat().map((t) => t.key);
    expect(ids).toHaveLength(30);
    expect(new Set(ids).size).toBe(30);
    const running = await a.store.timers.list({ kind: 'claim', status: 'running', limit: 100 });
    expect(running.every((t) => t.attempts === 1)).toBe(true);
  });

  it('the loop in each replica runs due timers by itself, once across replicas', async () => {
    const url = await freshDatabaseUrl(kind);
    const a = await replica(url, { tickMs: 15 });
    const b = await second(url, { tickMs: 15 }, a);
    const fired: string[] = [];
    for (const r of [a, b])
      r.fb.timers.registerTimerHandler('loop', (t) => {
        fired.push(t.key);
        return Promise.resolve(undefined);
      });
    for (let i = 0; i < 20; i++) await a.fb.timers.scheduleTimer('loop', `loop:${i}`, T0 + 1_000);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(fired).toEqual([]);
    clock = T0 + 1_000;
    for (let i = 0; i < 300 && fired.length < 20; i++)
      await new Promise((resolve) => setTimeout(resolve, 10));
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(fired).toHaveLength(20);
    expect(new Set(fired).size).toBe(20);
  });

  it('a replica that dies mid-run loses its lease; another takes the timer over once it expires', async () => {
    const url = await freshDatabaseUrl(kind);
    const a = await replica(url, { tickMs: 0, leaseMs: 30_000 });
    const fired: number[] = [];
    a.fb.timers.registerTimerHandler('escalation', (t) => {
      fired.push(t.attempt);
      return Promise.resolve(undefined);
    });
    await a.fb.timers.scheduleTimer('escalation', 'escalation:INC-2:page-1', T0);

    // A replica claims it and then dies: never finishes.
    const dead = await a.store.timers.claim({
      owner: 'dead-replica',
      kinds: ['escalation'],
      now: T0,
      leaseMs: 30_000,
      limit: 10,
    });
    expect(dead).toMatchObject([{ status: 'running', leaseOwner: 'dead-replica', leaseUntil: T0 + 30_000 }]);
    expect(await a.fb.timers.runDue()).toEqual([]);
    clock = T0 + 29_999;
    expect(await a.fb.timers.runDue()).toEqual([]);
    clock = T0 + 30_000;
    expect(await a.fb.timers.runDue()).toMatchObject([{ attempt: 2, outcome: { status: 'done' } }]);
    expect(fired).toEqual([2]);

    // The dead replica coming back cannot end (or re-open) a run it no longer holds.
    const stale = dead[0];
    if (!stale) throw new Error('no claim');
    expect(
      await a.store.timers.finish(
        stale.id,
        { owner: 'dead-replica', attempts: stale.attempts, dueAt: stale.dueAt },
        { status: 'pending', dueAt: T0, error: 'late' },
        clock,
      ),
    ).toBe(false);
    expect(await a.store.timers.get('escalation:INC-2:page-1')).toMatchObject({
      status: 'done',
      attempts: 2,
    });
  });

  it('a failing handler is retried with backoff, then ends failed with its error kept', async () => {
    const a = await replica(await freshDatabaseUrl(kind));
    let calls = 0;
    a.fb.timers.registerTimerHandler(
      'flaky',
      () => {
        calls++;
        return Promise.reject(new Error(`boom ${calls}`));
      },
      { retry: { baseMs: 1_000, factor: 2, capMs: 10_000, maxAttempts: 3, jitter: 0 } },
    );
    await a.fb.timers.scheduleTimer('flaky', 'flaky:1', T0);

    expect(await a.fb.timers.runDue()).toMatchObject([
      { attempt: 1, outcome: { status: 'retry', at: T0 + 1_000, error: 'boom 1' } },
    ]);
    expect(await a.store.timers.get('flaky:1')).toMatchObject({
      status: 'pending',
      dueAt: T0 + 1_000,
      lastError: 'boom 1',
      attempts: 1,
      firstRunAt: T0,
    });
    clock = T0 + 999;
    expect(await a.fb.timers.runDue()).toEqual([]);
    clock = T0 + 1_000;
    // Counted from the first run: 1 s, then 2 s more.
    expect(await a.fb.timers.runDue()).toMatchObject([
      { attempt: 2, outcome: { status: 'retry', at: T0 + 3_000, error: 'boom 2' } },
    ]);
    clock = T0 + 3_000;
    expect(await a.fb.timers.runDue()).toMatchObject([{ attempt: 3, outcome: { status: 'failed' } }]);
    expect(await a.store.timers.get('flaky:1')).toMatchObject({
      status: 'failed',
      attempts: 3,
      lastError: 'boom 3 (gave up after 3 attempts)',
    });
    clock = T0 + 3_600_000;
    expect(await a.fb.timers.runDue()).toEqual([]);
    expect(calls).toBe(3);

    // One that fails once and then succeeds is done, its last failure kept for the record.
    let second = 0;
    a.fb.timers.registerTimerHandler('once-flaky', () => {
      second++;
      return second === 1 ? Promise.reject(new Error('transient')) : Promise.resolve(undefined);
    });
    await a.fb.timers.scheduleTimer('once-flaky', 'once:1', clock);
    expect((await a.fb.timers.runDue()).map((r) => r.outcome.status)).toEqual(['retry']);
    clock += 60_000;
    expect((await a.fb.timers.runDue()).map((r) => r.outcome.status)).toEqual(['done']);
    expect(await a.store.timers.get('once:1')).toMatchObject({
      status: 'done',
      attempts: 2,
      lastError: 'transient',
    });
  });

  it('a timer scheduled again while it runs ends pending at the new time, whatever the run returned', async () => {
    const a = await replica(await freshDatabaseUrl(kind));
    let runs = 0;
    a.fb.timers.registerTimerHandler('state', async (t) => {
      runs++;
      // The state changes while the handler runs: the change re-arms the timer (as the incident outbox
      // does), and this run's own answer ("nothing more") must not undo that.
      if (runs === 1)
        await a.store.timers.schedule(
          { kind: 'state', key: t.key, dueAt: T0 + 5_000, payload: null },
          clock,
          { rearm: true },
        );
      return { status: 'done' };
    });
    await a.fb.timers.scheduleTimer('state', 'state:1', T0);
    expect((await a.fb.timers.runDue()).map((r) => [r.outcome.status, r.recorded])).toEqual([['done', true]]);
    expect(await a.store.timers.get('state:1')).toMatchObject({ status: 'pending', dueAt: T0 + 5_000 });
    clock = T0 + 5_000;
    expect((await a.fb.timers.runDue()).map((r) => r.key)).toEqual(['state:1']);
    expect(runs).toBe(2);
    expect(await a.store.timers.get('state:1')).toMatchObject({ status: 'done' });
  });

  it('prunes finished timers after their keeping time, never pending ones', async () => {
    const a = await replica(await freshDatabaseUrl(kind));
    const DAY = 86_400_000;
    a.fb.timers.registerTimerHandler('tidy', (t) =>
      t.key === 'tidy:fails'
        ? Promise.resolve({ status: 'failed', error: 'no' })
        : Promise.resolve(undefined),
    );
    await a.fb.timers.scheduleTimer('tidy', 'tidy:done', T0);
    await a.fb.timers.scheduleTimer('tidy', 'tidy:fails', T0);
    await a.fb.timers.scheduleTimer('tidy', 'tidy:cancelled', T0 + DAY);
    await a.fb.timers.cancelTimer('tidy:cancelled');
    await a.fb.timers.scheduleTimer('tidy', 'tidy:later', T0 + 60 * DAY);
    await a.fb.timers.runDue();
    const keys = async () =>
      (await a.store.timers.list({ kind: 'tidy', limit: 10 })).map((t) => t.key).sort();

    // Within a week nothing goes.
    expect(await a.fb.timers.prune(T0 + 6 * DAY)).toBe(0);
    // After 7 days the done and cancelled ones go; the failed one stays 30 days; pending ones always.
    expect(await a.fb.timers.prune(T0 + 8 * DAY)).toBe(2);
    expect(await keys()).toEqual(['tidy:fails', 'tidy:later']);
    expect(await a.fb.timers.prune(T0 + 31 * DAY)).toBe(1);
    expect(await keys()).toEqual(['tidy:later']);
    // A key whose done timer was pruned can be scheduled (and fire) again.
    await a.fb.timers.scheduleTimer('tidy', 'tidy:done', T0 + 32 * DAY);
    clock = T0 + 32 * DAY;
    expect((await a.fb.timers.runDue()).map((r) => r.key)).toEqual(['tidy:done']);
  });
});
