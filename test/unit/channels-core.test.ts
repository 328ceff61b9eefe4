import { createHmac, timingSafeEqual } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  pagerDutyAcknowledge,
  pagerDutyDedupKey,
  pagerDutyResolve,
  pagerDutySeverityOf,
  pagerDutyTrigger,
  validatePagerDutyEvent,
} from '../../src/core/channels/pagerduty.js';
import {
  attemptSchedule,
  defaultRetryPolicy,
  nextAttemptAt,
  retryable,
  retryDecision,
  retryDelay,
  unitHash,
  type RetryPolicy,
} from '../../src/core/channels/retry.js';
import { slackEscape, slackEscapeWithin, slackMessage, SLACK_LIMITS } from '../../src/core/channels/slack.js';
import { truncate } from '../../src/core/channels/truncate.js';
import {
  parseSignatureHeader,
  signatureHeaderValue,
  signingInput,
  webhookBody,
  webhookEnvelope,
  webhookRequest,
  WEBHOOK_SIGNATURE_HEADER,
} from '../../src/core/channels/webhook.js';
import { canonicalJson } from '../../src/core/canonical-json.js';
import { FirebreakError } from '../../src/core/errors.js';
import { severities, type Incident } from '../../src/core/incidents/incident.js';
import { applyContainment } from '../../src/core/incidents/containment.js';
import { openIncident, triage } from '../../src/core/incidents/lifecycle.js';
import type { TimelineEvent } from '../../src/core/incidents/timeline.js';

const MIN = 60_000;
/** 2026-11-27 10:00 UTC */
const T0 = Date.UTC(2026, 10, 27, 10, 0);
const hmac = (key: string, data: string) => createHmac('sha256', key).update(data).digest('hex');

function incident(): Incident {
  const open = openIncident({
    id: 'INC-7',
    app: 'support-bot',
    env: 'prod',
    title: 'Canary leaked in streamed answers',
    at: T0,
    actor: 'rule:canary-leak',
    class: 'privacy',
    severity: 'SEV1',
  }).incident;
  const t = triage(open, { at: T0 + MIN, actor: 'alice', commander: 'alice' }).incident;
  return applyContainment(t, { at: T0 + 2 * MIN, actor: 'alice', ref: 'f1', action: 'safe-mode handoff' })
    .incident;
}

function refusal(fn: () => unknown): { code: string; message: string; path?: string } {
  try {
    fn();
  } catch (e) {
    if (e instanceof FirebreakError)
      return { code: e.code, message: e.message, ...(e.details.path ? { path: e.details.path } : {}) };
    throw e;
  }
  throw new Error('expected a refusal');
}

const pageSent: TimelineEvent = {
  type: 'page_sent',
  at: T0 + 30_000,
  actor: 'system',
  page: 'p-1',
  target: 'alice',
  level: 1,
  channel: 'pagerduty',
};

