import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import type { Store } from '../port.js';
import type { Database } from '../schema.js';
import { kyselyStore } from '../kysely-store.js';
import { sqliteStateNotifier } from './state-notifier.js';
import { sqliteTraceWriter } from './trace-writer.js';

/** `sqlite:path/to/file.db` or `sqlite::memory:`. WAL so readers (API) never block the trace writer. */
export async function connect(path: string): Promise<Omit<Store, 'url'>> {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const database = new SQLite(path);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = NORMAL');
  database.pragma('busy_timeout = 5000');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database }) });
  let writer: ReturnType<typeof sqliteTraceWriter> | undefined;
  // Kysely takes no migration lock on SQLite and runs no transaction around it, but a CLI command and
  // a server may open the same file at once: one IMMEDIATE transaction around all migrations makes the
  // second wait (busy_timeout) and then find them applied; SQLite's DDL is transactional.
  return kyselyStore(
    db,
    { dialect: 'sqlite', multiProcess: false },
    {
      async withMigrationLock(migrate) {
        database.exec('BEGIN IMMEDIATE');
        try {
          const result = await migrate();
          database.exec('COMMIT');
          return result;
        } catch (error) {
          if (database.inTransaction) database.exec('ROLLBACK');
          throw error;
        }
      },
      // Through Kysely's connection so the write waits for (never joins) a transaction in progress on
      // this single connection; prepared lazily, once the migrations have created the table.
      notifier: sqliteStateNotifier(),
      insertTraces: (rows, marks) =>
        db.connection().execute(async () => {
          await (writer ??= sqliteTraceWriter(database))(rows, marks);
        }),
    },
  );
}
