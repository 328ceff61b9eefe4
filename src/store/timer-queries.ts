import { randomBytes } from 'node:crypto';
import { sql, type ExpressionBuilder, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { Capabilities, NewTimer, ScheduleOptions, Timer, TimerStatus, TimerStore } from './port.js';
import type { Database, TimersTable } from './schema.js';

/**
 * Durable timers: rows ↔ domain, idempotent scheduling, and the claim. The claim is one statement on
 * both dialects, so two replicas claiming at the same moment get disjoint sets:
 *  - PostgreSQL: `UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING *` (a row another
 *    claim holds is skipped, not waited for; one committed meanwhile is re-checked against the condition);
 *  - SQLite: the same UPDATE … RETURNING inside BEGIN IMMEDIATE, which takes the database's write lock
 *    before reading, so a second process waits (busy_timeout) and then sees the first one's claim.
 */
const timerStatuses: readonly TimerStatus[] = ['pending', 'running', 'done', 'failed', 'cancelled'];
const timerStatus = (s: string): TimerStatus => timerStatuses.find((t) => t === s) ?? 'failed';

export const toTimer = (r: Selectable<TimersTable>): Timer => ({
  id: r.id,
  kind: r.kind,
  key: r.key,
  dueAt: r.due_at,
  payload: JSON.parse(r.payload) as unknown,
  status: timerStatus(r.status),
  attempts: r.attempts,
  leaseOwner: r.lease_owner,
  leaseUntil: r.lease_until,
  lastError: r.last_error,
  firstRunAt: r.first_run_at,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

type Db = Kysely<Database> | Transaction<Database>;

async function timerByKey(db: Db, key: string): Promise<Timer | undefined> {
  const r = await db.selectFrom('timers').selectAll().where('key', '=', key).executeTakeFirst();
  return r && toTimer(r);
}

/**
 * Creates or moves the timer with `t.key` (see TimerStore.schedule). One statement, so two callers
 * scheduling the same key at once end with one row. Usable inside another transaction (the outbox
 * writes a delivery and its timer together).
 */
export async function scheduleTimerRow(
  db: Db,
  t: NewTimer,
  now: number,
  options: ScheduleOptions = {},
): Promise<Timer> {
  const row: TimersTable = {
    id: `tmr_${randomBytes(8).toString('hex')}`,
    kind: t.kind,
    key: t.key,
    due_at: t.dueAt,
    payload: JSON.stringify(t.payload ?? null),
    status: 'pending',
    attempts: 0,
    lease_owner: null,
    lease_until: null,
    last_error: null,
    first_run_at: null,
    created_at: now,
    updated_at: now,
  };
  // A failed or cancelled timer (or a done one, when re-armed) scheduled again starts afresh; a running
  // one keeps its run (and lease).
  const revived = options.rearm
    ? sql<boolean>`timers.status in ('failed', 'cancelled', 'done')`
    : sql<boolean>`timers.status in ('failed', 'cancelled')`;
  const r = await db
    .insertInto('timers')
    .values(row)
    .onConflict((oc) => {
      const update = oc.column('key').doUpdateSet((eb) => ({
        kind: eb.ref('excluded.kind'),
        due_at: eb.ref('excluded.due_at'),
        payload: eb.ref('excluded.payload'),
        status: sql<string>`case when timers.status = 'running' then timers.status else 'pending' end`,
        attempts: sql<number>`case when ${revived} then 0 else timers.attempts end`,
        last_error: sql<string | null>`case when ${revived} then null else timers.last_error end`,
        first_run_at: sql<number | null>`case when ${revived} then null else timers.first_run_at end`,
        updated_at: eb.ref('excluded.updated_at'),
      }));
      return options.rearm ? update : update.where('timers.status', '<>', 'done');
    })
    .returningAll()
    .executeTakeFirst();
  if (r) return toTimer(r);
  // Done: left as it was (a one-shot that has fired is not fired again by re-scheduling it).
  const existing = await timerByKey(db, t.key);
  if (!existing) throw new Error(`timer ${t.key}: neither inserted nor found`);
  return existing;
}

/** Cancels a pending or running timer on `db` (a transaction, for a change's own timers). */
export async function cancelTimerRow(db: Db, key: string, now: number): Promise<boolean> {
  const r = await db
    .updateTable('timers')
    .set({ status: 'cancelled', lease_owner: null, lease_until: null, updated_at: now })
    .where('key', '=', key)
    .where('status', 'in', ['pending', 'running'])
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

export function timerQueries(db: Kysely<Database>, caps: Capabilities): TimerStore {
  /** Due: pending and due, or running under a lease that has run out (its replica died or hung). */
  const due = (now: number, kinds: readonly string[]) => (eb: ExpressionBuilder<Database, 'timers'>) =>
    eb.and([
      eb('kind', 'in', kinds),
      eb.or([
        eb.and([eb('status', '=', 'pending'), eb('due_at', '<=', now)]),
        eb.and([eb('status', '=', 'running'), eb('lease_until', '<=', now)]),
      ]),
    ]);

  return {
    schedule: (t, now, options) => scheduleTimerRow(db, t, now, options),
    cancel: (key, now) => cancelTimerRow(db, key, now),
    get: (key) => timerByKey(db, key),
    async list(f) {
      let q = db.selectFrom('timers').selectAll();
      if (f.kind !== undefined) q = q.where('kind', '=', f.kind);
      if (f.status !== undefined) q = q.where('status', '=', f.status);
      const rows = await q.orderBy('due_at', 'desc').orderBy('id', 'desc').limit(f.limit).execute();
      return rows.map(toTimer);
    },
    async claim(c) {
      if (c.kinds.length === 0 || c.limit < 1) return [];
      const cond = due(c.now, c.kinds);
      const claimWith = (conn: Kysely<Database>) => {
        let pick = conn.selectFrom('timers').select('id').where(cond).orderBy('due_at').limit(c.limit);
        if (caps.dialect === 'postgres') pick = pick.forUpdate().skipLocked();
        return (
          conn
            .updateTable('timers')
            .set((eb) => ({
              status: 'running',
              lease_owner: c.owner,
              lease_until: c.now + c.leaseMs,
              attempts: eb('attempts', '+', 1),
              first_run_at: eb.fn.coalesce('first_run_at', eb.val(c.now)),
              updated_at: c.now,
            }))
            .where('id', 'in', pick)
            // Checked again on the row being updated (PostgreSQL re-reads a row committed meanwhile).
            .where(cond)
            .returningAll()
            .execute()
        );
      };
      let rows: Selectable<TimersTable>[];
      if (caps.dialect === 'sqlite') {
        // Most ticks find nothing due. A read does not take SQLite's write lock, so only a tick that
        // has work waits for the trace writer's transaction (better-sqlite3 waits synchronously, on
        // the event loop) or makes it wait.
        const any = await db.selectFrom('timers').select('id').where(cond).limit(1).executeTakeFirst();
        if (any === undefined) return [];
        rows = await db.connection().execute(async (conn) => {
          await sql`begin immediate`.execute(conn);
          try {
            const claimed = await claimWith(conn);
            await sql`commit`.execute(conn);
            return claimed;
          } catch (error) {
            await sql`rollback`.execute(conn).catch(() => undefined);
            throw error;
          }
        });
      } else {
        rows = await claimWith(db);
      }
      return rows.map(toTimer).sort((a, b) => a.dueAt - b.dueAt || a.id.localeCompare(b.id));
    },
    async prune({ statuses, before, limit }) {
      if (statuses.length === 0) return 0;
      // By status through the (status, due_at) index, then by when it last changed (a cancelled timer
      // may never have been due). An hourly batch; a subquery bounds it on both dialects.
      const r = await db
        .deleteFrom('timers')
        .where(
          'id',
          'in',
          db
            .selectFrom('timers')
            .select('id')
            .where('status', 'in', [...statuses])
            .where('updated_at', '<', before)
            .limit(limit),
        )
        .executeTakeFirst();
      return Number(r.numDeletedRows);
    },
    async finish(id, lease, outcome, now) {
      const base = { lease_owner: null, lease_until: null, updated_at: now };
      const set = (eb: ExpressionBuilder<Database, 'timers'>) => {
        switch (outcome.status) {
          case 'done':
            return { ...base, status: 'done' };
          case 'pending':
            return { ...base, status: 'pending', due_at: outcome.dueAt, last_error: outcome.error };
          case 'later':
            // Not an attempt: a timer put off many times must not exhaust its retries by it.
            return {
              ...base,
              status: 'pending',
              due_at: outcome.dueAt,
              attempts: eb('attempts', '-', 1),
              first_run_at: sql<number | null>`case when attempts = 1 then null else first_run_at end`,
            };
          case 'failed':
            return { ...base, status: 'failed', last_error: outcome.error };
        }
      };
      // Fenced: only the run that holds the claim (owner and attempt) may end it. A replica whose lease
      // ran out and was taken over, or a timer cancelled mid-run, writes nothing here.
      const held = (q: ReturnType<typeof db.updateTable<'timers'>>) =>
        q
          .where('id', '=', id)
          .where('status', '=', 'running')
          .where('lease_owner', '=', lease.owner)
          .where('attempts', '=', lease.attempts);
      const r = await held(db.updateTable('timers'))
        .set(set)
        .where('due_at', '=', lease.dueAt)
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) === 1) return true;
      // Scheduled again while it ran (moved to another time): the newer schedule wins over this run's
      // outcome, so the timer is pending at the time it was moved to.
      const moved = await held(db.updateTable('timers'))
        .set({ ...base, status: 'pending' })
        .where('due_at', '<>', lease.dueAt)
        .executeTakeFirst();
      return Number(moved.numUpdatedRows) === 1;
    },
  };
}