describe('generic webhook', () => {
  it('wraps a timeline event in a versioned envelope', () => {
    const env = webhookEnvelope({
      delivery: 'd-1',
      incident: incident(),
      event: pageSent,
      url: 'https://fb.example/i/INC-7',
    });
    expect(env).toEqual({
      version: 1,
      delivery: 'd-1',
      type: 'incident.page_sent',
      occurredAt: '2026-11-27T10:00:30.000Z',
      incident: {
        id: 'INC-7',
        app: 'support-bot',
        env: 'prod',
        title: 'Canary leaked in streamed answers',
        status: 'contained',
        class: 'privacy',
        severity: 'SEV1',
        commander: 'alice',
        communicationsLead: null,
        detectedAt: '2026-11-27T10:00:00.000Z',
        url: 'https://fb.example/i/INC-7',
      },
      event: pageSent,
      text: 'paged alice (level 1) via pagerduty',
    });
    const update: TimelineEvent = {
      type: 'update_posted',
      at: T0,
      actor: 'dana',
      audience: 'internal',
      text: 'full text',
      channels: ['hook'],
    };
    expect(webhookEnvelope({ delivery: 'd-2', incident: incident(), event: update }).text).toBe('full text');
  });

  it('signs "<t>.<body>" with HMAC-SHA256 in a Stripe-style header a receiver can verify', () => {
    const env = webhookEnvelope({ delivery: 'd-1', incident: incident(), event: pageSent });
    const now = T0 + 31_500;
    const req = webhookRequest(env, { secret: 'whsec_test', now, hmac });
    const t = Math.floor(now / 1000);
    expect(req.body).toBe(canonicalJson(env));
    expect(JSON.parse(req.body)).toEqual(env);
    expect(req.headers).toEqual({
      'content-type': 'application/json',
      'x-firebreak-signature': `t=${t},v1=${hmac('whsec_test', `${t}.${req.body}`)}`,
      'x-firebreak-event': 'incident.page_sent',
      'x-firebreak-delivery': 'd-1',
    });

    // What a receiver does: parse the header, recompute over the raw body, compare in constant time.
    const parsed = parseSignatureHeader(req.headers[WEBHOOK_SIGNATURE_HEADER] ?? '');
    expect(parsed?.timestamp).toBe(t);
    const expected = Buffer.from(hmac('whsec_test', signingInput(t, req.body)), 'hex');
    expect(parsed?.signatures.some((s) => timingSafeEqual(Buffer.from(s, 'hex'), expected))).toBe(true);
    // A changed body or the wrong secret does not verify.
    const tampered = Buffer.from(
      hmac('whsec_test', signingInput(t, req.body.replace('alice', 'mallory'))),
      'hex',
    );
    expect(parsed?.signatures.some((s) => timingSafeEqual(Buffer.from(s, 'hex'), tampered))).toBe(false);
    expect(parsed?.signatures[0]).not.toBe(hmac('other', signingInput(t, req.body)));
  });

  it('gives the same body for the same envelope, whatever order it was built in', () => {
    const env = webhookEnvelope({ delivery: 'd-1', incident: incident(), event: pageSent });
    const reverseKeys = (v: unknown): unknown =>
      v !== null && typeof v === 'object' && !Array.isArray(v)
        ? Object.fromEntries(
            Object.entries(v)
              .reverse()
              .map(([k, x]) => [k, reverseKeys(x)]),
          )
        : v;
    const reordered = reverseKeys(env) as typeof env;
    expect(JSON.stringify(reordered)).not.toBe(JSON.stringify(env));
    expect(webhookBody(reordered)).toBe(webhookBody(env));
  });

  it('parses and refuses signature headers', () => {
    const sig = 'a'.repeat(64);
    expect(parseSignatureHeader(`t=1795773600,v1=${sig},v1=${'b'.repeat(64)}`)).toEqual({
      timestamp: 1795773600,
      signatures: [sig, 'b'.repeat(64)],
    });
    expect(parseSignatureHeader(`v1=${sig}`)).toBeNull();
    expect(parseSignatureHeader('t=1795773600')).toBeNull();
    expect(parseSignatureHeader('sha256=abc')).toBeNull();
    expect(() => signatureHeaderValue(1.5, sig)).toThrow(
      'webhook signature timestamp must be whole unix seconds',
    );
    expect(() => signatureHeaderValue(1, 'XYZ')).toThrow(
      'webhook signature must be a lowercase hex SHA-256 digest',
    );
  });

  it('refuses to send unsigned', () => {
    const env = webhookEnvelope({ delivery: 'd-1', incident: incident(), event: pageSent });
    expect(refusal(() => webhookRequest(env, { secret: '', now: T0, hmac }))).toEqual({
      code: 'validation_failed',
      message: 'a webhook channel needs a signing secret',
      path: 'secret',
    });
  });
});

