import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validatePagerDutyEvent } from '../../src/core/channels/pagerduty.js';
import type { TimelineEvent } from '../../src/core/incidents/timeline.js';
import { listDeliveries } from '../../src/ops/deliveries.js';
import { reminderTimerKey } from '../../src/ops/incident-outbox.js';
import {
  containIncident,
  getIncident,
  openIncident,
  postIncidentUpdate,
  setIncidentCompliance,
  transitionIncident,
  triageIncident,
} from '../../src/ops/incidents.js';
import { pageIncident } from '../../src/ops/paging.js';
import { buildApp, type FirebreakApp } from '../../src/server/app.js';
import { parseConfig } from '../../src/server/config-load.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/port.js';
import { testConfigYaml } from '../support/harness.js';
import { Receiver } from '../support/receiver.js';
import { freshDatabaseUrl, storeKinds } from '../support/stores.js';

/**
 * Issue 5 items 6, 8 and 9 end to end on loopback receivers, with a controlled clock and the timer loop
 * off (`drain()` runs what is due): updates posted to the audience's channels, status changes to the
 * internal ones, PagerDuty resolve on resolve, overdue-update and compliance-clock reminders that
 * survive a restart and fire once, and channel failures on the incident's timeline.
 */
const SECRET = 'whsec_test_0123456789abcdef';
const ROUTING_KEY = 'R0UT1NGKEY0123456789abcdef012345';
const MIN = 60_000;
const HOUR = 60 * MIN;
const T0 = Date.UTC(2026, 2, 2, 14, 0, 0);

function commsYaml(rx: Receiver): string {
  return `
channels:
  pd: { type: pagerduty, routingKey: '${ROUTING_KEY}', url: '${rx.url('/pd')}' }
  ops-slack: { type: slack, url: '${rx.url('/slack')}' }
  ops-hook: { type: webhook, url: '${rx.url('/hook')}', secret: '${SECRET}' }
  status-page: { type: webhook, url: '${rx.url('/status')}', secret: '${SECRET}' }
  flaky: { type: slack, url: '${rx.url('/flaky')}' }
incidents:
  channels:
    internal: [ops-slack, ops-hook]
    external: [status-page]
    responders: [flaky]
  updateCadenceMinutes: { SEV2: 20 }
oncall:
  schedules:
    - id: primary
      timeZone: UTC
      layers:
        - { participants: [alice], rotation: daily, handoff: '09:00', start: '2026-03-01' }
  policies:
    - id: support
      channels: [pd]
      levels:
        - { targets: [{ schedule: primary }], waitMinutes: 5 }
  apps:
    support-bot: support
`;
}

