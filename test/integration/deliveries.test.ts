import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validatePagerDutyEvent } from '../../src/core/channels/pagerduty.js';
import { retryDelay } from '../../src/core/channels/retry.js';
import type { Incident } from '../../src/core/incidents/incident.js';
import type { TimelineEvent } from '../../src/core/incidents/timeline.js';
import { enqueueDelivery, listDeliveries } from '../../src/ops/deliveries.js';
import { buildApp, type FirebreakApp } from '../../src/server/app.js';
import { parseConfig } from '../../src/server/config-load.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/port.js';
import { testConfigYaml } from '../support/harness.js';
import { Receiver, type Received } from '../support/receiver.js';
import { freshDatabaseUrl, storeKinds } from '../support/stores.js';

/**
 * Issue 5 item 8 over real HTTP on loopback: the outbox sends each channel type's payload to small
 * receivers started here, retries per core/channels/retry.ts, and keeps every attempt. The clock is
 * injected and the scheduler's loop is off: `drain()` runs what is due, so no test waits for a retry.
 */
const SECRET = 'whsec_test_0123456789abcdef';
const ROUTING_KEY = 'R0UT1NGKEY0123456789abcdef012345';

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

const T0 = Date.UTC(2025, 2, 3, 14, 0, 0);

function incident(id: string): Incident {
  return {
    id,
    app: 'support-bot',
    env: 'prod',
    title: 'Canary leaked in a streamed answer',
    status: 'detected',
    class: 'privacy',
    severity: 'SEV1',
    commander: null,
    communicationsLead: null,
    responders: [],
    containment: [],
    impactStartedAt: null,
    detectedAt: T0,
    triagedAt: null,
    statusAt: T0,
    postmortem: null,
    noPostmortemReason: null,
  };
}

const note = (at: number): TimelineEvent => ({ type: 'note', at, actor: 'alice', text: 'looking at traces' });
const paged = (at: number): TimelineEvent => ({
  type: 'page_sent',
  at,
  actor: 'rule:canary',
  page: 'page-1',
  target: 'alice',
  level: 1,
  channel: 'pd',
});
const acked = (at: number): TimelineEvent => ({
  type: 'page_acknowledged',
  at,
  actor: 'alice',
  page: 'page-1',
});
const resolved = (at: number): TimelineEvent => ({
  type: 'status_change',
  at,
  actor: 'alice',
  from: 'remediated',
  to: 'resolved',
});

const json = (r: Received | undefined): Record<string, unknown> => {
  if (!r) throw new Error('nothing received');
  return JSON.parse(r.body) as Record<string, unknown>;
};

