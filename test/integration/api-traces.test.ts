import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TraceRecord } from '../../src/core/trace.js';
import {
  ADMIN_TOKEN,
  GATEWAY_KEY,
  OTHER_APP_KEY,
  VIEWER_TOKEN,
  startFirebreak,
  type Running,
} from '../support/harness.js';
import { storeKinds } from '../support/stores.js';

/**
 * GET /api/traces and GET /api/traces/{id} over traces seeded by real gateway calls: every filter and
 * combination returns exactly the expected calls, pages walk everything once, newest first.
 */

interface Seed {
  readonly label: string;
  readonly key: string;
  readonly endpoint: 'chat' | 'messages' | 'embeddings';
  readonly model: 'sim-1' | 'sim-2';
  readonly status: 'ok' | 'error';
  readonly user?: string;
  readonly tenant?: string;
  /** Calls sharing a trace id (an agent run) repeat it. */
  readonly traceId: string;
  readonly text: string;
}

const LONG_ID = `${'L'.repeat(120)}-long-id`;

const seeds: readonly Seed[] = [
  {
    label: 's1',
    key: GATEWAY_KEY,
    endpoint: 'chat',
    model: 'sim-1',
    status: 'ok',
    user: 'u-1',
    tenant: 'acme',
    traceId: 't-s1',
    text: 'refund please',
  },
  {
    label: 's2',
    key: GATEWAY_KEY,
    endpoint: 'chat',
    model: 'sim-2',
    status: 'ok',
    user: 'u-2',
    tenant: 'acme',
    traceId: 't-s2',
    text: 'hello two',
  },
  {
    label: 's3',
    key: GATEWAY_KEY,
    endpoint: 'chat',
    model: 'sim-1',
    status: 'error',
    user: 'u-1',
    tenant: 'globex',
    traceId: 't-s3',
    text: 'please fail-500 now',
  },
  {
    label: 's4',
    key: OTHER_APP_KEY,
    endpoint: 'chat',
    model: 'sim-1',
    status: 'ok',
    user: 'u-3',
    tenant: 'globex',
    traceId: 't-s4',
    text: 'invoice question',
  },
  {
    label: 's5',
    key: OTHER_APP_KEY,
    endpoint: 'chat',
    model: 'sim-2',
    status: 'error',
    user: 'u-1',
    traceId: 't-s5',
    text: 'fail-500 for billing',
  },
  {
    label: 's6',
    key: GATEWAY_KEY,
    endpoint: 'messages',
    model: 'sim-2',
    status: 'ok',
    tenant: 'acme',
    traceId: 't-s6',
    text: 'anthropic style hello',
  },
  {
    label: 'a1',
    key: GATEWAY_KEY,
    endpoint: 'chat',
    model: 'sim-1',
    status: 'ok',
    user: 'u-4',
    traceId: 'agent-run',
    text: 'agent step one',
  },
  {
    label: 'a2',
    key: GATEWAY_KEY,
    endpoint: 'chat',
    model: 'sim-1',
    status: 'ok',
    user: 'u-4',
    traceId: 'agent-run',
    text: 'agent step two',
  },
  {
    label: 'e1',
    key: OTHER_APP_KEY,
    endpoint: 'embeddings',
    model: 'sim-2',
    status: 'ok',
    tenant: 'acme',
    traceId: 't-e1',
    text: 'embed me',
  },
  {
    label: 'l1',
    key: GATEWAY_KEY,
    endpoint: 'chat',
    model: 'sim-2',
    status: 'ok',
    user: 'u-2',
    traceId: LONG_ID,
    text: 'long trace id',
  },
];

const appOf = (s: Seed) => (s.key === GATEWAY_KEY ? 'support-bot' : 'billing-bot');
const envOf = (s: Seed) => (s.key === GATEWAY_KEY ? 'prod' : 'dev');

interface Page {
  readonly data: Omit<TraceRecord, 'body'>[];
  readonly next_cursor: string | null;
}

