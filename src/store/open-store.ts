import type { Store } from './port.js';
import { connect as connectPostgres } from './postgres/connect.js';
import { connect as connectSqlite } from './sqlite/connect.js';

/** Picks the adapter from the URL: `postgres://…` / `postgresql://…`, `sqlite:path`, or a bare file path. */
export async function openStore(url: string): Promise<Store> {
  if (/^postgres(ql)?:\/\//.test(url)) return { ...(await connectPostgres(url)), url };
  const path = url.startsWith('sqlite:') ? url.slice('sqlite:'.length) : url;
  if (path === '') throw new Error('FIREBREAK_DATABASE_URL: "sqlite:" needs a file path (or :memory:)');
  return { ...(await connectSqlite(path)), url };
}
