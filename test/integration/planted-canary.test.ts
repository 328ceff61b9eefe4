import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rescanTraces } from '../../src/ops/scan.js';
import {
  ADMIN_TOKEN,
  GATEWAY_KEY,
  VIEWER_TOKEN,
  startFirebreak,
  testConfigYaml,
  untilControlApplied,
  withoutEventIds,
  type Running,
} from '../support/harness.js';
import { runCli } from '../support/cli.js';
import { storeKinds } from '../support/stores.js';

/**
 * Issue 4, "canary tokens planted per release in prompts and documents": with `guards.plantCanary` the
 * release gets a random canary when it is created, the gateway writes it after the release's prompt and
 * after each document it puts in the prompt, and a model that copies either out is stopped — streamed
 * or not — with a SEV1 privacy finding. The simulator plays that model: `{{system}}` repeats its system
 * messages. Real HTTP, the OpenAI SDK, both stores.
 */
const LEAKY = `
  leaky:
    type: simulator
    models: [leaky-1]
    rules:
      - name: leak-stream
        when: { contains: 'stream the news' }
        then: { reply: 'Sure. My instructions: {{system}}' }
      - name: leak
        when: { contains: 'share what is new today' }
        then: { reply: 'Sure. My instructions: {{system}}' }
      - name: echo
        when: { contains: '' }
        then: { reply: 'You said: {{lastUser}}' }
`;
const yaml = () =>
  testConfigYaml(LEAKY).replace(
    '\napps:',
    '\nmodels:\n  - { name: leaky, provider: leaky, model: leaky-1 }\napps:',
  );

const PROMPT = 'You are the billing assistant of Example Corp.';
const planted = {
  model: { name: 'leaky' },
  prompt: { system: PROMPT },
  retrieval: { useInPrompt: true },
  guards: { plantCanary: true },
};

interface ReleaseReply {
  release: { app: string; version: number; hash: string; canary?: string };
  created: boolean;
}

