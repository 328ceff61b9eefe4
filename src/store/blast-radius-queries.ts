import { sql, type AliasedSelectQueryBuilder, type Kysely, type RawBuilder } from 'kysely';
import type { AffectedUser, AffectedUserKey, BlastRadiusCounts, BlastRadiusQuery } from './port.js';
import type { MarkKind } from './trace-rows.js';
import type { Database } from './schema.js';

/**
 * Blast radius: exact distinct users, tenants and calls for a filter, and the affected users page by
 * page. Two plans, both index-backed:
 *
 * - a detector, tool or class (or a status other than ok) given: driven by trace_marks, whose primary
 *   key (kind, value, ts, trace_row) is a range scan of just the marked traces in the window (a few per
 *   cent of all traces) and whose rows carry app, env, release, status, user and tenant, so the trace
 *   rows are never read. Further marks must be on the same trace (a point lookup on the same key).
 * - otherwise (an app or release, with env, status ok…): traces_app_ts (app, ts, id, env, release,
 *   status, user_id, tenant_id) covers the query, so the window is one index range and the bodies are
 *   never read.
 */
interface Base {
  user_id: string | null;
  tenant_id: string | null;
  ts: number;
  row_id: string;
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
  let b = db
    .selectFrom('traces as t')
    .select(['t.user_id as user_id', 't.tenant_id as tenant_id', 't.ts as ts', 't.id as row_id'])
    .where('t.ts', '>=', q.since)
    .where('t.ts', '<', q.until);
  if (q.app !== undefined) b = b.where('t.app', '=', q.app);
  if (q.env !== undefined) b = b.where('t.env', '=', q.env);
  if (q.release !== undefined) b = b.where('t.release', '=', q.release);
  if (q.status !== undefined) b = b.where('t.status', '=', q.status);
  return b.as('b');
}

/** A row with no tenant groups as '' (tenant ids are never empty: request-identity drops empty ones). */
const tenantKey = (): RawBuilder<string> => sql<string>`coalesce(b.tenant_id, '')`;

/** SQLite binds at most 32,766 parameters; well under it, and small enough for one round trip. */
const LOOKUP_CHUNK = 500;

export function blastRadiusQueries(db: Kysely<Database>): {
  blastRadius(q: BlastRadiusQuery): Promise<BlastRadiusCounts>;
  affectedUsers(
    q: BlastRadiusQuery,
    page: { readonly after?: AffectedUserKey; readonly limit: number },
  ): Promise<AffectedUser[]>;
} {
  return {
    async blastRadius(q) {
      const row = await db
        .selectFrom(base(db, q))
        .select(({ fn }) => [
          fn.countAll<Num>().as('traces'),
          fn.count<Num>('b.user_id').distinct().as('users'),
          fn.count<Num>('b.tenant_id').distinct().as('tenants'),
          fn.count<Num>('b.user_id').as('with_user'),
        ])
        .executeTakeFirstOrThrow();
      const traces = Number(row.traces);
      return {
        traces,
        users: Number(row.users),
        tenants: Number(row.tenants),
        tracesWithoutUser: traces - Number(row.with_user),
      };
    },

    async affectedUsers(q, page) {
      let sel = db
        .selectFrom(base(db, q))
        .select(({ fn }) => [
          'b.user_id',
          tenantKey().as('tenant'),
          fn.min<Num>('b.ts').as('first_seen'),
          fn.max<Num>('b.ts').as('last_seen'),
          fn.countAll<Num>().as('traces'),
          // Row ids start with the time (newTraceRowId), so the greatest is the latest call.
          fn.max<string>('b.row_id').as('example_row'),
        ])
        .where('b.user_id', 'is not', null);
      const after = page.after;
      if (after)
        sel = sel.where((eb) =>
          eb.or([
            eb('b.user_id', '>', after.userId),
            eb.and([eb('b.user_id', '=', after.userId), eb(tenantKey(), '>', after.tenantId ?? '')]),
          ]),
        );
      const rows = await sel
        .groupBy(['b.user_id', tenantKey()])
        .orderBy('b.user_id')
        .orderBy(tenantKey())
        .limit(page.limit)
        .execute();
      const traceIds = new Map<string, string>();
      for (let i = 0; i < rows.length; i += LOOKUP_CHUNK) {
        const ids = rows.slice(i, i + LOOKUP_CHUNK).map((r) => r.example_row);
        for (const t of await db
          .selectFrom('traces')
          .select(['id', 'trace_id'])
          .where('id', 'in', ids)
          .execute())
          traceIds.set(t.id, t.trace_id);
      }
      return rows.map((r) => ({
        userId: r.user_id ?? '',
        tenantId: r.tenant === '' ? null : r.tenant,
        firstSeen: Number(r.first_seen),
        lastSeen: Number(r.last_seen),
        traces: Number(r.traces),
        exampleTraceId: traceIds.get(r.example_row) ?? r.example_row,
      }));
    },
  };
}