describe.each(storeKinds)('incident communication and reminders (%s)', (kind) => {
  const rx = new Receiver();
  let clock = T0;
  let fb: FirebreakApp;
  let store: Store;
  let yaml: string;

  const boot = async () =>
    buildApp(parseConfig(yaml, 'test config', {}), {
      store,
      logger: pino({ level: 'silent' }),
      now: () => clock,
      timers: { tickMs: 0 },
    });

  beforeAll(async () => {
    await rx.start();
    yaml = testConfigYaml().replace('\napps:', `${commsYaml(rx)}apps:`);
    store = await openStore(await freshDatabaseUrl(kind));
    fb = await boot();
    await fb.app.listen({ port: 0, host: '127.0.0.1' });
    expect((fb.app.server.address() as AddressInfo).port).toBeGreaterThan(0);
  });
  afterAll(async () => {
    await fb.close(2_000);
    await store.close();
    await rx.close();
  });

  async function drain(app = fb): Promise<void> {
    for (let i = 0; i < 20; i++) if ((await app.timers.runDue()).length === 0) return;
    throw new Error('timers still due after 20 rounds');
  }
  const ofType = async <T extends TimelineEvent['type']>(id: string, type: T) =>
    (await getIncident(fb.ops, id)).timeline.filter(
      (e): e is Extract<TimelineEvent, { type: T }> & { seq: number; description: string } => e.type === type,
    );
  const open = (title: string) =>
    openIncident(fb.ops, { app: 'support-bot', env: 'prod', title, actor: 'alice' });
  const slackTexts = () => rx.json('/slack').map((b) => JSON.stringify(b));
  const hookEvents = (path = '/hook') =>
    rx.json(path).map((b) => b['event'] as { type: string; [k: string]: unknown });

  it('posts each update to its audience’s channels and status changes to the internal ones', async () => {
    clock = T0;
    const inc = await open('Wrong refund amounts quoted');
    await triageIncident(fb.ops, { id: inc.id, actor: 'alice', class: 'integrity', severity: 'SEV2' });
    const internal = await postIncidentUpdate(fb.ops, {
      id: inc.id,
      actor: 'alice',
      audience: 'internal',
      summary: 'The refund prompt quotes last year’s limits',
      actions: ['rolled back to v3'],
    });
    const external = await postIncidentUpdate(fb.ops, {
      id: inc.id,
      actor: 'alice',
      audience: 'external',
      headline: 'Some refund answers were wrong',
      message: 'We have corrected the assistant.',
    });
    const posted = [...internal.timeline, ...external.timeline].flatMap((e) =>
      e.type === 'update_posted' ? [[e.audience, e.channels]] : [],
    );
    expect(posted).toEqual([
      ['internal', ['ops-slack', 'ops-hook']],
      ['internal', ['ops-slack', 'ops-hook']],
      ['external', ['status-page']],
    ]);
    expect(rx.received).toHaveLength(0); // in the outbox, not sent inline
    await drain();

    // Opened and triaged (status changes, classification) and the internal update, in that order.
    const hook = hookEvents();
    expect(hook.map((e) => e.type)).toEqual([
      'status_change',
      'status_change',
      'classification_change',
      'role_change',
      'update_posted',
    ]);
    expect(hook.at(-1)).toMatchObject({ type: 'update_posted', audience: 'internal' });
    expect(slackTexts().some((t) => t.includes('last year’s limits'))).toBe(true);
    // The external update reaches only the status page, and never the internal text.
    const status = hookEvents('/status');
    expect(status).toHaveLength(1);
    expect(status[0]).toMatchObject({ type: 'update_posted', audience: 'external' });
    expect(JSON.stringify(rx.json('/status'))).not.toContain('last year’s limits');
    expect(JSON.stringify(rx.json('/status'))).toContain('Some refund answers were wrong');
    expect(rx.json('/pd')).toHaveLength(0); // PagerDuty takes pages, not updates
  });

  it('reminds of an overdue internal update once per interval, and stops when one is posted', async () => {
    rx.received.length = 0;
    clock = T0 + 10 * HOUR;
    const inc = await open('Bot cites retired policy');
    await triageIncident(fb.ops, { id: inc.id, actor: 'alice', class: 'integrity', severity: 'SEV2' });
    const due = clock + 20 * MIN; // SEV2 configured to every 20 minutes
    expect((await getIncident(fb.ops, inc.id)).updates.nextDueAt).toBe(due);
    const timer = await store.timers.get(reminderTimerKey(inc.id, 'update'));
    expect(timer).toMatchObject({ status: 'pending', dueAt: due });

    clock = due - 1;
    await drain();
    expect(await ofType(inc.id, 'update_overdue')).toHaveLength(0);

    clock = due + 1;
    await drain();
    await drain(); // a second run adds nothing
    expect((await ofType(inc.id, 'update_overdue')).map((e) => [e.dueAt, e.reminder])).toEqual([[due, 1]]);
    // (Earlier incidents' reminders go out too; count this one's.)
    const overdueOf = (id: string) =>
      slackTexts().filter((t) => t.includes(`${id}:`) && t.includes('internal update overdue'));
    expect(overdueOf(inc.id)).toHaveLength(1);

    clock = due + 20 * MIN + 1;
    await drain();
    expect((await ofType(inc.id, 'update_overdue')).map((e) => e.reminder)).toEqual([1, 2]);

    // An update resets the cadence: the timer moves, and nothing fires before the new due time.
    await postIncidentUpdate(fb.ops, {
      id: inc.id,
      actor: 'alice',
      audience: 'internal',
      summary: 'found it',
    });
    const next = clock + 20 * MIN;
    expect(await store.timers.get(reminderTimerKey(inc.id, 'update'))).toMatchObject({ dueAt: next });
    clock = next - 1;
    await drain();
    expect(await ofType(inc.id, 'update_overdue')).toHaveLength(2);

    // Resolved: no update is owed any more; the reminder is cancelled, however late it gets.
    await containIncident(fb.ops, {
      id: inc.id,
      actor: 'alice',
      action: { action: 'block-user', target: 'user-7' },
    });
    for (const to of ['remediated', 'resolved'])
      await transitionIncident(fb.ops, { id: inc.id, actor: 'alice', to });
    expect(await store.timers.get(reminderTimerKey(inc.id, 'update'))).toMatchObject({ status: 'cancelled' });
    clock = next + 5 * HOUR;
    await drain();
    expect(await ofType(inc.id, 'update_overdue')).toHaveLength(2);
  });

  it('runs compliance reminders at 50/75/90% and at the deadline, once each, across a restart', async () => {
    rx.received.length = 0;
    clock = T0 + 20 * HOUR;
    const inc = await open('Customer emails in answers');
    await triageIncident(fb.ops, { id: inc.id, actor: 'alice', class: 'privacy', severity: 'SEV4' });
    const awareAt = clock;
    await setIncidentCompliance(fb.ops, { id: inc.id, actor: 'alice', personalDataBreach: true });
    const due = awareAt + 72 * HOUR;

    clock = awareAt + 36 * HOUR + 1; // past 50%
    await drain();
    expect((await ofType(inc.id, 'clock_reminder')).map((e) => [e.clock, e.reminder, e.dueAt])).toEqual([
      ['gdpr-art33', '50%', due],
    ]);

    // A restart: the timer is a row; a new app on the same store fires the next reminders.
    await fb.close(2_000);
    fb = await boot();
    clock = due + 1; // 75%, 90% and the deadline, caught up in one run
    await drain();
    await drain();
    expect((await ofType(inc.id, 'clock_reminder')).map((e) => e.reminder)).toEqual(['50%', '75%', '90%']);
    expect((await ofType(inc.id, 'clock_due')).map((e) => [e.clock, e.dueAt])).toEqual([['gdpr-art33', due]]);
    expect(slackTexts().filter((t) => t.includes('gdpr-art33'))).toHaveLength(4);
    expect(await store.timers.get(reminderTimerKey(inc.id, 'clocks'))).toMatchObject({ status: 'done' });

    // Flags cleared and set again (the AI Act this time): the clock timer is armed anew.
    await setIncidentCompliance(fb.ops, {
      id: inc.id,
      actor: 'alice',
      aiActSeriousIncident: true,
      awareAt: clock,
    });
    expect(await store.timers.get(reminderTimerKey(inc.id, 'clocks'))).toMatchObject({
      status: 'pending',
      dueAt: clock + Math.round(15 * 24 * HOUR * 0.5),
    });
  });

  it('sends PagerDuty resolve to the channels the incident was paged on', async () => {
    rx.received.length = 0;
    const inc = await open('Canary leaked');
    await pageIncident(fb.ops, { incidentId: inc.id, app: 'support-bot', at: clock, actor: 'alice' });
    await triageIncident(fb.ops, { id: inc.id, actor: 'alice', class: 'privacy', severity: 'SEV1' });
    await containIncident(fb.ops, {
      id: inc.id,
      actor: 'alice',
      action: { action: 'block-user', target: 'user-9' },
    });
    for (const to of ['remediated', 'resolved'])
      await transitionIncident(fb.ops, { id: inc.id, actor: 'alice', to });
    await drain();
    const pd = rx.json('/pd');
    expect(pd.map((e) => e['event_action'])).toEqual(['trigger', 'resolve']);
    for (const e of pd) expect(() => validatePagerDutyEvent(e)).not.toThrow();
    expect(pd[1]).toMatchObject({ routing_key: ROUTING_KEY, dedup_key: `firebreak:${inc.id}` });
    const resolved = hookEvents().filter((e) => e.type === 'status_change' && e['to'] === 'resolved');
    expect(resolved).toHaveLength(1);
  });

  it('pages once when two pages race', async () => {
    rx.received.length = 0;
    const inc = await open('Racing pages');
    const pages = await Promise.all(
      [1, 2, 3].map(() => pageIncident(fb.ops, { incidentId: inc.id, app: 'support-bot', at: clock })),
    );
    expect(pages.filter((p) => p.sent)).toHaveLength(1);
    expect(await ofType(inc.id, 'page_sent')).toHaveLength(1);
    const triggers = (await listDeliveries(fb.ops, { incident: inc.id })).filter((d) => d.kind === 'trigger');
    expect(triggers).toHaveLength(1);
  });

  it('puts a channel’s failures on the incident’s timeline', async () => {
    rx.received.length = 0;
    const inc = await open('Failing channel');
    rx.reply('/flaky', { status: 503, body: 'busy' }, { status: 404, body: 'no such hook' });
    // A responders' update goes to the flaky channel: 503 (retried), then 404 (not retryable: failed).
    await postIncidentUpdate(fb.ops, {
      id: inc.id,
      actor: 'alice',
      audience: 'responders',
      conditions: 'answers cite retired policy',
      actions: ['rolled back'],
      needs: ['a reviewer'],
    });
    await drain();
    clock += 10 * MIN;
    await drain();
    const failed = await ofType(inc.id, 'delivery_failed');
    expect(failed.map((e) => [e.channel, e.attempt, e.nextAttemptAt === null])).toEqual([
      ['flaky', 1, false],
      ['flaky', 2, true],
    ]);
    expect(failed[0]?.error).toContain('HTTP 503');
    expect(failed[1]?.error).toContain('HTTP 404');
    expect(failed[1]?.actor).toBe('channel:flaky');
    expect(rx.on('/flaky')).toHaveLength(2);
    // The failure events themselves are not broadcast (no loop through the failing channel).
    expect(hookEvents().filter((e) => e.type === 'delivery_failed')).toHaveLength(0);
  });

  it('incident changes leave the replicas’ state version alone; containment moves it', async () => {
    const before = await store.control.version();
    const inc = await open('Quiet changes');
    await triageIncident(fb.ops, { id: inc.id, actor: 'alice', class: 'integrity', severity: 'SEV3' });
    await postIncidentUpdate(fb.ops, {
      id: inc.id,
      actor: 'alice',
      audience: 'internal',
      summary: 'looking',
    });
    await pageIncident(fb.ops, { incidentId: inc.id, app: 'support-bot', at: clock });
    expect(await store.control.version()).toBe(before);
    await containIncident(fb.ops, {
      id: inc.id,
      actor: 'alice',
      action: { action: 'block-user', target: 'user-3' },
    });
    expect(await store.control.version()).toBe(before + 1);
    // A quiet change that writes a flag is a bug: refused, and nothing it wrote stays.
    const flags = (await store.control.flags({ includeRemoved: true })).length;
    await expect(
      store.control.change(
        async (tx) => {
          await tx.audit({
            ts: clock,
            actor: 'test',
            action: 'test.quiet',
            target: 'x',
            before: null,
            after: null,
            reason: null,
            incident: null,
          });
          await tx.insertFlag({
            id: 'flag_quiet',
            key: 'safe-mode',
            value: 'handoff',
            app: 'support-bot',
            env: 'prod',
            tenant: null,
            user: null,
            reason: 'test',
            actor: 'test',
            incident: null,
            createdAt: clock,
            expiresAt: null,
          });
        },
        { quiet: true },
      ),
    ).rejects.toThrow(/a quiet control-plane change cannot set a flag/);
    expect((await store.control.flags({ includeRemoved: true })).length).toBe(flags);
    expect(await store.control.version()).toBe(before + 1);
  });

  it('refuses incidents.channels naming an unknown or a PagerDuty channel', () => {
    const bad = (channels: string) => () =>
      parseConfig(
        yaml.replace('internal: [ops-slack, ops-hook]', `internal: [${channels}]`),
        'test config',
        {},
      );
    expect(bad('nowhere')).toThrow(/incidents\.channels\.internal\[0\]: unknown channel "nowhere"/);
    expect(bad('pd')).toThrow(/PagerDuty, which takes pages/);
  });
});
