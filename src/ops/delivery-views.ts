import { FirebreakError } from '../core/errors.js';
import type { DeliveryAttempt, DeliveryKind, DeliveryStatus } from '../store/port.js';
import type { OpsContext } from './context.js';
import { listDeliveries } from './deliveries.js';
import { getIncident } from './incidents.js';

/**
 * Channel deliveries as the API and CLI show them (issue 5 item 8, "failures visible on the
 * incident"): the outbox rows of ops/deliveries.ts `listDeliveries`, newest first, each with its attempt
 * log, without the payload (the message as sent is the channel's business; what it was about is on the
 * incident's timeline). Filters arrive as text and are checked here, each error naming its field.
 */
export const deliveryStatuses: readonly DeliveryStatus[] = ['pending', 'sent', 'failed'];
export const DEFAULT_DELIVERY_LIMIT = 100;
export const MAX_DELIVERY_LIMIT = 1000;

export interface DeliveryListItem {
  readonly id: string;
  readonly channel: string;
  readonly channelType: string;
  readonly incident: string | null;
  readonly kind: DeliveryKind;
  readonly status: DeliveryStatus;
  /** Attempts made so far. */
  readonly attempts: number;
  /** When the next attempt is due (pending), else null. */
  readonly nextAttemptAt: number | null;
  /** The HTTP status of the last attempt (null: no attempt yet, or no response). */
  readonly lastStatus: number | null;
  readonly lastError: string | null;
  readonly createdAt: number;
  readonly firstAttemptAt: number | null;
  readonly sentAt: number | null;
  /** Every attempt, oldest first. */
  readonly attemptLog: readonly DeliveryAttempt[];
}

export interface DeliveryList {
  readonly data: readonly DeliveryListItem[];
}

const fields = ['status', 'channel', 'limit'] as const;

function invalid(path: string, message: string): FirebreakError {
  return new FirebreakError('validation_failed', `${path}: ${message}`, { path });
}

interface Checked {
  status?: DeliveryStatus;
  channel?: string;
  limit: number;
}

/** Checks `{status?, channel?, limit?}` as it came (query string text, or numbers from code). */
export function parseDeliveryFilter(ctx: OpsContext, input: unknown, extra: readonly string[] = []): Checked {
  if (input === undefined || input === null) return { limit: DEFAULT_DELIVERY_LIMIT };
  if (typeof input !== 'object' || Array.isArray(input))
    throw new FirebreakError('validation_failed', 'the delivery filter must be an object');
  const allowed = [...fields, ...extra];
  const q = input as Record<string, unknown>;
  const unknownField = Object.keys(q).find((k) => q[k] !== undefined && !allowed.includes(k));
  if (unknownField !== undefined)
    throw invalid(unknownField, `unknown field (allowed: ${allowed.join(', ')})`);
  const out: Checked = { limit: DEFAULT_DELIVERY_LIMIT };

  const status = q['status'];
  if (status !== undefined) {
    const found = deliveryStatuses.find((s) => s === status);
    if (found === undefined)
      throw invalid(
        'status',
        `${JSON.stringify(status)} is not a delivery status (${deliveryStatuses.join(', ')})`,
      );
    out.status = found;
  }

  const channel = q['channel'];
  if (channel !== undefined) {
    const known = Object.keys(ctx.config.channels);
    if (typeof channel !== 'string' || !Object.hasOwn(ctx.config.channels, channel))
      throw invalid(
        'channel',
        `unknown channel ${JSON.stringify(channel)} (configured: ${known.length ? known.join(', ') : 'none'})`,
      );
    out.channel = channel;
  }

  const limit = q['limit'];
  if (limit !== undefined) {
    const n =
      typeof limit === 'number'
        ? limit
        : typeof limit === 'string' && /^\d{1,9}$/.test(limit)
          ? Number(limit)
          : NaN;
    if (!Number.isInteger(n) || n < 1 || n > MAX_DELIVERY_LIMIT)
      throw invalid(
        'limit',
        `${JSON.stringify(limit)} is not a whole number from 1 to ${MAX_DELIVERY_LIMIT}`,
      );
    out.limit = n;
  }
  return out;
}

async function list(ctx: OpsContext, f: Checked, incident?: string): Promise<DeliveryList> {
  const rows = await listDeliveries(ctx, {
    ...(incident !== undefined ? { incident } : {}),
    ...(f.channel !== undefined ? { channel: f.channel } : {}),
    ...(f.status !== undefined ? { status: f.status } : {}),
    limit: f.limit,
  });
  return {
    data: rows.map((d) => ({
      id: d.id,
      channel: d.channel,
      channelType: d.channelType,
      incident: d.incident,
      kind: d.kind,
      status: d.status,
      attempts: d.attempts,
      nextAttemptAt: d.nextAttemptAt,
      lastStatus: d.lastStatus,
      lastError: d.lastError,
      createdAt: d.createdAt,
      firstAttemptAt: d.firstAttemptAt,
      sentAt: d.sentAt,
      attemptLog: d.attemptLog,
    })),
  };
}

/**
 * The deliveries about one incident, newest first (at most `limit`, default 100). not_found when the
 * incident does not exist (an existing incident with no delivery is an empty list).
 */
export async function incidentDeliveries(
  ctx: OpsContext,
  id: string,
  filter?: unknown,
): Promise<DeliveryList & { incident: string }> {
  const f = parseDeliveryFilter(ctx, filter);
  const v = await getIncident(ctx, id);
  return { incident: v.id, ...(await list(ctx, f, v.id)) };
}

/** Deliveries across incidents (`status=failed` to see what did not go out), newest first. */
export async function searchDeliveries(ctx: OpsContext, filter?: unknown): Promise<DeliveryList> {
  const f = parseDeliveryFilter(ctx, filter, ['incident']);
  const incident = (filter as Record<string, unknown> | undefined)?.['incident'];
  if (incident !== undefined) {
    if (typeof incident !== 'string') throw invalid('incident', 'must be an incident id such as INC-7');
    return incidentDeliveries(ctx, incident, { ...f });
  }
  return list(ctx, f);
}
