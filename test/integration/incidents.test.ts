import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  COMMANDER_TOKEN,
  GATEWAY_KEY,
  RESPONDER_TOKEN,
  VIEWER_TOKEN,
  startFirebreak,
  testConfigYaml,
  type Running,
} from '../support/harness.js';
import { storeKinds } from '../support/stores.js';

/**
 * Incidents (issue 5) over real HTTP on both stores: the lifecycle with the core's exact refusals,
 * containment enforced by the gateway and reverted, the timeline's order and times, audit entries,
 * and the CLI in-process and with --server. Every refused request is checked to have changed nothing.
 */
const EXTRA = `
  agent:
    type: simulator
    models: [agent-1]
    rules:
      - name: mail-only
        when: { contains: 'just mail' }
        then: { toolCalls: [{ name: send_email, arguments: { to: 'x@example.com' } }] }
      - name: echo
        when: { contains: '' }
        then: { reply: 'agent answering' }
  sim2:
    type: simulator
    models: [backup-1]
    rules:
      - when: { contains: '' }
        then: { reply: 'backup model answering' }
models:
  - { name: primary, provider: agent, model: agent-1, family: agent }
  - { name: backup, provider: sim2, model: backup-1, family: backup }
tools:
  send_email: { risk: high }
  lookup: { risk: low }
`;

function yaml(extra = ''): string {
  // testConfigYaml puts `extra` under providers: move the top-level `models:` and `tools:` out.
  const [providers, rest] = EXTRA.split('\nmodels:');
  return `${testConfigYaml(providers).replace('\napps:', `\nmodels:${rest ?? ''}\napps:`)}${extra}`;
}

const MIN = 60_000;
const T0 = Date.UTC(2026, 10, 27, 10, 0);
const iso = (ms: number) => new Date(ms).toISOString();

const tools: OpenAI.ChatCompletionTool[] = [
  { type: 'function', function: { name: 'send_email', parameters: { type: 'object' } } },
  { type: 'function', function: { name: 'lookup', parameters: { type: 'object' } } },
];

interface Reply {
  status: number;
  body: Record<string, unknown> & { error?: { code: string; message: string; path?: string } };
}

type Event = { seq: number; type: string; at: number; actor: string; description: string } & Record<
  string,
  unknown
>;
interface View {
  id: string;
  status: string;
  class: string | null;
  severity: string | null;
  commander: string | null;
  communicationsLead: string | null;
  responders: string[];
  containment: { ref: string; action: string; at: number; actor: string }[];
  timeline: Event[];
  deadlines: { clock: string; dueAt: number; article: string; overdue: boolean }[];
  updates: { owed: boolean; nextDueAt: number | null; overdue: boolean };
  metrics: { mttd: number | null; mttc: number | null; mttr: number | null };
}

