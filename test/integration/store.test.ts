import { spawn } from 'node:child_process';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import type { TraceRecord } from '../../src/core/trace.js';
import { migrationProvider } from '../../src/store/migrations.js';
import { openStore } from '../../src/store/open-store.js';
import { freshDatabaseUrl, storeKinds } from '../support/stores.js';

function openInChildProcess(url: string): Promise<number | null> {
  const script = `import(${JSON.stringify(new URL('../../dist/store/open-store.js', import.meta.url).href)}).then((m) => m.openStore(${JSON.stringify(url)})).then((s) => s.close())`;
  return new Promise((resolve) =>
    spawn(process.execPath, ['-e', script], { stdio: 'inherit' }).on('exit', resolve),
  );
}

async function migrationsApplied(url: string): Promise<number> {
  if (url.startsWith('sqlite:')) {
    const db = new SQLite(url.slice('sqlite:'.length), { readonly: true });
    const row = db.prepare('select count(*) as n from kysely_migration').get() as { n: number };
    db.close();
    return row.n;
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const { rows } = await client.query<{ n: string }>('select count(*) as n from kysely_migration');
  await client.end();
  return Number(rows[0]?.n);
}

function trace(i: number, overrides: Partial<TraceRecord> = {}): TraceRecord {
  return {
    id: `tr_${String(i).padStart(6, '0')}`,
    traceId: `t-${i % 7}`,
    ts: 1_800_000_000_000 + Math.floor(i / 3) * 1000,
    app: i % 2 === 0 ? 'a' : 'b',
    env: 'prod',
    userId: `u-${i % 5}`,
    tenantId: i % 3 === 0 ? 'acme' : null,
    sessionId: null,
    endpoint: 'chat.completions',
    model: 'sim-1',
    provider: 'sim',
    release: 'a@0',
    deployment: null,
    status: i % 4 === 0 ? 'error' : 'ok',
    httpStatus: i % 4 === 0 ? 502 : 200,
    errorCode: i % 4 === 0 ? 'upstream_error' : null,
    stream: i % 2 === 1,
    latencyMs: 1.5,
    upstreamMs: 1.25,
    overheadMs: 0.25,
    ttftMs: null,
    promptTokens: 3,
    completionTokens: 4,
    body: {
      request: { n: i, text: 'héllo ✓' },
      retrieved: [],
      response: null,
      toolCalls: [],
      toolResults: [],
    },
    ...overrides,
  };
}

describe.each(storeKinds)('store (%s)', (kind) => {
  it('migrates once when several replicas start at the same time', async () => {
    const url = await freshDatabaseUrl(kind);
    if (kind === 'sqlite') {
      // better-sqlite3 is synchronous, so concurrent openers must be separate processes, as in production.
      const codes = await Promise.all(Array.from({ length: 3 }, () => openInChildProcess(url)));
      expect(codes).toEqual([0, 0, 0]);
    } else {
      const stores = await Promise.all(Array.from({ length: 4 }, () => openStore(url)));
      await Promise.all(stores.map((s) => s.close()));
    }
    const store = await openStore(url);
    try {
      await store.traces.insertBatch([trace(1)]);
      expect(await store.traces.count({})).toBe(1);
    } finally {
      await store.close();
    }
    const defined = Object.keys(await migrationProvider.getMigrations()).length;
    expect(await migrationsApplied(url)).toBe(defined);
  });

  it('round-trips every field, ignores a re-sent batch, and pages by (ts, id) without gaps', async () => {
    const store = await openStore(await freshDatabaseUrl(kind));
    try {
      const all = Array.from({ length: 60 }, (_, i) => trace(i));
      await store.traces.insertBatch(all);
      // A retried batch after a lost acknowledgement (on SQLite: one 25-row group and single rows).
      await store.traces.insertBatch(all.slice(0, 30));
      expect(await store.traces.count({})).toBe(60);
      expect(await store.traces.getByTraceId('tr_000005')).toEqual([all[5]]);
      expect((await store.traces.getByTraceId('t-3')).map((t) => t.id)).toEqual(
        all.filter((t) => t.traceId === 't-3').map((t) => t.id),
      );

      const seen: string[] = [];
      let cursor: { ts: number; id: string } | undefined;
      for (;;) {
        const page = await store.traces.page({ limit: 7, app: 'a', ...(cursor ? { cursor } : {}) });
        seen.push(...page.map((t) => t.id));
        const last = page.at(-1);
        if (page.length < 7 || !last) break;
        cursor = { ts: last.ts, id: last.id };
      }
      const expected = all
        .filter((t) => t.app === 'a')
        .sort((x, y) => y.ts - x.ts || (y.id < x.id ? -1 : 1))
        .map((t) => t.id);
      expect(seen).toEqual(expected);
      expect(await store.traces.count({ userId: 'u-1', status: 'ok' })).toBe(
        all.filter((t) => t.userId === 'u-1' && t.status === 'ok').length,
      );
      expect(await store.traces.count({ tenantId: 'acme', since: all[30]?.ts ?? 0 })).toBe(
        all.filter((t) => t.tenantId === 'acme' && t.ts >= (all[30]?.ts ?? 0)).length,
      );
    } finally {
      await store.close();
    }
  });
});
