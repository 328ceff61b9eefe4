import { z } from 'zod';
import { FirebreakError } from '../errors.js';
import { incidentClasses, type IncidentClass } from '../guards/types.js';
import type { Severity } from '../incidents/incident.js';
import { parseWith } from '../validation.js';
import { buildSignal, type Signal } from './signal.js';

/**
 * Alerts from other monitoring systems as signals (issue 5 item 1): the generic JSON webhook defined
 * here, PagerDuty Events API v2 (pagerduty-alerts.ts) and the Prometheus Alertmanager webhook
 * (alertmanager-alerts.ts). Each parser takes the already-parsed JSON body and returns signals for what
 * fires, and hints for what the sender says is acknowledged or over; anything malformed is a
 * validation_failed FirebreakError naming the field, and nothing else is ever thrown.
 *
 * The app: the one the caller names (the route's `?app=`) wins, since it was set on purpose for this
 * integration, whereas a PagerDuty `payload.component` or a Prometheus `app` label is whatever the
 * sending tool means by it (`mysql`, a Kubernetes app). The payload's is the fallback, so a receiver
 * without `?app=` can serve several apps. Unknown apps are the caller's to refuse (it has the config).
 */

export interface ExternalAlertOptions {
  /** When the alert arrived: every signal's `receivedAt`. */
  readonly receivedAt: number;
  /** The app and environment to assume when the payload names none. */
  readonly app?: string | undefined;
  readonly env?: string | undefined;
}

/** The sender says an alert it raised earlier is being handled, or is over. */
export interface ExternalAlertHint {
  readonly action: 'acknowledge' | 'resolve';
  /** Matches the `externalKey` of the signals the alert produced. */
  readonly externalKey: string;
  readonly app: string | null;
}

export interface ExternalAlerts {
  readonly signals: readonly Signal[];
  readonly hints: readonly ExternalAlertHint[];
}

export function invalid(message: string, path: string): FirebreakError {
  return new FirebreakError('validation_failed', message, { path });
}

export const appName = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** The caller's app, else the payload's; refused (at `path`) when there is neither or it is not an app name. */
export function appFor(
  what: string,
  fromPayload: string | undefined,
  opts: ExternalAlertOptions,
  path: string,
): string {
  const app = opts.app ?? (fromPayload?.trim() || undefined);
  if (app === undefined)
    throw invalid(`${what}: ${path}: no app: set it in the alert, or name the app in the URL (?app=)`, path);
  if (!appName.test(app))
    throw invalid(
      `${what}: ${path}: "${app}" is not an app name (lower-case letters, digits, - and _)`,
      path,
    );
  return app;
}

const severityWords: Readonly<Record<string, Severity>> = {
  sev1: 'SEV1',
  sev2: 'SEV2',
  sev3: 'SEV3',
  sev4: 'SEV4',
  // PagerDuty's four levels, the inverse of channels/pagerduty.ts; Prometheus rules use the same words.
  critical: 'SEV1',
  error: 'SEV2',
  warning: 'SEV3',
  info: 'SEV4',
};

/** `SEV2`, `critical`, `warning`… → a severity; anything else → null (a hint, not a requirement). */
export function severityFromText(text: string | undefined): Severity | null {
  return text === undefined ? null : (severityWords[text.trim().toLowerCase()] ?? null);
}

