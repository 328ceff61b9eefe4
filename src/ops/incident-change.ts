import { FirebreakError } from '../core/errors.js';
import { lastInternalUpdateAt, nextUpdateDue, overdue, updatesOwed } from '../core/incidents/cadence.js';
import {
  deadlines,
  reminders,
  type Deadline,
  type ReminderKind,
} from '../core/incidents/compliance-clocks.js';
import { isIncidentId } from '../core/incidents/incident.js';
import type { Change } from '../core/incidents/lifecycle-change.js';
import { incidentMetrics, type IncidentMetrics } from '../core/incidents/metrics.js';
import { describeEvent, type TimelineEvent } from '../core/incidents/timeline.js';
import type {
  ChangeOptions,
  ContainmentRecord,
  ControlTx,
  IncidentRecord,
  TimelineEntry,
} from '../store/port.js';
import type { OpsContext } from './context.js';
import { cadenceOf, followUpChange } from './incident-outbox.js';

/**
 * What every incident operation shares: loading the incident inside the change (404 when unknown),
 * writing the core's Change (row, timeline events, audit entry) and the view the API and CLI show.
 */

/** A timeline event as shown: its place in the timeline, its fields, and `description`: one line saying what happened. */
export type TimelineItem = TimelineEvent & { readonly seq: number; readonly description: string };

export interface DeadlineView extends Deadline {
  readonly overdue: boolean;
  /** The reminders whose time has come (50%, 75%, 90%, overdue). */
  readonly remindersDue: readonly ReminderKind[];
}

export interface IncidentView extends IncidentRecord {
  readonly timeline: readonly TimelineItem[];
  /** Every containment action applied, reverted ones included, with the flags and deployment each made. */
  readonly containmentActions: readonly ContainmentRecord[];
  /** Internal updates are owed from triage until resolved, on the severity's cadence. */
  readonly updates: {
    readonly owed: boolean;
    readonly lastInternalAt: number | null;
    readonly nextDueAt: number | null;
    readonly overdue: boolean;
  };
  /** Compliance deadlines (earliest first); empty when no clock runs. */
  readonly deadlines: readonly DeadlineView[];
  readonly metrics: IncidentMetrics;
}

export function noIncident(id: string): FirebreakError {
  return new FirebreakError(
    'not_found',
    isIncidentId(id) ? `no incident ${id}` : `no incident "${id}" (incident ids look like INC-7)`,
    { path: 'id' },
  );
}

export async function loadIncident(tx: ControlTx, id: string): Promise<IncidentRecord> {
  const incident = isIncidentId(id) ? await tx.incidents.get(id) : undefined;
  if (!incident) throw noIncident(id);
  return incident;
}

/** Closed is final in the core; operations outside the lifecycle (notes, updates) follow the same rule. */
export function refuseClosed(incident: IncidentRecord): void {
  if (incident.status === 'closed')
    throw new FirebreakError(
      'conflict',
      `${incident.id} is closed; a closed incident does not change (open a new incident)`,
    );
}

/** What the audit log shows of an incident before and after a change. */
function summary(i: IncidentRecord): Record<string, unknown> {
  return {
    status: i.status,
    class: i.class,
    severity: i.severity,
    commander: i.commander,
    communicationsLead: i.communicationsLead,
    responders: i.responders,
    containment: i.containment.map((c) => ({ ref: c.ref, action: c.action })),
    compliance: i.compliance?.flags ?? null,
  };
}

export interface AuditNote {
  readonly actor: string;
  /** `incident.<action>` in the audit log. */
  readonly action: string;
  readonly at: number;
  readonly reason?: string | undefined;
  /** Anything else the entry should carry (the flags a containment set). */
  readonly extra?: Record<string, unknown>;
}

/**
 * Writes the incident, appends the change's events, records the audit entry and puts the change's
 * messages and reminders in the outbox, all in the caller's change.
 */
export async function commitChange(
  ctx: OpsContext,
  tx: ControlTx,
  before: IncidentRecord | null,
  change: Change<IncidentRecord>,
  note: AuditNote,
): Promise<IncidentRecord> {
  const incident: IncidentRecord = { ...change.incident, updatedAt: note.at };
  if (before === null) await tx.incidents.insert(incident);
  else await tx.incidents.update(incident);
  await tx.incidents.append(incident.id, change.events);
  await tx.audit({
    ts: note.at,
    actor: note.actor,
    action: `incident.${note.action}`,
    target: incident.id,
    before: before === null ? null : summary(before),
    after: { ...summary(incident), events: change.events, ...note.extra },
    reason: note.reason?.trim() ? note.reason.trim() : null,
    incident: incident.id,
  });
  // Its messages and reminders, in the same transaction (ops/incident-outbox.ts).
  const timeline = (await tx.incidents.timeline(incident.id)).map((e) => e.event);
  await followUpChange(ctx, tx, before, incident, timeline, change.events, note.at);
  return incident;
}

export function incidentView(
  ctx: OpsContext,
  incident: IncidentRecord,
  entries: readonly TimelineEntry[],
  containmentActions: readonly ContainmentRecord[],
): IncidentView {
  const now = ctx.now();
  const cadence = cadenceOf(ctx.config);
  const events = entries.map((e) => e.event);
  const last = lastInternalUpdateAt(events);
  const clocks = incident.compliance ? deadlines(incident.compliance.flags, incident.compliance.awareAt) : [];
  return {
    ...incident,
    timeline: entries.map((e) => ({ ...e.event, seq: e.seq, description: describeEvent(e.event) })),
    containmentActions,
    updates: {
      owed: updatesOwed(incident),
      lastInternalAt: last,
      nextDueAt: nextUpdateDue(incident, last, cadence),
      overdue: overdue(incident, last, now, cadence),
    },
    deadlines: clocks.map((d) => ({
      ...d,
      overdue: now > d.dueAt,
      remindersDue: reminders(d, now).map((r) => r.kind),
    })),
    metrics: incidentMetrics(incident, events),
  };
}

/** The incident as the change left it, read on the change's own transaction. */
export async function viewInTx(ctx: OpsContext, tx: ControlTx, id: string): Promise<IncidentView> {
  const incident = await loadIncident(tx, id);
  return incidentView(ctx, incident, await tx.incidents.timeline(id), await tx.incidents.containmentOf(id));
}

/** For incident changes that write no flags or deployments (ChangeOptions.quiet). */
export const QUIET: ChangeOptions = { quiet: true };

/**
 * One incident change in one control-plane transaction: `fn` gets the incident and writes through
 * commitChange; on any error nothing is written. Returns the incident as it now stands. Quiet by
 * default: an incident's own rows are not what the gateway replicas serve from.
 */
export async function changeIncident(
  ctx: OpsContext,
  id: string,
  fn: (tx: ControlTx, incident: IncidentRecord, now: number) => Promise<unknown>,
  /** Quiet unless `fn` may change flags or deployments (ChangeOptions.quiet). */
  options: ChangeOptions = QUIET,
): Promise<IncidentView> {
  const { value } = await ctx.store.control.change(async (tx) => {
    await fn(tx, await loadIncident(tx, id), ctx.now());
    return viewInTx(ctx, tx, id);
  }, options);
  return value;
}
