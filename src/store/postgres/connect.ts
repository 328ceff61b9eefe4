import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Store } from '../port.js';
import type { Database } from '../schema.js';
import { kyselyStore } from '../kysely-store.js';

/** `postgres://user:pass@host:port/db`. int8 columns (epoch-ms times) are parsed as numbers, not strings. */
export async function connect(url: string): Promise<Store> {
  // Process-wide, and the only pg user in the process is this store.
  pg.types.setTypeParser(pg.types.builtins.INT8, (v: string) => Number(v));
  const pool = new pg.Pool({
    connectionString: url,
    max: 10,
    connectionTimeoutMillis: 5_000,
  });
  // An idle client losing its connection (server restart) must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return kyselyStore(db, { dialect: 'postgres', multiProcess: true });
}