describe.each(storeKinds)('a canary Firebreak plants per release (%s)', (kind) => {
  let fb: Running;
  let client: OpenAI;
  let canary = '';

  const api = async (method: string, path: string, body?: unknown, token = ADMIN_TOKEN) => {
    const res = await fetch(`${fb.url}/api/${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const deploy = async (spec: unknown): Promise<ReleaseReply> => {
    const made = await api('POST', 'releases', { app: 'support-bot', spec, reason: 'canary test' });
    expect(made.status, JSON.stringify(made.body)).toBeLessThan(300);
    const r = made.body as unknown as ReleaseReply;
    const name = `${r.release.app}@${r.release.version}`;
    const deployed = await api('POST', 'deployments', { release: name, env: 'prod', reason: 'canary test' });
    expect(deployed.status, JSON.stringify(deployed.body)).toBe(201);
    await untilControlApplied(fb);
    return r;
  };

  beforeAll(async () => {
    fb = await startFirebreak({ store: kind, yaml: yaml() });
    client = new OpenAI({ baseURL: `${fb.url}/v1`, apiKey: GATEWAY_KEY, maxRetries: 0 });
    const r = await deploy(planted);
    expect(r.created).toBe(true);
    canary = r.release.canary ?? '';
  });
  afterAll(() => fb.close());

  it('is made when the release is created, random, kept by the release, and shown to admins only', async () => {
    expect(canary).toMatch(/^fbcanary-[0-9a-f]{20}$/);
    // The same spec again is the same release, canary and all (it is not part of the content hash) …
    const again = await api('POST', 'releases', { app: 'support-bot', spec: planted });
    expect(again.status).toBe(200);
    expect((again.body as unknown as ReleaseReply).release.canary).toBe(canary);
    // … while another release gets a canary of its own.
    const other = await api('POST', 'releases', {
      app: 'support-bot',
      spec: { ...planted, prompt: { system: `${PROMPT} Be brief.` } },
    });
    expect(other.status).toBe(201);
    const otherCanary = (other.body as unknown as ReleaseReply).release.canary;
    expect(otherCanary).toMatch(/^fbcanary-[0-9a-f]{20}$/);
    expect(otherCanary).not.toBe(canary);
    // Admins see it (they wrote the release); viewers do not, since whoever knows it can make a model
    // echo it and raise a SEV1 at will; the audit log, which every viewer reads, keeps only a digest.
    const asAdmin = await api('GET', 'releases/support-bot@1');
    expect(asAdmin.body['canary']).toBe(canary);
    const asViewer = await api('GET', 'releases/support-bot@1', undefined, VIEWER_TOKEN);
    expect(asViewer.status).toBe(200);
    expect(asViewer.body).not.toHaveProperty('canary');
    const listed = await api('GET', 'releases?app=support-bot', undefined, VIEWER_TOKEN);
    expect(JSON.stringify(listed.body)).not.toContain('fbcanary');
    const audit = await api('GET', 'audit', undefined, VIEWER_TOKEN);
    expect(audit.status).toBe(200);
    expect(JSON.stringify(audit.body)).not.toContain(canary);
    expect(JSON.stringify(audit.body)).toContain('canarySha256');
    const cli = (token: string) =>
      runCli(['release', 'show', 'support-bot@1', '--server', fb.url, '--token', token]);
    const admin = await cli(ADMIN_TOKEN);
    expect(admin.code, admin.stderr).toBe(0);
    expect(admin.stdout).toContain(`planted canary: ${canary}`);
    const viewer = await cli(VIEWER_TOKEN);
    expect(viewer.code, viewer.stderr).toBe(0);
    expect(viewer.stdout).not.toContain('fbcanary');
  });

  it('refuses plantCanary on a release with nowhere to plant it, and creates nothing', async () => {
    const before = await api('GET', 'releases?app=support-bot', undefined, VIEWER_TOKEN);
    const refused = await api('POST', 'releases', {
      app: 'support-bot',
      spec: { model: { name: 'leaky' }, guards: { plantCanary: true } },
    });
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({
      error: {
        code: 'validation_failed',
        message:
          'invalid release: guards.plantCanary: there is nowhere to plant it (no prompt.system, and retrieval.useInPrompt is off)',
      },
    });
    const after = await api('GET', 'releases?app=support-bot', undefined, VIEWER_TOKEN);
    expect(after.body['data']).toEqual(before.body['data']);
  });

  it('stops an answer that repeats the prompt: output_blocked, and a SEV1 privacy finding on the trace', async () => {
    const { error, response } = await client.chat.completions
      .create({ model: 'leaky', messages: [{ role: 'user', content: 'Please share what is new today.' }] })
      .withResponse()
      .then(
        (r) => ({ error: undefined, response: r.response }),
        (e: unknown) => ({ error: e, response: undefined }),
      );
    expect(response).toBeUndefined();
    expect(error).toBeInstanceOf(OpenAI.APIError);
    const apiError = error as InstanceType<typeof OpenAI.APIError>;
    expect(apiError.status).toBe(422);
    expect(apiError.code).toBe('output_blocked');
    expect(apiError.message).not.toContain(canary);
    const [trace] = await fb.traceOf(apiError.headers?.get('x-ai-trace-id') ?? '');
    expect(trace?.status).toBe('blocked');
    // The trace keeps the request as the client sent it: the planted prompt is not stored with it.
    expect(JSON.stringify(trace)).not.toContain(canary);
    expect(trace?.body.findings).toContainEqual(
      expect.objectContaining({
        detector: 'canary',
        class: 'privacy',
        stage: 'output',
        action: 'block',
        severity: 'SEV1',
      }),
    );
  });

  it('cuts a streamed answer before the canary, whether it came from the prompt or a document', async () => {
    const res = await fetch(`${fb.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${GATEWAY_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'leaky',
        stream: true,
        messages: [{ role: 'user', content: 'Now stream the news.' }],
        firebreak: { retrieved: [{ id: 'inv-1', source: 'kb', text: 'Invoices are due in 30 days.' }] },
      }),
    });
    expect(res.status).toBe(200);
    const raw = withoutEventIds(await res.text());
    const sent = raw
      .split('\n')
      .filter((l) => l.startsWith('data: {'))
      .map((l) => (JSON.parse(l.slice(6)) as { choices?: { delta?: { content?: string } }[] }).choices)
      .map((c) => c?.[0]?.delta?.content ?? '')
      .join('');
    // Everything before the canary was sent: the prompt, and the document up to its marker.
    expect(sent).toMatch(/^Sure\. My instructions: You are the billing assistant of Example Corp\.\n/);
    expect(raw).toContain('"code":"output_blocked"');
    // No part of the canary reached the client (its marker's words are not secret: they were sent).
    expect(raw).not.toContain('fbcanary');
    expect(sent).toMatch(/\[confidential marker $/);
    const [trace] = await fb.traceOf(res.headers.get('x-ai-trace-id') ?? '');
    expect(trace?.status).toBe('blocked');
    expect(trace?.body.findings).toContainEqual(
      expect.objectContaining({ detector: 'canary', stage: 'output', severity: 'SEV1' }),
    );
  });

  it('a document alone carries it: a release with only documents in the prompt is protected too', async () => {
    const docsOnly = await deploy({
      model: { name: 'leaky' },
      retrieval: { useInPrompt: true },
      guards: { plantCanary: true },
    });
    const res = await fetch(`${fb.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${GATEWAY_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'leaky',
        messages: [{ role: 'user', content: 'Please share what is new today.' }],
        firebreak: { retrieved: [{ id: 'inv-1', source: 'kb', text: 'Invoices are due in 30 days.' }] },
      }),
    });
    expect(res.status).toBe(422);
    expect(docsOnly.release.canary).toMatch(/^fbcanary-/);
    expect(await res.text()).not.toContain(docsOnly.release.canary ?? '?');
    // Without a document there is nothing planted and nothing to stop.
    const clean = await client.chat.completions.create({
      model: 'leaky',
      messages: [{ role: 'user', content: 'Please share what is new today.' }],
    });
    expect(clean.choices[0]?.message.content).toBe('Sure. My instructions: ');
    await deploy(planted);
  });

  it('without plantCanary the same leak is not caught by a canary (the control)', async () => {
    await deploy({ model: { name: 'leaky' }, prompt: { system: PROMPT } });
    const answer = await client.chat.completions.create({
      model: 'leaky',
      messages: [{ role: 'user', content: 'Please share what is new today.' }],
    });
    expect(answer.choices[0]?.message.content).toBe(`Sure. My instructions: ${PROMPT}`);
    await deploy(planted);
  });

  it('set to log, a leak goes through and is recorded; a rescan finds it again with the release’s canary', async () => {
    const logged = await deploy({
      ...planted,
      guards: { plantCanary: true, detectors: { canary: { action: 'log' } } },
    });
    const mark = logged.release.canary ?? '?';
    const { data, response } = await client.chat.completions
      .create({ model: 'leaky', messages: [{ role: 'user', content: 'Please share what is new today.' }] })
      .withResponse();
    expect(data.choices[0]?.message.content).toContain(mark);
    const traceId = response.headers.get('x-ai-trace-id') ?? '';
    const [trace] = await fb.traceOf(traceId);
    expect(trace?.status).toBe('ok');
    expect(trace?.body.findings).toContainEqual(
      expect.objectContaining({ detector: 'canary', action: 'log', severity: 'SEV1' }),
    );
    await deploy(planted);
    // `firebreak scan --traces`'s operation: each trace with its own release, planted canary included.
    await fb.flushed();
    const found: string[] = [];
    const summary = await rescanTraces(
      fb.fb.ops,
      { since: '1h' },
      (r) => {
        if (r.findings.some((f) => f.detector === 'canary')) found.push(r.trace.traceId);
      },
      () => undefined,
    );
    expect(summary.scanned).toBeGreaterThan(1);
    expect(found).toEqual([traceId]);
  });
});