describe.each(storeKinds)('trace API (%s)', (kind) => {
  let fb: Running;
  /** Seed label of each recorded call, by row id. */
  const labelOf = new Map<string, string>();
  /** Arrival time of each seed, by label. */
  const tsOf = new Map<string, number>();

  const api = async (path: string, token: string | null = VIEWER_TOKEN) => {
    const res = await fetch(`${fb.url}${path}`, {
      headers: token === null ? {} : { authorization: `Bearer ${token}` },
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };
  const list = async (query: string) => {
    const res = await api(`/api/traces?${query}`);
    expect(res.status, `${query}: ${JSON.stringify(res.json)}`).toBe(200);
    return res.json as unknown as Page;
  };
  /** The labels a query returns (all of them: limit=500), checked to come newest first. */
  const labels = async (query: string) => {
    const page = await list(`${query}${query ? '&' : ''}limit=500`);
    expect(page.next_cursor).toBeNull();
    assertNewestFirst(page.data);
    return page.data.map((t) => labelOf.get(t.id) ?? `unknown:${t.id}`).sort();
  };
  const expected = (pred: (s: Seed) => boolean) =>
    seeds
      .filter(pred)
      .map((s) => s.label)
      .sort();

  beforeAll(async () => {
    fb = await startFirebreak({ store: kind });
    for (const s of seeds) {
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'x-ai-trace-id': s.traceId,
        ...(s.user ? { 'x-firebreak-user': s.user } : {}),
        ...(s.tenant ? { 'x-firebreak-tenant': s.tenant } : {}),
      };
      let res: Response;
      if (s.endpoint === 'messages')
        res = await fetch(`${fb.url}/v1/messages`, {
          method: 'POST',
          headers: { ...headers, 'x-api-key': s.key },
          body: JSON.stringify({
            model: s.model,
            max_tokens: 50,
            messages: [{ role: 'user', content: s.text }],
          }),
        });
      else
        res = await fetch(`${fb.url}/v1/${s.endpoint === 'chat' ? 'chat/completions' : 'embeddings'}`, {
          method: 'POST',
          headers: { ...headers, authorization: `Bearer ${s.key}` },
          body: JSON.stringify(
            s.endpoint === 'chat'
              ? { model: s.model, messages: [{ role: 'user', content: s.text }] }
              : { model: s.model, input: s.text },
          ),
        });
      await res.arrayBuffer();
      expect(res.status >= 400, `${s.label} answered ${res.status}`).toBe(s.status === 'error');
      // The next call arrives on a later millisecond, so arrival order is seed order.
      const t = Date.now();
      while (Date.now() === t) await new Promise((r) => setTimeout(r, 1));
    }
    await fb.flushed();
    expect(await fb.store.traces.count({})).toBe(seeds.length);
    // Map each recorded call back to its seed (agent calls share a trace id: oldest first).
    const pending = [...seeds];
    for (const traceId of new Set(seeds.map((s) => s.traceId))) {
      const calls = await fb.store.traces.getByTraceId(traceId);
      for (const call of calls) {
        const i = pending.findIndex((s) => s.traceId === traceId);
        const seed = pending.splice(i, 1)[0];
        if (!seed) throw new Error(`unexpected call under ${traceId}`);
        labelOf.set(call.id, seed.label);
        tsOf.set(seed.label, call.ts);
      }
    }
    expect(pending).toEqual([]);
  });
  afterAll(() => fb.close());

  it('records the seeded calls as they were made', () => {
    const times = seeds.map((s) => tsOf.get(s.label) ?? NaN);
    for (let i = 1; i < times.length; i++) expect(times[i]).toBeGreaterThan(times[i - 1] ?? Infinity);
  });

  it('lists everything newest first, without bodies', async () => {
    const page = await list('limit=500');
    expect(page.data.map((t) => labelOf.get(t.id))).toEqual(seeds.map((s) => s.label).reverse());
    for (const t of page.data) expect(t).not.toHaveProperty('body');
    const s3 = page.data.find((t) => labelOf.get(t.id) === 's3');
    expect(s3).toMatchObject({
      traceId: 't-s3',
      app: 'support-bot',
      env: 'prod',
      userId: 'u-1',
      tenantId: 'globex',
      model: 'sim-1',
      status: 'error',
      endpoint: 'chat.completions',
    });
    expect(s3?.errorCode).toMatch(/^upstream_/);
    expect((await list('')).data).toHaveLength(seeds.length); // default limit 50
  });

  it('filters by app, env, user, tenant, status and model', async () => {
    expect(await labels('app=support-bot')).toEqual(expected((s) => appOf(s) === 'support-bot'));
    expect(await labels('app=billing-bot')).toEqual(expected((s) => appOf(s) === 'billing-bot'));
    expect(await labels('app=no-such-app')).toEqual([]);
    expect(await labels('env=prod')).toEqual(expected((s) => envOf(s) === 'prod'));
    expect(await labels('env=dev')).toEqual(expected((s) => envOf(s) === 'dev'));
    expect(await labels('user=u-1')).toEqual(['s1', 's3', 's5']);
    expect(await labels('user=u-4')).toEqual(['a1', 'a2']);
    expect(await labels('tenant=acme')).toEqual(['e1', 's1', 's2', 's6']);
    expect(await labels('tenant=globex')).toEqual(['s3', 's4']);
    expect(await labels('status=error')).toEqual(['s3', 's5']);
    expect(await labels('status=ok')).toEqual(expected((s) => s.status === 'ok'));
    expect(await labels('status=blocked')).toEqual([]);
    expect(await labels('model=sim-2')).toEqual(['e1', 'l1', 's2', 's5', 's6']);
    expect(await labels('model=sim-1')).toEqual(expected((s) => s.model === 'sim-1'));
    expect(await labels('trace_id=agent-run')).toEqual(['a1', 'a2']);
    expect(await labels(`trace_id=${LONG_ID}`)).toEqual(['l1']);
  });

  it('combines filters', async () => {
    expect(await labels('app=support-bot&user=u-1')).toEqual(['s1', 's3']);
    expect(await labels('app=billing-bot&status=error')).toEqual(['s5']);
    expect(await labels('tenant=acme&model=sim-2')).toEqual(['e1', 's2', 's6']);
    expect(await labels('env=dev&model=sim-1')).toEqual(['s4']);
    expect(await labels('user=u-1&status=ok')).toEqual(['s1']);
    expect(await labels('app=support-bot&env=dev')).toEqual([]);
    expect(await labels('app=support-bot&tenant=acme&status=ok&model=sim-2')).toEqual(['s2', 's6']);
  });

  it('filters by time: ISO 8601, epoch ms and relative, since inclusive and until exclusive', async () => {
    const pivot = tsOf.get('s4') ?? NaN;
    const after = expected((s) => (tsOf.get(s.label) ?? NaN) >= pivot);
    const before = expected((s) => (tsOf.get(s.label) ?? NaN) < pivot);
    expect(after).toEqual(['a1', 'a2', 'e1', 'l1', 's4', 's5', 's6']);
    expect(before).toEqual(['s1', 's2', 's3']);
    expect(await labels(`since=${pivot}`)).toEqual(after);
    expect(await labels(`until=${pivot}`)).toEqual(before);
    const iso = encodeURIComponent(new Date(pivot).toISOString());
    expect(await labels(`since=${iso}`)).toEqual(after);
    expect(await labels(`until=${iso}`)).toEqual(before);
    const end = tsOf.get('a1') ?? NaN;
    expect(await labels(`since=${pivot}&until=${end}`)).toEqual(['s4', 's5', 's6']);
    expect(await labels(`since=${pivot}&until=${end}&app=billing-bot`)).toEqual(['s4', 's5']);
    expect(await labels(`since=${end}&until=${pivot}`)).toEqual([]);
    // Relative times count back from now: everything was recorded within the last hour.
    expect(await labels('since=1h')).toEqual(expected(() => true));
    expect(await labels('since=7d&status=error')).toEqual(['s3', 's5']);
    expect(await labels('until=1h')).toEqual([]);
    expect(await labels('since=2000-01-01')).toEqual(expected(() => true));
    expect(await labels('until=2000-01-01')).toEqual([]);
  });

  it('walks every page with limit=2: no duplicates, no gaps, newest first', async () => {
    const all = (await list('limit=500')).data.map((t) => t.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: Page = await list(`limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.data.map((t) => t.id));
      cursor = page.next_cursor;
      pages += 1;
      expect(pages).toBeLessThanOrEqual(seeds.length);
    } while (cursor !== null);
    expect(pages).toBe(Math.ceil(seeds.length / 2) + (seeds.length % 2 === 0 ? 1 : 0));
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(all);

    // With a filter, and a last full page: its cursor leads to an empty page that ends the walk.
    const first = await list('status=error&limit=2');
    expect(first.data.map((t) => labelOf.get(t.id))).toEqual(['s5', 's3']);
    expect(first.next_cursor).not.toBeNull();
    const second = await list(`status=error&limit=2&cursor=${first.next_cursor ?? ''}`);
    expect(second).toEqual({ data: [], next_cursor: null });

    const filtered: string[] = [];
    cursor = null;
    do {
      const page: Page = await list(`app=support-bot&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      filtered.push(...page.data.map((t) => labelOf.get(t.id) ?? '?'));
      cursor = page.next_cursor;
    } while (cursor !== null);
    expect(filtered).toEqual(
      seeds
        .filter((s) => appOf(s) === 'support-bot')
        .map((s) => s.label)
        .reverse(),
    );
  });

  it('refuses a forged cursor', async () => {
    for (const cursor of [
      'garbage!',
      Buffer.from('not a cursor').toString('base64url'),
      Buffer.from('123:bad id!').toString('base64url'),
      Buffer.from('abc:tr_1').toString('base64url'),
    ]) {
      const res = await api(`/api/traces?limit=2&cursor=${encodeURIComponent(cursor)}`);
      expect(res.status).toBe(400);
      expect(res.json).toEqual({
        error: {
          code: 'validation_failed',
          message: 'cursor: not a cursor returned by this API',
          path: 'cursor',
        },
      });
    }
  });

  it('returns every call under a trace id, oldest first, with content', async () => {
    const res = await api('/api/traces/agent-run');
    expect(res.status).toBe(200);
    const detail = res.json as { traceId: string; calls: TraceRecord[] };
    expect(detail.traceId).toBe('agent-run');
    expect(detail.calls.map((c) => labelOf.get(c.id))).toEqual(['a1', 'a2']);
    expect(JSON.stringify(detail.calls[0]?.body.request)).toContain('agent step one');
    expect(JSON.stringify(detail.calls[1]?.body.request)).toContain('agent step two');
    expect(JSON.stringify(detail.calls[1]?.body.response)).toContain('agent step two');
    expect(detail.calls[0]).toMatchObject({ app: 'support-bot', env: 'prod', userId: 'u-4', status: 'ok' });

    const failed = (await api('/api/traces/t-s3')).json as { calls: TraceRecord[] };
    expect(failed.calls).toHaveLength(1);
    const call = failed.calls[0];
    expect(call?.status).toBe('error');
    expect(call?.body.error?.code).toBe(call?.errorCode);
    expect(call?.body.error?.message).toContain('simulated crash');
    expect(JSON.stringify(call?.body.request)).toContain('please fail-500 now');

    const anthropic = (await api('/api/traces/t-s6')).json as { calls: TraceRecord[] };
    expect(anthropic.calls[0]).toMatchObject({ endpoint: 'messages', model: 'sim-2', tenantId: 'acme' });

    // The longest trace id a client may send can be looked up.
    const long = await api(`/api/traces/${LONG_ID}`);
    expect(long.status).toBe(200);
    expect((long.json as { calls: TraceRecord[] }).calls.map((c) => labelOf.get(c.id))).toEqual(['l1']);

    // A row id finds that one call.
    const rowId = [...labelOf].find(([, label]) => label === 'a2')?.[0] ?? '';
    const byRow = (await api(`/api/traces/${rowId}`)).json as { traceId: string; calls: TraceRecord[] };
    expect(byRow.traceId).toBe('agent-run');
    expect(byRow.calls.map((c) => c.id)).toEqual([rowId]);
  });

  it('answers an unknown or invalid trace id in the envelope', async () => {
    const unknown = await api('/api/traces/no-such-trace');
    expect(unknown.status).toBe(404);
    expect(unknown.json).toEqual({
      error: {
        code: 'not_found',
        message: 'no trace "no-such-trace" (traces are written within a second of the call)',
      },
    });
    const tooLong = await api(`/api/traces/${'x'.repeat(129)}`);
    expect(tooLong.status).toBe(400);
    expect(tooLong.json).toEqual({
      error: { code: 'validation_failed', message: 'trace id must be 1-128 characters' },
    });
    const wayTooLong = await api(`/api/traces/${'x'.repeat(5000)}`);
    expect(wayTooLong.status).toBeGreaterThanOrEqual(400);
    expect(wayTooLong.status).toBeLessThan(500);
    expect(Object.keys((wayTooLong.json as { error: object }).error).sort()).toEqual(['code', 'message']);
  });

  it('needs an API token; viewer is enough; gateway keys are refused', async () => {
    const none = await api('/api/traces', null);
    expect(none.status).toBe(401);
    expect(none.json).toEqual({
      error: { code: 'unauthenticated', message: 'missing API token: send "Authorization: Bearer <token>"' },
    });
    expect((await api('/api/traces/agent-run', null)).status).toBe(401);
    const bad = await api('/api/traces', 'fbt_not_a_real_token_0000000000');
    expect(bad).toEqual({
      status: 401,
      json: { error: { code: 'unauthenticated', message: 'invalid API token' } },
    });

    const viewer = await api('/api/traces?limit=1', VIEWER_TOKEN);
    expect(viewer.status).toBe(200);
    expect((viewer.json as unknown as Page).data).toHaveLength(1);
    expect((await api('/api/traces/agent-run', VIEWER_TOKEN)).status).toBe(200);
    expect((await api('/api/traces?limit=1', ADMIN_TOKEN)).status).toBe(200);

    for (const key of [GATEWAY_KEY, OTHER_APP_KEY]) {
      const res = await api('/api/traces', key);
      expect(res.status).toBe(403);
      expect(res.json).toEqual({
        error: { code: 'forbidden', message: 'gateway keys cannot call /api; use an API token' },
      });
    }
    // Anthropic-style x-api-key is a gateway thing: /api does not read it.
    const xApiKey = await fetch(`${fb.url}/api/traces`, { headers: { 'x-api-key': VIEWER_TOKEN } });
    expect(xApiKey.status).toBe(401);
  });

  it('answers an unknown route under /api with a 404 envelope', async () => {
    for (const token of [null, VIEWER_TOKEN]) {
      const res = await api('/api/nothing-here?x=1', token);
      expect(res.status).toBe(404);
      expect(res.json).toEqual({ error: { code: 'not_found', message: 'no route GET /api/nothing-here' } });
    }
  });
});

function assertNewestFirst(data: readonly Omit<TraceRecord, 'body'>[]): void {
  for (let i = 1; i < data.length; i++) {
    const a = data[i - 1];
    const b = data[i];
    if (!a || !b) continue;
    expect(a.ts > b.ts || (a.ts === b.ts && a.id > b.id), `${a.id} before ${b.id}`).toBe(true);
  }
}
