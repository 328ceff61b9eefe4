import Anthropic from '@anthropic-ai/sdk';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Finding } from '../../src/core/guards/types.js';
import type { TraceRecord } from '../../src/core/trace.js';
import { getIncident, listIncidents } from '../../src/ops/incidents.js';
import { buildApp, type FirebreakApp } from '../../src/server/app.js';
import { parseConfig } from '../../src/server/config-load.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/port.js';
import { GATEWAY_KEY, VIEWER_TOKEN, deployRelease, testConfigYaml } from '../support/harness.js';
import { freshDatabaseUrl, sqlOn, storeKinds } from '../support/stores.js';
import { runCli } from '../support/cli.js';
import { readBody, startLoopback } from '../support/loopback.js';
import { closedPort } from '../support/upstream.js';

/**
 * Issue 4, "bad input to the policy layer … at run time denies the call (fail closed) with a finding"
 * (the review found the deny but no finding). Over real HTTP on both stores: every way OPA can fail, and
 * a Cedar evaluation error in a model's answer (OpenAI SDK, and a streamed Anthropic SDK call), a stored
 * policy that no longer compiles when a replica loads it, and the approval store failing, deny
 * the call and put a `tool-policy` finding on the trace, with nothing of the policy's own answer in its
 * message; the finding becomes a signal that a `detector: tool-policy` rule turns into an incident, and
 * blast radius finds the calls; shadow mode records it as `log`; the failure is logged, throttled.
 * OPA is a small real HTTP server on loopback (there is no OPA binary here). The timer loop is off:
 * signals are run with `runDue`.
 */
const AGENT = `
  agent:
    type: simulator
    models: [agent-1]
    rules:
      - name: weather
        when: { contains: weather, hasTools: true }
        then: { toolCalls: [{ name: get_weather, arguments: { city: Paris } }] }
      # "to" is declared String to the Cedar policy: a number is a runtime type error.
      - name: mail-number
        when: { contains: 'mail forty-two', hasTools: true }
        then: { toolCalls: [{ name: send_email, arguments: { to: 42, body: hi } }] }
`;
const TOP = `
models:
  - { name: agent, provider: agent, model: agent-1 }
tools:
  get_weather: { risk: low }
  send_email: { risk: high }
`;
const DETECTION = `
detection:
  rules:
    - id: policy-failing
      match: { source: finding, detector: tool-policy, minAction: block }
      group: { by: [app, env, detector], window: 1h }
      incident: { class: security, severity: SEV2, title: 'Tool-call policy failing in {app}/{env}' }
      page: false
`;
const yaml = (extra = '') => testConfigYaml(AGENT).replace('\napps:', `${TOP}${extra}\napps:`);

/** Mail only inside example.com; `to` read as a String, so a number makes the forbid error out. */
const CEDAR = `
@id("everything")
permit (principal, action == Firebreak::Action::"call", resource);

@id("outside-mail")
forbid (principal, action == Firebreak::Action::"call", resource)
when { resource.name == "send_email" && context.arguments has to }
unless { context.arguments.to like "*@example.com" };
`;
const cedarSpec = {
  model: { name: 'agent' },
  tools: ['get_weather', 'send_email'],
  policy: { engine: 'cedar', cedar: CEDAR, arguments: { to: 'String' } },
};

/** Text OPA answers with that must never reach a finding's message (it goes to signals and pages). */
const OPA_DETAIL = 'opa-internal-detail-7731';

interface FakeOpa {
  readonly url: string;
  close(): Promise<void>;
}

