import { describe, expect, it } from 'vitest';
import { FirebreakError } from '../../src/core/errors.js';
import type { Finding } from '../../src/core/guards/types.js';
import { signalSources } from '../../src/core/incidents/timeline.js';
import type { TraceRecord } from '../../src/core/trace.js';
import { parseAlertmanagerWebhook } from '../../src/core/detection/alertmanager-alerts.js';
import {
  anomalyMetrics,
  defaultAnomalySettings,
  emptyAnomalyState,
  readAnomalyState,
  signalFromAnomaly,
  update,
  type AnomalySettings,
  type AnomalyState,
} from '../../src/core/detection/anomaly.js';
import { parseGenericAlert, parseIsoTime } from '../../src/core/detection/external-alerts.js';
import { fnv1a64, labelSetFingerprint } from '../../src/core/detection/fingerprint.js';
import { decide, type DetectionAction, type GroupedIncident } from '../../src/core/detection/grouping.js';
import { parsePagerDutyAlert } from '../../src/core/detection/pagerduty-alerts.js';
import {
  detectionReferenceIssues,
  parseDetectionConfig,
  type DetectionConfig,
  type DetectionRule,
} from '../../src/core/detection/rules-config.js';
import { dedupKey, describeContainment, matchSignal } from '../../src/core/detection/rules.js';
import {
  anomalyRulesExist,
  evaluateInterval,
  metricValue,
  seriesKey,
  type SeriesCounts,
} from '../../src/core/detection/anomaly-run.js';
import {
  buildSignal,
  signalFromFeedback,
  signalFromFinding,
  signalsFromFindings,
  signalSources as reExportedSources,
  toolOfLocation,
  type Signal,
  type TraceContext,
} from '../../src/core/detection/signal.js';
import { rng } from '../../scripts/seeded-random.mjs';

const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;
/** 2026-11-27 10:00 UTC */
const T0 = Date.UTC(2026, 10, 27, 10, 0);

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

const trace: TraceContext = {
  traceId: 'tr_7f3a9c2e',
  app: 'support-bot',
  env: 'prod',
  release: 'support-bot@7',
  userId: 'u-42',
  tenantId: 'acme',
  ts: T0,
};

const canaryFinding: Finding = {
  detector: 'canary',
  class: 'privacy',
  stage: 'output',
  action: 'block',
  score: 1,
  span: { start: 120, end: 136 },
  message: 'a canary token appeared: the prompt or a confidential document leaked',
  severity: 'SEV1',
  owasp: 'LLM07',
  location: 'choices[0]',
};

const exfilFinding: Finding = {
  detector: 'exfiltration',
  kind: 'url',
  class: 'security',
  stage: 'tool_call',
  action: 'block',
  score: 0.9,
  message: 'a destination outside the allow-list',
  owasp: 'LLM02',
  location: 'tool_call[send_email]',
};

// ---------------------------------------------------------------------------------------------------------
// The canary rule of the issue's first must-hold, and a few more, as firebreak.yaml would hold them.
// ---------------------------------------------------------------------------------------------------------
const detectionYaml = {
  rules: [
    {
      id: 'canary-leak',
      match: { source: 'finding', detector: 'canary' },
      group: { by: ['app', 'env', 'detector'], window: '30m' },
      incident: { class: 'privacy', severity: 'SEV1', title: 'Canary leak in {app}/{env}' },
      page: true,
      contain: { action: 'safe-mode', mode: 'handoff' },
    },
    {
      id: 'exfiltration',
      match: { source: 'finding', detector: 'exfiltration', stage: 'tool_call', minAction: 'block' },
      group: { by: ['app', 'env', 'tool'], window: '1h' },
      incident: { class: 'security', severity: 'SEV2', title: '{detector} through {tool} in {app}' },
      page: 'primary',
      contain: { action: 'disable-tool', tool: 'from-signal' },
    },
    {
      id: 'harmful-feedback',
      match: { source: 'feedback', kind: 'harmful' },
      group: { by: ['app', 'env'], window: '1h' },
      incident: { severity: 'SEV3', title: 'Users report harmful answers in {app}' },
      minSignals: 3,
      page: false,
    },
    {
      id: 'prometheus',
      match: { source: 'external', minSeverity: 'SEV2' },
      group: { by: ['alert'], window: '2h' },
      incident: { class: 'integrity', severity: 'from-signal', defaultSeverity: 'SEV2' },
    },
  ],
};

function config(value: unknown = detectionYaml): DetectionConfig {
  return parseDetectionConfig(value);
}

function rulesOf(value: unknown = detectionYaml): readonly DetectionRule[] {
  return config(value).rules;
}

