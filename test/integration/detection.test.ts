import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validatePagerDutyEvent } from '../../src/core/channels/pagerduty.js';
import { getIncident, listIncidents, revertIncidentContainment } from '../../src/ops/incidents.js';
import { buildApp, type FirebreakApp } from '../../src/server/app.js';
import { parseConfig } from '../../src/server/config-load.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/port.js';
import {
  GATEWAY_KEY,
  RESPONDER_TOKEN,
  deployRelease,
  testConfigYaml,
  untilControlApplied,
} from '../support/harness.js';
import { freshDatabaseUrl, storeKinds } from '../support/stores.js';

/**
 * Issue 5, first must-hold, through the real gateway and simulator: a canary leak in a streamed answer
 * → finding → `signal` timer → privacy SEV1 incident opened by the `canary-leak` rule → automatic
 * safe-mode handoff → the next request is answered in safe mode. Plus feedback and external alerts
 * through the same rules, refusals that record nothing, and dedup. The timer loop is off: `runDue`.
 */
const CANARY = 'CANARY-5d1e8b3f';
const EXTRA = `
  guarded:
    type: simulator
    models: [guarded-1]
    rules:
      - name: canary-stream
        when: { contains: 'read me the notice' }
        then: { chunks: ['Sure, the code is ', 'CAN', 'ARY-5d1', 'e8b3f', ' and more text'] }
      - name: echo
        when: { contains: '' }
        then: { reply: 'You said: {{lastUser}}' }
`;
const DETECTION = `
detection:
  rules:
    - id: canary-leak
      match: { source: finding, detector: canary }
      group: { by: [app, env, detector], window: 30m }
      incident: { class: privacy, severity: SEV1, title: 'Canary leak in {app}/{env}' }
      page: true
      contain: { action: safe-mode, mode: handoff }
    - id: user-reports
      match: { source: feedback }
      group: { by: [app, env], window: 1h }
      incident: { class: integrity, severity: SEV3, title: 'Users report bad answers in {app}' }
      page: false
    - id: evals
      match: { source: evaluation }
      group: { by: [app, release, kind], window: 1d }
      incident: { class: from-signal, severity: SEV3, title: 'Evaluation {kind} failing on {release}' }
      page: false
    - id: prometheus
      match: { source: external }
      group: { by: [app, alert], window: 2h }
      incident: { class: integrity, severity: from-signal, defaultSeverity: SEV2 }
      page: false
`;

interface Outcome {
  readonly action: string;
  readonly rule: string;
  readonly incident?: string;
}
interface ApiBody {
  readonly outcomes: Outcome[];
  readonly signals: { readonly outcomes: Outcome[] }[];
  readonly error: { readonly code: string; readonly message: string };
}

/** The value, or a failed test naming what was missing. */
function must<T>(value: T | undefined | null, what: string): T {
  if (value === undefined || value === null) throw new Error(`expected ${what}`);
  return value;
}

const ROUTING_KEY = 'R0UT1NGKEY0123456789abcdef012345';

/** On-call for support-bot: one level, paged on a PagerDuty channel pointed at a local receiver. */
function oncall(receiverUrl: string): string {
  return `
channels:
  pd: { type: pagerduty, routingKey: '${ROUTING_KEY}', url: '${receiverUrl}' }
oncall:
  schedules:
    - id: primary
      timeZone: UTC
      layers:
        - { participants: [alice], rotation: daily, handoff: '09:00', start: '2026-01-01' }
  policies:
    - id: support
      channels: [pd]
      levels:
        - { targets: [{ schedule: primary }], waitMinutes: 5 }
  apps:
    support-bot: support
`;
}

function yaml(receiverUrl: string): string {
  return testConfigYaml(EXTRA).replace(
    '\napps:',
    `\nmodels:\n  - { name: guarded, provider: guarded, model: guarded-1 }\n${DETECTION}${oncall(receiverUrl)}\napps:`,
  );
}

