import {
  CompiledQuery,
  PostgresAdapter,
  sql,
  type AliasedSelectQueryBuilder,
  type Kysely,
  type RawBuilder,
  type SelectQueryBuilder,
} from 'kysely';
import type { AffectedUser, BlastRadiusCounts, BlastRadiusQuery } from './port.js';
import type { MarkKind } from './trace-rows.js';
import type { Database, TracesTable } from './schema.js';

/**
 * Blast radius: exact distinct users, tenants and calls for a filter, and the affected users page by
 * page. Two plans, both index-backed:
 *
 * - a detector, tool or class (or a status other than ok) given: driven by trace_marks, whose primary
 *   key (kind, value, ts, trace_row) is a range scan of just the marked traces in the window and whose
 *   rows carry app, env, release, status, user and tenant, so the trace rows are never read. Further
 *   marks must be on the same trace (a point lookup on the same key).
 * - otherwise (an app or release, with env, status ok…): traces_app_ts (app, ts, env, release, status,
 *   user_id, tenant_id) covers the query, so the window is one index range and no trace row is read.
 */
interface Base {
  user_id: string | null;
  tenant_id: string | null;
  ts: number;
  /** The trace row id on the marks plan; null on the traces plan (not in the covering index). */
  row_id: string | null;
}

type BaseQuery = AliasedSelectQueryBuilder<Base, 'b'>;
/** Aggregates as a driver may return them (PostgreSQL int8 is parsed to a number by connect.ts). */
type Num = number | string;

/** Most specific first: the first one given drives the scan, the others are checked per trace. */
function marksOf(q: BlastRadiusQuery): { kind: MarkKind; value: string }[] {
  const out: { kind: MarkKind; value: string }[] = [];
  if (q.detector !== undefined) out.push({ kind: 'detector', value: q.detector });
  if (q.tool !== undefined) out.push({ kind: 'tool', value: q.tool });
  if (q.class !== undefined) out.push({ kind: 'class', value: q.class });
  if (out.length === 0 && q.status !== undefined && q.status !== 'ok')
    out.push({ kind: 'status', value: q.status });
  return out;
}

/** The matching calls, one row each: (user, tenant, ts, row id). */
function base(db: Kysely<Database>, q: BlastRadiusQuery): BaseQuery {
  const [drive, ...also] = marksOf(q);
  if (drive) {
    let b = db
      .selectFrom('trace_marks as m')
      .select(['m.user_id as user_id', 'm.tenant_id as tenant_id', 'm.ts as ts', 'm.trace_row as row_id'])
      .where('m.kind', '=', drive.kind)
      .where('m.value', '=', drive.value)
      .where('m.ts', '>=', q.since)
      .where('m.ts', '<', q.until);
    if (q.app !== undefined) b = b.where('m.app', '=', q.app);
    if (q.env !== undefined) b = b.where('m.env', '=', q.env);
    if (q.release !== undefined) b = b.where('m.release', '=', q.release);
    if (q.status !== undefined) b = b.where('m.status', '=', q.status);
    for (const mark of also)
      b = b.where((eb) =>
        eb.exists(
          eb
            .selectFrom('trace_marks as o')
            .select(eb.lit(1).as('one'))
            .where('o.kind', '=', mark.kind)
            .where('o.value', '=', mark.value)
            .whereRef('o.ts', '=', 'm.ts')
            .whereRef('o.trace_row', '=', 'm.trace_row'),
        ),
      );
    return b.as('b');
  }
  return traceFilter(
    db
      .selectFrom('traces as t')
      .select([
        't.user_id as user_id',
        't.tenant_id as tenant_id',
        't.ts as ts',
        sql<string | null>`null`.as('row_id'),
      ])
      .where('t.ts', '>=', q.since)
      .where('t.ts', '<', q.until),
    q,
  ).as('b');
}

type TraceSelect<O> = SelectQueryBuilder<Database & { t: TracesTable }, 't', O>;