describe.each(storeKinds)('channel deliveries (%s)', (kind) => {
  const rx = new Receiver();
  let clock = T0;
  let fb: FirebreakApp;
  let store: Store;

  beforeAll(async () => {
    await rx.start();
    const down = await closedPort();
    const channels = `
channels:
  hook: { type: webhook, url: '${rx.url('/hook')}', secret: '${SECRET}' }
  slack: { type: slack, url: '${rx.url('/slack')}' }
  pd: { type: pagerduty, routingKey: '${ROUTING_KEY}', url: '${rx.url('/pd')}' }
  down: { type: slack, url: 'http://127.0.0.1:${down}/gone' }
  slow: { type: webhook, url: '${rx.url('/slow')}', secret: '${SECRET}', timeoutMs: 150 }
`;
    const config = parseConfig(testConfigYaml().replace('\napps:', `${channels}apps:`), 'test config', {});
    store = await openStore(await freshDatabaseUrl(kind));
    fb = await buildApp(config, {
      store,
      logger: pino({ level: 'silent' }),
      now: () => clock,
      timers: { tickMs: 0 },
    });
  });
  afterAll(async () => {
    await fb.close(2_000);
    await store.close();
    await rx.close();
  });

  /** Runs everything due now (deliveries waiting for an earlier one go on the next round). */
  async function drain(): Promise<void> {
    for (let i = 0; i < 20; i++) if ((await fb.timers.runDue()).length === 0) return;
    throw new Error('deliveries still due after 20 rounds');
  }
  const ops = () => fb.ops;

  it('a webhook delivery carries a valid HMAC-SHA256 signature over the exact body', async () => {
    const d = await enqueueDelivery(ops(), {
      channel: 'hook',
      incident: incident('INC-1'),
      event: note(clock),
    });
    expect(d).toMatchObject({ status: 'pending', channelType: 'webhook', kind: 'update', incident: 'INC-1' });
    expect(rx.on('/hook')).toHaveLength(0); // enqueueing sends nothing
    await drain();

    const [req] = rx.on('/hook');
    if (!req) throw new Error('not delivered');
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers['x-firebreak-delivery']).toBe(d.id);
    expect(req.headers['x-firebreak-event']).toBe('incident.note');
    const sig = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(req.headers['x-firebreak-signature']));
    if (!sig) throw new Error(`bad signature header ${String(req.headers['x-firebreak-signature'])}`);
    const [, t = '', v1] = sig;
    expect(Number(t)).toBe(Math.floor(clock / 1000));
    const hmac = (body: string) => createHmac('sha256', SECRET).update(`${t}.${body}`).digest('hex');
    expect(v1).toBe(hmac(req.body));
    expect(v1).not.toBe(hmac(req.body.replace('INC-1', 'INC-9'))); // an altered body does not verify

    expect(json(req)).toMatchObject({
      version: 1,
      delivery: d.id,
      type: 'incident.note',
      incident: { id: 'INC-1', app: 'support-bot', env: 'prod', severity: 'SEV1', class: 'privacy' },
      event: { type: 'note', text: 'looking at traces', actor: 'alice' },
      text: 'note: looking at traces',
    });
    expect(await listDeliveries(ops(), { incident: 'INC-1' })).toMatchObject([
      {
        id: d.id,
        status: 'sent',
        attempts: 1,
        lastStatus: 200,
        lastError: null,
        sentAt: clock,
        attemptLog: [{ attempt: 1, outcome: 'sent', httpStatus: 200, error: null, at: clock }],
      },
    ]);
  });

  it('a Slack delivery is {text, blocks} with the update as its body', async () => {
    const text = 'We switched support-bot to safe mode; next update 15:00 UTC.';
    await enqueueDelivery(ops(), {
      channel: 'slack',
      incident: incident('INC-2'),
      event: {
        type: 'update_posted',
        at: clock,
        actor: 'bob',
        audience: 'internal',
        text,
        channels: ['slack'],
      },
      url: 'https://firebreak.example/incidents/INC-2',
    });
    await drain();
    const body = json(rx.on('/slack')[0]);
    expect(Object.keys(body).sort()).toEqual(['blocks', 'text']);
    expect(body['text']).toEqual(expect.stringContaining('INC-2'));
    const blocks = body['blocks'] as { type: string; text?: { type: string; text: string } }[];
    expect(blocks.map((b) => b.type)).toEqual(['header', 'section', 'section', 'context']);
    expect(blocks[0]?.text).toEqual({
      type: 'plain_text',
      text: 'INC-2: Canary leaked in a streamed answer',
    });
    expect(blocks[1]).toMatchObject({
      fields: expect.arrayContaining([{ type: 'mrkdwn', text: '*Severity*\nSEV1' }]) as unknown,
    });
    expect(blocks[2]?.text).toEqual({ type: 'mrkdwn', text });
    expect(JSON.stringify(blocks[3])).toContain('<https://firebreak.example/incidents/INC-2|Open INC-2>');
  });

  it('PagerDuty gets Events v2 trigger, acknowledge and resolve with one dedup_key, in order', async () => {
    const inc = incident('INC-3');
    const kinds = [];
    for (const event of [paged(clock), acked(clock), resolved(clock)])
      kinds.push((await enqueueDelivery(ops(), { channel: 'pd', incident: inc, event })).kind);
    expect(kinds).toEqual(['trigger', 'acknowledge', 'resolve']);
    await drain();

    const sent = rx.on('/pd').map(json);
    expect(sent.map((e) => e['event_action'])).toEqual(['trigger', 'acknowledge', 'resolve']);
    for (const e of sent) {
      expect(() => validatePagerDutyEvent(e)).not.toThrow();
      expect(e).toMatchObject({ routing_key: ROUTING_KEY, dedup_key: 'firebreak:INC-3' });
    }
    expect(sent[0]).toMatchObject({
      payload: {
        summary: expect.stringContaining('INC-3') as unknown,
        source: 'support-bot/prod',
        severity: 'critical',
        timestamp: new Date(clock).toISOString(),
      },
    });
    expect(Object.keys(sent[1] ?? {}).sort()).toEqual(['dedup_key', 'event_action', 'routing_key']);
    // The routing key stays in the configuration: not in the outbox, not in what the API would show.
    const listed = await listDeliveries(ops(), { incident: 'INC-3' });
    expect(listed.map((d) => d.status)).toEqual(['sent', 'sent', 'sent']);
    expect(JSON.stringify(listed)).not.toContain(ROUTING_KEY);

    // PagerDuty has no "update" event: refused, nothing queued.
    await expect(
      enqueueDelivery(ops(), { channel: 'pd', incident: inc, event: note(clock) }),
    ).rejects.toMatchObject({ code: 'validation_failed', details: { path: 'kind' } });
    await expect(
      enqueueDelivery(ops(), { channel: 'nope', incident: inc, event: note(clock) }),
    ).rejects.toMatchObject({ code: 'not_found', details: { path: 'channel' } });
    expect(await listDeliveries(ops(), { incident: 'INC-3' })).toHaveLength(3);
  });

  it('an acknowledge waits while the trigger before it is being retried', async () => {
    const inc = incident('INC-4');
    rx.reply('/pd', { status: 503, body: 'try later' });
    const before = rx.on('/pd').length;
    const trigger = await enqueueDelivery(ops(), { channel: 'pd', incident: inc, event: paged(clock) });
    const ack = await enqueueDelivery(ops(), { channel: 'pd', incident: inc, event: acked(clock) });
    await drain();
    expect(
      rx
        .on('/pd')
        .slice(before)
        .map((r) => json(r)['event_action']),
    ).toEqual(['trigger']);
    const [, waiting] = await listDeliveries(ops(), { incident: 'INC-4' });
    expect(waiting).toMatchObject({ kind: 'trigger', status: 'pending', lastStatus: 503 });
    clock = waiting?.nextAttemptAt ?? Number.NaN;
    await drain();
    expect(
      rx
        .on('/pd')
        .slice(before)
        .map((r) => json(r)['event_action']),
    ).toEqual(['trigger', 'trigger', 'acknowledge']);
    expect((await listDeliveries(ops(), { incident: 'INC-4' })).map((d) => [d.kind, d.status])).toEqual([
      ['acknowledge', 'sent'],
      ['trigger', 'sent'],
    ]);
    expect(trigger.kind).toBe('trigger');
    // Waiting is not failing: the acknowledge's timer ran once for real, however often it was put off.
    expect(await store.timers.get(`delivery:${ack.id}`)).toMatchObject({ status: 'done', attempts: 1 });
  });

  it('a receiver answering 500 then 200: retried on the schedule, then sent, both attempts kept', async () => {
    rx.reply('/hook', { status: 500, body: 'oops' });
    const before = rx.on('/hook').length;
    const start = clock;
    const d = await enqueueDelivery(ops(), {
      channel: 'hook',
      incident: incident('INC-5'),
      event: note(clock),
    });
    await drain();
    const [first] = await listDeliveries(ops(), { incident: 'INC-5' });
    const next = start + retryDelay(1, d.id);
    expect(first).toMatchObject({
      status: 'pending',
      attempts: 1,
      lastStatus: 500,
      lastError: 'HTTP 500: oops',
      nextAttemptAt: next,
    });
    expect(next - start).toBeGreaterThanOrEqual(4_000);
    expect(next - start).toBeLessThanOrEqual(5_000);
    clock = next - 1;
    await drain();
    expect(rx.on('/hook').length - before).toBe(1);
    clock = next;
    await drain();
    const got = rx.on('/hook').slice(before);
    expect(got).toHaveLength(2);
    // Same delivery id on the retry (receivers drop duplicates by it), freshly signed.
    expect(got.map((r) => r.headers['x-firebreak-delivery'])).toEqual([d.id, d.id]);
    expect(got[1]?.headers['x-firebreak-signature']).toContain(`t=${Math.floor(next / 1000)},`);
    expect(await listDeliveries(ops(), { incident: 'INC-5' })).toMatchObject([
      {
        status: 'sent',
        attempts: 2,
        sentAt: next,
        attemptLog: [
          { attempt: 1, outcome: 'retry', httpStatus: 500, error: 'HTTP 500: oops', nextAttemptAt: next },
          { attempt: 2, outcome: 'sent', httpStatus: 200, error: null, nextAttemptAt: null },
        ],
      },
    ]);
  });

  it('a 400 fails at once, is not retried, and is visible on the incident', async () => {
    rx.reply('/slack', { status: 400, body: 'invalid_blocks' });
    const before = rx.on('/slack').length;
    const d = await enqueueDelivery(ops(), {
      channel: 'slack',
      incident: incident('INC-6'),
      event: note(clock),
    });
    await drain();
    clock += 3_600_000;
    await drain();
    expect(rx.on('/slack').length - before).toBe(1);
    expect(await listDeliveries(ops(), { incident: 'INC-6', status: 'failed' })).toMatchObject([
      {
        id: d.id,
        status: 'failed',
        attempts: 1,
        lastStatus: 400,
        lastError: 'HTTP 400: invalid_blocks',
        nextAttemptAt: null,
        attemptLog: [{ outcome: 'failed', httpStatus: 400 }],
      },
    ]);
    expect(await store.timers.get(`delivery:${d.id}`)).toMatchObject({
      status: 'failed',
      lastError: 'HTTP 400: invalid_blocks',
    });
  });

  it('429 with Retry-After waits as long as the receiver asks', async () => {
    rx.reply('/hook', { status: 429, headers: { 'retry-after': '120' }, body: 'slow down' });
    const start = clock;
    await enqueueDelivery(ops(), { channel: 'hook', incident: incident('INC-7'), event: note(clock) });
    await drain();
    const [d] = await listDeliveries(ops(), { incident: 'INC-7' });
    expect(d).toMatchObject({ status: 'pending', lastStatus: 429, nextAttemptAt: start + 120_000 });
    clock = start + 119_999;
    await drain();
    expect((await listDeliveries(ops(), { incident: 'INC-7' }))[0]?.attempts).toBe(1);
    clock = start + 120_000;
    await drain();
    expect((await listDeliveries(ops(), { incident: 'INC-7' }))[0]).toMatchObject({
      status: 'sent',
      attempts: 2,
    });
  });

  it('a receiver that is down is retried until the attempts run out', async () => {
    const d = await enqueueDelivery(ops(), {
      channel: 'down',
      incident: incident('INC-8'),
      event: note(clock),
    });
    await drain();
    const [first] = await listDeliveries(ops(), { incident: 'INC-8' });
    expect(first).toMatchObject({ status: 'pending', attempts: 1, lastStatus: null });
    expect(first?.lastError).toMatch(/ECONNREFUSED/);
    for (let i = 0; i < 10; i++) {
      const [now] = await listDeliveries(ops(), { incident: 'INC-8' });
      if (now?.status !== 'pending') break;
      clock = now.nextAttemptAt ?? clock;
      await drain();
    }
    const [last] = await listDeliveries(ops(), { incident: 'INC-8' });
    expect(last).toMatchObject({ id: d.id, status: 'failed', attempts: 8, lastStatus: null });
    expect(last?.lastError).toMatch(/ECONNREFUSED.*\(gave up after 8 attempts\)$/);
    expect(last?.attemptLog.map((a) => a.outcome)).toEqual([...Array<string>(7).fill('retry'), 'failed']);
  });

  it('a receiver that never answers is cut off by the channel timeout and retried', async () => {
    rx.reply('/slow', { hang: true });
    await enqueueDelivery(ops(), { channel: 'slow', incident: incident('INC-9'), event: note(clock) });
    await drain();
    expect(await listDeliveries(ops(), { incident: 'INC-9' })).toMatchObject([
      { status: 'pending', attempts: 1, lastStatus: null, lastError: 'no answer within 150 ms' },
    ]);
  });
});
