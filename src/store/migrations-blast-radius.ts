import { sql, SqliteAdapter, type Kysely, type Migration } from 'kysely';
import type { Database, TraceMarksTable } from './schema.js';
import { fromRow, marksOf } from './trace-rows.js';

/**
 * Blast radius (issue 5): trace_marks, and the traces indexes reshaped around it.
 *
 * - trace_marks: one row per distinct mark of a trace (detector, class, tool, status other than ok),
 *   keyed (kind, value, ts, trace_row) and carrying the trace's filter columns. On SQLite the table is
 *   WITHOUT ROWID, so the key is the table and every blast radius count over marks reads only it.
 * - traces_app_ts (app, ts, env, release, status, user_id, tenant_id) replaces traces_app_env_ts: it
 *   covers blast radius without a mark (an app's window is one range of it, no trace row read) and still
 *   serves `GET /api/traces?app=&env=` (newest first within the app, env checked in the index). The row
 *   id is left out: a third of the entry, and what a cold scan of an app's month reads is this index.
 * - traces_release_ts and traces_status_ts are dropped: no listing filters by release (a release
 *   names its app, so blast radius by release is the app's index), and a status other than ok is
 *   listed through its mark. Six secondary indexes on traces instead of eight.
 *
 * Existing traces are marked here, from their stored (redacted) bodies, so nothing recorded before
 * this migration is missing from blast radius or from a status listing.
 */
const SCAN_CHUNK = 500;
/** 10 columns a mark; SQLite binds at most 32,766 parameters a statement. */
const MARKS_PER_STATEMENT = 3_000;

export const blastRadiusMigration: Migration = {
  async up(raw: Kysely<unknown>) {
    // The migration sees the schema as of now, which is what it builds.
    const db = raw as unknown as Kysely<Database>;
    const sqlite = raw.getExecutor().adapter instanceof SqliteAdapter;
    await db.schema
      .createTable('trace_marks')
      .addColumn('kind', 'varchar(16)', (c) => c.notNull())
      .addColumn('value', 'varchar(128)', (c) => c.notNull())
      .addColumn('ts', 'bigint', (c) => c.notNull())
      .addColumn('trace_row', 'varchar(64)', (c) => c.notNull())
      .addColumn('app', 'varchar(64)', (c) => c.notNull())
      .addColumn('env', 'varchar(64)', (c) => c.notNull())
      .addColumn('release', 'varchar(128)', (c) => c.notNull())
      .addColumn('status', 'varchar(16)', (c) => c.notNull())
      .addColumn('user_id', 'varchar(256)')
      .addColumn('tenant_id', 'varchar(256)')
      .addPrimaryKeyConstraint('trace_marks_pk', ['kind', 'value', 'ts', 'trace_row'])
      .$call((t) => (sqlite ? t.modifyEnd(sql`without rowid`) : t))
      .execute();
    await db.schema
      .createIndex('traces_app_ts')
      .on('traces')
      .columns(['app', 'ts', 'env', 'release', 'status', 'user_id', 'tenant_id'])
      .execute();
    for (const name of ['traces_app_env_ts', 'traces_release_ts', 'traces_status_ts'])
      await db.schema.dropIndex(name).execute();
    await markExistingTraces(db);
  },
};

/**
 * One scan for the ids of traces that may carry marks (a status other than ok, or a body with a
 * non-empty findings / tool list: JSON.stringify writes no spaces), then those rows by id.
 */
async function markExistingTraces(db: Kysely<Database>): Promise<void> {
  const candidates = await db
    .selectFrom('traces')
    .select('id')
    .where((eb) =>
      eb.or([
        eb('status', '<>', 'ok'),
        eb('body', 'like', '%"findings":[{%'),
        eb('body', 'like', '%"toolCalls":[{%'),
        eb('body', 'like', '%"toolDecisions":[{%'),
        eb('body', 'like', '%"blockedToolCalls":[{%'),
      ]),
    )
    .execute();
  for (let i = 0; i < candidates.length; i += SCAN_CHUNK) {
    const ids = candidates.slice(i, i + SCAN_CHUNK).map((c) => c.id);
    const rows = await db.selectFrom('traces').selectAll().where('id', 'in', ids).execute();
    const marks: TraceMarksTable[] = [];
    for (const row of rows) {
      let record;
      try {
        record = fromRow(row);
      } catch {
        continue; // a body that is not JSON cannot be marked; the trace itself is untouched
      }
      marks.push(...marksOf(record, record.body));
    }
    for (let j = 0; j < marks.length; j += MARKS_PER_STATEMENT)
      await db
        .insertInto('trace_marks')
        .values(marks.slice(j, j + MARKS_PER_STATEMENT))
        .onConflict((oc) => oc.doNothing())
        .execute();
  }
}
