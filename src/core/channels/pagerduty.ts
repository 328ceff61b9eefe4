import { z } from 'zod';
import type { Incident, Severity } from '../incidents/incident.js';
import { FirebreakError } from '../errors.js';
import { parseWith } from '../validation.js';
import { truncate } from './truncate.js';

/**
 * PagerDuty Events API v2 (developer.pagerduty.com, "Send an Alert Event"): POST to
 * https://events.pagerduty.com/v2/enqueue. One incident is one alert, keyed by `dedup_key`, which is
 * what lets `acknowledge` and `resolve` find the alert the `trigger` opened (and makes a re-sent trigger
 * a no-op rather than a second page). PagerDuty answers 202 on success, 400 for an invalid event (do not
 * retry), 429 and 5xx (retry later: retry.ts).
 */
export const PAGERDUTY_EVENTS_URL = 'https://events.pagerduty.com/v2/enqueue';

export const pagerDutySeverities = ['critical', 'error', 'warning', 'info'] as const;
export type PagerDutySeverity = (typeof pagerDutySeverities)[number];

/** SEV1 worst ↔ critical worst. Untriaged counts as critical: when unsure, the higher severity (product.md §1). */
export const pagerDutySeverityOf: Readonly<Record<Severity, PagerDutySeverity>> = {
  SEV1: 'critical',
  SEV2: 'error',
  SEV3: 'warning',
  SEV4: 'info',
};

/** Documented limits: summary 1024 characters, dedup_key 255, whole event 512 KB. */
export const PAGERDUTY_LIMITS = { summary: 1024, dedupKey: 255, eventBytes: 512 * 1024 } as const;

export interface PagerDutyPayload {
  readonly summary: string;
  readonly source: string;
  readonly severity: PagerDutySeverity;
  readonly timestamp?: string;
  readonly component?: string;
  readonly group?: string;
  readonly class?: string;
  readonly custom_details?: Readonly<Record<string, unknown>>;
}

export interface PagerDutyLink {
  readonly href: string;
  readonly text?: string;
}

export interface PagerDutyTrigger {
  readonly routing_key: string;
  readonly event_action: 'trigger';
  readonly dedup_key?: string;
  readonly payload: PagerDutyPayload;
  readonly client?: string;
  readonly client_url?: string;
  readonly links?: readonly PagerDutyLink[];
  readonly images?: readonly { readonly src: string; readonly href?: string; readonly alt?: string }[];
}

export interface PagerDutyFollowUp {
  readonly routing_key: string;
  readonly event_action: 'acknowledge' | 'resolve';
  readonly dedup_key: string;
}

export type PagerDutyEvent = PagerDutyTrigger | PagerDutyFollowUp;

/**
 * One alert per incident: `firebreak:INC-7`. The prefix should name the installation when several
 * Firebreaks send to one PagerDuty service, since each numbers its incidents from 1.
 */
export function pagerDutyDedupKey(incidentId: string, prefix = 'firebreak'): string {
  return truncate(`${prefix}:${incidentId}`, PAGERDUTY_LIMITS.dedupKey);
}

export interface PagerDutyTriggerArgs {
  readonly routingKey: string;
  /** When Firebreak detected (or re-paged); becomes `payload.timestamp`. */
  readonly at: number;
  /** Link to the incident in the console. */
  readonly url?: string;
  readonly dedupPrefix?: string;
  /** Extra fields for `custom_details` (the finding, the trace, who is on call…). */
  readonly details?: Readonly<Record<string, unknown>>;
}

export function pagerDutyTrigger(incident: Incident, args: PagerDutyTriggerArgs): PagerDutyTrigger {
  const severity = incident.severity ?? 'SEV1';
  const summary = `[${incident.severity ?? 'untriaged'} ${incident.class ?? 'unclassified'}] ${incident.id} ${incident.app}: ${incident.title}`;
  const event: PagerDutyTrigger = {
    routing_key: args.routingKey,
    event_action: 'trigger',
    dedup_key: pagerDutyDedupKey(incident.id, args.dedupPrefix),
    payload: {
      summary: truncate(summary, PAGERDUTY_LIMITS.summary),
      // "The unique location of the affected system": the app and environment behind the gateway.
      source: incident.env === null ? incident.app : `${incident.app}/${incident.env}`,
      severity: pagerDutySeverityOf[severity],
      timestamp: new Date(args.at).toISOString(),
      component: incident.app,
      group: incident.env ?? incident.app,
      class: incident.class ?? 'unclassified',
      custom_details: {
        ...args.details,
        incident: incident.id,
        title: incident.title,
        status: incident.status,
        severity: incident.severity,
        class: incident.class,
        commander: incident.commander,
        detected_at: new Date(incident.detectedAt).toISOString(),
      },
    },
    client: 'Firebreak',
    ...(args.url === undefined
      ? {}
      : { client_url: args.url, links: [{ href: args.url, text: `${incident.id} in Firebreak` }] }),
  };
  return validatePagerDutyEvent(event) as PagerDutyTrigger;
}

