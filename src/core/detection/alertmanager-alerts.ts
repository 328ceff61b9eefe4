import { z } from 'zod';
import { parseWith } from '../validation.js';
import { labelSetFingerprint } from './fingerprint.js';
import { buildSignal, type Signal } from './signal.js';
import {
  appFor,
  classFromText,
  isoTime,
  severityFromText,
  type ExternalAlertHint,
  type ExternalAlertOptions,
  type ExternalAlerts,
} from './external-alerts.js';

/**
 * The Prometheus Alertmanager webhook (`webhook_config`, payload version 4; `POST
 * /api/signals/alertmanager`). One notification carries a group of alerts; each firing alert becomes a
 * signal and each resolved one a resolve hint.
 *
 * Per alert: app and env from the URL, else the `app` and `env` labels; release from `release`;
 * severity from `severity` (critical, error, warning, info or SEV1–SEV4; anything else is no hint);
 * class from a `class` label naming an incident class; the alert's name is `alertname` (`match.alert`);
 * the title is `<alertname>: <summary annotation>`. The external key is Alertmanager's fingerprint of
 * the label set (computed the same way if an older sender leaves it out), and the signal's identity adds
 * `startsAt`, so a repeated notification of the same firing adds nothing while the same alert firing
 * again later is a new signal.
 *
 * Unknown fields are accepted (Alertmanager adds fields over versions); the ones used are checked.
 * Unknown label values never fail a notification: Alertmanager would retry the whole group for ever.
 */
const labels = z.record(z.string(), z.string());

const alertSchema = z
  .looseObject({
    status: z.enum(['firing', 'resolved'], { error: 'expected "firing" or "resolved"' }),
    labels,
    annotations: labels.default({}),
    startsAt: isoTime,
    endsAt: z.string().optional(),
    generatorURL: z.string().optional(),
    fingerprint: z.string().min(1).max(255).optional(),
  })
  .superRefine((a, ctx) => {
    if (!a.labels['alertname']?.trim())
      ctx.addIssue({ code: 'custom', path: ['labels', 'alertname'], message: 'is required' });
  });

const webhookSchema = z.looseObject({
  version: z.literal('4', { error: 'expected "4" (the Alertmanager webhook payload version)' }),
  groupKey: z.string(),
  truncatedAlerts: z.number().int().min(0).default(0),
  status: z.enum(['firing', 'resolved'], { error: 'expected "firing" or "resolved"' }),
  receiver: z.string(),
  groupLabels: labels.default({}),
  commonLabels: labels.default({}),
  commonAnnotations: labels.default({}),
  externalURL: z.string().optional(),
  alerts: z.array(alertSchema),
});

export function parseAlertmanagerWebhook(body: unknown, opts: ExternalAlertOptions): ExternalAlerts {
  const what = 'Alertmanager webhook';
  const hook = parseWith(webhookSchema, body, what);
  const signals: Signal[] = [];
  const hints: ExternalAlertHint[] = [];
  hook.alerts.forEach((a, i) => {
    const app = appFor(what, a.labels['app'], opts, `alerts[${i}].labels.app`);
    const externalKey = a.fingerprint ?? labelSetFingerprint(a.labels);
    if (a.status === 'resolved') {
      hints.push({ action: 'resolve', externalKey, app });
      return;
    }
    const name = a.labels['alertname'] ?? '';
    const summary = a.annotations['summary'] ?? a.annotations['description'];
    signals.push(
      buildSignal({
        source: 'external',
        app,
        env: opts.env ?? a.labels['env'],
        release: a.labels['release'],
        class: classFromText(a.labels['class']),
        severity: severityFromText(a.labels['severity']),
        alert: name,
        externalKey,
        title: summary ? `${name}: ${summary}` : name,
        details: {
          sender: 'alertmanager',
          labels: a.labels,
          annotations: a.annotations,
          ...(a.generatorURL !== undefined ? { generatorURL: a.generatorURL } : {}),
          groupKey: hook.groupKey,
          receiver: hook.receiver,
          ...(hook.externalURL !== undefined ? { externalURL: hook.externalURL } : {}),
        },
        observedAt: a.startsAt,
        receivedAt: opts.receivedAt,
        identity: ['alertmanager', app, externalKey, a.startsAt],
      }),
    );
  });
  return { signals, hints };
}