/** OPA's data API for a few fixed documents, one per way of failing (and one that decides). */
async function startOpa(): Promise<FakeOpa> {
  const server = await startLoopback((req, res) => {
    void (async () => {
      const input = (JSON.parse(await readBody(req)) as { input: { tool: { name: string } } }).input;
      const send = (status: number, body: string) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(body);
      };
      switch (req.url) {
        case '/v1/data/firebreak/tools/decision':
          return input.tool.name === 'get_weather'
            ? send(200, JSON.stringify({ result: 'allow' }))
            : send(200, JSON.stringify({ result: { decision: 'deny', reasons: ['no mail today'] } }));
        case '/v1/data/firebreak/hold/decision':
          return send(200, JSON.stringify({ result: 'require-approval' }));
        case '/v1/data/firebreak/slow/decision':
          await new Promise((r) => setTimeout(r, 400));
          return send(200, JSON.stringify({ result: 'allow' }));
        case '/v1/data/firebreak/broken/decision':
          return send(500, JSON.stringify({ code: 'internal_error', message: OPA_DETAIL }));
        case '/v1/data/firebreak/undefined/decision':
          return send(200, '{}');
        case '/v1/data/firebreak/shape/decision':
          return send(200, JSON.stringify({ result: { allow: true, note: OPA_DETAIL } }));
        case '/v1/data/firebreak/text/decision':
          return send(200, `not json ${OPA_DETAIL}`);
        default:
          return send(404, '{"code":"not_found"}');
      }
    })();
  });
  return server;
}

interface Reply {
  status: number;
  traceId: string;
  body: Record<string, unknown>;
}

interface LogLine {
  msg: string;
  failure?: string;
  release?: string;
  tool?: string;
  err?: string;
  notLoggedSince?: number;
}

/** The finding every policy failure adds, for the kind and tool given. */
const policyFinding = (kind: string, tool: string, action: 'block' | 'log' = 'block') =>
  expect.objectContaining({
    detector: 'tool-policy',
    kind,
    class: 'security',
    stage: 'tool_call',
    action,
    score: 1,
    owasp: 'LLM06',
    location: `tool_call[${tool}]`,
  }) as unknown;