describe('signals', () => {
  it('uses the incident timeline’s signal sources', () => {
    expect(reExportedSources).toBe(signalSources);
  });

  it('turns a finding into a signal with the trace’s facts and a stable fingerprint', () => {
    const s = signalFromFinding(trace, canaryFinding, T0 + 300);
    expect(s).toEqual({
      source: 'finding',
      app: 'support-bot',
      env: 'prod',
      release: 'support-bot@7',
      traceId: 'tr_7f3a9c2e',
      userId: 'u-42',
      tenantId: 'acme',
      class: 'privacy',
      severity: 'SEV1',
      detector: 'canary',
      kind: null,
      stage: 'output',
      action: 'block',
      tool: null,
      alert: null,
      externalKey: null,
      title:
        'canary (block) in output choices[0]: a canary token appeared: the prompt or a confidential document leaked',
      details: {
        message: 'a canary token appeared: the prompt or a confidential document leaked',
        score: 1,
        location: 'choices[0]',
        owasp: 'LLM07',
      },
      observedAt: T0,
      receivedAt: T0 + 300,
      fingerprint: expect.stringMatching(/^finding:[0-9a-f]{16}$/) as unknown,
    });
    // The same finding seen again (a rescan, another span of the same leak) is the same signal…
    expect(
      signalFromFinding(trace, { ...canaryFinding, span: { start: 9, end: 25 } }, T0 + 9 * HOUR),
    ).toEqual(expect.objectContaining({ fingerprint: s.fingerprint }));
    // …in another trace it is not.
    expect(signalFromFinding({ ...trace, traceId: 'tr_other' }, canaryFinding).fingerprint).not.toBe(
      s.fingerprint,
    );
  });

  it('accepts a stored trace as the context, and names the tool of a tool-call finding', () => {
    const record = {
      ...trace,
      id: 'x',
      sessionId: null,
      endpoint: 'chat.completions',
    } as unknown as TraceRecord;
    const s = signalFromFinding(record, exfilFinding);
    expect(s).toMatchObject({ tool: 'send_email', kind: 'url', receivedAt: T0, stage: 'tool_call' });
    expect(toolOfLocation('tool_call[send_email]')).toBe('send_email');
    expect(toolOfLocation('messages[2]')).toBeNull();
    expect(toolOfLocation(undefined)).toBeNull();
  });

  it('collapses repeats of one finding in a trace into the strongest, counting occurrences', () => {
    const { severity: _s, ...unrated } = canaryFinding;
    const logOnly: Finding = { ...unrated, action: 'log' };
    const signals = signalsFromFindings(trace, [logOnly, canaryFinding, canaryFinding, exfilFinding]);
    expect(signals).toHaveLength(2);
    expect(signals[0]).toMatchObject({ detector: 'canary', action: 'block', severity: 'SEV1' });
    expect(signals[0]?.details).toMatchObject({ occurrences: 3 });
    expect(signals[1]?.details).not.toHaveProperty('occurrences');
  });

  it('takes user feedback on an answer, one signal per trace, kind and user', () => {
    const s = signalFromFeedback({
      traceId: 'tr_1',
      app: 'support-bot',
      env: 'prod',
      kind: 'harmful',
      comment: '  told me to stop taking my medication  ',
      userId: 'u-1',
      observedAt: T0 - 5 * MIN,
      at: T0,
    });
    expect(s).toMatchObject({
      source: 'feedback',
      kind: 'harmful',
      traceId: 'tr_1',
      title: 'a user reported a harmful answer (trace tr_1)',
      details: { comment: 'told me to stop taking my medication' },
      observedAt: T0 - 5 * MIN,
      receivedAt: T0,
    });
    const again = signalFromFeedback({
      traceId: 'tr_1',
      app: 'support-bot',
      env: 'prod',
      kind: 'harmful',
      userId: 'u-1',
      at: T0 + MIN,
    });
    expect(again.fingerprint).toBe(s.fingerprint);
    expect(
      refusal(() => signalFromFeedback({ traceId: 'tr_1', app: 'a', env: null, kind: 'rude', at: T0 })),
    ).toEqual({
      code: 'validation_failed',
      message: 'feedback kind "rude" is not one of wrong, harmful, other',
      path: 'kind',
    });
    expect(
      refusal(() => signalFromFeedback({ traceId: ' ', app: 'a', env: null, kind: 'wrong', at: T0 })),
    ).toMatchObject({ path: 'traceId' });
  });

  it('never puts the harm after its detection, and bounds what it keeps', () => {
    const s = buildSignal({
      source: 'manual',
      app: 'support-bot',
      title: '  reported   by\nphone ',
      details: { blob: 'x'.repeat(20_000) },
      observedAt: T0 + MIN,
      receivedAt: T0,
    });
    expect(s.observedAt).toBe(T0);
    expect(s.title).toBe('reported by phone');
    expect(s.details).toEqual({ truncated: expect.stringContaining('at most 16384') as unknown });
    expect(s.fingerprint).toMatch(/^manual:/);
    expect(
      refusal(() => buildSignal({ source: 'manual', app: ' ', title: 't', observedAt: T0, receivedAt: T0 })),
    ).toMatchObject({ path: 'app' });
    expect(
      refusal(() => buildSignal({ source: 'manual', app: 'a', title: 't', observedAt: NaN, receivedAt: T0 })),
    ).toMatchObject({ path: 'observedAt' });
  });

  it('hashes with 64-bit FNV-1a and fingerprints label sets exactly as Prometheus does', () => {
    expect(fnv1a64('')).toBe('cbf29ce484222325');
    expect(fnv1a64('a')).toBe('af63dc4c8601ec8c');
    expect(labelSetFingerprint({})).toBe('cbf29ce484222325');
    // prometheus/common model: LabelSet{"name": "garland, briggs", "fear": "love is not enough"} → 5799056148416392346.
    expect(labelSetFingerprint({ name: 'garland, briggs', fear: 'love is not enough' })).toBe(
      5799056148416392346n.toString(16),
    );
  });
});

// ---------------------------------------------------------------------------------------------------------
// External alerts
// ---------------------------------------------------------------------------------------------------------
const RECEIVED = Date.UTC(2026, 10, 27, 10, 2, 30);

/** What Alertmanager 0.27 POSTs to a webhook_config receiver: two alerts firing, one resolved. */
const alertmanagerFixture = {
  receiver: 'firebreak',
  status: 'firing',
  alerts: [
    {
      status: 'firing',
      labels: {
        alertname: 'LLMErrorRateHigh',
        app: 'support-bot',
        env: 'prod',
        instance: 'gateway-0:7070',
        job: 'firebreak',
        severity: 'critical',
      },
      annotations: {
        summary: 'Error rate above 5% for 10 minutes',
        description: 'support-bot prod: 7.2% of calls failed in the last 10m',
        runbook_url: 'https://runbooks.example.com/llm-errors',
      },
      startsAt: '2026-11-27T09:51:07.123456789Z',
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: 'http://prometheus:9090/graph?g0.expr=firebreak_error_ratio+%3E+0.05&g0.tab=1',
      fingerprint: 'a2f4c1b3d5e6f708',
    },
    {
      status: 'firing',
      labels: {
        alertname: 'LLMCostBurn',
        env: 'prod',
        class: 'Integrity',
        severity: 'page',
      },
      annotations: { description: 'spend rate 4x the weekly average' },
      startsAt: '2026-11-27T10:01:00+01:00',
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: 'http://prometheus:9090/graph?g0.expr=cost',
    },
    {
      status: 'resolved',
      labels: { alertname: 'LLMLatencyHigh', app: 'support-bot', severity: 'warning' },
      annotations: { summary: 'p90 latency above 8s' },
      startsAt: '2026-11-27T08:00:00Z',
      endsAt: '2026-11-27T09:30:00Z',
      generatorURL: 'http://prometheus:9090/graph?g0.expr=latency',
      fingerprint: '0f1e2d3c4b5a6978',
    },
  ],
  groupLabels: { env: 'prod' },
  commonLabels: { env: 'prod' },
  commonAnnotations: {},
  externalURL: 'http://alertmanager:9093',
  version: '4',
  groupKey: '{}/{severity=~"critical|page"}:{env="prod"}',
  truncatedAlerts: 0,
};

/** PagerDuty's own "Send an Alert Event" example, pointed at Firebreak. */
const pagerDutyFixture = {
  payload: {
    summary: 'DISK at 99% on machine prod-datapipe03.example.com',
    timestamp: '2015-07-17T08:42:58.315+0000',
    severity: 'critical',
    source: 'prod-datapipe03.example.com',
    component: 'mysql',
    group: 'prod-datapipe',
    class: 'disk',
    custom_details: { 'free space': '1%', 'ping time': '1500ms', 'load avg': 0.75 },
  },
  routing_key: 'samplekeyhere',
  dedup_key: 'samplekeyhere',
  images: [
    {
      src: 'https://www.pagerduty.com/wp-content/uploads/2016/05/pagerduty-logo-green.png',
      href: 'https://example.com/',
      alt: 'Example text',
    },
  ],
  links: [{ href: 'https://example.com/', text: 'Link text' }],
  event_action: 'trigger',
  client: 'Sample Monitoring Service',
  client_url: 'https://monitoring.example.com',
};

const genericFixture = {
  title: 'Refund bot quotes the wrong refund window',
  app: 'support-bot',
  env: 'prod',
  severity: 'SEV2',
  class: 'integrity',
  name: 'refund-window',
  dedup_key: 'refund-window-7',
  observed_at: '2026-11-27T09:58:00Z',
  trace_id: 'tr_123',
  details: { checker: 'nightly-eval', failures: 14 },
};

