import type { Kysely } from 'kysely';
import type { Database, TracesTable } from '../schema.js';

/** PostgreSQL accepts at most 65,535 parameters a statement: 24 columns × 2,000 rows stays under it. */
const ROWS_PER_STATEMENT = 2_000;

/** Trace batches on PostgreSQL: multi-row inserts; the driver's I/O is asynchronous. */
export function postgresTraceWriter(db: Kysely<Database>): (rows: readonly TracesTable[]) => Promise<void> {
  return async (rows) => {
    for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
      await db
        .insertInto('traces')
        .values(rows.slice(i, i + ROWS_PER_STATEMENT))
        .onConflict((oc) => oc.column('id').doNothing())
        .execute();
    }
  };
}