export interface PagerDutyFollowUpArgs {
  readonly routingKey: string;
  readonly dedupPrefix?: string;
}

/** Someone is working on it: PagerDuty stops notifying (sent when a page is acknowledged in Firebreak). */
export function pagerDutyAcknowledge(incident: Incident, args: PagerDutyFollowUpArgs): PagerDutyFollowUp {
  return {
    routing_key: args.routingKey,
    event_action: 'acknowledge',
    dedup_key: pagerDutyDedupKey(incident.id, args.dedupPrefix),
  };
}

/** The alert is over (sent when the incident is resolved). */
export function pagerDutyResolve(incident: Incident, args: PagerDutyFollowUpArgs): PagerDutyFollowUp {
  return {
    routing_key: args.routingKey,
    event_action: 'resolve',
    dedup_key: pagerDutyDedupKey(incident.id, args.dedupPrefix),
  };
}

// An ISO 8601 date-time; PagerDuty's own example writes the offset without a colon (+0000).
const isoTimestamp = z
  .string()
  .regex(
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/,
    'must be an ISO 8601 date-time',
  );

// The routing key is documented as the 32-character integration key; any non-blank string is accepted
// because test receivers and PagerDuty-compatible tools use other forms, and PagerDuty itself is the
// judge of whether a key exists.
const routingKey = z.string().trim().min(1, 'is required');
const dedupKey = z.string().min(1).max(PAGERDUTY_LIMITS.dedupKey);

const payloadSchema = z.object({
  summary: z.string().trim().min(1, 'is required').max(PAGERDUTY_LIMITS.summary),
  source: z.string().trim().min(1, 'is required'),
  severity: z.enum(pagerDutySeverities),
  timestamp: isoTimestamp.optional(),
  component: z.string().optional(),
  group: z.string().optional(),
  class: z.string().optional(),
  custom_details: z.record(z.string(), z.unknown()).optional(),
});

const eventSchema = z.discriminatedUnion('event_action', [
  z.object({
    routing_key: routingKey,
    event_action: z.literal('trigger'),
    dedup_key: dedupKey.optional(),
    payload: payloadSchema,
    client: z.string().optional(),
    client_url: z.string().optional(),
    links: z.array(z.object({ href: z.string().min(1), text: z.string().optional() })).optional(),
    images: z
      .array(z.object({ src: z.string().min(1), href: z.string().optional(), alt: z.string().optional() }))
      .optional(),
  }),
  // Acknowledge and resolve name the alert by dedup_key; without it they would match nothing.
  z.object({ routing_key: routingKey, event_action: z.literal('acknowledge'), dedup_key: dedupKey }),
  z.object({ routing_key: routingKey, event_action: z.literal('resolve'), dedup_key: dedupKey }),
]);

/**
 * Checks a value against the documented event shape; returns it with unknown fields dropped or throws a
 * validation_failed naming the field. Used on what Firebreak sends, and on PagerDuty-format alerts it
 * receives as signals.
 */
export function validatePagerDutyEvent(value: unknown): PagerDutyEvent {
  const event = parseWith(eventSchema, value, 'PagerDuty event') as PagerDutyEvent;
  const bytes = new TextEncoder().encode(JSON.stringify(event)).length;
  if (bytes > PAGERDUTY_LIMITS.eventBytes)
    throw new FirebreakError(
      'validation_failed',
      `PagerDuty event: ${bytes} bytes is over the 512 KB limit (shorten custom_details)`,
      { path: 'payload.custom_details' },
    );
  return event;
}
