import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TraceRecorder } from '../../src/gateway/recorder.js';
import { traceWorkerScript } from '../../src/gateway/trace-worker-client.js';
import type { TraceRecord } from '../../src/core/trace.js';
import { openStore } from '../../src/store/open-store.js';
import { GATEWAY_KEY, startFirebreak, type Running } from '../support/harness.js';
import { startPostgres, type PostgresServer } from '../support/postgres-server.js';
import { freshDatabaseUrl, storeKinds } from '../support/stores.js';
import { seedTrace } from '../support/trace-record.js';

/**
 * Recording in the worker thread (gateway/trace-worker.ts, run from its compiled dist/ copy: `npm test`
 * builds first): the worker opens its own connection from the store's URL.
 */
async function until(check: () => boolean | Promise<boolean>, what: string, tries = 400): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const ask = (client: OpenAI, content: string) =>
  client.chat.completions.create({ model: 'sim-1', messages: [{ role: 'user', content }] });

it('finds the compiled worker script from the TypeScript sources', () => {
  expect(traceWorkerScript()?.pathname).toMatch(/\/dist\/gateway\/trace-worker\.js$/);
});

describe.each(storeKinds)('trace worker (%s)', (kind) => {
  it('takes over once its store is open; redacts; drains on close', async () => {
    const url = await freshDatabaseUrl(kind);
    const fb = await startFirebreak({ store: { url } });
    const client = new OpenAI({ baseURL: `${fb.url}/v1`, apiKey: GATEWAY_KEY, maxRetries: 0 });
    let calls = 0;
    try {
      await until(async () => {
        await ask(client, `warm ${calls++}`);
        return fb.fb.recorder.thread === 'worker';
      }, 'the worker to take over');
      const leak = await client.chat.completions.create(
        { model: 'sim-1', messages: [{ role: 'user', content: 'please leak' }] },
        { headers: { 'x-ai-trace-id': `worker-leak-${kind}` } },
      );
      calls += 1;
      expect(leak.choices[0]?.message.content).toContain('alice@example.com');
      const [trace] = await fb.traceOf(`worker-leak-${kind}`);
      const stored = JSON.stringify(trace?.body.response);
      expect(stored).toContain('[REDACTED:email]');
      expect(stored).not.toContain('alice@example.com');

      // Accepted just before shutdown, written by the drain through the worker.
      await Promise.all(Array.from({ length: 30 }, (_, i) => ask(client, `last ${i}`)));
      calls += 30;
      expect(fb.fb.recorder.thread).toBe('worker');
      const { unflushed } = await fb.fb.close(5_000);
      expect(unflushed).toBe(0);
      expect(fb.fb.recorder.stats()).toMatchObject({ pending: 0, written: calls, dropped: 0 });
      expect(await fb.store.traces.count({})).toBe(calls);
    } finally {
      await fb.fb.close(1_000);
      await fb.store.close();
    }
  });
});

it('stays on the main thread for an in-memory SQLite store, which no second connection can share', async () => {
  const fb: Running = await startFirebreak({ store: { url: 'sqlite::memory:' } });
  try {
    const client = new OpenAI({ baseURL: `${fb.url}/v1`, apiKey: GATEWAY_KEY, maxRetries: 0 });
    for (let i = 0; i < 5; i++) await ask(client, `n${i}`);
    await fb.flushed();
    expect(fb.fb.recorder.thread).toBe('main');
    expect(await fb.store.traces.count({})).toBe(5);
  } finally {
    await fb.close();
  }
});

