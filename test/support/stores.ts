import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { inject } from 'vitest';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/port.js';

export type StoreKind = 'sqlite' | 'postgres';
/** Every integration suite runs once per store: `describe.each(storeKinds)`. */
export const storeKinds: readonly StoreKind[] = ['sqlite', 'postgres'];

/** A database URL for a fresh, empty store of that kind. */
export async function freshDatabaseUrl(kind: StoreKind, serverUrl = inject('postgresUrl')): Promise<string> {
  if (kind === 'sqlite')
    return `sqlite:${join(mkdtempSync(join(tmpdir(), 'firebreak-sqlite-')), 'firebreak.db')}`;
  const name = `fb_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function freshStore(kind: StoreKind): Promise<Store> {
  return openStore(await freshDatabaseUrl(kind));
}

/**
 * SQL straight on the store's database (the URL from freshDatabaseUrl) over a connection of its own,
 * bypassing Firebreak: what someone with database access, or a failing disk, could do.
 */
export async function sqlOn(url: string, statement: string, params: unknown[] = []): Promise<void> {
  if (url.startsWith('sqlite:')) {
    const db = new SQLite(url.slice('sqlite:'.length));
    try {
      db.prepare(statement.replace(/\$\d+/g, '?')).run(...params);
    } finally {
      db.close();
    }
    return;
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(statement, params);
  } finally {
    await client.end();
  }
}
