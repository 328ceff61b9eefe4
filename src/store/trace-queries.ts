import type { Kysely, SelectQueryBuilder } from 'kysely';
import type { TraceFilter, TracePageRequest, TraceStatus } from '../core/trace.js';
import { blastRadiusQueries } from './blast-radius-queries.js';
import type { TraceStore } from './port.js';
import type { Database, TraceMarksTable, TracesTable } from './schema.js';
import { fromRow, marksOf, toRow } from './trace-rows.js';

type TraceQuery<O> = SelectQueryBuilder<Database, 'traces', O>;

function applyFilter<O>(q: TraceQuery<O>, f: TraceFilter): TraceQuery<O> {
  if (f.app !== undefined) q = q.where('app', '=', f.app);
  if (f.env !== undefined) q = q.where('env', '=', f.env);
  if (f.userId !== undefined) q = q.where('user_id', '=', f.userId);
  if (f.tenantId !== undefined) q = q.where('tenant_id', '=', f.tenantId);
  if (f.status !== undefined) q = q.where('status', '=', f.status);
  if (f.model !== undefined) q = q.where('model', '=', f.model);
  if (f.traceId !== undefined) q = q.where('trace_id', '=', f.traceId);
  if (f.since !== undefined) q = q.where('ts', '>=', f.since);
  if (f.until !== undefined) q = q.where('ts', '<', f.until);
  return q;
}

/**
 * Traces with a status other than ok, through their status mark (trace_marks, newest first by its key)
 * rather than an index on traces.status: the mark is written anyway, and a listing of errors or blocks
 * should not cost every trace insert an index entry. `ok` (most traces) is a filter on the traces scan.
 */
function byStatusMark(db: Kysely<Database>, f: TraceFilter, status: Exclude<TraceStatus, 'ok'>) {
  let q = db
    .selectFrom('trace_marks as m')
    .innerJoin('traces as t', (j) => j.onRef('t.id', '=', 'm.trace_row').onRef('t.ts', '=', 'm.ts'))
    .where('m.kind', '=', 'status')
    .where('m.value', '=', status);
  if (f.app !== undefined) q = q.where('m.app', '=', f.app);
  if (f.env !== undefined) q = q.where('m.env', '=', f.env);
  if (f.userId !== undefined) q = q.where('m.user_id', '=', f.userId);
  if (f.tenantId !== undefined) q = q.where('m.tenant_id', '=', f.tenantId);
  if (f.model !== undefined) q = q.where('t.model', '=', f.model);
  if (f.traceId !== undefined) q = q.where('t.trace_id', '=', f.traceId);
  if (f.since !== undefined) q = q.where('m.ts', '>=', f.since);
  if (f.until !== undefined) q = q.where('m.ts', '<', f.until);
  return q;
}

const marked = (s: TraceStatus | undefined): s is Exclude<TraceStatus, 'ok'> => s !== undefined && s !== 'ok';

export function traceQueries(
  db: Kysely<Database>,
  insertTraces: (rows: readonly TracesTable[], marks: readonly TraceMarksTable[]) => Promise<void>,
): TraceStore {
  return {
    async insertBatch(records) {
      if (records.length === 0) return;
      const marks: TraceMarksTable[] = [];
      for (const r of records) for (const m of marksOf(r, r.body)) marks.push(m);
      await insertTraces(records.map(toRow), marks);
    },
    async insertRows(rows, marks) {
      if (rows.length > 0) await insertTraces(rows, marks);
    },
    async getByTraceId(id) {
      const rows = await db
        .selectFrom('traces')
        .selectAll()
        .where((eb) => eb.or([eb('trace_id', '=', id), eb('id', '=', id)]))
        .orderBy('ts')
        .orderBy('id')
        .limit(1000)
        .execute();
      return rows.map(fromRow);
    },
    async page(req: TracePageRequest) {
      const cursor = req.cursor;
      if (marked(req.status)) {
        let q = byStatusMark(db, req, req.status).selectAll('t');
        if (cursor)
          q = q.where((eb) =>
            eb.or([
              eb('m.ts', '<', cursor.ts),
              eb.and([eb('m.ts', '=', cursor.ts), eb('m.trace_row', '<', cursor.id)]),
            ]),
          );
        const rows = await q
          .orderBy('m.ts', 'desc')
          .orderBy('m.trace_row', 'desc')
          .limit(req.limit)
          .execute();
        return rows.map(fromRow);
      }
      let q = applyFilter(db.selectFrom('traces').selectAll(), req);
      if (cursor) {
        q = q.where((eb) =>
          eb.or([eb('ts', '<', cursor.ts), eb.and([eb('ts', '=', cursor.ts), eb('id', '<', cursor.id)])]),
        );
      }
      const rows = await q.orderBy('ts', 'desc').orderBy('id', 'desc').limit(req.limit).execute();
      return rows.map(fromRow);
    },
    async count(filter) {
      const row = marked(filter.status)
        ? await byStatusMark(db, filter, filter.status)
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        : await applyFilter(
            db.selectFrom('traces').select((eb) => eb.fn.countAll().as('n')),
            filter,
          ).executeTakeFirstOrThrow();
      return Number(row.n);
    },
    async recentIdentities(since, until, limit) {
      const rows = await db
        .selectFrom('traces')
        .select(['app', 'user_id', 'tenant_id'])
        .where('ts', '>=', since)
        .where('ts', '<', until)
        .where('user_id', 'is not', null)
        .groupBy(['app', 'user_id', 'tenant_id'])
        .orderBy((eb) => eb.fn.max('ts'), 'desc')
        .limit(limit)
        .execute();
      return rows.map((r) => ({ app: r.app, userId: r.user_id ?? '', tenantId: r.tenant_id }));
    },
    ...blastRadiusQueries(db),
  };
}
