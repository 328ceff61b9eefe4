import { sql } from 'kysely';
import pg from 'pg';
import type { StateNotifier } from '../control-queries.js';

const CHANNEL = 'firebreak_control';

/**
 * PostgreSQL LISTEN/NOTIFY: the change's transaction NOTIFYs (delivered on commit, never for a rolled-back
 * change) and every replica LISTENs on a dedicated connection, reconnecting after a second if it drops;
 * once listening it reports the current version, which covers changes made while it was not. A lost
 * notification is covered by the replicas' periodic reconcile.
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
      // A change committed before LISTEN took effect (at start-up, or while the connection was down
      // during a restart) was notified to nobody: tell the listeners the version as it stands now, so
      // they catch up at once instead of at their next reconcile. Later commits are notified.
      // Best effort: if this read fails, the reconcile still catches up (a dropped connection reconnects).
      const r = await c
        .query<{ version: unknown }>('select version from control_state where id = 1')
        .catch(() => undefined);
      const version = Number(r?.rows[0]?.version);
      if (client === c && Number.isFinite(version)) for (const l of listeners) l(version);
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
