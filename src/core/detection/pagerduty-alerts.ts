import { validatePagerDutyEvent } from '../channels/pagerduty.js';
import { buildSignal } from './signal.js';
import {
  appFor,
  classFromText,
  invalid,
  parseIsoTime,
  severityFromText,
  type ExternalAlertOptions,
  type ExternalAlerts,
} from './external-alerts.js';

/**
 * A PagerDuty Events API v2 event received as an alert (`POST /api/signals/pagerduty`): tools that can
 * page PagerDuty can point the same integration at Firebreak. Checked against the documented shape by
 * the same validator Firebreak's own pages pass (channels/pagerduty.ts).
 *
 * - `trigger` → one signal. App: the URL's, else `payload.component` (what Firebreak's own trigger
 *   puts there). Severity: critical → SEV1, error → SEV2, warning → SEV3, info → SEV4. `payload.class` is the
 *   alert's name (`match.alert`), and its incident class too when it is one. `dedup_key` is the signal's
 *   external key, so a later resolve finds it; a re-sent trigger is the same signal.
 * - `acknowledge`, `resolve` → a hint naming the dedup_key; the caller decides what that means for the
 *   incident (Firebreak does not resolve incidents on another system's word, but can note it).
 */
export function parsePagerDutyAlert(body: unknown, opts: ExternalAlertOptions): ExternalAlerts {
  const what = 'PagerDuty event';
  const event = validatePagerDutyEvent(body);
  if (event.event_action !== 'trigger') {
    const app = opts.app ?? null;
    return { signals: [], hints: [{ action: event.event_action, externalKey: event.dedup_key, app }] };
  }
  const p = event.payload;
  const app = appFor(what, p.component, opts, 'payload.component');
  let observedAt = opts.receivedAt;
  if (p.timestamp !== undefined) {
    const at = parseIsoTime(p.timestamp);
    if (at === undefined)
      throw invalid(
        `${what}: payload.timestamp: "${p.timestamp}" is not a valid date-time`,
        'payload.timestamp',
      );
    observedAt = at;
  }
  const signal = buildSignal({
    source: 'external',
    app,
    env: opts.env,
    class: classFromText(p.class),
    severity: severityFromText(p.severity),
    alert: p.class,
    externalKey: event.dedup_key,
    title: p.summary,
    details: {
      sender: 'pagerduty',
      source: p.source,
      ...(p.group !== undefined ? { group: p.group } : {}),
      ...(p.custom_details !== undefined ? { custom_details: p.custom_details } : {}),
      ...(event.client !== undefined ? { client: event.client } : {}),
      ...(event.client_url !== undefined ? { client_url: event.client_url } : {}),
    },
    observedAt,
    receivedAt: opts.receivedAt,
    ...(event.dedup_key === undefined
      ? {}
      : { identity: ['pagerduty', app, event.dedup_key, p.timestamp ?? null] }),
  });
  return { signals: [signal], hints: [] };
}