describe('the generic alert webhook', () => {
  it('makes one signal of a documented alert', () => {
    const { signals, hints } = parseGenericAlert(genericFixture, { receivedAt: RECEIVED });
    expect(hints).toEqual([]);
    expect(signals).toHaveLength(1);
    expect(signals[0]).toMatchObject({
      source: 'external',
      app: 'support-bot',
      env: 'prod',
      traceId: 'tr_123',
      class: 'integrity',
      severity: 'SEV2',
      alert: 'refund-window',
      externalKey: 'refund-window-7',
      title: 'Refund bot quotes the wrong refund window',
      details: { checker: 'nightly-eval', failures: 14, sender: 'webhook' },
      observedAt: Date.UTC(2026, 10, 27, 9, 58),
      receivedAt: RECEIVED,
    });
    // The same key and time sent again is the same signal.
    const again = parseGenericAlert(genericFixture, { receivedAt: RECEIVED + MIN }).signals[0];
    expect(again?.fingerprint).toBe(signals[0]?.fingerprint);
  });

  it('takes the app from the URL when the alert names none, and a resolve by dedup_key', () => {
    const minimal = parseGenericAlert(
      { title: 'it broke', severity: 'warning', observed_at: T0 },
      { receivedAt: RECEIVED, app: 'support-bot', env: 'staging' },
    ).signals[0];
    expect(minimal).toMatchObject({ app: 'support-bot', env: 'staging', severity: 'SEV3', observedAt: T0 });
    expect(
      parseGenericAlert(
        { status: 'resolved', dedup_key: 'refund-window-7' },
        { receivedAt: RECEIVED, app: 'support-bot' },
      ),
    ).toEqual({
      signals: [],
      hints: [{ action: 'resolve', externalKey: 'refund-window-7', app: 'support-bot' }],
    });
  });

  it('refuses bad payloads precisely', () => {
    const bad = (body: unknown, app?: string) =>
      refusal(() => parseGenericAlert(body, { receivedAt: RECEIVED, app }));
    expect(bad({ app: 'support-bot' })).toEqual({
      code: 'validation_failed',
      message: 'webhook alert: title: is required',
      path: 'title',
    });
    expect(bad({ title: 't' })).toEqual({
      code: 'validation_failed',
      message: 'webhook alert: app: no app: set it in the alert, or name the app in the URL (?app=)',
      path: 'app',
    });
    expect(bad({ title: 't', app: 'Support Bot' })).toMatchObject({ path: 'app' });
    expect(bad({ title: 't', app: 'billing' }, 'support-bot')).toEqual({
      code: 'validation_failed',
      message: 'webhook alert: app: "billing" differs from the app of the URL ("support-bot")',
      path: 'app',
    });
    expect(bad({ ...genericFixture, severity: 'urgent' })).toEqual({
      code: 'validation_failed',
      message: 'webhook alert: severity: expected SEV1–SEV4, critical, error, warning or info',
      path: 'severity',
    });
    expect(bad({ ...genericFixture, class: 'safety' })).toMatchObject({ path: 'class' });
    expect(bad({ ...genericFixture, severty: 'SEV1' })).toEqual({
      code: 'validation_failed',
      message: 'webhook alert: Unrecognized key: "severty"',
    });
    expect(bad({ ...genericFixture, observed_at: 'yesterday' })).toEqual({
      code: 'validation_failed',
      message: 'webhook alert: observed_at: expected an RFC 3339 date-time or epoch milliseconds',
      path: 'observed_at',
    });
    expect(bad({ status: 'resolved' }, 'support-bot')).toMatchObject({ path: 'dedup_key' });
    expect(bad([genericFixture])).toMatchObject({ code: 'validation_failed' });
  });
});

describe('PagerDuty Events API v2 alerts', () => {
  it('makes a signal of a trigger, with its severity, time and dedup key', () => {
    const { signals, hints } = parsePagerDutyAlert(pagerDutyFixture, { receivedAt: RECEIVED });
    expect(hints).toEqual([]);
    expect(signals[0]).toMatchObject({
      source: 'external',
      app: 'mysql',
      env: null,
      class: null,
      severity: 'SEV1',
      alert: 'disk',
      externalKey: 'samplekeyhere',
      title: 'DISK at 99% on machine prod-datapipe03.example.com',
      observedAt: Date.UTC(2015, 6, 17, 8, 42, 58, 315),
      receivedAt: RECEIVED,
      details: {
        sender: 'pagerduty',
        source: 'prod-datapipe03.example.com',
        group: 'prod-datapipe',
        custom_details: { 'free space': '1%', 'ping time': '1500ms', 'load avg': 0.75 },
        client: 'Sample Monitoring Service',
        client_url: 'https://monitoring.example.com',
      },
    });
  });

  it('reads what Firebreak’s own pages carry: component is the app, class an incident class', () => {
    const event = {
      routing_key: 'k',
      event_action: 'trigger',
      payload: {
        summary: '[SEV2 security] INC-3 support-bot: tool exfiltration',
        source: 'support-bot/prod',
        severity: 'error',
        component: 'support-bot',
        class: 'security',
      },
    };
    const s = parsePagerDutyAlert(event, { receivedAt: RECEIVED, env: 'prod' }).signals[0];
    expect(s).toMatchObject({ app: 'support-bot', env: 'prod', class: 'security', severity: 'SEV2' });
    // No dedup key and no timestamp: every delivery is its own signal.
    const later = parsePagerDutyAlert(event, { receivedAt: RECEIVED + 1 }).signals[0];
    expect(later?.fingerprint).not.toBe(s?.fingerprint);
  });

  it('lets the URL name the app: a sender’s component is whatever that tool means by it', () => {
    const s = parsePagerDutyAlert(pagerDutyFixture, { receivedAt: RECEIVED, app: 'support-bot' }).signals[0];
    expect(s?.app).toBe('support-bot');
  });

  it('turns acknowledge and resolve into hints', () => {
    for (const action of ['acknowledge', 'resolve'] as const)
      expect(
        parsePagerDutyAlert(
          { routing_key: 'k', event_action: action, dedup_key: 'samplekeyhere' },
          { receivedAt: RECEIVED, app: 'support-bot' },
        ),
      ).toEqual({ signals: [], hints: [{ action, externalKey: 'samplekeyhere', app: 'support-bot' }] });
  });

  it('refuses events that are not the documented shape, naming the field', () => {
    const bad = (body: unknown) => refusal(() => parsePagerDutyAlert(body, { receivedAt: RECEIVED }));
    expect(bad({ routing_key: 'k', event_action: 'resolve' })).toMatchObject({
      code: 'validation_failed',
      path: 'dedup_key',
    });
    expect(
      bad({ ...pagerDutyFixture, payload: { ...pagerDutyFixture.payload, summary: undefined } }),
    ).toEqual({
      code: 'validation_failed',
      message: 'PagerDuty event: payload.summary: Invalid input: expected string, received undefined',
      path: 'payload.summary',
    });
    const { component: _c, ...noComponent } = pagerDutyFixture.payload;
    expect(bad({ ...pagerDutyFixture, payload: noComponent })).toEqual({
      code: 'validation_failed',
      message:
        'PagerDuty event: payload.component: no app: set it in the alert, or name the app in the URL (?app=)',
      path: 'payload.component',
    });
    expect(bad({ ...pagerDutyFixture, event_action: 'escalate' })).toMatchObject({ path: 'event_action' });
  });
});