/** The filters a trace row answers itself (the traces plan, and the example lookup on it). */
function traceFilter<O>(sel: TraceSelect<O>, q: BlastRadiusQuery): TraceSelect<O> {
  let s = sel;
  if (q.app !== undefined) s = s.where('t.app', '=', q.app);
  if (q.env !== undefined) s = s.where('t.env', '=', q.env);
  if (q.release !== undefined) s = s.where('t.release', '=', q.release);
  if (q.status !== undefined) s = s.where('t.status', '=', q.status);
  return s;
}

/** A row with no tenant groups as '' (tenant ids are never empty: request-identity drops empty ones). */
const tenantKey = (): RawBuilder<string> => sql<string>`coalesce(b.tenant_id, '')`;

/** One (user, tenant) of the export as the aggregate returns it. */
interface UserRow {
  user_id: string;
  tenant: string;
  first_seen: Num;
  last_seen: Num;
  traces: Num;
  example_row: string | null;
}

/** Lookups a statement: well under SQLite's 32,766 parameters and PostgreSQL's 65,535. */
const LOOKUP_CHUNK = 500;
let exportSeq = 0;

export interface BlastRadiusQueries {
  blastRadius(q: BlastRadiusQuery): Promise<BlastRadiusCounts>;
  affectedUsers(q: BlastRadiusQuery, pageSize: number): AsyncGenerator<AffectedUser[]>;
}