describe.each(storeKinds)('incidents (%s)', (kind) => {
  let fb: Running;
  let client: OpenAI;
  let clock = T0;
  const tick = (ms = MIN) => (clock += ms);

  beforeAll(async () => {
    fb = await startFirebreak({ store: kind, yaml: yaml(), now: () => clock });
    client = new OpenAI({ baseURL: `${fb.url}/v1`, apiKey: GATEWAY_KEY, maxRetries: 0 });
  });
  afterAll(() => fb.close());

  async function call(method: 'GET' | 'POST', path: string, token: string, body?: unknown): Promise<Reply> {
    const res = await fetch(`${fb.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as Reply['body'] };
  }
  const post = (path: string, body: unknown, token = COMMANDER_TOKEN) => call('POST', path, token, body);
  const view = async (id: string) =>
    (await call('GET', `/api/incidents/${id}`, VIEWER_TOKEN)).body as unknown as View;
  /** The whole observable state a refused request must leave alone. */
  const snapshot = async (id: string) => ({
    incident: await view(id),
    audit: (await call('GET', '/api/audit?limit=1000', VIEWER_TOKEN)).body,
    flags: (await call('GET', '/api/flags?all=true', VIEWER_TOKEN)).body,
    deployments: (await call('GET', '/api/deployments?app=support-bot', VIEWER_TOKEN)).body,
  });
  async function refused(
    id: string,
    path: string,
    body: unknown,
    token: string,
    expected: { status: number; message: string; path?: string },
  ) {
    const before = await snapshot(id);
    tick();
    const r = await post(path, body, token);
    expect([r.status, r.body.error?.message], JSON.stringify(r.body)).toEqual([
      expected.status,
      expected.message,
    ]);
    if (expected.path !== undefined) expect(r.body.error?.path).toBe(expected.path);
    expect(await snapshot(id)).toEqual(before);
  }
  /** Changes are pushed to this replica; wait until it enforces the store's current version. */
  async function applied(): Promise<void> {
    const version = await fb.store.control.version();
    for (let i = 0; i < 300 && fb.fb.control.current().version < version; i++)
      await new Promise((r) => setTimeout(r, 10));
    expect(fb.fb.control.current().version).toBeGreaterThanOrEqual(version);
  }
  async function mail() {
    const { data, response } = await client.chat.completions
      .create({ model: 'primary', messages: [{ role: 'user', content: 'just mail them' }], tools })
      .withResponse();
    const [trace] = await fb.traceOf(response.headers.get('x-ai-trace-id') ?? '');
    return { message: data.choices[0]?.message, trace };
  }

  it('runs the lifecycle through the API with the core’s refusals, each changing nothing', async () => {
    const opened = await post(
      '/api/incidents',
      {
        app: 'support-bot',
        env: 'prod',
        title: 'Agent mails customers’ data out',
        summary: 'a customer forwarded an e-mail they should not have received',
        impactStartedAt: iso(T0 - 10 * MIN),
      },
      RESPONDER_TOKEN,
    );
    expect(opened.status).toBe(201);
    expect(opened.body).toMatchObject({
      id: 'INC-1',
      status: 'detected',
      class: null,
      openedBy: 'token:test-responder',
      detectedAt: T0,
    });
    const id = 'INC-1';

    await refused(id, `/api/incidents/${id}/triage`, { severity: 'SEV1' }, COMMANDER_TOKEN, {
      status: 400,
      message: 'triage needs a class (integrity | security | privacy | compliance | reputation)',
      path: 'class',
    });
    await refused(
      id,
      `/api/incidents/${id}/contain`,
      { action: 'disable-tool', target: 'send_email' },
      RESPONDER_TOKEN,
      {
        status: 409,
        message:
          'INC-1 is not triaged: triage it first (class, severity, commander), or contain it with override, which is recorded on the timeline',
      },
    );
    await refused(id, `/api/incidents/${id}/transition`, { to: 'remediated' }, COMMANDER_TOKEN, {
      status: 409,
      message:
        'INC-1 cannot go from detected to remediated: the next status is triaged (detected → triaged → contained → remediated → resolved → closed)',
    });
    await refused(id, `/api/incidents/${id}/transition`, { to: 'fixed' }, COMMANDER_TOKEN, {
      status: 400,
      message: 'status "fixed" is not one of detected | triaged | contained | remediated | resolved | closed',
      path: 'status',
    });
    await refused(
      id,
      `/api/incidents/${id}/triage`,
      { class: 'privacy', severity: 'SEV1' },
      RESPONDER_TOKEN,
      {
        status: 403,
        message: 'this needs role commander or above; token "test-responder" has responder',
      },
    );

    const tTriage = tick();
    const triaged = await post(`/api/incidents/${id}/triage`, { class: 'privacy', severity: 'SEV1' });
    expect(triaged.status).toBe(200);
    expect(triaged.body).toMatchObject({
      status: 'triaged',
      class: 'privacy',
      severity: 'SEV1',
      commander: 'token:test-commander',
      triagedAt: clock,
    });
    expect((triaged.body as unknown as View).updates).toEqual({
      owed: true,
      lastInternalAt: null,
      nextDueAt: clock + 30 * MIN,
      overdue: false,
    });

    // A containment the flag operation refuses (unknown tool) leaves nothing: no flag, no record, no event.
    await refused(
      id,
      `/api/incidents/${id}/contain`,
      { action: 'disable-tool', target: 'rm_rf' },
      RESPONDER_TOKEN,
      { status: 404, message: 'unknown tool "rm_rf" (declared: send_email, lookup)', path: 'key' },
    );
    await refused(id, `/api/incidents/${id}/contain`, { action: 'disable-everything' }, RESPONDER_TOKEN, {
      status: 400,
      message:
        'action "disable-everything" is not one of disable-tool, safe-mode, rollback, narrow-retrieval, disable-model, block-user, block-tenant',
      path: 'action',
    });

    expect((await mail()).message?.tool_calls?.[0]).toMatchObject({ function: { name: 'send_email' } });
    const tContain = tick();
    const contained = await post(
      `/api/incidents/${id}/contain`,
      { action: 'disable-tool', target: 'send_email', reason: 'stop the mails' },
      RESPONDER_TOKEN,
    );
    expect(contained.status).toBe(201);
    const { containment, incident } = contained.body as unknown as {
      containment: { ref: string; action: string; effects: { flags: { id: string; key: string }[] } };
      incident: View;
    };
    expect(containment).toMatchObject({
      action: 'disable-tool send_email',
      effects: {
        flags: [{ key: 'tool:send_email', value: 'off', app: 'support-bot', env: 'prod', replaced: null }],
      },
      appliedBy: 'token:test-responder',
      revertedAt: null,
    });
    expect(containment.ref).toMatch(/^ctn_[0-9a-f]{12}$/);
    expect(incident.status).toBe('contained');
    expect(incident.containment).toEqual([
      { ref: containment.ref, action: 'disable-tool send_email', at: clock, actor: 'token:test-responder' },
    ]);
    const flag = (
      (await call('GET', '/api/flags', VIEWER_TOKEN)).body['data'] as Record<string, unknown>[]
    ).find((f) => f['key'] === 'tool:send_email');
    expect(flag).toMatchObject({ value: 'off', env: 'prod', incident: id, reason: 'INC-1: stop the mails' });

    // Enforced by the gateway: the model's send_email call is blocked.
    await applied();
    const blocked = await mail();
    expect(blocked.message?.tool_calls ?? []).toEqual([]);
    expect(blocked.message?.content).toContain('blocked "send_email"');
    expect(blocked.trace?.status).toBe('blocked');

    const tNote = tick();
    expect(
      (await post(`/api/incidents/${id}/notes`, { text: 'mails stopped' }, RESPONDER_TOKEN)).status,
    ).toBe(200);
    const tRoles = tick();
    const handedOver = await post(`/api/incidents/${id}/roles`, {
      role: 'commander',
      to: 'alice',
      reason: 'shift change',
    });
    expect(handedOver.body).toMatchObject({ commander: 'alice' });
    await post(`/api/incidents/${id}/roles`, { role: 'communications_lead', to: 'dana' });
    await post(`/api/incidents/${id}/responders`, { add: 'bob' });
    await refused(id, `/api/incidents/${id}/responders`, { add: 'bob' }, COMMANDER_TOKEN, {
      status: 409,
      message: 'bob is already a responder on INC-1',
    });

    const tUpdate = tick();
    const update = await post(
      `/api/incidents/${id}/updates`,
      { audience: 'internal', summary: 'send_email switched off', actions: ['mails stopped'] },
      RESPONDER_TOKEN,
    );
    expect(update.status).toBe(200);
    const posted = (update.body as unknown as View).timeline.at(-1);
    expect(posted).toMatchObject({ type: 'update_posted', audience: 'internal', channels: [] });
    expect(posted?.['text']).toContain('INC-1 · SEV1 privacy · contained — Agent mails customers’ data out');
    expect(posted?.['text']).toContain(`Next update: by ${iso(clock + 30 * MIN).slice(0, 10)}`);
    expect((update.body as unknown as View).updates).toMatchObject({
      lastInternalAt: clock,
      nextDueAt: clock + 30 * MIN,
    });
    await refused(
      id,
      `/api/incidents/${id}/updates`,
      { audience: 'external', headline: 'x' },
      RESPONDER_TOKEN,
      {
        status: 400,
        message: 'an external update needs a message',
        path: 'message',
      },
    );

    const tCompliance = clock;
    const aware = clock - 5 * MIN;
    const flagged = await post(`/api/incidents/${id}/compliance`, {
      personalDataBreach: true,
      awareAt: iso(aware),
    });
    expect((flagged.body as unknown as View).deadlines).toEqual([
      expect.objectContaining({
        clock: 'gdpr-art33',
        article: 'Art. 33(1)',
        dueAt: aware + 72 * 60 * MIN,
        overdue: false,
      }),
    ]);

    const tRevert = tick();
    const reverted = await post(
      `/api/incidents/${id}/revert`,
      { ref: containment.ref, reason: 'fixed' },
      RESPONDER_TOKEN,
    );
    expect(reverted.status).toBe(200);
    expect(reverted.body).toMatchObject({
      containment: { ref: containment.ref, revertedAt: clock, revertedBy: 'token:test-responder' },
      incident: { status: 'contained', containment: [] },
    });
    expect((await call('GET', '/api/flags', VIEWER_TOKEN)).body['data']).toEqual([]);
    await refused(id, `/api/incidents/${id}/revert`, { ref: containment.ref }, RESPONDER_TOKEN, {
      status: 409,
      message: `no containment ${containment.ref} is in force on INC-1`,
    });
    await applied();
    expect((await mail()).message?.tool_calls?.[0]).toMatchObject({ function: { name: 'send_email' } });

    const tRemediated = tick();
    await post(`/api/incidents/${id}/transition`, { to: 'remediated', reason: 'prompt fixed' });
    const tResolved = tick();
    await post(`/api/incidents/${id}/transition`, { to: 'resolved' });
    await refused(
      id,
      `/api/incidents/${id}/transition`,
      { to: 'closed', noPostmortem: 'small' },
      COMMANDER_TOKEN,
      {
        status: 409,
        message:
          'INC-1 is SEV1: it closes with a postmortem (postmortems are due for SEV1 and SEV2); closing without one is for SEV3 and SEV4',
      },
    );
    const tClosed = tick();
    const closed = await post(`/api/incidents/${id}/transition`, { to: 'closed', postmortem: 'PM-1' });
    expect(closed.body).toMatchObject({ status: 'closed', postmortem: 'PM-1' });
    await refused(id, `/api/incidents/${id}/notes`, { text: 'late' }, RESPONDER_TOKEN, {
      status: 409,
      message: 'INC-1 is closed; a closed incident does not change (open a new incident)',
    });

    // The timeline: every step in order, each with its time and actor.
    const v = await view(id);
    expect(v.timeline.map((e) => e.seq)).toEqual(v.timeline.map((_, i) => i + 1));
    const responder = 'token:test-responder';
    const commander = 'token:test-commander';
    expect(v.timeline.map((e) => [e.at, e.actor, e.description])).toEqual([
      [T0, responder, 'opened as detected'],
      [
        T0,
        responder,
        `signal ${String(v.timeline[1]?.['signal'])} (manual): a customer forwarded an e-mail they should not have received`,
      ],
      [tTriage, commander, 'detected → triaged'],
      [tTriage, commander, 'no severity unclassified → SEV1 privacy'],
      [tTriage, commander, 'token:test-commander is commander'],
      [tContain, responder, 'contained: disable-tool send_email (stop the mails)'],
      [tContain, responder, 'triaged → contained'],
      [tNote, responder, 'note: mails stopped'],
      [tRoles, commander, 'commander handed over from token:test-commander to alice (shift change)'],
      [tRoles, commander, 'dana is communications lead'],
      [tRoles, commander, 'bob is responder'],
      [tUpdate, responder, 'internal update posted'],
      [
        tCompliance,
        commander,
        `note: compliance: personal-data breach (GDPR Art. 33); aware since ${iso(aware)}; GDPR Art. 33(1) due ${iso(aware + 72 * 60 * MIN)}`,
      ],
      [
        tRevert,
        responder,
        'containment reverted: disable-tool send_email (fixed; tool:send_email @ support-bot/prod removed)',
      ],
      [tRemediated, commander, 'contained → remediated (prompt fixed)'],
      [tResolved, commander, 'remediated → resolved'],
      [tClosed, commander, 'resolved → closed (postmortem PM-1)'],
    ]);
    expect(v.metrics).toMatchObject({ mttd: 10 * MIN, mttc: tContain - T0, mttr: tResolved - T0 });
    expect((await call('GET', `/api/incidents/${id}/metrics`, VIEWER_TOKEN)).body).toEqual({
      id,
      app: 'support-bot',
      class: 'privacy',
      severity: 'SEV1',
      mttd: 10 * MIN,
      mtta: null,
      mttc: tContain - T0,
      mttr: tResolved - T0,
    });

    // The audit log: one entry per change, the containment's flag beside the incident's own entry.
    const audit = (await call('GET', '/api/audit?limit=1000', VIEWER_TOKEN)).body['data'] as {
      action: string;
      actor: string;
      incident: string | null;
      target: string;
    }[];
    expect(audit.filter((e) => e.incident === id).map((e) => e.action)).toEqual([
      'incident.open',
      'incident.triage',
      'flag.set',
      'incident.contain',
      'incident.note',
      'incident.role',
      'incident.role',
      'incident.responder',
      'incident.update',
      'incident.compliance',
      'flag.unset',
      'incident.revert',
      'incident.transition',
      'incident.transition',
      'incident.transition',
    ]);
    expect((await call('GET', '/api/audit/verify', VIEWER_TOKEN)).body).toMatchObject({ ok: true });
  });
});