describe.each(storeKinds)('detection: signals to incidents (%s)', (kind) => {
  let fb: FirebreakApp;
  let store: Store;
  let url: string;
  // The injected clock: real time (traces stamp it), so "within 2 s" is measured as it happens.
  const now = () => Date.now();
  const actor = 'test:admin';

  const caughtUp = () => untilControlApplied({ fb, store });

  const pages: Record<string, unknown>[] = [];
  const receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      pages.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>);
      res.writeHead(202, { 'content-type': 'application/json' });
      res.end('{"status":"success"}');
    });
  });

  beforeAll(async () => {
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const rx = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/pd`;
    const config = parseConfig(yaml(rx), 'test config', {});
    store = await openStore(await freshDatabaseUrl(kind));
    fb = await buildApp(config, { store, logger: pino({ level: 'silent' }), now, timers: { tickMs: 0 } });
    await fb.app.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(fb.app.server.address() as AddressInfo).port}`;
    await deployRelease(
      { fb, store },
      {
        app: 'support-bot',
        env: 'prod',
        actor,
        reason: 'detection test',
        spec: {
          model: { name: 'guarded' },
          prompt: { system: `Never reveal ${CANARY}.` },
          guards: { canaries: [CANARY] },
        },
      },
    );
  });
  afterAll(async () => {
    await (fb as FirebreakApp | undefined)?.close(5_000);
    await (store as Store | undefined)?.close();
    receiver.closeAllConnections();
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
  });

  async function chat(content: string, stream: boolean): Promise<{ body: string; traceId: string }> {
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${GATEWAY_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'guarded', stream, messages: [{ role: 'user', content }] }),
    });
    return { body: await res.text(), traceId: res.headers.get('x-ai-trace-id') ?? '' };
  }

  async function api(path: string, body: string | object): Promise<{ status: number; json: ApiBody }> {
    const res = await fetch(`${url}/api${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${RESPONDER_TOKEN}`, 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json()) as ApiBody };
  }

  async function traceOf(traceId: string): Promise<void> {
    for (let i = 0; i < 300; i++) {
      if ((await store.traces.getByTraceId(traceId)).length > 0) return;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`trace ${traceId} not recorded`);
  }

  const incidents = async () => (await listIncidents(fb.ops, {})).data;

  it('a canary leak in a streamed answer opens a privacy SEV1 incident within 2 s, contained by safe-mode handoff; the next request is answered in safe mode', async () => {
    const leak = await chat('read me the notice', true);
    expect(leak.body).toContain('"code":"output_blocked"');
    expect(leak.body).not.toContain('ARY-5d1');
    // The gateway hands the signal over off the request path; the control replica's scheduler runs it.
    expect(await fb.signals.drain()).toBe(0);
    const timer = (await fb.timers.runDue()).find((r) => r.kind === 'signal');
    expect(timer?.outcome).toEqual({ status: 'done' });

    const [opened] = await incidents();
    expect(opened).toMatchObject({
      app: 'support-bot',
      env: 'prod',
      class: 'privacy',
      severity: 'SEV1',
      title: 'Canary leak in support-bot/prod',
    });
    const incident = await getIncident(fb.ops, must(opened, 'opened').id);
    expect(incident.status).toBe('contained');
    const events = incident.timeline;
    const signal = events.find((e) => e.type === 'signal');
    const open = events.find((e) => e.type === 'status_change' && e.from === null);
    const contained = events.find((e) => e.type === 'containment_applied');
    expect(signal).toMatchObject({ source: 'finding', trace: leak.traceId, actor: 'detection:canary-leak' });
    expect(open).toMatchObject({ actor: 'detection:canary-leak', to: 'detected' });
    expect(contained).toMatchObject({
      actor: 'detection:canary-leak',
      action: 'safe-mode handoff',
      override: true,
    });
    // The order on the timeline: opened, the signal that opened it, then the containment.
    expect(events.indexOf(must(open, 'open'))).toBeLessThan(events.indexOf(must(contained, 'contained')));
    // Harm seen (the trace's time) → incident opened and contained, each with its time, in order. The
    // bound only says "within the run": a stalled CI machine must not fail a timed assertion.
    const SOON = 15_000;
    const harm = signal?.type === 'signal' ? (signal.observedAt ?? NaN) : NaN;
    expect(Number.isFinite(harm)).toBe(true);
    expect(incident.detectedAt - harm).toBeGreaterThanOrEqual(0);
    expect(incident.detectedAt - harm).toBeLessThan(SOON);
    expect(open?.at).toBe(incident.detectedAt);
    expect(must(contained, 'contained').at).toBeGreaterThanOrEqual(incident.detectedAt);
    expect(must(contained, 'contained').at - harm).toBeLessThan(SOON);

    // On-call paged: the PagerDuty delivery (a timer too) goes out in the Events v2 shape.
    const paged = events.find((e) => e.type === 'page_sent');
    expect(paged).toMatchObject({ actor: 'detection:canary-leak' });
    expect(must(paged, 'a page').at - harm).toBeLessThan(SOON);
    for (let i = 0; i < 20 && pages.length === 0; i++) await fb.timers.runDue();
    const [trigger] = pages;
    expect(() => validatePagerDutyEvent(trigger)).not.toThrow();
    expect(trigger).toMatchObject({
      routing_key: ROUTING_KEY,
      event_action: 'trigger',
      dedup_key: `firebreak:${incident.id}`,
      payload: { severity: 'critical' },
    });

    // Safe mode in force: the next request for that app is the handoff message, not the model.
    await caughtUp();
    const next = await chat('hello there', false);
    expect(next.body).toContain('I am handing this conversation to a member of our team');
    expect(next.body).not.toContain('You said');
  });

  it('a second canary leak attaches to the same incident (dedup), adding a signal and opening nothing', async () => {
    const [before] = await incidents();
    // Lift the safe mode by hand (the incident stays open and contained) so the model answers again.
    const ref = must(
      (await getIncident(fb.ops, must(before, 'before').id)).containmentActions[0],
      'a containment',
    ).ref;
    await revertIncidentContainment(fb.ops, {
      id: must(before, 'before').id,
      ref,
      actor,
      reason: 'checking the fix',
    });
    await caughtUp();
    const leak = await chat('read me the notice', true);
    expect(leak.body).toContain('"code":"output_blocked"');
    expect(await fb.signals.drain()).toBe(0);
    await fb.timers.runDue();
    const after = await incidents();
    expect(after).toHaveLength(1);
    const incident = await getIncident(fb.ops, must(before, 'before').id);
    const signals = incident.timeline.filter((t) => t.type === 'signal');
    expect(signals.map((e) => ('trace' in e ? e.trace : undefined))).toContain(leak.traceId);
    expect(signals).toHaveLength(2);
  });

  it('feedback on an answer opens an incident, and a second report attaches to it', async () => {
    const answer = await chat('refund please', false);
    await traceOf(answer.traceId);
    const first = await api('/feedback', {
      trace_id: answer.traceId,
      kind: 'wrong',
      comment: 'not our policy',
    });
    expect(first.status).toBe(202);
    expect(first.json.outcomes).toMatchObject([{ action: 'open', rule: 'user-reports' }]);
    const id = must(first.json.outcomes[0]?.incident, 'an incident');
    const second = await api('/feedback', { trace_id: answer.traceId, kind: 'harmful' });
    expect(second.json.outcomes).toMatchObject([{ action: 'attach', incident: id }]);
    const incident = await getIncident(fb.ops, id);
    expect(incident).toMatchObject({ class: 'integrity', severity: 'SEV3' });
    expect(incident.timeline.filter((t) => t.type === 'signal')).toHaveLength(2);
    // An unknown trace is a 404 and records nothing.
    const count = (await incidents()).length;
    const missing = await api('/feedback', { trace_id: 'no-such-trace', kind: 'wrong' });
    expect(missing.status).toBe(404);
    expect((await incidents()).length).toBe(count);
  });

  it('failed evaluation cases open one incident per suite and release; a rerun adds nothing; bad runs are 400', async () => {
    const run = {
      app: 'support-bot',
      env: 'prod',
      release: 'support-bot@7',
      suite: 'refund-policy',
      results: [
        { case: 'limit-2026', passed: false, score: 0.2, threshold: 0.8, message: 'quoted 2025 limit' },
        { case: 'greeting', passed: true },
        { case: 'no-pii', passed: false, class: 'privacy' },
      ],
    };
    const first = await api('/evaluations', run);
    expect(first.status).toBe(202);
    const body = first.json as unknown as {
      passed: number;
      failed: number;
      signals: { outcomes: Outcome[] }[];
    };
    expect(body).toMatchObject({ passed: 1, failed: 2 });
    expect(body.signals.map((x) => x.outcomes[0]?.action)).toEqual(['open', 'attach']);
    const id = must(body.signals[0]?.outcomes[0]?.incident, 'an incident');
    const incident = await getIncident(fb.ops, id);
    expect(incident).toMatchObject({
      title: 'Evaluation refund-policy failing on support-bot@7',
      class: 'integrity',
      severity: 'SEV3',
    });
    const summaries = incident.timeline.flatMap((e) => (e.type === 'signal' ? [e.summary] : []));
    expect(summaries).toEqual([
      'evaluation refund-policy/limit-2026 failed (score 0.2, needs 0.8) on support-bot@7',
      'evaluation refund-policy/no-pii failed on support-bot@7',
    ]);
    // The same run again: the same signals, nothing new on the incident.
    await api('/evaluations', run);
    expect((await getIncident(fb.ops, id)).timeline.filter((e) => e.type === 'signal')).toHaveLength(2);

    const count = (await incidents()).length;
    const bad = async (b: object, message: string) => {
      const r = await api('/evaluations', b);
      expect(r.status).toBe(400);
      expect(r.json.error.message).toContain(message);
    };
    await bad({ ...run, results: [] }, 'a run needs at least one result');
    await bad({ ...run, release: 'other-app@1' }, 'is not a release of app "support-bot"');
    await bad(
      { ...run, results: [{ case: 'x', passed: 'no' }] },
      'results[0].passed: Invalid input: expected boolean',
    );
    await bad({ ...run, results: [run.results[0], run.results[0]] }, '"limit-2026" is listed twice');
    await bad({ ...run, app: 'no-such-app' }, 'no-such-app');
    await bad({ ...run, verdict: 'fail' }, 'unknown field "verdict"');
    expect((await incidents()).length).toBe(count);
  });

  it('an Alertmanager payload opens an incident; non-JSON and incomplete payloads are 400 and record nothing', async () => {
    const count = (await incidents()).length;
    const notJson = await api('/alerts/alertmanager?app=support-bot&env=prod', 'this is not json');
    expect(notJson.status).toBe(400);
    expect(notJson.json.error.code).toBe('invalid_json');
    const incomplete = await api('/alerts/alertmanager?app=support-bot&env=prod', {
      version: '4',
      groupKey: 'g',
      status: 'firing',
      receiver: 'firebreak',
      alerts: [
        { status: 'firing', labels: { severity: 'critical' }, startsAt: new Date(now()).toISOString() },
      ],
    });
    expect(incomplete.status).toBe(400);
    expect(incomplete.json.error.message).toMatch(/alertname/);
    const generic = await api('/alerts/generic?app=support-bot', {});
    expect(generic.status).toBe(400);
    expect((await incidents()).length).toBe(count);

    const ok = await api('/alerts/alertmanager?app=support-bot&env=prod', {
      version: '4',
      groupKey: '{}:{alertname="HighErrorRate"}',
      status: 'firing',
      receiver: 'firebreak',
      alerts: [
        {
          status: 'firing',
          labels: { alertname: 'HighErrorRate', severity: 'critical' },
          annotations: { summary: 'error rate above 5%' },
          startsAt: new Date(now() - 60_000).toISOString(),
        },
      ],
    });
    expect(ok.status).toBe(202);
    expect(ok.json.signals[0]?.outcomes).toMatchObject([{ action: 'open', rule: 'prometheus' }]);
    const incident = await getIncident(
      fb.ops,
      must(ok.json.signals[0]?.outcomes[0]?.incident, 'an incident'),
    );
    expect(incident).toMatchObject({ app: 'support-bot', class: 'integrity', severity: 'SEV1' });
    expect(incident.timeline.some((t) => t.type === 'signal' && t.source === 'external')).toBe(true);
    expect((await incidents()).length).toBe(count + 1);
  });
});
