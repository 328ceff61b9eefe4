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
 * Trace batches on SQLite: one prepared statement in one transaction. better-sqlite3 is synchronous, so
 * this runs on the event loop; building a 12,000-parameter multi-row query through the query builder
 * for every batch cost far more than the insert itself.
 */
export function sqliteTraceWriter(database: SQLiteDatabase): (rows: readonly TracesTable[]) => Promise<void> {
  const insert = database.prepare(
    `INSERT OR IGNORE INTO traces (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map((c) => `@${c}`).join(', ')})`,
  );
  const insertAll = database.transaction((rows: readonly TracesTable[]) => {
    for (const row of rows) insert.run(row);
  });
  return (rows) => {
    insertAll(rows);
    return Promise.resolve();
  };
}
