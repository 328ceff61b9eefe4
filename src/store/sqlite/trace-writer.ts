import type { Database as SQLiteDatabase } from 'better-sqlite3';
import type { TraceMarksTable, TracesTable } from '../schema.js';

const COLUMNS: readonly (keyof TracesTable)[] = [
  'id',
  'trace_id',
  'ts',
  'app',
  'env',
  'user_id',
  'tenant_id',
  'session_id',
  'endpoint',
  'model',
  'provider',
  'release',
  'deployment',
  'status',
  'http_status',
  'error_code',
  'stream',
  'latency_ms',
  'upstream_ms',
  'overhead_ms',
  'ttft_ms',
  'prompt_tokens',
  'completion_tokens',
  'body',
];

const MARK_COLUMNS: readonly (keyof TraceMarksTable)[] = [
  'kind',
  'value',
  'ts',
  'trace_row',
  'app',
  'env',
  'release',
  'status',
  'user_id',
  'tenant_id',
];

/**
 * Trace batches on SQLite: one prepared statement in one transaction (run by the trace worker thread,
 * or in-thread where no worker can share the database); building a 12,000-parameter multi-row query through the query builder
 * for every batch cost far more than the insert itself. A trace's marks (trace_marks: findings, tools,
 * a status other than ok) go in the same transaction; clean traces have none. Both inserts ignore rows
 * already there, so a retried batch adds nothing.
 */
export function sqliteTraceWriter(
  database: SQLiteDatabase,
): (rows: readonly TracesTable[], marks: readonly TraceMarksTable[]) => Promise<void> {
  // Positional parameters: better-sqlite3 binds them faster than named ones (measurably, per row).
  const insert = database.prepare(
    `INSERT OR IGNORE INTO traces (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map(() => '?').join(', ')})`,
  );
  const insertMark = database.prepare(
    `INSERT OR IGNORE INTO trace_marks (${MARK_COLUMNS.join(', ')}) VALUES (${MARK_COLUMNS.map(() => '?').join(', ')})`,
  );
  const insertAll = database.transaction(
    (rows: readonly TracesTable[], marks: readonly TraceMarksTable[]) => {
      for (const row of rows) insert.run(COLUMNS.map((c) => row[c]));
      for (const mark of marks) insertMark.run(MARK_COLUMNS.map((c) => mark[c]));
    },
  );
  return (rows, marks) => {
    insertAll(rows, marks);
    return Promise.resolve();
  };
}