describe.each(storeKinds)('tool-call policy failures are findings (%s)', (kind) => {
  let store: Store;
  let fb: FirebreakApp;
  let url: string;
  let opa: FakeOpa;
  let clock = Date.now();
  const logs: LogLine[] = [];

  let dbUrl: string;

  beforeAll(async () => {
    opa = await startOpa();
    dbUrl = await freshDatabaseUrl(kind);
    store = await openStore(dbUrl);
    const logger = pino(
      { level: 'warn' },
      { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) },
    );
    fb = await buildApp(parseConfig(yaml(DETECTION), 'test config', {}), {
      store,
      logger,
      now: () => clock,
      timers: { tickMs: 0 },
    });
    await fb.app.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(fb.app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await (fb as FirebreakApp | undefined)?.close(5_000);
    await (store as Store | undefined)?.close();
    await (opa as FakeOpa | undefined)?.close();
  });

  const deploy = async (spec: unknown): Promise<string> => {
    const { release } = await deployRelease(
      { fb, store },
      { app: 'support-bot', env: 'prod', spec, reason: 'policy failure test' },
    );
    return `${release.app}@${release.version}`;
  };
  const opaSpec = (path: string, over: { url?: string; mode?: 'shadow'; timeoutMs?: number } = {}) => ({
    model: { name: 'agent' },
    tools: ['get_weather', 'send_email'],
    policy: {
      engine: 'opa',
      ...(over.mode ? { mode: over.mode } : {}),
      // Generous where OPA is expected to answer: a stalled CI machine must not make an answer a timeout.
      opa: { url: over.url ?? opa.url, path, timeoutMs: over.timeoutMs ?? 5_000 },
    },
  });

  async function authorize(body: unknown, traceId?: string): Promise<Reply> {
    const res = await fetch(`${url}/v1/tools/authorize`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${GATEWAY_KEY}`,
        'content-type': 'application/json',
        ...(traceId ? { 'x-ai-trace-id': traceId } : {}),
      },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(200);
    return {
      status: res.status,
      traceId: res.headers.get('x-ai-trace-id') ?? '',
      body: (await res.json()) as Record<string, unknown>,
    };
  }

  async function traceOf(traceId: string): Promise<TraceRecord> {
    for (let i = 0; i < 300; i++) {
      const [call] = await store.traces.getByTraceId(traceId);
      if (call) return call;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`trace ${traceId} was not recorded`);
  }

  const policyFindings = (t: TraceRecord): readonly Finding[] =>
    (t.body.findings ?? []).filter((f) => f.detector === 'tool-policy');

  it('OPA unreachable: /v1/tools/authorize denies with a tool-policy finding, on the trace and in `firebreak trace show`', async () => {
    const port = await closedPort();
    const release = await deploy(opaSpec('firebreak/tools/decision', { url: `http://127.0.0.1:${port}` }));
    const traceId = `opa-down-${kind}`;
    const r = await authorize({ tool: 'get_weather', arguments: {} }, traceId);
    expect(r.body).toMatchObject({
      decision: 'deny',
      enforced: 'deny',
      engine: 'opa',
      failure: 'opa_unreachable',
    });
    expect(r.body['error']).toMatch(/cannot reach OPA at .*ECONNREFUSED/);
    // The agent sees the finding too (as it sees argument guards' findings).
    expect(r.body['findings']).toEqual([
      {
        detector: 'tool-policy',
        kind: 'opa_unreachable',
        class: 'security',
        action: 'block',
        score: 1,
        owasp: 'LLM06',
        message: expect.stringContaining('the OPA server could not be reached') as unknown,
      },
    ]);

    const trace = await traceOf(traceId);
    expect(trace.status).toBe('blocked');
    // The decision says which failure it was, so `trace show` and an export need not join the finding.
    expect(trace.body.toolDecisions).toMatchObject([
      { name: 'get_weather', decision: 'deny', engine: 'opa', failure: 'opa_unreachable' },
    ]);
    expect(trace.body.findings).toEqual([policyFinding('opa_unreachable', 'get_weather')]);
    const [finding] = policyFindings(trace);
    expect(finding?.message).toBe(
      'tool-call policy (opa) failed: the OPA server could not be reached; the call was denied (fail closed)',
    );
    // The server's address stays on the decision's error; it is not in what goes to signals and pages.
    expect(finding?.message).not.toContain(String(port));

    // The reproduction of the review: `firebreak trace show <id> --json` on the same database.
    const file = join(mkdtempSync(join(tmpdir(), 'firebreak-policy-failures-')), 'firebreak.yaml');
    writeFileSync(file, `${yaml()}\ndatabase: { url: '${store.url}' }\n`);
    const shown = await runCli(['trace', 'show', traceId, '--json', '--config', file]);
    expect(shown.code, shown.stderr).toBe(0);
    const detail = JSON.parse(shown.stdout) as { calls: TraceRecord[] };
    expect(detail.calls[0]?.body.findings).toEqual([policyFinding('opa_unreachable', 'get_weather')]);

    // Logged once with what failed; the next failures within 10 s are only counted …
    const lines = () => logs.filter((l) => l.release === release && l.failure === 'opa_unreachable');
    expect(lines()).toEqual([
      expect.objectContaining({
        msg: 'tool-call policy failed: the call was denied (fail closed)',
        tool: 'get_weather',
        traceId,
        err: expect.stringContaining('ECONNREFUSED') as unknown,
      }),
    ]);
    await authorize({ tool: 'get_weather', arguments: {} });
    await authorize({ tool: 'get_weather', arguments: {} });
    expect(lines()).toHaveLength(1);
    // … and the line after the window says how many were not logged.
    clock += 11_000;
    await authorize({ tool: 'get_weather', arguments: {} });
    expect(lines()).toHaveLength(2);
    expect(lines()[1]?.notLoggedSince).toBe(2);
  });

  it('every other way OPA fails is a finding of its own kind, with nothing of OPA’s answer in its message', async () => {
    const cases = [
      { path: 'firebreak/slow/decision', kind: 'opa_timeout', error: 'did not answer within 150 ms' },
      { path: 'firebreak/broken/decision', kind: 'opa_http_error', error: 'answered HTTP 500' },
      { path: 'firebreak/undefined/decision', kind: 'opa_undefined', error: 'returned no result' },
      { path: 'firebreak/shape/decision', kind: 'opa_malformed', error: 'which is not a decision' },
      { path: 'firebreak/text/decision', kind: 'opa_malformed', error: 'is not JSON' },
    ];
    for (const c of cases) {
      // Only the slow path is meant to time out; the others must get OPA's answer however slow the machine.
      await deploy(opaSpec(c.path, c.kind === 'opa_timeout' ? { timeoutMs: 150 } : {}));
      const r = await authorize({ tool: 'send_email', arguments: { to: 'bob@example.com' } });
      expect(r.body, c.path).toMatchObject({ decision: 'deny', enforced: 'deny', engine: 'opa' });
      expect(r.body['error'], c.path).toContain(c.error);
      const trace = await traceOf(r.traceId);
      expect(trace.status, c.path).toBe('blocked');
      const found = policyFindings(trace);
      expect(found, c.path).toEqual([policyFinding(c.kind, 'send_email')]);
      expect(found[0]?.message, c.path).toMatch(/^tool-call policy \(opa\) failed: .+; the call was denied/);
      expect(found[0]?.message, c.path).not.toContain(OPA_DETAIL);
      if (c.path !== 'firebreak/slow/decision' && c.path !== 'firebreak/undefined/decision')
        expect(r.body['error'], c.path).toContain(OPA_DETAIL);
    }
  });

  it('a policy that decides adds no tool-policy finding, whether it allows or denies', async () => {
    await deploy(opaSpec('firebreak/tools/decision'));
    const allowed = await authorize({ tool: 'get_weather', arguments: {} });
    expect(allowed.body).toEqual({
      decision: 'allow',
      enforced: 'allow',
      reasons: expect.any(Array) as unknown,
      engine: 'opa',
    });
    const denied = await authorize({ tool: 'send_email', arguments: {} });
    expect(denied.body).toEqual({
      decision: 'deny',
      enforced: 'deny',
      reasons: ['no mail today'],
      engine: 'opa',
    });
    expect(policyFindings(await traceOf(allowed.traceId))).toEqual([]);
    expect(policyFindings(await traceOf(denied.traceId))).toEqual([]);
  });

  it('the approval store failing: a call to be held is denied (fail closed) with an approval_store_failed finding', async () => {
    await deploy(opaSpec('firebreak/hold/decision'));
    // A real fault in the real store: the approvals table is moved away under the running gateway, so
    // recording the hold fails as a lost table or a broken disk would.
    await sqlOn(dbUrl, 'ALTER TABLE approvals RENAME TO approvals_away');
    try {
      const r = await authorize({ tool: 'send_email', arguments: { to: 'bob@example.com' } });
      expect(r.body).toMatchObject({
        decision: 'require-approval',
        enforced: 'deny',
        engine: 'opa',
        failure: 'approval_store_failed',
      });
      expect(r.body['error']).toMatch(/^approval store: /);
      expect(r.body['reasons']).toContain('the call could not be held for approval, so it is denied');
      const trace = await traceOf(r.traceId);
      expect(trace.status).toBe('blocked');
      expect(policyFindings(trace)).toEqual([policyFinding('approval_store_failed', 'send_email')]);
    } finally {
      await sqlOn(dbUrl, 'ALTER TABLE approvals_away RENAME TO approvals');
    }
    // With the table back the same call is held, with no finding.
    const held = await authorize({ tool: 'send_email', arguments: { to: 'bob@example.com' } });
    expect(held.body).toMatchObject({ decision: 'require-approval', enforced: 'require-approval' });
    expect(policyFindings(await traceOf(held.traceId))).toEqual([]);
  });

  it('a stored policy that no longer compiles: a replica that loads it denies every call with a policy_not_compiled finding', async () => {
    const { release } = await deployRelease(
      { fb, store },
      { app: 'support-bot', env: 'prod', spec: cedarSpec, reason: 'policy failure test' },
    );
    // Compiled at creation, then broken in the database, as a changed Cedar engine or a bad restore
    // would leave it: the release row's policy text no longer parses.
    await sqlOn(
      dbUrl,
      `UPDATE releases SET spec = replace(spec, 'forbid (', 'forbid ((') WHERE app = 'support-bot' AND version = ${release.version}`,
    );
    const replicaStore = await openStore(dbUrl);
    const replicaLogs: LogLine[] = [];
    const replica = await buildApp(parseConfig(yaml(DETECTION), 'test config', {}), {
      store: replicaStore,
      logger: pino(
        { level: 'warn' },
        { write: (line: string) => void replicaLogs.push(JSON.parse(line) as LogLine) },
      ),
      timers: { tickMs: 0 },
    });
    try {
      const res = await replica.app.inject({
        method: 'POST',
        url: '/v1/tools/authorize',
        headers: { authorization: `Bearer ${GATEWAY_KEY}`, 'content-type': 'application/json' },
        payload: { tool: 'get_weather', arguments: {} },
      });
      expect(res.statusCode, res.body).toBe(200);
      const body = res.json<Record<string, unknown>>();
      // get_weather is permitted by the policy as written: only the failed compile denies it.
      expect(body).toMatchObject({
        decision: 'deny',
        enforced: 'deny',
        engine: 'cedar',
        failure: 'policy_not_compiled',
        reasons: ['the release’s policy could not be compiled'],
      });
      expect(body['error']).toMatch(/^policy\.cedar: /);
      const trace = await traceOf(res.headers['x-ai-trace-id'] as string);
      expect(trace.status).toBe('blocked');
      const found = policyFindings(trace);
      expect(found).toEqual([policyFinding('policy_not_compiled', 'get_weather')]);
      expect(found[0]?.message).toBe(
        'tool-call policy (cedar) failed: the release’s policy could not be compiled on this replica; the call was denied (fail closed)',
      );
      expect(replicaLogs).toContainEqual(
        expect.objectContaining({ msg: 'policy did not compile', release: `support-bot@${release.version}` }),
      );
    } finally {
      await replica.close(5_000);
      await replicaStore.close();
      await sqlOn(
        dbUrl,
        `UPDATE releases SET spec = replace(spec, 'forbid ((', 'forbid (') WHERE app = 'support-bot' AND version = ${release.version}`,
      );
    }
  });

  it('shadow mode: OPA down lets the call through, and the finding is recorded as log', async () => {
    const port = await closedPort();
    await deploy(opaSpec('firebreak/tools/decision', { url: `http://127.0.0.1:${port}`, mode: 'shadow' }));
    const r = await authorize({ tool: 'get_weather', arguments: {} });
    expect(r.body).toMatchObject({ decision: 'deny', enforced: 'allow', engine: 'opa' });
    const trace = await traceOf(r.traceId);
    expect(trace.status).toBe('ok');
    const found = policyFindings(trace);
    expect(found).toEqual([policyFinding('opa_unreachable', 'get_weather', 'log')]);
    expect(found[0]?.message).toContain('shadow mode, so the call was let through');
  });

  it('a Cedar evaluation error in a model’s answer (OpenAI SDK; streamed, Anthropic SDK) denies the call with a finding', async () => {
    await deploy(cedarSpec);
    const openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: GATEWAY_KEY, maxRetries: 0 });
    const { data, response } = await openai.chat.completions
      .create({
        model: 'agent',
        messages: [{ role: 'user', content: 'please mail forty-two' }],
        tools: [{ type: 'function', function: { name: 'send_email', parameters: { type: 'object' } } }],
      })
      .withResponse();
    const message = data.choices[0]?.message;
    expect(message?.tool_calls ?? []).toHaveLength(0);
    expect(message?.content).toContain('Firebreak blocked "send_email": a Cedar policy failed to evaluate');
    expect(data.choices[0]?.finish_reason).toBe('stop');
    const trace = await traceOf(response.headers.get('x-ai-trace-id') ?? '');
    expect(trace.status).toBe('blocked');
    expect(trace.body.toolDecisions).toMatchObject([
      { name: 'send_email', decision: 'deny', engine: 'cedar' },
    ]);
    // Cedar's message names the policy; the decision keeps it, the finding's message does not.
    expect(trace.body.toolDecisions?.[0]?.error).toContain('outside-mail');
    const found = policyFindings(trace);
    expect(found).toEqual([policyFinding('cedar_evaluation_error', 'send_email')]);
    expect(found[0]?.message).toBe(
      'tool-call policy (cedar) failed: the Cedar policy failed to evaluate for this call; the call was denied (fail closed)',
    );

    const claude = new Anthropic({ baseURL: url, apiKey: GATEWAY_KEY, maxRetries: 0 });
    const traceId = `cedar-stream-${kind}`;
    const stream = await claude.messages.create(
      {
        model: 'agent',
        max_tokens: 200,
        stream: true,
        messages: [{ role: 'user', content: 'please mail forty-two' }],
        tools: [{ name: 'send_email', input_schema: { type: 'object' } }],
      },
      { headers: { 'x-ai-trace-id': traceId } },
    );
    let text = '';
    const blocks: string[] = [];
    for await (const event of stream) {
      if (event.type === 'content_block_start') blocks.push(event.content_block.type);
      if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
    }
    expect(blocks).not.toContain('tool_use');
    expect(text).toContain('Firebreak blocked "send_email"');
    const streamed = await traceOf(traceId);
    expect(streamed.stream).toBe(true);
    expect(streamed.status).toBe('blocked');
    expect(policyFindings(streamed)).toEqual([policyFinding('cedar_evaluation_error', 'send_email')]);
  });

  it('the findings reach detection: a `detector: tool-policy` rule opens a security incident from both paths, and blast radius finds the calls', async () => {
    const since = Date.now() - 1000;
    await deploy(cedarSpec);
    const chat = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${GATEWAY_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'agent',
        messages: [{ role: 'user', content: 'please mail forty-two' }],
        tools: [{ type: 'function', function: { name: 'send_email', parameters: { type: 'object' } } }],
      }),
    });
    expect(chat.status).toBe(200);
    const chatTrace = chat.headers.get('x-ai-trace-id') ?? '';
    await deploy(opaSpec('firebreak/undefined/decision'));
    const agentTrace = (await authorize({ tool: 'get_weather', arguments: {} })).traceId;
    await traceOf(chatTrace);
    await traceOf(agentTrace);

    expect(await fb.signals.drain()).toBe(0);
    const ran = await fb.timers.runDue();
    expect(ran.filter((r) => r.kind === 'signal').length).toBeGreaterThan(0);
    const opened = (await listIncidents(fb.ops, {})).data.filter(
      (i) => i.title === 'Tool-call policy failing in support-bot/prod',
    );
    expect(opened).toHaveLength(1);
    expect(opened[0]).toMatchObject({ app: 'support-bot', env: 'prod', class: 'security', severity: 'SEV2' });
    const incident = await getIncident(fb.ops, opened[0]?.id ?? '');
    const signalled = incident.timeline.flatMap((e) => (e.type === 'signal' ? [e] : []));
    expect(signalled.map((e) => e.trace)).toEqual(expect.arrayContaining([chatTrace, agentTrace]));
    expect(signalled.every((e) => e.source === 'finding')).toBe(true);

    // Blast radius reads its window from the injected clock; traces are stamped with real time.
    clock = Math.max(clock, Date.now() + 1000);
    const blast = await fetch(`${url}/api/blast-radius?app=support-bot&detector=tool-policy&since=${since}`, {
      headers: { authorization: `Bearer ${VIEWER_TOKEN}` },
    });
    expect(blast.status, await blast.clone().text()).toBe(200);
    const radius = (await blast.json()) as { traces: number };
    expect(radius.traces).toBeGreaterThanOrEqual(2);
  });
});
