import type { Kysely, Selectable } from 'kysely';
import type {
  ChannelType,
  Delivery,
  DeliveryAttempt,
  DeliveryKind,
  DeliveryStatus,
  DeliveryStore,
  NewDelivery,
} from './port.js';
import type { Database, DeliveriesTable, DeliveryAttemptsTable } from './schema.js';
import { scheduleTimerRow } from './timer-queries.js';

/**
 * The channel outbox. A delivery row and the `delivery` timer that sends it are written together, so a
 * message accepted is a message that will be tried, whatever happens to the process afterwards.
 */
export const DELIVERY_TIMER_KIND = 'delivery';
export const deliveryTimerKey = (id: string): string => `delivery:${id}`;
/** The timer's payload: which delivery to send. */
export interface DeliveryTimerPayload {
  readonly delivery: string;
}

const pick = <T extends string>(values: readonly T[], s: string, fallback: T): T =>
  values.find((v) => v === s) ?? fallback;

export const toDelivery = (r: Selectable<DeliveriesTable>): Delivery => ({
  id: r.id,
  channel: r.channel,
  channelType: pick<ChannelType>(['webhook', 'slack', 'pagerduty'], r.channel_type, 'webhook'),
  incident: r.incident,
  kind: pick<DeliveryKind>(['trigger', 'acknowledge', 'resolve', 'update'], r.kind, 'update'),
  payload: JSON.parse(r.payload) as unknown,
  status: pick<DeliveryStatus>(['pending', 'sent', 'failed'], r.status, 'failed'),
  attempts: r.attempts,
  nextAttemptAt: r.next_attempt_at,
  lastStatus: r.last_status,
  lastError: r.last_error,
  firstAttemptAt: r.first_attempt_at,
  createdAt: r.created_at,
  sentAt: r.sent_at,
});

const toAttempt = (r: Selectable<DeliveryAttemptsTable>): DeliveryAttempt => ({
  attempt: r.attempt,
  at: r.at,
  durationMs: r.duration_ms,
  httpStatus: r.http_status,
  outcome: pick<DeliveryAttempt['outcome']>(['sent', 'retry', 'failed'], r.outcome, 'failed'),
  error: r.error,
  nextAttemptAt: r.next_attempt_at,
});

/**
 * Writes the delivery and the `delivery` timer that sends it (due now) on `db`, which must be a
 * transaction (DeliveryStore.enqueue opens one; an incident change passes its own, so the message
 * commits with the event it is about).
 */
export async function insertDelivery(db: Kysely<Database>, d: NewDelivery): Promise<Delivery> {
  const row: DeliveriesTable = {
    id: d.id,
    channel: d.channel,
    channel_type: d.channelType,
    incident: d.incident,
    kind: d.kind,
    payload: JSON.stringify(d.payload),
    status: 'pending',
    attempts: 0,
    next_attempt_at: d.createdAt,
    last_status: null,
    last_error: null,
    first_attempt_at: null,
    created_at: d.createdAt,
    sent_at: null,
  };
  await db.insertInto('deliveries').values(row).execute();
  const payload: DeliveryTimerPayload = { delivery: d.id };
  await scheduleTimerRow(
    db,
    { kind: DELIVERY_TIMER_KIND, key: deliveryTimerKey(d.id), dueAt: d.createdAt, payload },
    d.createdAt,
  );
  return toDelivery(row);
}

export function deliveryQueries(db: Kysely<Database>): DeliveryStore {
  return {
    async enqueue(d) {
      return db.transaction().execute((trx) => insertDelivery(trx, d));
    },
    async get(id) {
      const r = await db.selectFrom('deliveries').selectAll().where('id', '=', id).executeTakeFirst();
      return r && toDelivery(r);
    },
    async list(f) {
      let q = db.selectFrom('deliveries').selectAll();
      if (f.incident !== undefined) q = q.where('incident', '=', f.incident);
      if (f.channel !== undefined) q = q.where('channel', '=', f.channel);
      if (f.status !== undefined) q = q.where('status', '=', f.status);
      const rows = await q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(f.limit).execute();
      return rows.map(toDelivery);
    },
    async pendingBefore(d) {
      if (d.incident === null) return undefined;
      const r = await db
        .selectFrom('deliveries')
        .selectAll()
        .where('incident', '=', d.incident)
        .where('channel', '=', d.channel)
        .where('status', '=', 'pending')
        .where('id', '<', d.id)
        .orderBy('id')
        .limit(1)
        .executeTakeFirst();
      return r && toDelivery(r);
    },
    async attempts(ids) {
      const out = new Map<string, DeliveryAttempt[]>();
      if (ids.length === 0) return out;
      const rows = await db
        .selectFrom('delivery_attempts')
        .selectAll()
        .where('delivery_id', 'in', ids)
        .orderBy('delivery_id')
        .orderBy('attempt')
        .execute();
      for (const r of rows) {
        const list = out.get(r.delivery_id) ?? [];
        list.push(toAttempt(r));
        out.set(r.delivery_id, list);
      }
      return out;
    },
    async recordAttempt(id, a) {
      const status: DeliveryStatus =
        a.outcome === 'sent' ? 'sent' : a.outcome === 'failed' ? 'failed' : 'pending';
      return db.transaction().execute(async (trx) => {
        // Fenced on the attempt number: a replica that took the send over after a lost lease and this
        // one cannot both record attempt n (the second finds attempts already at n and writes nothing).
        const r = await trx
          .updateTable('deliveries')
          .set((eb) => ({
            status,
            attempts: a.attempt,
            next_attempt_at: a.nextAttemptAt,
            last_status: a.httpStatus,
            last_error: a.error,
            first_attempt_at: eb.fn.coalesce('first_attempt_at', eb.val(a.at)),
            sent_at: a.outcome === 'sent' ? a.at : null,
          }))
          .where('id', '=', id)
          .where('status', '=', 'pending')
          .where('attempts', '=', a.attempt - 1)
          .executeTakeFirst();
        if (Number(r.numUpdatedRows) !== 1) return false;
        await trx
          .insertInto('delivery_attempts')
          .values({
            delivery_id: id,
            attempt: a.attempt,
            at: a.at,
            duration_ms: Math.max(0, Math.round(a.durationMs)),
            http_status: a.httpStatus,
            outcome: a.outcome,
            error: a.error,
            next_attempt_at: a.nextAttemptAt,
          })
          .execute();
        return true;
      });
    },
  };
}
