import { randomBytes } from 'node:crypto';
import {
  pagerDutyAcknowledge,
  pagerDutyResolve,
  pagerDutyTrigger,
  type PagerDutyEvent,
} from '../core/channels/pagerduty.js';
import { slackMessage } from '../core/channels/slack.js';
import { webhookEnvelope } from '../core/channels/webhook.js';
import type { ChannelConfig } from '../core/config.js';
import { FirebreakError } from '../core/errors.js';
import type { Incident } from '../core/incidents/incident.js';
import { describeEvent, type TimelineEvent } from '../core/incidents/timeline.js';
import type { Delivery, DeliveryAttempt, DeliveryKind, DeliveryStatus, NewDelivery } from '../store/port.js';
import type { OpsContext } from './context.js';

/**
 * Channel deliveries (issue 5 item 8): `enqueueDelivery` builds the message for the channel's type with
 * the core builders and puts it in the outbox with a `delivery` timer due now; a control replica's
 * scheduler sends it (server/deliveries.ts), retrying with backoff. Enqueueing is one store write and
 * sends nothing, so it never waits on a receiver; still, call it from incident operations and
 * background work, not from the gateway's request path.
 *
 * What each type gets:
 *  - webhook: the signed JSON envelope of the timeline event (core/channels/webhook.ts); the signature
 *    (`X-Firebreak-Signature: t=…,v1=…`, HMAC-SHA256 with the channel's secret) is made per attempt;
 *  - slack: `{text, blocks}` for the incident, with the event's line (or an update's text) as body;
 *  - pagerduty: Events API v2 `trigger`, `acknowledge` or `resolve` with `dedup_key` = `firebreak:<INC>`;
 *    other events are not sent to PagerDuty (validation_failed; see `channelAccepts`).
 */
export interface EnqueueDeliveryArgs {
  /** A channel name from firebreak.yaml `channels`. */
  readonly channel: string;
  readonly incident: Incident;
  /** The timeline event the message is about. */
  readonly event: TimelineEvent;
  /** Default: from the event (`deliveryKindOf`). */
  readonly kind?: DeliveryKind;
  /** Link to the incident in the console. */
  readonly url?: string;
  /** PagerDuty trigger: extra `custom_details` (who is on call, the finding, the trace…). */
  readonly details?: Readonly<Record<string, unknown>>;
}

/**
 * A page (or an escalation of it) triggers, an acknowledgement acknowledges, resolving resolves; every
 * other event is an update.
 */
export function deliveryKindOf(event: TimelineEvent): DeliveryKind {
  switch (event.type) {
    case 'page_sent':
    case 'escalated':
      return 'trigger';
    case 'page_acknowledged':
      return 'acknowledge';
    case 'status_change':
      return event.to === 'resolved' ? 'resolve' : 'update';
    default:
      return 'update';
  }
}

/** Whether a channel of this type takes this kind (PagerDuty has no "update" event). */
export function channelAccepts(type: ChannelConfig['type'], kind: DeliveryKind): boolean {
  return type !== 'pagerduty' || kind !== 'update';
}

function channelOf(ctx: OpsContext, name: string): ChannelConfig {
  const channel = ctx.config.channels[name];
  if (!channel) {
    const known = Object.keys(ctx.config.channels);
    throw new FirebreakError(
      'not_found',
      `unknown channel "${name}" (configured: ${known.length ? known.join(', ') : 'none'})`,
      { path: 'channel' },
    );
  }
  return channel;
}

function pagerDutyPayload(
  args: EnqueueDeliveryArgs,
  kind: DeliveryKind,
  routingKey: string,
): Omit<PagerDutyEvent, 'routing_key'> {
  const event =
    kind === 'trigger'
      ? pagerDutyTrigger(args.incident, {
          routingKey,
          at: args.event.at,
          ...(args.url === undefined ? {} : { url: args.url }),
          ...(args.details === undefined ? {} : { details: args.details }),
        })
      : kind === 'acknowledge'
        ? pagerDutyAcknowledge(args.incident, { routingKey })
        : pagerDutyResolve(args.incident, { routingKey });
  // The routing key stays in the configuration (the sender adds it), not in the outbox or the API.
  const { routing_key: _key, ...rest } = event;
  return rest;
}

let sequence = 0;

/**
 * `dlv_<time><sequence><random>`: ids sort in enqueue order (the time, then a per-process counter for
 * messages enqueued in the same millisecond), which is the order deliveries about one incident are sent
 * in (DeliveryStore.pendingBefore). The random part keeps replicas' ids apart.
 */
function deliveryId(createdAt: number): string {
  sequence = (sequence + 1) % 36 ** 4;
  const time = Math.max(0, Math.trunc(createdAt)).toString(36).padStart(9, '0');
  return `dlv_${time}${sequence.toString(36).padStart(4, '0')}${randomBytes(5).toString('hex')}`;
}

/** Builds the message for the channel (validated, id assigned), ready for an outbox. */
export function buildDelivery(ctx: OpsContext, args: EnqueueDeliveryArgs): NewDelivery {
  const channel = channelOf(ctx, args.channel);
  const kind = args.kind ?? deliveryKindOf(args.event);
  if (!channelAccepts(channel.type, kind))
    throw new FirebreakError(
      'validation_failed',
      `channel "${args.channel}" is PagerDuty, which takes trigger, acknowledge and resolve, not ${kind} (event ${args.event.type})`,
      { path: 'kind' },
    );
  const createdAt = ctx.now();
  const id = deliveryId(createdAt);
  const url = args.url === undefined ? {} : { url: args.url };
  let payload: unknown;
  switch (channel.type) {
    case 'webhook':
      payload = webhookEnvelope({ delivery: id, incident: args.incident, event: args.event, ...url });
      break;
    case 'slack': {
      const body = args.event.type === 'update_posted' ? args.event.text : describeEvent(args.event);
      payload = slackMessage(args.incident, { at: args.event.at, body, ...url });
      break;
    }
    case 'pagerduty':
      payload = pagerDutyPayload(args, kind, channel.routingKey);
      break;
  }
  return {
    id,
    channel: args.channel,
    channelType: channel.type,
    incident: args.incident.id,
    kind,
    payload,
    createdAt,
  };
}

/** Builds the message for the channel and puts it in the outbox; returns the pending delivery. */
export async function enqueueDelivery(ctx: OpsContext, args: EnqueueDeliveryArgs): Promise<Delivery> {
  return ctx.store.deliveries.enqueue(buildDelivery(ctx, args));
}

/** A delivery with every attempt made so far, oldest first. */
export interface DeliveryView extends Delivery {
  readonly attemptLog: readonly DeliveryAttempt[];
}

/** Deliveries, newest first, each with its attempts ("failures visible on the incident"). */
export async function listDeliveries(
  ctx: OpsContext,
  args: {
    incident?: string | undefined;
    channel?: string | undefined;
    status?: DeliveryStatus | undefined;
    limit?: number | undefined;
  } = {},
): Promise<DeliveryView[]> {
  const limit = args.limit ?? 100;
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
    throw new FirebreakError('validation_failed', 'limit must be a whole number from 1 to 1000', {
      path: 'limit',
    });
  const rows = await ctx.store.deliveries.list({
    ...(args.incident === undefined ? {} : { incident: args.incident }),
    ...(args.channel === undefined ? {} : { channel: args.channel }),
    ...(args.status === undefined ? {} : { status: args.status }),
    limit,
  });
  const attempts = await ctx.store.deliveries.attempts(rows.map((d) => d.id));
  return rows.map((d) => ({ ...d, attemptLog: attempts.get(d.id) ?? [] }));
}
