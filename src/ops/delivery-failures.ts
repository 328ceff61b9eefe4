import type { Delivery, DeliveryAttempt } from '../store/port.js';
import type { OpsContext } from './context.js';
import { appendIncidentEvents } from './incidents.js';

/**
 * Puts a channel's failure on the incident's timeline ("failures visible on the incident"): the first
 * failed attempt (with when the next one is due) and the final failure, not every retry in between,
 * which the delivery's own attempt log keeps (`firebreak incident deliveries`).
 */
export async function recordDeliveryFailure(
  ctx: OpsContext,
  delivery: Delivery,
  attempt: DeliveryAttempt,
): Promise<boolean> {
  if (delivery.incident === null || attempt.outcome === 'sent') return false;
  if (attempt.outcome === 'retry' && attempt.attempt > 1) return false;
  const actor = `channel:${delivery.channel}`;
  await appendIncidentEvents(ctx, {
    id: delivery.incident,
    actor,
    events: [
      {
        type: 'delivery_failed',
        at: attempt.at,
        actor,
        delivery: delivery.id,
        channel: delivery.channel,
        attempt: attempt.attempt,
        error: attempt.error ?? `HTTP ${String(attempt.httpStatus)}`,
        nextAttemptAt: attempt.nextAttemptAt,
      },
    ],
  });
  return true;
}