export function classFromText(text: string | undefined): IncidentClass | null {
  return incidentClasses.find((c) => c === text?.trim().toLowerCase()) ?? null;
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/i;

/**
 * RFC 3339 / ISO 8601 with a zone → epoch ms. Alertmanager writes nanoseconds and PagerDuty's example an
 * offset without a colon (+0000); both are normalised before Date.parse, which is only specified for
 * its own simplified format.
 */
export function parseIsoTime(text: string): number | undefined {
  if (!ISO_TIME.test(text)) return undefined;
  const normal = text
    .replace(/(\.\d{3})\d+/, '$1')
    .replace(/([+-]\d{2})(\d{2})$/, '$1:$2')
    .toUpperCase();
  const ms = Date.parse(normal);
  return Number.isNaN(ms) ? undefined : ms;
}

export const isoTime = z.string().transform((s, ctx) => {
  const ms = parseIsoTime(s);
  if (ms !== undefined) return ms;
  ctx.issues.push({
    code: 'custom',
    input: s,
    message: `expected an RFC 3339 date-time with a zone (2026-11-27T10:00:00Z), got "${s}"`,
  });
  return z.NEVER;
});

const label = z.string().trim().min(1, 'cannot be empty');

/**
 * The generic webhook (`POST /api/signals/webhook`), one alert per request:
 *
 * ```json
 * { "title": "Refund bot quotes the wrong refund window", "app": "support-bot", "env": "prod",
 *   "severity": "SEV2", "class": "integrity", "name": "refund-window", "dedup_key": "refund-window-7",
 *   "observed_at": "2026-11-27T09:58:00Z", "trace_id": "tr_123", "details": { "checker": "nightly-eval" } }
 * ```
 *
 * Only `title` is required (and `app`, unless the URL names it). `severity`: SEV1–SEV4 or critical,
 * error, warning, info. `class`: integrity, security, privacy, compliance, reputation. `name`: the
 * alert's name, for rules' `match.alert`. `dedup_key`: the same key is the same alert (re-sending it
 * adds nothing; send `observed_at` too when the same key may fire again later). `observed_at`: when it
 * happened (RFC 3339 or epoch ms; default now). `status: "resolved"` with a `dedup_key` says the alert
 * is over. Unknown fields are refused, so a misspelt field is not silently ignored.
 */
const genericSchema = z.strictObject({
  title: label.max(300, 'at most 300 characters').optional(),
  app: label.optional(),
  env: label.regex(appName, 'use lower-case letters, digits, - and _').optional(),
  status: z
    .enum(['firing', 'resolved'], { error: 'expected "firing" (the default) or "resolved"' })
    .default('firing'),
  severity: label
    .refine((s) => severityFromText(s) !== null, 'expected SEV1–SEV4, critical, error, warning or info')
    .optional(),
  class: label
    .refine((s) => classFromText(s) !== null, `expected one of ${incidentClasses.join(', ')}`)
    .optional(),
  name: label.max(200).optional(),
  dedup_key: label.max(255).optional(),
  observed_at: z
    .union([isoTime, z.number().int().min(0).max(8.64e15)], {
      error: 'expected an RFC 3339 date-time or epoch milliseconds',
    })
    .optional(),
  trace_id: label.max(128).optional(),
  details: z.record(z.string(), z.unknown()).optional(),
});

export function parseGenericAlert(body: unknown, opts: ExternalAlertOptions): ExternalAlerts {
  const what = 'webhook alert';
  const a = parseWith(genericSchema, body, what);
  // Our own shape: an alert that names another app or env than its URL is a mistake, not a fallback.
  for (const key of ['app', 'env'] as const)
    if (a[key] !== undefined && opts[key] !== undefined && a[key] !== opts[key])
      throw invalid(`${what}: ${key}: "${a[key]}" differs from the ${key} of the URL ("${opts[key]}")`, key);
  const app = appFor(what, a.app, opts, 'app');
  if (a.status === 'resolved') {
    if (a.dedup_key === undefined)
      throw invalid(`${what}: dedup_key: a resolved alert must name the alert it ends`, 'dedup_key');
    return { signals: [], hints: [{ action: 'resolve', externalKey: a.dedup_key, app }] };
  }
  if (a.title === undefined) throw invalid(`${what}: title: is required`, 'title');
  const signal = buildSignal({
    source: 'external',
    app,
    env: a.env ?? opts.env,
    traceId: a.trace_id,
    class: classFromText(a.class),
    severity: severityFromText(a.severity),
    alert: a.name,
    externalKey: a.dedup_key,
    title: a.title,
    details: { ...a.details, sender: 'webhook' },
    observedAt: a.observed_at ?? opts.receivedAt,
    receivedAt: opts.receivedAt,
    ...(a.dedup_key === undefined ? {} : { identity: ['webhook', app, a.dedup_key, a.observed_at ?? null] }),
  });
  return { signals: [signal], hints: [] };
}
