import { mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { validatePagerDutyEvent } from '../../src/core/channels/pagerduty.js';
import { listDeliveries } from '../../src/ops/deliveries.js';
import {
  containIncident,
  getIncident,
  openIncident,
  transitionIncident,
  triageIncident,
} from '../../src/ops/incidents.js';
import { acknowledgeIncident, pageIncident } from '../../src/ops/paging.js';
import { buildApp, type FirebreakApp } from '../../src/server/app.js';
import { parseConfig } from '../../src/server/config-load.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/port.js';
import { RESPONDER_TOKEN, VIEWER_TOKEN, testConfigYaml } from '../support/harness.js';
import { Receiver } from '../support/receiver.js';
import { freshDatabaseUrl, storeKinds } from '../support/stores.js';

/**
 * Issue 5 item 7 (must hold: "an unacknowledged page escalates to the next level after the configured
 * wait; acknowledgement stops it"), with a controlled clock and the timer loop off: `drain()` runs what
 * is due. The PagerDuty channel points at a local receiver, which checks the Events v2 shape.
 */
const ROUTING_KEY = 'R0UT1NGKEY0123456789abcdef012345';
const SECRET = 'whsec_test_0123456789abcdef';
const MIN = 60_000;
/** Monday 2 March 2026, 14:00 UTC: bob's day on the primary rotation (alice had 1 March). */
const T0 = Date.UTC(2026, 2, 2, 14, 0, 0);

function oncallYaml(rx: Receiver): string {
  return `
channels:
  pd: { type: pagerduty, routingKey: '${ROUTING_KEY}', url: '${rx.url('/pd')}' }
  hook: { type: webhook, url: '${rx.url('/hook')}', secret: '${SECRET}' }
oncall:
  schedules:
    - id: primary
      timeZone: UTC
      layers:
        - { participants: [alice, bob], rotation: daily, handoff: '09:00', start: '2026-03-01' }
    - id: secondary
      timeZone: Europe/Paris
      layers:
        - { participants: [carol], rotation: weekly, handoff: '09:00', start: '2026-02-23' }
  policies:
    - id: support
      channels: [pd, hook]
      levels:
        - { targets: [{ schedule: primary }], waitMinutes: 5 }
        - { targets: [{ schedule: secondary }, { user: dave }], waitMinutes: 10 }
  apps:
    support-bot: support
`;
}

describe.each(storeKinds)('paging and escalation (%s)', (kind) => {
  const rx = new Receiver();
  let clock = T0;
  let fb: FirebreakApp;
  let store: Store;
  let url: string;
  let file: string;
  let stderr = '';

  beforeAll(async () => {
    await rx.start();
    const yaml = testConfigYaml().replace('\napps:', `${oncallYaml(rx)}apps:`);
    const config = parseConfig(yaml, 'test config', {});
    const dbUrl = await freshDatabaseUrl(kind);
    store = await openStore(dbUrl);
    fb = await buildApp(config, {
      store,
      logger: pino({ level: 'silent' }),
      now: () => clock,
      timers: { tickMs: 0 },
    });
    await fb.app.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(fb.app.server.address() as AddressInfo).port}`;
    file = join(mkdtempSync(join(tmpdir(), 'firebreak-paging-')), 'firebreak.yaml');
    writeFileSync(file, `${yaml}\ndatabase: { url: '${dbUrl}' }\n`);
    vi.spyOn(process.stderr, 'write').mockImplementation((s) => {
      stderr += String(s);
      return true;
    });
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await fb.close(2_000);
    await store.close();
    await rx.close();
  });

  async function drain(): Promise<void> {
    for (let i = 0; i < 20; i++) if ((await fb.timers.runDue()).length === 0) return;
    throw new Error('timers still due after 20 rounds');
  }
  const api = async (method: 'GET' | 'POST', path: string, token: string, body?: unknown) => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  async function cli(args: string[], server?: string): Promise<{ code: number; out: string; err: string }> {
    let out = '';
    stderr = '';
    const where = server === undefined ? ['--config', file] : ['--server', url, '--token', server];
    const code = await main(['node', 'firebreak', ...args, ...where], (s) => (out += s));
    return { code, out, err: stderr };
  }
  const open = (title: string) =>
    openIncident(fb.ops, {
      app: 'support-bot',
      env: 'prod',
      title,
      class: 'privacy',
      severity: 'SEV1',
      actor: 'alice',
    });
  const events = async (id: string, type: string) =>
    (await getIncident(fb.ops, id)).timeline.filter((e) => e.type === type);

  it('pages level 1 on PagerDuty (Events v2 trigger) and escalates to level 2 after the wait', async () => {
    const inc = await open('Canary leaked in a streamed answer');
    const page = await pageIncident(fb.ops, {
      incidentId: inc.id,
      app: 'support-bot',
      at: clock,
      actor: 'rule:canary',
    });
    expect(page).toMatchObject({
      page: 'page-1',
      policy: 'support',
      level: 1,
      users: ['bob'],
      channels: ['pd', 'hook'],
      nextEscalationAt: T0 + 5 * MIN,
      sent: true,
    });
    expect(page.deliveries).toHaveLength(2);
    expect(rx.json('/pd')).toHaveLength(0); // enqueued, not sent inline
    await drain();

    const [trigger] = rx.json('/pd');
    if (!trigger) throw new Error('no PagerDuty event');
    expect(() => validatePagerDutyEvent(trigger)).not.toThrow();
    expect(trigger).toMatchObject({
      routing_key: ROUTING_KEY,
      event_action: 'trigger',
      dedup_key: `firebreak:${inc.id}`,
      payload: { severity: 'critical', custom_details: { policy: 'support', level: 1, on_call: ['bob'] } },
    });
    const payload = trigger['payload'] as Record<string, unknown>;
    expect(payload['summary']).toContain('Canary leaked in a streamed answer');
    expect(typeof payload['source']).toBe('string');
    expect(String(payload['source']).length).toBeGreaterThan(0);
    expect(rx.json('/hook')).toHaveLength(1);

    const sent = await events(inc.id, 'page_sent');
    expect(sent.map((e) => e.type === 'page_sent' && [e.target, e.level, e.channel])).toEqual([
      ['bob', 1, 'pd'],
      ['bob', 1, 'hook'],
    ]);

    // Not yet: a minute before the wait is over.
    clock = T0 + 4 * MIN;
    await drain();
    expect(await events(inc.id, 'escalated')).toHaveLength(0);
    expect(rx.json('/pd')).toHaveLength(1);

    clock = T0 + 5 * MIN;
    await drain();
    const escalated = await events(inc.id, 'escalated');
    expect(escalated).toHaveLength(1);
    expect(escalated[0]).toMatchObject({
      fromLevel: 1,
      toLevel: 2,
      target: 'carol, dave',
      page: 'page-1',
      at: T0 + 5 * MIN,
    });
    const pd = rx.json('/pd');
    expect(pd).toHaveLength(2);
    expect(pd[1]).toMatchObject({
      event_action: 'trigger',
      dedup_key: `firebreak:${inc.id}`,
      payload: { custom_details: { level: 2, on_call: ['carol', 'dave'] } },
    });

    // Last level, no repeat: nothing more, however long.
    clock = T0 + 60 * MIN;
    await drain();
    expect(await events(inc.id, 'escalated')).toHaveLength(1);
    expect(rx.json('/pd')).toHaveLength(2);
    const deliveries = await listDeliveries(fb.ops, { incident: inc.id });
    expect(deliveries.map((d) => d.status)).toEqual(['sent', 'sent', 'sent', 'sent']);

    // Paging it again while the page is unacknowledged sends nothing new.
    const again = await pageIncident(fb.ops, { incidentId: inc.id, app: 'support-bot', at: clock });
    expect(again).toMatchObject({ page: 'page-1', sent: false, deliveries: [] });
  });

  it('an acknowledgement before the wait stops the escalation and acknowledges on PagerDuty', async () => {
    const start = clock;
    const inc = await open('Refund tool misfires');
    await pageIncident(fb.ops, { incidentId: inc.id, app: 'support-bot', at: clock });
    await drain();
    const before = rx.json('/pd').length;

    clock = start + 2 * MIN;
    const ack = await api('POST', `/api/incidents/${inc.id}/acknowledge`, RESPONDER_TOKEN, {});
    expect(ack.status).toBe(200);
    expect(ack.body).toMatchObject({ incident: inc.id, pages: ['page-1'], acknowledgedAt: start + 2 * MIN });

    clock = start + 30 * MIN;
    await drain();
    expect(await events(inc.id, 'escalated')).toHaveLength(0);
    const acks = await events(inc.id, 'page_acknowledged');
    expect(acks).toEqual([expect.objectContaining({ actor: 'token:test-responder', page: 'page-1' })]);
    const pd = rx.json('/pd').slice(before);
    expect(pd).toEqual([
      { routing_key: ROUTING_KEY, event_action: 'acknowledge', dedup_key: `firebreak:${inc.id}` },
    ]);
    expect(() => validatePagerDutyEvent(pd[0])).not.toThrow();
    // MTTA from the timeline.
    expect((await getIncident(fb.ops, inc.id)).metrics).toMatchObject({ mtta: 2 * MIN });

    // Twice is a conflict; nothing is appended.
    const twice = await api('POST', `/api/incidents/${inc.id}/acknowledge`, RESPONDER_TOKEN, {});
    expect(twice.status).toBe(409);
    expect(twice.body).toMatchObject({
      error: { message: `${inc.id} has no unacknowledged page (already acknowledged)` },
    });
    expect(await events(inc.id, 'page_acknowledged')).toHaveLength(1);

    // A new page after the acknowledgement starts over at level 1.
    const repage = await pageIncident(fb.ops, { incidentId: inc.id, app: 'support-bot', at: clock });
    expect(repage).toMatchObject({ page: 'page-2', level: 1, sent: true });
    await acknowledgeIncident(fb.ops, { incidentId: inc.id, actor: 'bob', at: clock });
    clock += 30 * MIN;
    await drain();
    expect(await events(inc.id, 'escalated')).toHaveLength(0);
  });

  it('stops escalating once the incident is resolved, acknowledged or not', async () => {
    const start = clock;
    const inc = await open('Resolved before anyone answered');
    await pageIncident(fb.ops, { incidentId: inc.id, app: 'support-bot', at: clock });
    const who = { id: inc.id, actor: 'alice' };
    await triageIncident(fb.ops, { ...who, class: 'privacy', severity: 'SEV1', commander: 'alice' });
    await containIncident(fb.ops, { ...who, action: { action: 'block-user', target: 'u-1' } });
    await transitionIncident(fb.ops, { ...who, to: 'remediated' });
    await transitionIncident(fb.ops, { ...who, to: 'resolved' });
    clock = start + 30 * MIN;
    await drain();
    expect(await events(inc.id, 'escalated')).toHaveLength(0);
  });

  it('says who is on call at each level (API and CLI, in-process and with --server)', async () => {
    const at = new Date(T0).toISOString();
    const now = await api('GET', `/api/oncall/now?app=support-bot&at=${at}`, VIEWER_TOKEN);
    expect(now.status).toBe(200);
    expect(now.body).toMatchObject({
      app: 'support-bot',
      policy: 'support',
      at: T0,
      levels: [
        {
          level: 1,
          users: ['bob'],
          targets: [{ kind: 'schedule', schedule: 'primary', user: 'bob', source: 'layer-1' }],
        },
        { level: 2, users: ['carol', 'dave'] },
      ],
    });

    const local = await cli(['oncall', 'now', '--app', 'support-bot', '--at', at]);
    expect(local.code, local.err).toBe(0);
    expect(local.out).toContain(`app support-bot · policy support · at ${at}`);
    expect(local.out).toMatch(/1\s+bob\s+bob \(schedule primary, layer-1\)/);
    expect(local.out).toMatch(/2\s+carol, dave\s+carol \(schedule secondary, layer-1\); dave \(direct\)/);
    const remote = await cli(['oncall', 'now', '--app', 'support-bot', '--at', at], VIEWER_TOKEN);
    expect(remote.code, remote.err).toBe(0);
    expect(remote.out).toBe(local.out);

    const noPolicy = await cli(['oncall', 'now', '--app', 'billing-bot']);
    expect([noPolicy.code, noPolicy.err]).toEqual([
      1,
      'firebreak: app "billing-bot" has no escalation policy (oncall.apps)\n',
    ]);
    const unknownApp = await api('GET', '/api/oncall/now?app=nope', VIEWER_TOKEN);
    expect(unknownApp.status).toBe(404);
  });

  it('acknowledges from the CLI (firebreak ack and firebreak incident ack)', async () => {
    const a = await open('CLI ack');
    await pageIncident(fb.ops, { incidentId: a.id, app: 'support-bot', at: clock });
    const local = await cli(['incident', 'ack', a.id]);
    expect(local.code, local.err).toBe(0);
    expect(local.out).toContain(`${a.id}: page-1 acknowledged at`);
    expect(local.out).toContain('escalation stopped; 2 acknowledgement(s) queued');

    const b = await open('CLI ack remote');
    await pageIncident(fb.ops, { incidentId: b.id, app: 'support-bot', at: clock });
    const remote = await cli(['ack', b.id], RESPONDER_TOKEN);
    expect(remote.code, remote.err).toBe(0);
    expect(remote.out).toContain(`${b.id}: page-1 acknowledged at ${new Date(clock).toISOString()}`);
    const viewer = await cli(['ack', b.id], VIEWER_TOKEN);
    expect(viewer.code).toBe(1);
  });

  it('refuses unknown incidents and apps without a policy', async () => {
    const res = await api('POST', '/api/incidents/INC-999/acknowledge', RESPONDER_TOKEN, {});
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ error: { message: 'no incident INC-999' } });
    const bad = await api('POST', '/api/incidents/nope/acknowledge', RESPONDER_TOKEN, {});
    expect(bad.status).toBe(404);
    const field = await api('POST', '/api/incidents/INC-1/acknowledge', RESPONDER_TOKEN, { by: 'x' });
    expect(field.status).toBe(400);
    await expect(
      pageIncident(fb.ops, { incidentId: 'INC-999', app: 'support-bot', at: clock }),
    ).rejects.toThrow('no incident INC-999');
    const billing = await openIncident(fb.ops, { app: 'billing-bot', title: 'x', actor: 'alice' });
    await expect(
      pageIncident(fb.ops, { incidentId: billing.id, app: 'billing-bot', at: clock }),
    ).rejects.toThrow('app "billing-bot" has no escalation policy (oncall.apps)');
    await expect(
      pageIncident(fb.ops, { incidentId: billing.id, app: 'billing-bot', policy: 'nope', at: clock }),
    ).rejects.toThrow('unknown escalation policy "nope" (configured: support)');
    expect(await events(billing.id, 'page_sent')).toHaveLength(0);
  });
});

describe('on-call configuration refused at start', () => {
  const withOnCall = (oncall: string, channels = '') =>
    testConfigYaml().replace('\napps:', `\n${channels}oncall:\n${oncall}\napps:`);
  const refuse = (yaml: string) => {
    try {
      parseConfig(yaml, 'firebreak.yaml', {});
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    }
    throw new Error('accepted');
  };

  it('names an empty rotation', () => {
    const yaml = withOnCall(`
  schedules:
    - id: primary
      timeZone: UTC
      layers: [{ participants: [], rotation: daily, handoff: '09:00', start: '2026-03-01' }]`);
    expect(refuse(yaml)).toBe(
      'firebreak.yaml is invalid:\n  oncall.schedules[0].layers[0].participants: empty rotation: a layer needs at least one participant',
    );
  });

  it('names overlapping overrides', () => {
    const yaml = withOnCall(`
  schedules:
    - id: primary
      timeZone: UTC
      layers: [{ participants: [alice], rotation: daily, handoff: '09:00', start: '2026-03-01' }]
      overrides:
        - { user: bob, start: '2026-03-02T09:00Z', end: '2026-03-02T18:00Z' }
        - { user: carol, start: '2026-03-02T17:00Z', end: '2026-03-02T20:00Z' }`);
    expect(refuse(yaml)).toBe(
      'firebreak.yaml is invalid:\n  oncall.schedules[0].overrides[1]: overlaps overrides[0] from 2026-03-02T17:00:00.000Z to 2026-03-02T18:00:00.000Z',
    );
  });

  it('names an unknown app and an unknown channel', () => {
    const yaml = withOnCall(`
  policies:
    - id: p
      channels: [pd]
      levels: [{ targets: [{ user: alice }], waitMinutes: 5 }]
  apps:
    ghost-bot: p`);
    expect(refuse(yaml)).toBe(
      'firebreak.yaml is invalid:\n  oncall.apps.ghost-bot: unknown app "ghost-bot"\n  oncall.policies[0].channels[0]: unknown channel "pd"',
    );
  });
});
