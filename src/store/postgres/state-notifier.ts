import { sql } from 'kysely';
import pg from 'pg';
import type { StateNotifier } from '../control-queries.js';

const CHANNEL = 'firebreak_control';

/**
 * PostgreSQL LISTEN/NOTIFY: the change's transaction NOTIFYs (delivered on commit, never for a rolled-back
 * change) and every replica LISTENs on a dedicated connection, reconnecting after a second if it drops.
 * A missed notification is covered by the replicas' periodic reconcile.
 */
export function postgresStateNotifier(url: string): StateNotifier {
  const listeners = new Set<(version: number) => void>();
  let client: pg.Client | undefined;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;

  const connect = async (): Promise<void> => {
    if (closed || client) return;
    const c = new pg.Client({ connectionString: url });
    client = c;
    const reconnect = () => {
      if (client !== c) return;
      client = undefined;
      void c.end().catch(() => undefined);
      if (!closed) {
        retry = setTimeout(() => void connect(), 1_000);
        retry.unref();
      }
    };
    c.on('error', reconnect);
    c.on('end', reconnect);
    c.on('notification', (msg) => {
      const version = Number(msg.payload);
      if (Number.isFinite(version)) for (const l of listeners) l(version);
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${CHANNEL}`);
    } catch {
      reconnect();
    }
  };

  return {
    async inTransaction(trx, version) {
      await sql`select pg_notify(${CHANNEL}, ${String(version)})`.execute(trx);
    },
    afterCommit: () => undefined,
    subscribe(listener) {
      listeners.add(listener);
      void connect();
      return () => listeners.delete(listener);
    },
    async close() {
      closed = true;
      clearTimeout(retry);
      const c = client;
      client = undefined;
      await c?.end().catch(() => undefined);
    },
  };
}
