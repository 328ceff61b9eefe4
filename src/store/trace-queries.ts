import type { Kysely, SelectQueryBuilder } from 'kysely';
import type { TraceFilter } from '../core/trace.js';
import type { TraceStore } from './port.js';
import type { Database, TracesTable } from './schema.js';
import { fromRow, toRow } from './trace-rows.js';

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

export function traceQueries(
  db: Kysely<Database>,
  insertTraces: (rows: readonly TracesTable[]) => Promise<void>,
): TraceStore {
  return {
    async insertBatch(records) {
      if (records.length > 0) await insertTraces(records.map(toRow));
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
    async page(req) {
      let q = applyFilter(db.selectFrom('traces').selectAll(), req);
      const cursor = req.cursor;
      if (cursor) {
        q = q.where((eb) =>
          eb.or([eb('ts', '<', cursor.ts), eb.and([eb('ts', '=', cursor.ts), eb('id', '<', cursor.id)])]),
        );
      }
      const rows = await q.orderBy('ts', 'desc').orderBy('id', 'desc').limit(req.limit).execute();
      return rows.map(fromRow);
    },
    async count(filter) {
      const row = await applyFilter(
        db.selectFrom('traces').select((eb) => eb.fn.countAll().as('n')),
        filter,
      ).executeTakeFirstOrThrow();
      return Number(row.n);
    },
  };
}