describe('Slack-compatible payload', () => {
  it('has a notification text and header, fields, body and context blocks', () => {
    const msg = slackMessage(incident(), {
      at: T0 + 5 * MIN,
      body: 'Safe mode is on for support-bot.\n- canary rotated',
      url: 'https://fb.example/i/INC-7',
    });
    expect(msg).toEqual({
      text: 'INC-7 · SEV1 privacy · contained — Canary leaked in streamed answers',
      blocks: [
        { type: 'header', text: { type: 'plain_text', text: 'INC-7: Canary leaked in streamed answers' } },
        {
          type: 'section',
          fields: [
            { type: 'mrkdwn', text: '*Status*\ncontained' },
            { type: 'mrkdwn', text: '*Severity*\nSEV1' },
            { type: 'mrkdwn', text: '*Class*\nprivacy' },
            { type: 'mrkdwn', text: '*App*\nsupport-bot (prod)' },
            { type: 'mrkdwn', text: '*Commander*\nalice' },
          ],
        },
        {
          type: 'section',
          text: { type: 'mrkdwn', text: 'Safe mode is on for support-bot.\n- canary rotated' },
        },
        {
          type: 'context',
          elements: [
            {
              type: 'mrkdwn',
              text: 'Firebreak · 2026-11-27 10:05 UTC · <https://fb.example/i/INC-7|Open INC-7>',
            },
          ],
        },
      ],
    });
  });

  it('escapes markup, keeps within Block Kit limits and leaves out an unsafe link', () => {
    const long = { ...incident(), title: `<!channel> & ${'x'.repeat(300)}` };
    const msg = slackMessage(long, {
      at: T0,
      body: `<@U1> ${'&'.repeat(5000)}`,
      url: 'https://x.example/a|b',
    });
    const [header, , body, context] = msg.blocks;
    expect(header?.type === 'header' && header.text.text.length).toBe(SLACK_LIMITS.header);
    expect(msg.text.startsWith('INC-7 · SEV1 privacy · contained — &lt;!channel&gt; &amp; xxx')).toBe(true);
    if (body?.type !== 'section' || !('text' in body)) throw new Error('expected a text section');
    expect(body.text.text.startsWith('&lt;@U1&gt; &amp;&amp;')).toBe(true);
    expect(body.text.text.length).toBeLessThanOrEqual(SLACK_LIMITS.sectionText);
    expect(body.text.text.endsWith('&amp;…')).toBe(true);
    expect(context?.type === 'context' && context.elements[0]?.text).toBe('Firebreak · 2026-11-27 10:00 UTC');
  });

  it('escapes only what Slack reads as markup', () => {
    expect(slackEscape('a < b && c > d *bold*')).toBe('a &lt; b &amp;&amp; c &gt; d *bold*');
    expect(slackEscapeWithin('<<<<', 10)).toBe('&lt;&lt;…');
    expect(slackEscapeWithin('<<<<', 8)).toBe('&lt;…');
    expect(slackEscapeWithin('ok', 10)).toBe('ok');
  });
});

