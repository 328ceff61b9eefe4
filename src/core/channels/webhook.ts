import { canonicalJson } from '../canonical-json.js';
import { FirebreakError } from '../errors.js';
import type { Incident } from '../incidents/incident.js';
import { describeEvent, type TimelineEvent, type TimelineEventType } from '../incidents/timeline.js';

/**
 * The generic webhook channel: a JSON envelope per timeline event, signed with HMAC-SHA256 so the
 * receiver can tell it came from this Firebreak and was not altered or replayed.
 *
 * Signature (Stripe's scheme, which receivers already know how to check):
 *   X-Firebreak-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
 * The timestamp is inside the signed text, so a receiver can refuse old deliveries (replay) by `t`.
 *
 * The HMAC itself is computed by the caller and passed in (`HmacSha256Hex`): core stays free of
 * `node:*` (eslint.config.js), and hand-written cryptography in a security product is a liability when
 * OpenSSL is one line away. The delivery layer passes
 *   (key, data) => createHmac('sha256', key).update(data).digest('hex')
 */
export const WEBHOOK_SIGNATURE_HEADER = 'x-firebreak-signature';
export const WEBHOOK_EVENT_HEADER = 'x-firebreak-event';
export const WEBHOOK_DELIVERY_HEADER = 'x-firebreak-delivery';

export type HmacSha256Hex = (key: string, data: string) => string;

/** What a receiver is told about the incident: its public fields, not a store row. */
export interface WebhookIncident {
  readonly id: string;
  readonly app: string;
  readonly env: string | null;
  readonly title: string;
  readonly status: Incident['status'];
  readonly class: Incident['class'];
  readonly severity: Incident['severity'];
  readonly commander: string | null;
  readonly communicationsLead: string | null;
  readonly detectedAt: string;
  readonly url: string | null;
}

export interface WebhookEnvelope {
  readonly version: 1;
  /** Unique per delivery (the same on every retry), so a receiver can drop duplicates. */
  readonly delivery: string;
  readonly type: `incident.${TimelineEventType}`;
  readonly occurredAt: string;
  readonly incident: WebhookIncident;
  readonly event: TimelineEvent;
  /** One human line, or the update's whole text for `incident.update_posted`. */
  readonly text: string;
}

export interface WebhookEnvelopeArgs {
  readonly delivery: string;
  readonly incident: Incident;
  readonly event: TimelineEvent;
  /** Link to the incident in the console. */
  readonly url?: string;
}

export function webhookEnvelope(args: WebhookEnvelopeArgs): WebhookEnvelope {
  const { incident, event } = args;
  return {
    version: 1,
    delivery: args.delivery,
    type: `incident.${event.type}`,
    occurredAt: new Date(event.at).toISOString(),
    incident: {
      id: incident.id,
      app: incident.app,
      env: incident.env,
      title: incident.title,
      status: incident.status,
      class: incident.class,
      severity: incident.severity,
      commander: incident.commander,
      communicationsLead: incident.communicationsLead,
      detectedAt: new Date(incident.detectedAt).toISOString(),
      url: args.url ?? null,
    },
    event,
    text: event.type === 'update_posted' ? event.text : describeEvent(event),
  };
}

/** The exact bytes sent (and signed): canonical JSON, so equal envelopes give equal bodies. */
export function webhookBody(envelope: WebhookEnvelope): string {
  return canonicalJson(envelope);
}

/** What is signed: the timestamp (unix seconds) and the body, joined by a dot. */
export function signingInput(timestampSeconds: number, body: string): string {
  return `${timestampSeconds}.${body}`;
}

const HEX_SHA256 = /^[0-9a-f]{64}$/;

export function signatureHeaderValue(timestampSeconds: number, hexDigest: string): string {
  if (!Number.isSafeInteger(timestampSeconds) || timestampSeconds < 0)
    throw new FirebreakError('internal', 'webhook signature timestamp must be whole unix seconds');
  if (!HEX_SHA256.test(hexDigest))
    throw new FirebreakError('internal', 'webhook signature must be a lowercase hex SHA-256 digest');
  return `t=${timestampSeconds},v1=${hexDigest}`;
}

export interface ParsedSignature {
  readonly timestamp: number;
  /** Every v1 signature given (more than one while a secret is being rotated). */
  readonly signatures: readonly string[];
}

/** For receivers and tests: the header's parts, or null when it is not `t=…,v1=…`. */
export function parseSignatureHeader(value: string): ParsedSignature | null {
  let timestamp: number | null = null;
  const signatures: string[] = [];
  for (const part of value.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) return null;
    const key = part.slice(0, eq).trim();
    const val = part.slice(eq + 1).trim();
    if (key === 't' && /^\d{1,12}$/.test(val)) timestamp = Number(val);
    else if (key === 'v1' && HEX_SHA256.test(val)) signatures.push(val);
  }
  return timestamp === null || signatures.length === 0 ? null : { timestamp, signatures };
}

export interface WebhookRequest {
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
}

export interface SignArgs {
  readonly secret: string;
  /** Epoch ms (the injected clock); the signature carries it in seconds. */
  readonly now: number;
  readonly hmac: HmacSha256Hex;
}

/** Body and headers of one delivery attempt (signed at send time, so each retry has a fresh `t`). */
export function webhookRequest(envelope: WebhookEnvelope, sign: SignArgs): WebhookRequest {
  if (sign.secret === '')
    throw new FirebreakError('validation_failed', 'a webhook channel needs a signing secret', {
      path: 'secret',
    });
  const body = webhookBody(envelope);
  const t = Math.floor(sign.now / 1000);
  return {
    body,
    headers: {
      'content-type': 'application/json',
      [WEBHOOK_SIGNATURE_HEADER]: signatureHeaderValue(t, sign.hmac(sign.secret, signingInput(t, body))),
      [WEBHOOK_EVENT_HEADER]: envelope.type,
      [WEBHOOK_DELIVERY_HEADER]: envelope.delivery,
    },
  };
}
