import type { Kysely } from 'kysely';
import type { Database, TraceMarksTable, TracesTable } from '../schema.js';

/** PostgreSQL accepts at most 65,535 parameters a statement: 24 columns × 2,000 rows stays under it. */
const ROWS_PER_STATEMENT = 2_000;
/** 10 columns a mark. */
const MARKS_PER_STATEMENT = 5_000;

/**
 * Trace batches on PostgreSQL: multi-row inserts; the driver's I/O is asynchronous. A batch of clean
 * traces that fits one statement is that one statement (no transaction round trips); otherwise the
 * traces and their marks (trace_marks) are written in one transaction. Conflicting rows are skipped, so
 * a retried batch adds nothing.
 */
export function postgresTraceWriter(
  db: Kysely<Database>,
): (rows: readonly TracesTable[], marks: readonly TraceMarksTable[]) => Promise<void> {
  const write = async (
    q: Kysely<Database>,
    rows: readonly TracesTable[],
    marks: readonly TraceMarksTable[],
  ): Promise<void> => {
    for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
      await q
        .insertInto('traces')
        .values(rows.slice(i, i + ROWS_PER_STATEMENT))
        .onConflict((oc) => oc.column('id').doNothing())
        .execute();
    }
    for (let i = 0; i < marks.length; i += MARKS_PER_STATEMENT) {
      await q
        .insertInto('trace_marks')
        .values(marks.slice(i, i + MARKS_PER_STATEMENT))
        .onConflict((oc) => oc.doNothing())
        .execute();
    }
  };
  return async (rows, marks) => {
    if (marks.length === 0 && rows.length <= ROWS_PER_STATEMENT) return write(db, rows, marks);
    await db.transaction().execute((trx) => write(trx, rows, marks));
  };
}
