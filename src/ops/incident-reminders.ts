import { lastInternalUpdateAt, nextUpdateDue } from '../core/incidents/cadence.js';
import { deadlines, reminderEvent, reminders } from '../core/incidents/compliance-clocks.js';
import { FirebreakError } from '../core/errors.js';
import type { TimelineEvent } from '../core/incidents/timeline.js';
import type { ControlTx, IncidentRecord } from '../store/port.js';
import type { OpsContext } from './context.js';
import { changeIncident, commitChange } from './incident-change.js';
import { cadenceOf, nextClockReminder, type IncidentReminderPayload } from './incident-outbox.js';

/**
 * The `incident-reminder` timer's work (armed by ops/incident-outbox.ts): adds the reminders that are
 * due and not yet on the incident's timeline, which the outbox then posts to the internal channels.
 * The check and the append are one change (the control lock serialises it with every other incident
 * change), so a run repeated after a crash, a timer that fires late, or a resolve racing the reminder
 * adds nothing twice and nothing after the obligation ended. Returns when to run again (null: nothing
 * more to remind of).
 */
function isPayload(value: unknown): value is IncidentReminderPayload {
  if (value === null || typeof value !== 'object') return false;
  const p = value as Record<string, unknown>;
  return typeof p['incident'] === 'string' && (p['topic'] === 'update' || p['topic'] === 'clocks');
}

interface Plan {
  readonly events: readonly TimelineEvent[];
  readonly next: number | null;
}

/** Overdue internal update: one `update_overdue` per interval past the due time until one is posted. */
function planUpdate(
  ctx: OpsContext,
  incident: IncidentRecord,
  timeline: readonly TimelineEvent[],
  now: number,
): Plan {
  const cadence = cadenceOf(ctx.config);
  const due = nextUpdateDue(incident, lastInternalUpdateAt(timeline), cadence);
  const interval = incident.severity === null ? null : cadence[incident.severity];
  if (due === null || interval === null) return { events: [], next: null };
  if (now < due) return { events: [], next: due };
  const reminder = 1 + Math.floor((now - due) / interval);
  const already = timeline.some(
    (e) => e.type === 'update_overdue' && e.dueAt === due && e.reminder === reminder,
  );
  const event: TimelineEvent = { type: 'update_overdue', at: now, actor: 'system', dueAt: due, reminder };
  return { events: already ? [] : [event], next: due + reminder * interval };
}

/** Compliance clocks: each reminder (50 %, 75 %, 90 %, deadline) once, in order. */
function planClocks(incident: IncidentRecord, timeline: readonly TimelineEvent[], now: number): Plan {
  if (incident.compliance === null || incident.status === 'closed') return { events: [], next: null };
  const fired = (e: TimelineEvent) =>
    timeline.some(
      (t) =>
        (t.type === 'clock_reminder' &&
          e.type === 'clock_reminder' &&
          t.clock === e.clock &&
          t.dueAt === e.dueAt &&
          t.reminder === e.reminder) ||
        (t.type === 'clock_due' && e.type === 'clock_due' && t.clock === e.clock && t.dueAt === e.dueAt),
    );
  const events = deadlines(incident.compliance.flags, incident.compliance.awareAt)
    .flatMap((d) => reminders(d, now))
    .map((r): TimelineEvent => ({ ...reminderEvent(r), at: now }))
    .filter((e) => !fired(e));
  return { events, next: nextClockReminder(incident, now) };
}

export async function runIncidentReminder(ctx: OpsContext, payload: unknown): Promise<number | null> {
  if (!isPayload(payload)) return null;
  let next: number | null = null;
  try {
    await changeIncident(ctx, payload.incident, async (tx: ControlTx, incident, now) => {
      const timeline = (await tx.incidents.timeline(incident.id)).map((e) => e.event);
      const plan =
        payload.topic === 'update'
          ? planUpdate(ctx, incident, timeline, now)
          : planClocks(incident, timeline, now);
      next = plan.next;
      if (plan.events.length === 0) tx.unchanged(null);
      return commitChange(
        ctx,
        tx,
        incident,
        { incident, events: plan.events },
        { actor: 'system', action: 'remind', at: now },
      );
    });
  } catch (error) {
    if (error instanceof FirebreakError && error.code === 'not_found') return null;
    throw error; // the store: the scheduler retries
  }
  return next;
}