export function blastRadiusQueries(db: Kysely<Database>): BlastRadiusQueries {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;

  /** Every affected (user, tenant), in that order: one aggregate over the matching calls. */
  const aggregate = (q: BlastRadiusQuery) =>
    db
      .selectFrom(base(db, q))
      .select(({ fn }) => [
        'b.user_id',
        tenantKey().as('tenant'),
        fn.min<Num>('b.ts').as('first_seen'),
        fn.max<Num>('b.ts').as('last_seen'),
        fn.countAll<Num>().as('traces'),
        // Row ids start with the time (newTraceRowId), so the greatest is the latest call.
        fn.max<string | null>('b.row_id').as('example_row'),
      ])
      .where('b.user_id', 'is not', null)
      .groupBy(['b.user_id', tenantKey()])
      .orderBy('b.user_id')
      .orderBy(tenantKey());

  /**
   * The X-AI-Trace-Id of each user's latest matching call: by row id on the marks plan; on the traces
   * plan by (user, time of the latest call) through traces_user_ts, with the trace filters again.
   */
  async function examples(exec: Kysely<Database>, q: BlastRadiusQuery, rows: readonly UserRow[]) {
    const found = new Map<string, string>();
    for (let i = 0; i < rows.length; i += LOOKUP_CHUNK) {
      const chunk = rows.slice(i, i + LOOKUP_CHUNK);
      const ids = chunk.flatMap((r) => (r.example_row === null ? [] : [r.example_row]));
      if (ids.length > 0)
        for (const t of await exec
          .selectFrom('traces')
          .select(['id', 'trace_id'])
          .where('id', 'in', ids)
          .execute())
          found.set(`row:${t.id}`, t.trace_id);
      const latest = chunk.filter((r) => r.example_row === null);
      if (latest.length === 0) continue;
      const pairs = sql.join(latest.map((r) => sql`(${r.user_id}, cast(${Number(r.last_seen)} as bigint))`));
      const hits = await traceFilter(
        exec
          .selectFrom('traces as t')
          .select(['t.user_id', 't.tenant_id', 't.ts', 't.trace_id'])
          .where(sql<boolean>`(t.user_id, t.ts) in (values ${pairs})`)
          // Two calls in one millisecond: the greatest row id wins, the same on both stores.
          .orderBy('t.id'),
        q,
      ).execute();
      for (const t of hits)
        found.set(`${t.user_id ?? ''}\u0000${t.tenant_id ?? ''}\u0000${t.ts}`, t.trace_id);
    }
    return rows.map((r) => ({
      userId: r.user_id,
      tenantId: r.tenant === '' ? null : r.tenant,
      firstSeen: Number(r.first_seen),
      lastSeen: Number(r.last_seen),
      traces: Number(r.traces),
      exampleTraceId:
        (r.example_row === null
          ? found.get(`${r.user_id}\u0000${r.tenant}\u0000${Number(r.last_seen)}`)
          : found.get(`row:${r.example_row}`)) ?? '',
    }));
  }

  return {
    async blastRadius(q) {
      const row = postgres
        ? // COUNT(DISTINCT) sorts every matching call (to disk beyond work_mem); grouping by (user,
          // tenant) first is one hash aggregate, and the distinct counts then sort only the groups.
          await db
            .selectFrom(
              db
                .selectFrom(base(db, q))
                .select(({ fn }) => ['b.user_id', 'b.tenant_id', fn.countAll<Num>().as('n')])
                .groupBy(['b.user_id', 'b.tenant_id'])
                .as('g'),
            )
            .select(({ fn }) => [
              fn.sum<Num | null>('g.n').as('traces'),
              fn.count<Num>('g.user_id').distinct().as('users'),
              fn.count<Num>('g.tenant_id').distinct().as('tenants'),
              sql<Num | null>`sum(case when g.user_id is null then 0 else g.n end)`.as('with_user'),
            ])
            .executeTakeFirstOrThrow()
        : // SQLite: one pass with a temporary b-tree per distinct count (grouping first is slower here).
          await db
            .selectFrom(base(db, q))
            .select(({ fn }) => [
              fn.countAll<Num>().as('traces'),
              fn.count<Num>('b.user_id').distinct().as('users'),
              fn.count<Num>('b.tenant_id').distinct().as('tenants'),
              fn.count<Num>('b.user_id').as('with_user'),
            ])
            .executeTakeFirstOrThrow();
      // SUM over no rows is NULL.
      const traces = Number(row.traces ?? 0);
      return {
        traces,
        users: Number(row.users),
        tenants: Number(row.tenants),
        tracesWithoutUser: traces - Number(row.with_user ?? 0),
      };
    },

    /**
     * The aggregate is computed once, then read a page at a time, so a page costs what its rows cost
     * whatever the number of users: on PostgreSQL through a cursor in a read-only transaction (one pool
     * connection for the length of the export), on SQLite into a temporary table (SQLite's temp store,
     * on disk by default) on the store's single connection, which other queries keep using in between.
     * Stopping early (the consumer breaks or throws) ends the transaction or drops the table.
     */
    async *affectedUsers(q, pageSize) {
      const { sql: text, parameters } = aggregate(q).compile();
      if (postgres) {
        const trx = await db.startTransaction().setAccessMode('read only').execute();
        try {
          await trx.executeQuery(
            CompiledQuery.raw(`declare blast_radius_export no scroll cursor for ${text}`, [...parameters]),
          );
          for (;;) {
            const { rows } = await trx.executeQuery<UserRow>(
              CompiledQuery.raw(`fetch forward ${Math.trunc(pageSize)} from blast_radius_export`),
            );
            if (rows.length > 0) yield await examples(trx, q, rows);
            if (rows.length < pageSize) break;
          }
        } finally {
          await trx.rollback().execute();
        }
        return;
      }
      const table = `blast_radius_export_${process.pid}_${++exportSeq}`;
      await db.executeQuery(CompiledQuery.raw(`create temp table "${table}" as ${text}`, [...parameters]));
      try {
        let after = 0;
        for (;;) {
          const { rows } = await db.executeQuery<UserRow & { rid: number }>(
            CompiledQuery.raw(
              `select rowid as rid, * from temp."${table}" where rowid > ? order by rowid limit ?`,
              [after, pageSize],
            ),
          );
          const last = rows.at(-1);
          if (last) {
            after = last.rid;
            yield await examples(db, q, rows);
          }
          if (rows.length < pageSize) break;
        }
      } finally {
        await db.executeQuery(CompiledQuery.raw(`drop table if exists temp."${table}"`));
      }
    },
  };
}
