import { reminderEvent, reminders } from '../core/incidents/compliance-clocks.js';
import type { TimelineEvent } from '../core/incidents/timeline.js';
import { FirebreakError } from '../core/errors.js';
import type { OpsContext } from './context.js';
import { cadenceOf, nextClockReminder, type IncidentReminderPayload } from './incident-outbox.js';
import { appendIncidentEvents, getIncident, type IncidentView } from './incidents.js';

/**
 * The `incident-reminder` timer's work (armed by ops/incident-outbox.ts): reads the incident as it
 * stands and adds the reminders that are due and not yet on its timeline, which the outbox then posts
 * to the internal channels. Idempotent: a run repeated after a crash, or a timer that fires late, adds
 * only what is missing. Returns when to run again (null: nothing more to remind of).
 */
function isPayload(value: unknown): value is IncidentReminderPayload {
  if (value === null || typeof value !== 'object') return false;
  const p = value as Record<string, unknown>;
  return typeof p['incident'] === 'string' && (p['topic'] === 'update' || p['topic'] === 'clocks');
}

/** Overdue internal update: one `update_overdue` per interval past the due time until one is posted. */
async function remindUpdate(ctx: OpsContext, incident: IncidentView, now: number): Promise<number | null> {
  const due = incident.updates.nextDueAt;
  const interval = incident.severity === null ? null : cadenceOf(ctx.config)[incident.severity];
  if (due === null || interval === null) return null;
  if (now < due) return due;
  const reminder = 1 + Math.floor((now - due) / interval);
  const already = incident.timeline.some(
    (e) => e.type === 'update_overdue' && e.dueAt === due && e.reminder === reminder,
  );
  if (!already)
    await appendIncidentEvents(ctx, {
      id: incident.id,
      actor: 'system',
      events: [{ type: 'update_overdue', at: now, actor: 'system', dueAt: due, reminder }],
    });
  return due + reminder * interval;
}

/** Compliance clocks: each reminder (50 %, 75 %, 90 %, deadline) once, in order. */
async function remindClocks(ctx: OpsContext, incident: IncidentView, now: number): Promise<number | null> {
  if (incident.compliance === null || incident.status === 'closed') return null;
  const fired = (e: TimelineEvent) =>
    incident.timeline.some(
      (t) =>
        (t.type === 'clock_reminder' &&
          e.type === 'clock_reminder' &&
          t.clock === e.clock &&
          t.dueAt === e.dueAt &&
          t.reminder === e.reminder) ||
        (t.type === 'clock_due' && e.type === 'clock_due' && t.clock === e.clock && t.dueAt === e.dueAt),
    );
  const events = incident.deadlines
    .flatMap((d) => reminders(d, now))
    .map((r) => ({ ...reminderEvent(r), at: now }))
    .filter((e) => !fired(e));
  if (events.length > 0) await appendIncidentEvents(ctx, { id: incident.id, actor: 'system', events });
  return nextClockReminder(incident, now);
}

export async function runIncidentReminder(ctx: OpsContext, payload: unknown): Promise<number | null> {
  if (!isPayload(payload)) return null;
  let incident: IncidentView;
  try {
    incident = await getIncident(ctx, payload.incident);
  } catch (error) {
    if (error instanceof FirebreakError && error.code === 'not_found') return null;
    throw error; // the store: the scheduler retries
  }
  const now = ctx.now();
  return payload.topic === 'update' ? remindUpdate(ctx, incident, now) : remindClocks(ctx, incident, now);
}
