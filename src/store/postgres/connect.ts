import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Store } from '../port.js';
import type { Database } from '../schema.js';
import { kyselyStore } from '../kysely-store.js';
import { postgresStateNotifier } from './state-notifier.js';
import { postgresTraceWriter } from './trace-writer.js';

/** `postgres://user:pass@host:port/db`. int8 columns (epoch-ms times) are parsed as numbers, not strings. */
export async function connect(url: string): Promise<Omit<Store, 'url'>> {
  // Process-wide, and the only pg user in the process is this store.
  pg.types.setTypeParser(pg.types.builtins.INT8, (v: string) => Number(v));
  const pool = new pg.Pool({
    connectionString: url,
    max: 10,
    connectionTimeoutMillis: 5_000,
  });
  // A client losing its connection (server restart, failover) must never crash the process: the pool
  // reports idle clients' errors on itself, but a checked-out client emits on its own, so every client
  // gets a listener too. The failing query still rejects, and the pool replaces the client.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return kyselyStore(
    db,
    { dialect: 'postgres', multiProcess: true, snapshotReads: 'repeatable read' },
    { insertTraces: postgresTraceWriter(db), notifier: postgresStateNotifier(url) },
  );
}