describe('PagerDuty Events API v2', () => {
  const routingKey = 'R0123456789abcdef0123456789abcde';

  it('triggers with the documented shape, deduplicated per incident', () => {
    const event = pagerDutyTrigger(incident(), {
      routingKey,
      at: T0 + 30_000,
      url: 'https://fb.example/i/INC-7',
      details: { trace: 'tr-1', incident: 'spoofed' },
    });
    expect(event).toEqual({
      routing_key: routingKey,
      event_action: 'trigger',
      dedup_key: 'firebreak:INC-7',
      payload: {
        summary: '[SEV1 privacy] INC-7 support-bot: Canary leaked in streamed answers',
        source: 'support-bot/prod',
        severity: 'critical',
        timestamp: '2026-11-27T10:00:30.000Z',
        component: 'support-bot',
        group: 'prod',
        class: 'privacy',
        custom_details: {
          trace: 'tr-1',
          incident: 'INC-7',
          title: 'Canary leaked in streamed answers',
          status: 'contained',
          severity: 'SEV1',
          class: 'privacy',
          commander: 'alice',
          detected_at: '2026-11-27T10:00:00.000Z',
        },
      },
      client: 'Firebreak',
      client_url: 'https://fb.example/i/INC-7',
      links: [{ href: 'https://fb.example/i/INC-7', text: 'INC-7 in Firebreak' }],
    });
    expect(event.payload.summary.length).toBeLessThanOrEqual(1024);
  });

  it('maps SEV1..SEV4 to critical, error, warning, info, and untriaged to critical', () => {
    expect(severities.map((s) => pagerDutySeverityOf[s])).toEqual(['critical', 'error', 'warning', 'info']);
    expect(
      severities.map(
        (s) => pagerDutyTrigger({ ...incident(), severity: s }, { routingKey, at: T0 }).payload.severity,
      ),
    ).toEqual(['critical', 'error', 'warning', 'info']);
    const untriaged = { ...incident(), severity: null, class: null };
    const event = pagerDutyTrigger(untriaged, { routingKey, at: T0 });
    expect(event.payload).toMatchObject({ severity: 'critical', class: 'unclassified' });
    expect(event.payload.summary.startsWith('[untriaged unclassified] INC-7')).toBe(true);
  });

  it('cuts the summary to 1024 characters', () => {
    const event = pagerDutyTrigger({ ...incident(), title: 'y'.repeat(2000) }, { routingKey, at: T0 });
    expect(event.payload.summary).toHaveLength(1024);
    expect(event.payload.summary.endsWith('y…')).toBe(true);
  });

  it('acknowledges and resolves by the same dedup key', () => {
    expect(pagerDutyAcknowledge(incident(), { routingKey })).toEqual({
      routing_key: routingKey,
      event_action: 'acknowledge',
      dedup_key: 'firebreak:INC-7',
    });
    expect(pagerDutyResolve(incident(), { routingKey, dedupPrefix: 'fb-eu' })).toEqual({
      routing_key: routingKey,
      event_action: 'resolve',
      dedup_key: 'fb-eu:INC-7',
    });
    expect(pagerDutyDedupKey('INC-7', 'p'.repeat(300))).toHaveLength(255);
  });

  it('accepts the documented example and refuses what breaks the shape', () => {
    const example = {
      payload: {
        summary: 'Example alert on host1.example.com',
        timestamp: '2015-07-17T08:42:58.315+0000',
        source: 'monitoringtool:cloudvendor:central-region-dc-01:852559987:cluster/api-stats-prod-003',
        severity: 'info',
        component: 'postgres',
        group: 'prod-datapipe',
        class: 'deploy',
        custom_details: { 'ping time': '1500ms', 'load avg': 0.75 },
      },
      routing_key: 'samplekeyhere',
      dedup_key: 'samplekeyhere',
      images: [
        { src: 'https://www.pagerduty.com/logo.png', href: 'https://example.com/', alt: 'Example text' },
      ],
      links: [{ href: 'https://example.com/', text: 'Link text' }],
      event_action: 'trigger',
      client: 'Sample Monitoring Service',
      client_url: 'https://monitoring.example.com',
    };
    expect(validatePagerDutyEvent(example)).toEqual(example);

    const trigger = {
      routing_key: 'k',
      event_action: 'trigger',
      payload: { summary: 's', source: 'src', severity: 'error' },
    };
    expect(validatePagerDutyEvent(trigger)).toEqual(trigger);
    const bad = (value: unknown) => refusal(() => validatePagerDutyEvent(value));
    expect(bad({ ...trigger, routing_key: ' ' })).toEqual({
      code: 'validation_failed',
      message: 'PagerDuty event: routing_key: is required',
      path: 'routing_key',
    });
    expect(bad({ ...trigger, payload: { ...trigger.payload, severity: 'SEV1' } })).toMatchObject({
      path: 'payload.severity',
    });
    expect(bad({ ...trigger, payload: { ...trigger.payload, summary: 'z'.repeat(1025) } })).toMatchObject({
      path: 'payload.summary',
    });
    expect(bad({ ...trigger, payload: { severity: 'info', source: 's' } })).toMatchObject({
      path: 'payload.summary',
    });
    expect(bad({ ...trigger, payload: { ...trigger.payload, timestamp: 'yesterday' } })).toEqual({
      code: 'validation_failed',
      message: 'PagerDuty event: payload.timestamp: must be an ISO 8601 date-time',
      path: 'payload.timestamp',
    });
    expect(bad({ routing_key: 'k', event_action: 'trigger' })).toMatchObject({ path: 'payload' });
    expect(bad({ routing_key: 'k', event_action: 'acknowledge' })).toMatchObject({ path: 'dedup_key' });
    expect(bad({ routing_key: 'k', event_action: 'resolve', dedup_key: 'd'.repeat(256) })).toMatchObject({
      path: 'dedup_key',
    });
    expect(bad({ routing_key: 'k', event_action: 'snooze', dedup_key: 'd' })).toMatchObject({
      path: 'event_action',
    });
    expect(bad('not an object')).toMatchObject({ code: 'validation_failed' });
    const huge = {
      ...trigger,
      payload: { ...trigger.payload, custom_details: { blob: 'b'.repeat(600 * 1024) } },
    };
    expect(bad(huge)).toEqual({
      code: 'validation_failed',
      message: `PagerDuty event: ${JSON.stringify(huge).length} bytes is over the 512 KB limit (shorten custom_details)`,
      path: 'payload.custom_details',
    });
  });
});