describe('Prometheus Alertmanager webhooks', () => {
  it('makes one signal per firing alert and a resolve hint per resolved one', () => {
    const { signals, hints } = parseAlertmanagerWebhook(alertmanagerFixture, {
      receivedAt: RECEIVED,
      app: 'support-bot',
    });
    expect(signals).toHaveLength(2);
    expect(signals[0]).toMatchObject({
      source: 'external',
      app: 'support-bot',
      env: 'prod',
      severity: 'SEV1',
      class: null,
      alert: 'LLMErrorRateHigh',
      externalKey: 'a2f4c1b3d5e6f708',
      title: 'LLMErrorRateHigh: Error rate above 5% for 10 minutes',
      observedAt: Date.UTC(2026, 10, 27, 9, 51, 7, 123),
      receivedAt: RECEIVED,
      details: {
        sender: 'alertmanager',
        groupKey: alertmanagerFixture.groupKey,
        receiver: 'firebreak',
        externalURL: 'http://alertmanager:9093',
        generatorURL: alertmanagerFixture.alerts[0]?.generatorURL,
      },
    });
    // No app label: the URL's app. A class label naming an incident class is used; `page` is no severity.
    expect(signals[1]).toMatchObject({
      app: 'support-bot',
      class: 'integrity',
      severity: null,
      title: 'LLMCostBurn: spend rate 4x the weekly average',
      externalKey: labelSetFingerprint(alertmanagerFixture.alerts[1]?.labels ?? {}),
      observedAt: Date.UTC(2026, 10, 27, 9, 1),
    });
    expect(hints).toEqual([{ action: 'resolve', externalKey: '0f1e2d3c4b5a6978', app: 'support-bot' }]);
  });

  it('serves several apps from one receiver by the app label when the URL names none', () => {
    const [first] = alertmanagerFixture.alerts;
    const { signals } = parseAlertmanagerWebhook(
      { ...alertmanagerFixture, alerts: [first, { ...first, labels: { ...first?.labels, app: 'billing' } }] },
      { receivedAt: RECEIVED },
    );
    expect(signals.map((s) => s.app)).toEqual(['support-bot', 'billing']);
  });

  it('treats a repeated notification of the same firing as the same signal, a new firing as new', () => {
    const opts = { receivedAt: RECEIVED, app: 'support-bot' };
    const first = parseAlertmanagerWebhook(alertmanagerFixture, opts).signals[0];
    const repeat = parseAlertmanagerWebhook(alertmanagerFixture, { ...opts, receivedAt: RECEIVED + 5 * MIN })
      .signals[0];
    expect(repeat?.fingerprint).toBe(first?.fingerprint);
    const [alert] = alertmanagerFixture.alerts;
    const refired = parseAlertmanagerWebhook(
      { ...alertmanagerFixture, alerts: [{ ...alert, startsAt: '2026-11-27T12:00:00Z' }] },
      opts,
    ).signals[0];
    expect(refired?.externalKey).toBe(first?.externalKey);
    expect(refired?.fingerprint).not.toBe(first?.fingerprint);
  });

  it('refuses malformed notifications, naming the alert and field', () => {
    const bad = (body: unknown, app?: string) =>
      refusal(() => parseAlertmanagerWebhook(body, { receivedAt: RECEIVED, app }));
    expect(bad({ ...alertmanagerFixture, version: '3' }, 'a')).toEqual({
      code: 'validation_failed',
      message: 'Alertmanager webhook: version: expected "4" (the Alertmanager webhook payload version)',
      path: 'version',
    });
    const alerts = alertmanagerFixture.alerts;
    const [a0, a1] = alerts;
    expect(
      bad({ ...alertmanagerFixture, alerts: [a0, { ...a1, labels: { env: 'prod' } }] }, 'support-bot'),
    ).toEqual({
      code: 'validation_failed',
      message: 'Alertmanager webhook: alerts[1].labels.alertname: is required',
      path: 'alerts[1].labels.alertname',
    });
    expect(bad({ ...alertmanagerFixture, alerts: [{ ...a0, startsAt: 'now' }] })).toEqual({
      code: 'validation_failed',
      message:
        'Alertmanager webhook: alerts[0].startsAt: expected an RFC 3339 date-time with a zone (2026-11-27T10:00:00Z), got "now"',
      path: 'alerts[0].startsAt',
    });
    expect(bad({ ...alertmanagerFixture, alerts: [a1] })).toEqual({
      code: 'validation_failed',
      message:
        'Alertmanager webhook: alerts[0].labels.app: no app: set it in the alert, or name the app in the URL (?app=)',
      path: 'alerts[0].labels.app',
    });
    expect(bad({ ...alertmanagerFixture, alerts: [{ ...a0, status: 'pending' }] })).toMatchObject({
      path: 'alerts[0].status',
    });
    expect(
      bad({ ...alertmanagerFixture, alerts: [{ ...a0, labels: { ...a0?.labels, replicas: 3 } }] }),
    ).toMatchObject({
      path: 'alerts[0].labels.replicas',
    });
  });

  it('throws nothing but validation_failed, whatever arrives', () => {
    const garbage: unknown[] = [
      null,
      undefined,
      42,
      'firing',
      [],
      {},
      { version: '4', alerts: 'x' },
      { payload: null },
      {
        event_action: 'trigger',
        routing_key: 'k',
        payload: { summary: 's', source: 's', severity: 'info', timestamp: '2026-02-30T99:00:00Z' },
      },
      { title: 't', app: 'a', details: 'not an object' },
      Object.create(null) as unknown,
    ];
    for (const body of garbage)
      for (const parse of [parseGenericAlert, parsePagerDutyAlert, parseAlertmanagerWebhook])
        expect(refusal(() => parse(body, { receivedAt: RECEIVED, app: 'a' })).code).toBe('validation_failed');
  });

  it('reads RFC 3339 times with nanoseconds and offsets without a colon', () => {
    expect(parseIsoTime('2026-11-27T09:51:07.123456789Z')).toBe(Date.UTC(2026, 10, 27, 9, 51, 7, 123));
    expect(parseIsoTime('2026-11-27T10:51:07+0100')).toBe(Date.UTC(2026, 10, 27, 9, 51, 7));
    expect(parseIsoTime('2026-11-27 10:51:07Z')).toBeUndefined();
    expect(parseIsoTime('2026-11-27T10:51:07')).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------------------
// Rules configuration
// ---------------------------------------------------------------------------------------------------------
describe('the detection: block', () => {
  it('parses the canary rule of the issue into what decide needs', () => {
    const [canary, exfil, feedback, prometheus] = rulesOf();
    expect(canary).toEqual({
      id: 'canary-leak',
      match: {
        sources: ['finding'],
        apps: null,
        envs: null,
        detectors: ['canary'],
        kinds: null,
        classes: null,
        stages: null,
        alerts: null,
        minSeverity: null,
        minAction: null,
      },
      group: { by: ['app', 'env', 'detector'], window: '30m', windowMs: 30 * MIN },
      incident: {
        class: 'privacy',
        severity: 'SEV1',
        defaultSeverity: null,
        title: 'Canary leak in {app}/{env}',
      },
      page: { kind: 'app' },
      contain: { action: 'safe-mode', mode: 'handoff' },
      minSignals: 1,
      continue: false,
    });
    expect(exfil).toMatchObject({
      page: { kind: 'policy', policy: 'primary' },
      contain: { action: 'disable-tool', tool: 'from-signal' },
    });
    expect(feedback).toMatchObject({ page: { kind: 'none' }, minSignals: 3 });
    // App is always part of the key.
    expect(prometheus?.group.by).toEqual(['app', 'alert']);
    expect(config().anomaly).toEqual({
      interval: '5m',
      intervalMs: 5 * MIN,
      delay: '30s',
      delayMs: 30_000,
      metrics: [...anomalyMetrics],
      alpha: 0.1,
      zThreshold: 4,
      warmup: 12,
      minVolume: 50,
      minIncrease: 0.5,
    });
  });

  it('fills in defaults: group by app and env for an hour, class and severity from the signal, page the app', () => {
    const [rule] = rulesOf({ rules: [{ id: 'blocks', match: { minAction: 'block' } }] });
    expect(rule).toMatchObject({
      group: { by: ['app', 'env'], window: '1h', windowMs: HOUR },
      incident: { class: 'from-signal', severity: 'from-signal', defaultSeverity: null, title: '{title}' },
      page: { kind: 'app' },
      contain: null,
      minSignals: 1,
      continue: false,
    });
    expect(parseDetectionConfig(undefined)).toMatchObject({ rules: [] });
  });

  it('takes one value or a list for each condition', () => {
    const [rule] = rulesOf({
      rules: [
        { id: 'r', match: { source: ['finding', 'feedback'], app: 'support-bot', class: ['privacy'] } },
      ],
    });
    expect(rule?.match).toMatchObject({
      sources: ['finding', 'feedback'],
      apps: ['support-bot'],
      classes: ['privacy'],
    });
  });

  it('refuses mistakes with the path and what would be right', () => {
    const bad = (rule: Record<string, unknown>, more: Record<string, unknown>[] = []) =>
      refusal(() =>
        parseDetectionConfig({ rules: [{ id: 'r', match: { source: 'finding' }, ...rule }, ...more] }),
      );
    expect(bad({ match: { source: 'alert' } })).toEqual({
      code: 'validation_failed',
      message:
        'detection: rules[0].match.source[0]: unknown source "alert" (use finding | feedback | evaluation | anomaly | external | manual)',
      path: 'rules[0].match.source[0]',
    });
    expect(bad({ match: { detector: 'canry' } })).toMatchObject({
      path: 'rules[0].match.detector[0]',
      message: expect.stringContaining('unknown detector "canry" (use prompt-injection |') as unknown,
    });
    expect(bad({ match: { source: [] } })).toMatchObject({
      path: 'rules[0].match.source',
      message: expect.stringContaining('give at least one value') as unknown,
    });
    expect(bad({ match: {} })).toMatchObject({ path: 'rules[0].match' });
    expect(bad({ match: { source: 'feedback', minAction: 'block' } })).toEqual({
      code: 'validation_failed',
      message:
        'detection: rules[0].match.minAction: minAction applies to findings only; add finding to source',
      path: 'rules[0].match.minAction',
    });
    expect(bad({ group: { window: '30 minutes' } })).toEqual({
      code: 'validation_failed',
      message:
        'detection: rules[0].group.window: expected a duration like 30s, 15m, 24h or 7d, got "30 minutes"',
      path: 'rules[0].group.window',
    });
    expect(bad({ group: { window: '0m' } })).toMatchObject({ path: 'rules[0].group.window' });
    expect(bad({ group: { by: ['app', 'model'] } })).toMatchObject({
      path: 'rules[0].group.by[1]',
      message: expect.stringContaining('unknown group field "model"') as unknown,
    });
    expect(bad({ group: { by: ['env', 'env'] } })).toMatchObject({ path: 'rules[0].group.by[1]' });
    expect(bad({ contain: { action: 'safe-mode' } })).toEqual({
      code: 'validation_failed',
      message:
        'detection: rules[0].contain.mode: unknown safe mode undefined (use handoff | limited | retrieval-only)',
      path: 'rules[0].contain.mode',
    });
    expect(bad({ contain: { action: 'shutdown' } })).toEqual({
      code: 'validation_failed',
      message:
        'detection: rules[0].contain.action: unknown containment action "shutdown" (use safe-mode | disable-tool | disable-model | block-user | block-tenant | rollback)',
      path: 'rules[0].contain.action',
    });
    expect(bad({ contain: { action: 'disable-tool', tool: 'send email' } })).toMatchObject({
      path: 'rules[0].contain.tool',
    });
    expect(bad({ contain: { action: 'rollback', to: 3 } })).toMatchObject({
      message: expect.stringContaining('Unrecognized key: "to"') as unknown,
    });
    expect(bad({ contain: { action: 'block-user', user: 'u-1' } })).toMatchObject({
      path: 'rules[0].contain.user',
    });
    expect(bad({ contain: { action: 'block-user' }, minSignals: 2 })).toMatchObject({
      path: 'rules[0].contain',
      message: expect.stringContaining('needs user in group.by') as unknown,
    });
    expect(bad({ incident: { title: 'Leak for {user} in {app}' } })).toMatchObject({
      path: 'rules[0].incident.title',
      message: expect.stringContaining('unknown placeholder {user}') as unknown,
    });
    expect(bad({ incident: { severity: 'SEV1', defaultSeverity: 'SEV2' } })).toMatchObject({
      path: 'rules[0].incident.defaultSeverity',
    });
    expect(bad({ incident: { severity: 'critical' } })).toMatchObject({ path: 'rules[0].incident.severity' });
    expect(bad({ page: 'On Call' })).toEqual({
      code: 'validation_failed',
      message:
        'detection: rules[0].page: expected true (the app\'s escalation policy), false (no page) or an escalation policy id, got "On Call"',
      path: 'rules[0].page',
    });
    expect(bad({ minSignals: 0 })).toMatchObject({ path: 'rules[0].minSignals' });
    expect(bad({ mach: {} })).toMatchObject({
      message: expect.stringContaining('Unrecognized key: "mach"') as unknown,
    });
    expect(bad({}, [{ id: 'r', match: { source: 'manual' } }])).toEqual({
      code: 'validation_failed',
      message: 'detection: rules[1].id: duplicate rule id "r" (also rules[0])',
      path: 'rules[1].id',
    });
    expect(refusal(() => parseDetectionConfig({ anomaly: { metrics: ['latency'] } }))).toMatchObject({
      path: 'anomaly.metrics[0]',
    });
  });

  it('names references to apps, tools, model families and policies that firebreak.yaml does not define', () => {
    const d = config({
      rules: [
        ...detectionYaml.rules,
        {
          id: 'model-off',
          match: { app: ['support-bot', 'billing'], env: 'qa', source: 'finding' },
          contain: { action: 'disable-model', family: 'gpt-5' },
        },
        {
          id: 'tool-off',
          match: { source: 'manual' },
          contain: { action: 'disable-tool', tool: 'send_fax' },
        },
      ],
    });
    const known = {
      apps: { 'support-bot': { environments: ['dev', 'prod'] } },
      tools: ['send_email'],
      modelFamilies: ['gpt-4o'],
      policies: ['secondary'],
      appPolicies: {},
    };
    expect(detectionReferenceIssues(d, known)).toEqual([
      { path: ['rules', 1, 'page'], message: 'unknown escalation policy "primary"' },
      { path: ['rules', 4, 'match', 'app', 1], message: 'unknown app "billing"' },
      { path: ['rules', 4, 'match', 'env', 0], message: 'no app has an environment "qa"' },
      { path: ['rules', 4, 'contain', 'family'], message: 'unknown model family "gpt-5"' },
      {
        path: ['rules', 4, 'page'],
        message: "page: true uses the app's escalation policy, and support-bot has none in oncall.apps",
      },
      { path: ['rules', 5, 'contain', 'tool'], message: 'unknown tool "send_fax" (not in tools)' },
    ]);
    expect(
      detectionReferenceIssues(config(), {
        ...known,
        policies: ['primary'],
        appPolicies: { 'support-bot': 'primary' },
      }),
    ).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Matching, grouping and the decision
// ---------------------------------------------------------------------------------------------------------
function canarySignal(at = T0, env = 'prod', traceId = `tr_${at}`): Signal {
  return signalFromFinding({ ...trace, traceId, env, ts: at }, canaryFinding, at + 200);
}

function feedbackSignal(at: number, traceId: string): Signal {
  return signalFromFeedback({ traceId, app: 'support-bot', env: 'prod', kind: 'harmful', at });
}

describe('deciding what a signal does', () => {
  const rules = rulesOf();

  it('opens a privacy SEV1 incident for a canary leak, pages the app’s policy and asks for safe mode', () => {
    const actions = decide({ rules, signal: canarySignal(), openIncidents: [], now: T0 + 300 });
    expect(actions).toEqual([
      {
        type: 'open',
        rule: 'canary-leak',
        dedupKey: 'canary-leak|app=support-bot|env=prod|detector=canary',
        app: 'support-bot',
        env: 'prod',
        class: 'privacy',
        severity: 'SEV1',
        title: 'Canary leak in support-bot/prod',
        page: { kind: 'app' },
        contain: { action: 'safe-mode', target: 'handoff' },
        signals: 1,
      },
    ]);
    const open = actions[0];
    if (open?.type !== 'open' || !open.contain) throw new Error('expected an open action with containment');
    expect(describeContainment(open.contain)).toBe('safe-mode handoff');
  });

  it('attaches the next leak of the same key to the open incident instead of opening another', () => {
    const open: GroupedIncident = {
      id: 'INC-7',
      dedupKey: 'canary-leak|app=support-bot|env=prod|detector=canary',
      openedAt: T0,
      lastSignalAt: T0,
      status: 'contained',
    };
    const later = T0 + 20 * MIN;
    expect(decide({ rules, signal: canarySignal(later), openIncidents: [open], now: later })).toEqual([
      { type: 'attach', rule: 'canary-leak', dedupKey: open.dedupKey, incidentId: 'INC-7' },
    ]);
    // Another environment is another key: its own incident.
    expect(
      decide({ rules, signal: canarySignal(later, 'staging'), openIncidents: [open], now: later }),
    ).toEqual([
      expect.objectContaining({
        type: 'open',
        env: 'staging',
        dedupKey: 'canary-leak|app=support-bot|env=staging|detector=canary',
      }),
    ]);
    // The window slides with the last signal: quiet for longer than 30 minutes is a new incident.
    const quiet = T0 + 31 * MIN;
    expect(decide({ rules, signal: canarySignal(quiet), openIncidents: [open], now: quiet })[0]?.type).toBe(
      'open',
    );
    expect(
      decide({
        rules,
        signal: canarySignal(quiet),
        openIncidents: [{ ...open, lastSignalAt: T0 + 25 * MIN }],
        now: quiet,
      })[0]?.type,
    ).toBe('attach');
    // A resolved or closed incident takes no more signals.
    for (const status of ['resolved', 'closed'] as const)
      expect(
        decide({ rules, signal: canarySignal(later), openIncidents: [{ ...open, status }], now: later })[0]
          ?.type,
      ).toBe('open');
    // An incident opened by hand has no key and is never a dedup target.
    expect(
      decide({
        rules,
        signal: canarySignal(later),
        openIncidents: [{ ...open, dedupKey: null }],
        now: later,
      })[0]?.type,
    ).toBe('open');
  });

  it('picks the same incident whatever order the candidates come in', () => {
    const key = 'canary-leak|app=support-bot|env=prod|detector=canary';
    const candidates: GroupedIncident[] = [
      { id: 'INC-3', dedupKey: key, openedAt: T0 - HOUR, lastSignalAt: T0 - 5 * MIN, status: 'triaged' },
      { id: 'INC-8', dedupKey: key, openedAt: T0 - 10 * MIN, lastSignalAt: T0 - 2 * MIN, status: 'detected' },
      { id: 'INC-9', dedupKey: key, openedAt: T0 - 10 * MIN, lastSignalAt: T0 - 2 * MIN, status: 'detected' },
    ];
    const pick = (list: GroupedIncident[]) =>
      decide({ rules, signal: canarySignal(), openIncidents: list, now: T0 })[0];
    expect(pick(candidates)).toMatchObject({ type: 'attach', incidentId: 'INC-9' });
    expect(pick([...candidates].reverse())).toMatchObject({ type: 'attach', incidentId: 'INC-9' });
  });

  it('counts signals below minSignals and opens on the one that reaches it', () => {
    const key = 'harmful-feedback|app=support-bot|env=prod';
    const at = (n: number) => T0 + n * MIN;
    const step = (n: number, prior: number): DetectionAction[] =>
      decide({
        rules,
        signal: feedbackSignal(at(n), `tr_${n}`),
        openIncidents: [],
        priorSignals: new Map([[key, prior]]),
        now: at(n),
      });
    expect(decide({ rules, signal: feedbackSignal(at(0), 'tr_0'), openIncidents: [], now: at(0) })).toEqual([
      { type: 'count', rule: 'harmful-feedback', dedupKey: key, signals: 1, needed: 3 },
    ]);
    expect(step(1, 1)).toEqual([
      { type: 'count', rule: 'harmful-feedback', dedupKey: key, signals: 2, needed: 3 },
    ]);
    expect(step(2, 2)).toEqual([
      {
        type: 'open',
        rule: 'harmful-feedback',
        dedupKey: key,
        app: 'support-bot',
        env: 'prod',
        class: null,
        severity: 'SEV3',
        title: 'Users report harmful answers in support-bot',
        page: { kind: 'none' },
        contain: null,
        signals: 3,
      },
    ]);
    // Feedback of another kind matches no rule: nothing to do.
    const wrong = signalFromFeedback({
      traceId: 't',
      app: 'support-bot',
      env: 'prod',
      kind: 'wrong',
      at: T0,
    });
    expect(decide({ rules, signal: wrong, openIncidents: [], now: T0 })).toEqual([]);
  });

  it('fills containment from the signal, or says why it cannot', () => {
    const s = signalFromFinding(trace, exfilFinding);
    expect(decide({ rules, signal: s, openIncidents: [], now: T0 })).toEqual([
      expect.objectContaining({
        type: 'open',
        rule: 'exfiltration',
        dedupKey: 'exfiltration|app=support-bot|env=prod|tool=send_email',
        title: 'exfiltration through send_email in support-bot',
        page: { kind: 'policy', policy: 'primary' },
        contain: { action: 'disable-tool', target: 'send_email' },
      }),
    ]);
    const noTool = buildSignal({ ...s, tool: null, identity: 'x' });
    const [action] = decide({ rules, signal: noTool, openIncidents: [], now: T0 });
    expect(action).toMatchObject({
      type: 'open',
      contain: null,
      containSkipped: 'disable-tool from-signal: the signal names no tool',
      dedupKey: 'exfiltration|app=support-bot|env=prod|tool=',
    });
    // A finding logged rather than blocked is below the rule's minAction.
    expect(decide({ rules, signal: { ...s, action: 'log' }, openIncidents: [], now: T0 })).toEqual([]);

    const blockUser = rulesOf({
      rules: [{ id: 'u', match: { source: 'finding' }, contain: { action: 'block-user' }, page: false }],
    });
    expect(decide({ rules: blockUser, signal: s, openIncidents: [], now: T0 })[0]).toMatchObject({
      contain: { action: 'block-user', target: 'u-42' },
    });
    expect(
      decide({ rules: blockUser, signal: { ...s, userId: null }, openIncidents: [], now: T0 })[0],
    ).toMatchObject({ contain: null, containSkipped: 'block-user from-signal: the signal names no user' });
  });

  it('takes severity from the signal when the rule says so, and covers every env when not grouped by env', () => {
    const { signals } = parseAlertmanagerWebhook(alertmanagerFixture, {
      receivedAt: RECEIVED,
      app: 'support-bot',
    });
    const [critical] = signals;
    if (!critical) throw new Error('fixture');
    const [action] = decide({ rules, signal: critical, openIncidents: [], now: RECEIVED });
    expect(action).toMatchObject({
      type: 'open',
      rule: 'prometheus',
      dedupKey: 'prometheus|app=support-bot|alert=LLMErrorRateHigh',
      env: null,
      class: 'integrity',
      severity: 'SEV1',
      title: 'LLMErrorRateHigh: Error rate above 5% for 10 minutes',
    });
    // No severity hint at all: the rule's minSeverity is not met.
    expect(
      decide({ rules, signal: { ...critical, severity: null }, openIncidents: [], now: RECEIVED }),
    ).toEqual([]);
    const lenient = rulesOf({
      rules: [
        {
          id: 'ext',
          match: { source: 'external' },
          incident: {
            severity: 'from-signal',
            defaultSeverity: 'SEV2',
            title: '[{severity}] {alert} in {env}',
          },
        },
      ],
    });
    expect(
      decide({
        rules: lenient,
        signal: { ...critical, severity: null, env: null },
        openIncidents: [],
        now: RECEIVED,
      })[0],
    ).toMatchObject({ severity: 'SEV2', class: null, title: '[SEV2] LLMErrorRateHigh in -' });
  });

  it('lets the first matching rule act, and later ones only after continue', () => {
    const both = {
      rules: [
        { id: 'canary', match: { detector: 'canary' }, incident: { severity: 'SEV1' } },
        { id: 'any-block', match: { minAction: 'block' }, incident: { severity: 'SEV3' } },
      ],
    };
    const s = canarySignal();
    expect(matchSignal(rulesOf(both), s).map((m) => m.rule.id)).toEqual(['canary']);
    const cont = { rules: [{ ...both.rules[0], continue: true }, both.rules[1]] };
    const actions = decide({ rules: rulesOf(cont), signal: s, openIncidents: [], now: T0 });
    expect(actions.map((a) => [a.type, a.rule])).toEqual([
      ['open', 'canary'],
      ['open', 'any-block'],
    ]);
    expect(decide({ rules: [], signal: s, openIncidents: [], now: T0 })).toEqual([]);
  });

  it('keeps keys unambiguous whatever the values contain', () => {
    const [rule] = rulesOf({
      rules: [{ id: 'ext', match: { source: 'external' }, group: { by: ['alert'] } }],
    });
    if (!rule) throw new Error('rule');
    const base = parseGenericAlert({ title: 't', app: 'a' }, { receivedAt: T0 }).signals[0];
    if (!base) throw new Error('signal');
    expect(dedupKey(rule, { ...base, alert: 'x|alert=y' })).toBe('ext|app=a|alert=x%7Calert%3Dy');
    expect(dedupKey(rule, { ...base, alert: null })).toBe('ext|app=a|alert=');
    // Longer than the stored 256 characters: a readable start and a hash of the whole key.
    const long = (tail: string) => dedupKey(rule, { ...base, alert: `${'évaluation '.repeat(40)}${tail}` });
    expect(long('a')).toHaveLength(256);
    expect(long('a')).toMatch(/^ext\|app=a\|alert=%C3%A9valuation%20.*#[0-9a-f]{16}$/);
    expect(long('a')).not.toBe(long('b'));
    expect(long('a')).toBe(long('a'));
  });
});

// ---------------------------------------------------------------------------------------------------------
// Anomalies
// ---------------------------------------------------------------------------------------------------------
/** A Poisson count (Knuth), the natural noise of "events per interval". */
function poisson(lambda: number, rnd: () => number): number {
  const limit = Math.exp(-lambda);
  let k = 0;
  for (let p = rnd(); p > limit; p *= rnd()) k++;
  return k;
}

interface Interval {
  readonly value: number;
  readonly volume: number;
}

function run(series: readonly Interval[], settings: AnomalySettings = defaultAnomalySettings) {
  let state: AnomalyState = emptyAnomalyState;
  const alerts: { index: number; z: number; baseline: number; value: number }[] = [];
  series.forEach((p, index) => {
    const r = update(state, p.value, p.volume, T0 + index * 5 * MIN, settings);
    state = r.state;
    if (r.anomaly) alerts.push({ index, ...r.anomaly });
  });
  return { state, alerts };
}

/** Error rate per request: `rate` of `volume` requests, Poisson noise. */
function errorSeries(length: number, rate: (i: number) => number, volume: (i: number) => number, seed = 7) {
  const rnd = rng(seed);
  return Array.from({ length }, (_, i): Interval => {
    const v = volume(i);
    return { value: poisson(rate(i) * v, rnd) / v, volume: v };
  });
}

describe('the spike detector', () => {
  it('stays quiet on steady noise', () => {
    for (const seed of [1, 2, 3])
      expect(
        run(
          errorSeries(
            2000,
            () => 0.02,
            () => 1000,
            seed,
          ),
        ).alerts,
      ).toEqual([]);
    // Traffic that swings with the day does not trip it either (volume changes, the rate does not).
    expect(
      run(
        errorSeries(
          1000,
          () => 0.02,
          (i) => 400 + Math.round(300 * Math.sin(i / 40)),
          4,
        ),
      ).alerts,
    ).toEqual([]);
  });

  it('alerts on a real spike, against the baseline before it', () => {
    const series = errorSeries(
      300,
      (i) => (i === 200 ? 0.08 : 0.02),
      () => 1000,
    );
    const { alerts } = run(series);
    expect(alerts).toHaveLength(1);
    const [spike] = alerts;
    expect(spike?.index).toBe(200);
    expect(spike?.baseline).toBeGreaterThan(0.015);
    expect(spike?.baseline).toBeLessThan(0.025);
    expect(spike?.z).toBeGreaterThan(8);
  });

  it('learns a lasting level shift and stops alerting within a few intervals', () => {
    const { alerts } = run(
      errorSeries(
        400,
        (i) => (i < 200 ? 0.02 : 0.06),
        () => 1000,
      ),
    );
    expect(alerts.length).toBeGreaterThanOrEqual(1);
    expect(alerts.every((a) => a.index >= 200 && a.index < 215)).toBe(true);
  });

  it('does not alert on low volume: 3 errors in 3 requests, then 9 in 9', () => {
    const series: Interval[] = [
      ...errorSeries(
        50,
        () => 0.02,
        () => 1000,
      ),
      { value: 1, volume: 3 },
      { value: 1, volume: 9 },
    ];
    expect(run(series).alerts).toEqual([]);
    // The same jump with volume behind it is an anomaly.
    expect(run([...series.slice(0, 50), { value: 0.2, volume: 1000 }]).alerts).toHaveLength(1);
  });

  it('follows a gradual drift without alerting', () => {
    // The error rate triples over 500 intervals (about 42 hours of 5-minute intervals).
    const { alerts, state } = run(
      errorSeries(
        600,
        (i) => 0.01 + (0.02 * Math.min(i, 500)) / 500,
        () => 1000,
      ),
    );
    expect(alerts).toEqual([]);
    expect(state.mean).toBeGreaterThan(0.025);
  });

  it('only learns during warm-up', () => {
    const series = [
      ...errorSeries(
        5,
        () => 0.02,
        () => 1000,
      ),
      { value: 0.5, volume: 1000 },
    ];
    expect(run(series).alerts).toEqual([]);
  });

  it('does not take the first event after a flat zero for a spike, but a burst of them', () => {
    const zeros: Interval[] = Array.from({ length: 100 }, () => ({ value: 0, volume: 1000 }));
    expect(run([...zeros, { value: 2 / 1000, volume: 1000 }]).alerts).toEqual([]);
    expect(run([...zeros, { value: 20 / 1000, volume: 1000 }]).alerts).toHaveLength(1);
  });

  it('needs the value to clear the baseline by minIncrease, not only the z-score', () => {
    // Cost per request, nearly constant: a 20 % rise is many deviations but not an incident…
    const cost = { ...defaultAnomalySettings, counting: false };
    const flat: Interval[] = Array.from({ length: 50 }, (_, i) => ({
      value: 0.01 + (i % 2) * 1e-5,
      volume: 500,
    }));
    expect(run([...flat, { value: 0.012, volume: 500 }], cost).alerts).toEqual([]);
    // …doubling is.
    expect(run([...flat, { value: 0.02, volume: 500 }], cost).alerts).toHaveLength(1);
  });

  it('keeps a plain, JSON-safe state and ignores an interval it has already seen', () => {
    const { state } = run(
      errorSeries(
        30,
        () => 0.02,
        () => 1000,
      ),
    );
    const stored = JSON.parse(JSON.stringify(state)) as unknown;
    expect(readAnomalyState(stored)).toEqual(state);
    expect(readAnomalyState({ n: 'x' })).toEqual(emptyAnomalyState);
    expect(readAnomalyState(null)).toEqual(emptyAnomalyState);
    const last = state.lastAt ?? 0;
    expect(update(state, 0.9, 1000, last).state).toBe(state);
    expect(update(state, 0.9, 1000, last - 1).state).toBe(state);
    // A low-volume interval moves only the clock.
    expect(update(state, 0.9, 3, last + 1).state).toEqual({ ...state, lastAt: last + 1 });
    expect(refusal(() => update(state, NaN, 1000, last + 1))).toMatchObject({ path: 'value' });
    expect(refusal(() => update(state, 0.1, -1, last + 1))).toMatchObject({ path: 'volume' });
  });

  it('becomes a signal rules can match by source and metric', () => {
    const series = errorSeries(
      300,
      (i) => (i === 200 ? 0.08 : 0.02),
      () => 1000,
    );
    let state = emptyAnomalyState;
    let signal: Signal | undefined;
    series.forEach((p, i) => {
      const from = T0 + i * 5 * MIN;
      const r = update(state, p.value, p.volume, from);
      state = r.state;
      if (r.anomaly)
        signal = signalFromAnomaly({
          app: 'support-bot',
          env: 'prod',
          release: 'support-bot@7',
          metric: 'errors',
          anomaly: r.anomaly,
          from,
          to: from + 5 * MIN,
        });
    });
    expect(signal).toMatchObject({
      source: 'anomaly',
      kind: 'errors',
      release: 'support-bot@7',
      observedAt: T0 + 200 * 5 * MIN,
      receivedAt: T0 + 201 * 5 * MIN,
      title: expect.stringMatching(
        /^errors spike in support-bot@7 \(prod\): 0\.0\d+ errors per request against a baseline of 0\.0\d+ \(z \d+\.\d, 1000 requests\)$/,
      ) as unknown,
    });
    const spikes = rulesOf({
      rules: [
        {
          id: 'spikes',
          match: { source: 'anomaly', kind: ['errors', 'blocks'] },
          incident: { class: 'integrity', severity: 'SEV3' },
        },
      ],
    });
    if (!signal) throw new Error('expected an anomaly');
    expect(decide({ rules: spikes, signal, openIncidents: [], now: signal.receivedAt })[0]).toMatchObject({
      type: 'open',
      severity: 'SEV3',
    });
  });
});

describe('one run of the anomaly job over an interval', () => {
  const counts = (over: Partial<SeriesCounts> = {}): SeriesCounts => ({
    env: 'prod',
    release: 'support-bot@1',
    requests: 100,
    findings: 3,
    blocked: 2,
    errors: 1,
    safeMode: 0,
    tokens: 5000,
    ...over,
  });
  const anomaly = config({ anomaly: { interval: '1m', warmup: 3, minVolume: 20 } }).anomaly;

  it('reads each metric per request, and nothing from an interval without calls or tokens', () => {
    expect(metricValue('findings', counts())).toBe(0.03);
    expect(metricValue('blocks', counts())).toBe(0.02);
    expect(metricValue('errors', counts())).toBe(0.01);
    expect(metricValue('handoffs', counts())).toBe(0);
    expect(metricValue('cost', counts())).toBe(50);
    expect(metricValue('cost', counts({ tokens: null }))).toBeNull();
    expect(metricValue('errors', counts({ requests: 0 }))).toBeNull();
  });

  it('learns a baseline, raises a spike once as a signal, and ignores a replayed interval', () => {
    let states = new Map<string, unknown>();
    const step = (i: number, c: SeriesCounts) => {
      const result = evaluateInterval({
        app: 'support-bot',
        from: T0 + i * MIN,
        to: T0 + (i + 1) * MIN,
        counts: [c],
        states,
        config: { ...anomaly, metrics: ['errors'] },
        now: T0 + (i + 1) * MIN + 5 * SEC,
      });
      return result;
    };
    for (let i = 0; i < 6; i++) {
      const r = step(i, counts());
      expect(r.signals).toEqual([]);
      states = new Map(r.states.map((x) => [seriesKey(x.env, x.release, x.metric), x.state]));
    }
    const spike = step(6, counts({ errors: 40 }));
    expect(spike.signals).toHaveLength(1);
    expect(spike.signals[0]).toMatchObject({
      source: 'anomaly',
      kind: 'errors',
      app: 'support-bot',
      env: 'prod',
      release: 'support-bot@1',
      observedAt: T0 + 6 * MIN,
    });
    const learned = new Map(spike.states.map((x) => [seriesKey(x.env, x.release, x.metric), x.state]));
    // The same interval again (a rerun): no state change, no signal.
    states = learned;
    expect(step(6, counts({ errors: 40 }))).toEqual({ states: [], signals: [] });
    // Too few calls: the interval is passed over (lastAt moves), whatever its errors.
    const quiet = step(7, counts({ requests: 10, errors: 10 }));
    expect(quiet.signals).toEqual([]);
    expect(quiet.states[0]?.state).toMatchObject({ n: 7, lastAt: T0 + 8 * MIN });
  });

  it('runs only when a rule can match an anomaly signal', () => {
    expect(anomalyRulesExist(rulesOf())).toBe(false);
    expect(
      anomalyRulesExist(
        rulesOf({ rules: [{ id: 'spikes', match: { source: ['finding', 'anomaly'] }, page: false }] }),
      ),
    ).toBe(true);
    // No source condition, and nothing only findings or alerts carry: it matches anomalies too.
    expect(anomalyRulesExist(rulesOf({ rules: [{ id: 'any', match: { app: 'support-bot' } }] }))).toBe(true);
    expect(anomalyRulesExist(rulesOf({ rules: [{ id: 'leaks', match: { detector: 'canary' } }] }))).toBe(
      false,
    );
  });

  it('takes the delay after an interval, from 0s to 1h', () => {
    expect(config({ anomaly: { delay: '0s' } }).anomaly).toMatchObject({ delay: '0s', delayMs: 0 });
    expect(() => config({ anomaly: { delay: '2h' } })).toThrow(/out of range/);
  });
});
