import {
  lastInternalUpdateAt,
  nextUpdateDue,
  resolveCadence,
  type UpdateCadence,
} from '../core/incidents/cadence.js';
import { reminderSchedule, deadlines } from '../core/incidents/compliance-clocks.js';
import type { TimelineEvent, TimelineEventType, UpdateAudience } from '../core/incidents/timeline.js';
import type { FirebreakConfig } from '../core/config.js';
import type { ControlTx, IncidentRecord } from '../store/port.js';
import type { OpsContext } from './context.js';
import { buildDelivery, channelAccepts } from './deliveries.js';

/**
 * What an incident change sends and schedules (issue 5 items 6, 8, 9), written in the change's own
 * transaction (ControlTx.outbox) so a change and its messages and reminders commit together or not at
 * all. Called by commitChange for every incident write:
 *
 * - **Channels.** An update goes to the channels named on its `update_posted` event (the audience's
 *   `incidents.channels`). Internal channels also hear about what responders act on: status changes,
 *   classification, hand-overs, containment, and the reminders below. Resolving sends `resolve` to every
 *   channel the incident was paged on (PagerDuty closes the alert by dedup key).
 * - **Reminders.** Two re-armable timers per incident, of kind `incident-reminder`: `…:update` fires
 *   when the internal update owed on the cadence is overdue (and again each interval until one is
 *   posted), `…:clocks` at each compliance reminder (50 %, 75 %, 90 % of the time, the deadline). A
 *   change that moves the due time moves the timer; one that ends the obligation cancels it. The
 *   handler (runIncidentReminder) reads the incident as it stands, so a timer that fires late or twice
 *   only adds what is missing.
 */
export const INCIDENT_REMINDER_TIMER_KIND = 'incident-reminder';

export type ReminderTopic = 'update' | 'clocks';

export interface IncidentReminderPayload {
  readonly incident: string;
  readonly topic: ReminderTopic;
}

export const reminderTimerKey = (incident: string, topic: ReminderTopic): string =>
  `incident-reminder:${incident}:${topic}`;

const MINUTE = 60_000;

/** The update cadence: `incidents.updateCadenceMinutes` over product.md's defaults. */
export function cadenceOf(config: FirebreakConfig): UpdateCadence {
  const overrides: Partial<Record<keyof UpdateCadence, number | null>> = {};
  for (const [sev, minutes] of Object.entries(config.incidents.updateCadenceMinutes))
    if (minutes !== undefined)
      overrides[sev as keyof UpdateCadence] = minutes === null ? null : minutes * MINUTE;
  return resolveCadence(overrides);
}

/** The channels an update for this audience goes to. */
export function updateChannels(config: FirebreakConfig, audience: UpdateAudience): readonly string[] {
  return config.incidents.channels[audience];
}

/** What internal channels hear about besides internal updates. */
const broadcast: ReadonlySet<TimelineEventType> = new Set<TimelineEventType>([
  'status_change',
  'classification_change',
  'role_change',
  'containment_applied',
  'containment_reverted',
  'update_overdue',
  'clock_reminder',
  'clock_due',
]);

/** The channels the incident's pages went to, in order. */
function pageChannels(timeline: readonly TimelineEvent[]): string[] {
  const out: string[] = [];
  for (const e of timeline)
    if (e.type === 'page_sent' && e.channel !== 'none' && !out.includes(e.channel)) out.push(e.channel);
  return out;
}

async function sendEvents(
  ctx: OpsContext,
  tx: ControlTx,
  incident: IncidentRecord,
  timeline: readonly TimelineEvent[],
  added: readonly TimelineEvent[],
): Promise<void> {
  const internal = updateChannels(ctx.config, 'internal');
  for (const event of added) {
    const sent = new Set<string>();
    const send = async (channel: string, kind?: 'resolve') => {
      const type = ctx.config.channels[channel]?.type;
      // A channel removed from the configuration since the page: nothing to send it to.
      if (type === undefined || sent.has(channel) || !channelAccepts(type, kind ?? 'update')) return;
      sent.add(channel);
      await tx.outbox.enqueueDelivery(
        buildDelivery(ctx, { channel, incident, event, ...(kind ? { kind } : {}) }),
      );
    };
    if (event.type === 'status_change' && event.to === 'resolved')
      for (const channel of pageChannels(timeline)) await send(channel, 'resolve');
    if (event.type === 'update_posted') for (const channel of event.channels) await send(channel);
    else if (broadcast.has(event.type)) for (const channel of internal) await send(channel);
  }
}

/** When the next internal update is due after these events (null: none owed). */
function updateDue(
  incident: IncidentRecord | null,
  timeline: readonly TimelineEvent[],
  cadence: UpdateCadence,
): number | null {
  return incident === null ? null : nextUpdateDue(incident, lastInternalUpdateAt(timeline), cadence);
}

/** The next compliance reminder after `now`, or null when none is left (or no clock runs). */
export function nextClockReminder(incident: IncidentRecord, after: number): number | null {
  if (incident.compliance === null || incident.status === 'closed') return null;
  let next: number | null = null;
  for (const d of deadlines(incident.compliance.flags, incident.compliance.awareAt))
    for (const r of reminderSchedule(d)) if (r.at > after && (next === null || r.at < next)) next = r.at;
  return next;
}

async function armReminders(
  ctx: OpsContext,
  tx: ControlTx,
  before: IncidentRecord | null,
  after: IncidentRecord,
  timeline: readonly TimelineEvent[],
  added: readonly TimelineEvent[],
  now: number,
): Promise<void> {
  const cadence = cadenceOf(ctx.config);
  const dueBefore = updateDue(before, timeline.slice(0, timeline.length - added.length), cadence);
  const dueAfter = updateDue(after, timeline, cadence);
  const arm = async (topic: ReminderTopic, at: number | null) => {
    const key = reminderTimerKey(after.id, topic);
    if (at === null) await tx.outbox.cancel(key, now);
    else {
      const payload: IncidentReminderPayload = { incident: after.id, topic };
      await tx.outbox.schedule({ kind: INCIDENT_REMINDER_TIMER_KIND, key, dueAt: at, payload }, now, {
        rearm: true,
      });
    }
  };
  if (dueBefore !== dueAfter) await arm('update', dueAfter);
  const clocksChanged =
    JSON.stringify(before?.compliance ?? null) !== JSON.stringify(after.compliance) ||
    (before?.status !== 'closed' && after.status === 'closed');
  // From the moment of awareness: flags set late fire the reminders already due at once.
  if (clocksChanged)
    await arm(
      'clocks',
      after.compliance === null || after.status === 'closed'
        ? null
        : Math.max(now, nextClockReminder(after, after.compliance.awareAt - 1) ?? now),
    );
}

/**
 * The messages and reminders of one incident change, in its transaction. `timeline` is the incident's
 * whole timeline after the change, `added` the events the change appended (its last ones).
 */
export async function followUpChange(
  ctx: OpsContext,
  tx: ControlTx,
  before: IncidentRecord | null,
  after: IncidentRecord,
  timeline: readonly TimelineEvent[],
  added: readonly TimelineEvent[],
  now: number,
): Promise<void> {
  await sendEvents(ctx, tx, after, timeline, added);
  await armReminders(ctx, tx, before, after, timeline, added, now);
}
