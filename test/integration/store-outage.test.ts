import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GATEWAY_KEY, startFirebreak, testConfigYaml, type Running } from '../support/harness.js';
import { startPostgres, type PostgresServer } from '../support/postgres-server.js';
import { freshDatabaseUrl } from '../support/stores.js';

/**
 * "Nothing accepted is lost": with PostgreSQL stopped for a few seconds under load, traces wait in the
 * buffer and are written when it returns; past the buffer's bound, a counter says how many were dropped.
 * This suite owns its PostgreSQL server, since it stops it.
 */
describe('trace recording through a PostgreSQL outage', () => {
  let pg: PostgresServer;

  beforeAll(async () => {
    pg = await startPostgres();
  }, 120_000);
  afterAll(() => pg.destroy());

  async function readyz(fb: Running): Promise<{
    status: string;
    store: { reachable: boolean };
    traces: { pending: number; dropped: number; written: number };
  }> {
    return (await (await fetch(`${fb.url}/readyz`)).json()) as never;
  }

  async function waitFor(check: () => Promise<boolean>, what: string, tries = 400): Promise<void> {
    for (let i = 0; i < tries; i++) {
      if (await check()) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`timed out waiting for ${what}`);
  }

  it('keeps serving while the store is down and writes every buffered trace when it returns', async () => {
    const fb = await startFirebreak({ store: { url: await freshDatabaseUrl('postgres', pg.url()) } });
    const client = new OpenAI({ baseURL: `${fb.url}/v1`, apiKey: GATEWAY_KEY, maxRetries: 0 });
    let running = true;
    try {
      let sent = 0;
      let ok = 0;
      const worker = async () => {
        while (running) {
          sent += 1;
          const r = await client.chat.completions.create({
            model: 'sim-1',
            messages: [{ role: 'user', content: `load ${sent}` }],
          });
          if (r.choices[0]?.message.content) ok += 1;
        }
      };
      const load = Promise.all(Array.from({ length: 8 }, worker));

      await waitFor(async () => (await readyz(fb)).traces.written > 50, 'traces before the outage');
      await pg.stop();
      await waitFor(async () => (await readyz(fb)).status === 'degraded', '/readyz to report the outage');
      const during = await readyz(fb);
      expect(during.store.reachable).toBe(false);
      const okAtStop = ok;
      await waitFor(
        async () => ok > okAtStop + 200 && (await readyz(fb)).traces.pending > 100,
        'requests served during the outage',
      );
      await new Promise((r) => setTimeout(r, 2_000));
      await pg.start();
      running = false;
      await load;
      expect(ok).toBe(sent);

      await waitFor(async () => (await readyz(fb)).traces.pending === 0, 'the buffer to drain', 600);
      // The control state notices the store is back on its next reconcile, which may come a little later.
      await waitFor(async () => (await readyz(fb)).status === 'ready', 'readiness to return', 600);
      const after = await readyz(fb);
      expect(after.traces.dropped).toBe(0);
      expect(after.traces.written).toBe(ok);
      expect(await fb.store.traces.count({ app: 'support-bot' })).toBe(ok);
    } finally {
      running = false;
      await fb.close();
    }
  }, 120_000);

  it('counts the traces it had to drop when the buffer bound is exceeded', async () => {
    const yaml = testConfigYaml().replace(
      'recording: { flushIntervalMs: 20 }',
      'recording: { flushIntervalMs: 20, bufferLimit: 5 }',
    );
    const fb = await startFirebreak({ store: { url: await freshDatabaseUrl('postgres', pg.url()) }, yaml });
    const client = new OpenAI({ baseURL: `${fb.url}/v1`, apiKey: GATEWAY_KEY, maxRetries: 0 });
    try {
      await pg.stop();
      for (let i = 0; i < 20; i++)
        await client.chat.completions.create({
          model: 'sim-1',
          messages: [{ role: 'user', content: `n${i}` }],
        });
      const during = await readyz(fb);
      expect(during.traces.pending).toBe(5);
      expect(during.traces.dropped).toBe(15);
      await pg.start();
      await waitFor(async () => (await readyz(fb)).traces.pending === 0, 'the buffer to drain', 600);
      expect((await readyz(fb)).traces).toMatchObject({ written: 5, dropped: 15 });
      expect(await fb.store.traces.count({})).toBe(5);
    } finally {
      await pg.start();
      await fb.close();
    }
  }, 120_000);
});
