import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import type { Store } from '../port.js';
import type { Database } from '../schema.js';
import { kyselyStore } from '../kysely-store.js';

/** `sqlite:path/to/file.db` or `sqlite::memory:`. WAL so readers (API) never block the trace writer. */
export async function connect(path: string): Promise<Store> {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const database = new SQLite(path);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = NORMAL');
  database.pragma('busy_timeout = 5000');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database }) });
  return kyselyStore(db, { dialect: 'sqlite', multiProcess: false });
}