describe('trace worker through a PostgreSQL outage', () => {
  let pg: PostgresServer;
  beforeAll(async () => {
    pg = await startPostgres();
  }, 120_000);
  afterAll(() => pg.destroy());

  it('keeps every trace while the store is down and writes them when it returns', async () => {
    const url = await freshDatabaseUrl('postgres', pg.url());
    const fb = await startFirebreak({ store: { url } });
    const client = new OpenAI({ baseURL: `${fb.url}/v1`, apiKey: GATEWAY_KEY, maxRetries: 0 });
    let ok = 0;
    try {
      await until(async () => {
        await ask(client, `warm ${ok++}`);
        return fb.fb.recorder.thread === 'worker';
      }, 'the worker to take over');
      await fb.flushed();
      await pg.stop();
      for (let i = 0; i < 100; i++) {
        await ask(client, `during ${i}`);
        ok += 1;
      }
      await until(() => !fb.fb.recorder.stats().storeHealthy, 'the worker to report the outage');
      expect(fb.fb.recorder.stats().pending).toBeGreaterThan(0);
      expect(fb.fb.recorder.stats().lastError).not.toBeNull();
      await pg.start();
      await until(() => fb.fb.recorder.stats().pending === 0, 'the buffer to drain', 800);
      expect(fb.fb.recorder.stats()).toMatchObject({ written: ok, dropped: 0, storeHealthy: true });
      expect(fb.fb.recorder.thread).toBe('worker');
      expect(await fb.store.traces.count({})).toBe(ok);
    } finally {
      await pg.start();
      await fb.close();
    }
  }, 120_000);
});

/** A recorder over a fresh store with a 10-trace buffer, its warnings collected; on a worker if asked. */
async function smallRecorder(url: string, worker: boolean) {
  const store = await openStore(url);
  const warnings: string[] = [];
  const log = { warn: (_o: object, msg: string) => warnings.push(msg), info: () => undefined };
  const recorder = new TraceRecorder(
    store.traces,
    { bufferLimit: 10, batchSize: 10, flushIntervalMs: 10, redact: true },
    log,
    worker ? url : undefined,
  );
  return { store, recorder, warnings };
}

/**
 * A trace that encodes to JSON the codec cannot decode (its body's toJSON drops it: no body). No caller
 * makes one; it stands for a bug, which must cost that one trace, not every trace after it.
 */
function undecodable(id: string): TraceRecord {
  const t = seedTrace({ id, traceId: id, ts: 3 });
  return { ...t, body: { ...t.body, toJSON: () => undefined } as unknown as TraceRecord['body'] };
}

describe.each(['main', 'worker'] as const)('an entry the codec cannot decode (%s thread)', (thread) => {
  it('is dropped and counted; the traces around it are written', async () => {
    const url = await freshDatabaseUrl('sqlite');
    const { store, recorder, warnings } = await smallRecorder(url, thread === 'worker');
    try {
      recorder.start();
      if (thread === 'worker') await until(() => recorder.thread === 'worker', 'the worker to take over');
      recorder.record(seedTrace({ id: 'tr_before', traceId: 'before', ts: 1 }));
      recorder.record(undecodable('tr_broken'));
      recorder.record(seedTrace({ id: 'tr_after', traceId: 'after', ts: 2 }));
      expect(recorder.thread).toBe(thread);
      expect(await recorder.drain(5_000)).toBe(0);
      expect(recorder.stats()).toMatchObject({ written: 2, dropped: 1, pending: 0, storeHealthy: true });
      expect(warnings).toEqual(['trace could not be decoded: dropped']);
      expect(await store.traces.count({})).toBe(2);
    } finally {
      await recorder.drain(1_000);
      await store.close();
    }
  });
});

describe('trace recorder buffer', () => {
  it('drops (and counts) a trace that is not JSON instead of throwing at the caller; the rest are written', async () => {
    const { store, recorder, warnings } = await smallRecorder(await freshDatabaseUrl('sqlite'), false);
    try {
      const bad = {
        ...seedTrace({ id: 'tr_bad', traceId: 'bad', ts: 1 }),
        latencyMs: 1n as unknown as number,
      };
      expect(() => recorder.record(bad)).not.toThrow();
      recorder.record(seedTrace({ id: 'tr_good', traceId: 'good', ts: 2 }));
      expect(await recorder.drain(2_000)).toBe(0);
      expect(recorder.stats()).toMatchObject({ written: 1, dropped: 1, pending: 0 });
      expect(warnings).toEqual(['trace is not JSON: dropped']);
      expect(await store.traces.count({})).toBe(1);
      expect((await store.traces.getByTraceId('good')).map((t) => t.id)).toEqual(['tr_good']);
    } finally {
      await store.close();
    }
  });
});