describe('delivery retries', () => {
  const noJitter: RetryPolicy = { ...defaultRetryPolicy, jitter: 0 };

  it('backs off exponentially from the first attempt, capped, for at most maxAttempts', () => {
    expect(attemptSchedule(T0, 'd-1', noJitter).map((t) => (t - T0) / 1000)).toEqual([
      0, 5, 15, 35, 75, 155, 315, 615,
    ]);
    expect(nextAttemptAt(1, T0, 'd-1', noJitter)).toBe(T0 + 5_000);
    expect(nextAttemptAt(6, T0, 'd-1', noJitter)).toBe(T0 + 315_000);
    expect(nextAttemptAt(7, T0, 'd-1', noJitter)).toBe(T0 + 615_000);
    expect(nextAttemptAt(8, T0, 'd-1', noJitter)).toBeNull();
    expect(nextAttemptAt(0, T0, 'd-1', noJitter)).toBeNull();
    expect([1, 2, 6, 7, 20].map((n) => retryDelay(n, 'd-1', noJitter))).toEqual([
      5_000, 10_000, 160_000, 300_000, 300_000,
    ]);
  });

  it('jitters each wait by a fraction derived from the delivery id', () => {
    // FNV-1a 32-bit reference values.
    expect(unitHash('')).toBe(0x811c9dc5 / 2 ** 32);
    expect(unitHash('a')).toBe(0xe40c292c / 2 ** 32);
    expect(unitHash('foobar')).toBe(0xbf9cf968 / 2 ** 32);
    const a = attemptSchedule(T0, 'd-1');
    expect(attemptSchedule(T0, 'd-1')).toEqual(a);
    expect(attemptSchedule(T0, 'd-2')).not.toEqual(a);
    for (let n = 1; n < 8; n++) {
      const raw = Math.min(300_000, 5_000 * 2 ** (n - 1));
      const d = retryDelay(n, 'd-1');
      expect(d).toBeGreaterThanOrEqual(raw * 0.8);
      expect(d).toBeLessThanOrEqual(raw);
      expect(d).toBe(Math.round(raw * (1 - 0.2 * unitHash(`d-1:${n}`))));
    }
  });

  it('retries network errors, 408, 429 and 5xx only, honouring Retry-After', () => {
    expect([null, 408, 429, 500, 503, 400, 401, 404, 410].map(retryable)).toEqual([
      true,
      true,
      true,
      true,
      true,
      false,
      false,
      false,
      false,
    ]);
    const failure = { id: 'd-1', attempt: 1, firstAt: T0, failedAt: T0 + 2_000 };
    expect(retryDecision({ ...failure, status: 400 }, noJitter)).toEqual({
      retry: false,
      reason: 'not_retryable',
    });
    expect(retryDecision({ ...failure, status: 503 }, noJitter)).toEqual({ retry: true, at: T0 + 5_000 });
    expect(retryDecision({ ...failure, status: 429, retryAfterMs: 60_000 }, noJitter)).toEqual({
      retry: true,
      at: T0 + 62_000,
    });
    // An attempt that took longer than the wait is retried as soon as it failed, not in the past.
    expect(retryDecision({ ...failure, failedAt: T0 + 9_000, status: null }, noJitter)).toEqual({
      retry: true,
      at: T0 + 9_000,
    });
    expect(retryDecision({ ...failure, attempt: 8, status: 503 }, noJitter)).toEqual({
      retry: false,
      reason: 'attempts_exhausted',
    });
  });
});

describe('truncate', () => {
  it('cuts to the limit with an ellipsis, never inside a surrogate pair', () => {
    expect(truncate('abcdef', 6)).toBe('abcdef');
    expect(truncate('abcdef', 4)).toBe('abc…');
    expect(truncate('a😀b', 3)).toBe('a…');
    expect(truncate('ab😀', 3)).toBe('ab…');
    expect(truncate('abc', 0)).toBe('');
  });
});
