import type { Database as SQLiteDatabase } from 'better-sqlite3';
import type { TracesTable } from '../schema.js';

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

/**
 * Trace batches on SQLite: one prepared statement in one transaction (run by the trace worker thread,
 * or in-thread where no worker can share the database); building a 12,000-parameter multi-row query through the query builder
 * for every batch cost far more than the insert itself.
 */
export function sqliteTraceWriter(database: SQLiteDatabase): (rows: readonly TracesTable[]) => Promise<void> {
  // Positional parameters: better-sqlite3 binds them faster than named ones (measurably, per row).
  const insert = database.prepare(
    `INSERT OR IGNORE INTO traces (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map(() => '?').join(', ')})`,
  );
  const insertAll = database.transaction((rows: readonly TracesTable[]) => {
    for (const row of rows) insert.run(COLUMNS.map((c) => row[c]));
  });
  return (rows) => {
    insertAll(rows);
    return Promise.resolve();
  };
}
