import type { IncidentClass, IncidentRole, IncidentStatus, Severity } from './incident.js';

/**
 * Everything that happens to an incident, in order (issue 5 item 3). Each event says when (`at`, epoch
 * ms) and who (`actor`: a person, or `detection:<rule id>`, `system`, `channel:<name>` for what Firebreak did on its
 * own), so the timeline alone answers "who did what when" and the metrics are computed from it.
 */
interface EventBase {
  readonly at: number;
  readonly actor: string;
}

/** Where a signal came from (product.md §2 "Signal"). */
export const signalSources = ['finding', 'feedback', 'evaluation', 'anomaly', 'external', 'manual'] as const;
export type SignalSource = (typeof signalSources)[number];

/** The audiences an update is written for (templates.ts). Only `internal` updates meet the cadence. */
export const updateAudiences = ['internal', 'external', 'responders'] as const;
export type UpdateAudience = (typeof updateAudiences)[number];

/** The compliance clocks an incident can run (compliance-clocks.ts). */
export type ComplianceClockId = 'gdpr-art33' | 'ai-act-art73';

export interface SignalEvent extends EventBase {
  readonly type: 'signal';
  readonly signal: string;
  readonly source: SignalSource;
  readonly summary: string;
  /** When the harm itself happened (the trace's time, the alert's start), if earlier than `at`. */
  readonly observedAt?: number;
  readonly trace?: string;
}

export interface StatusChangeEvent extends EventBase {
  readonly type: 'status_change';
  /** Null for the event that opens the incident. */
  readonly from: IncidentStatus | null;
  readonly to: IncidentStatus;
  readonly reason?: string;
  /** Set when containment came before triage: the rule was overridden on purpose. */
  readonly override?: true;
  readonly postmortem?: string;
  readonly noPostmortemReason?: string;
}

export interface ClassificationChangeEvent extends EventBase {
  readonly type: 'classification_change';
  readonly from: { readonly class: IncidentClass | null; readonly severity: Severity | null };
  readonly to: { readonly class: IncidentClass | null; readonly severity: Severity | null };
  readonly reason?: string;
}

/** A hand-over (from and to set), a first assignment (from null) or a release (to null). */
export interface RoleChangeEvent extends EventBase {
  readonly type: 'role_change';
  readonly role: IncidentRole;
  readonly from: string | null;
  readonly to: string | null;
  readonly reason?: string;
}

export interface ContainmentAppliedEvent extends EventBase {
  readonly type: 'containment_applied';
  readonly ref: string;
  readonly action: string;
  readonly reason?: string;
  readonly override?: true;
}

export interface ContainmentRevertedEvent extends EventBase {
  readonly type: 'containment_reverted';
  readonly ref: string;
  readonly action: string;
  readonly reason?: string;
}

export interface UpdatePostedEvent extends EventBase {
  readonly type: 'update_posted';
  readonly audience: UpdateAudience;
  readonly text: string;
  /** The channels it went to, by id; empty when it was only recorded. */
  readonly channels: readonly string[];
}

export interface NoteEvent extends EventBase {
  readonly type: 'note';
  readonly text: string;
}

export interface PageSentEvent extends EventBase {
  readonly type: 'page_sent';
  readonly page: string;
  /** Who was paged, by name. */
  readonly target: string;
  /** Escalation level, 1 first. */
  readonly level: number;
  readonly channel: string;
}

/** `actor` is who acknowledged. */
export interface PageAcknowledgedEvent extends EventBase {
  readonly type: 'page_acknowledged';
  readonly page: string;
}

export interface EscalatedEvent extends EventBase {
  readonly type: 'escalated';
  readonly page: string;
  readonly fromLevel: number;
  readonly toLevel: number;
  readonly target: string;
}

export interface DeliveryFailedEvent extends EventBase {
  readonly type: 'delivery_failed';
  readonly delivery: string;
  readonly channel: string;
  readonly attempt: number;
  readonly error: string;
  /** Null when no attempt is left. */
  readonly nextAttemptAt: number | null;
}

/** The internal update owed on the cadence was not posted in time (reminded again each interval). */
export interface UpdateOverdueEvent extends EventBase {
  readonly type: 'update_overdue';
  /** When the update was due. */
  readonly dueAt: number;
  /** 1 for the first reminder of this due time, 2 one interval later… */
  readonly reminder: number;
}

export interface ClockReminderEvent extends EventBase {
  readonly type: 'clock_reminder';
  readonly clock: ComplianceClockId;
  readonly dueAt: number;
  /** Which reminder: `50%`, `75%`, `90%`. */
  readonly reminder: string;
}

export interface ClockDueEvent extends EventBase {
  readonly type: 'clock_due';
  readonly clock: ComplianceClockId;
  readonly dueAt: number;
}

export type TimelineEvent =
  | SignalEvent
  | StatusChangeEvent
  | ClassificationChangeEvent
  | RoleChangeEvent
  | ContainmentAppliedEvent
  | ContainmentRevertedEvent
  | UpdatePostedEvent
  | NoteEvent
  | PageSentEvent
  | PageAcknowledgedEvent
  | EscalatedEvent
  | DeliveryFailedEvent
  | UpdateOverdueEvent
  | ClockReminderEvent
  | ClockDueEvent;

export type TimelineEventType = TimelineEvent['type'];

/** Every event type, for validating stored rows and filters; the Record makes a missing one a type error. */
export const timelineEventTypes = Object.keys({
  signal: true,
  status_change: true,
  classification_change: true,
  role_change: true,
  containment_applied: true,
  containment_reverted: true,
  update_posted: true,
  note: true,
  page_sent: true,
  page_acknowledged: true,
  escalated: true,
  delivery_failed: true,
  update_overdue: true,
  clock_reminder: true,
  clock_due: true,
} satisfies Record<TimelineEventType, true>) as TimelineEventType[];

const roleName: Record<IncidentRole, string> = {
  commander: 'commander',
  communications_lead: 'communications lead',
  responder: 'responder',
};

export function describeRole(role: IncidentRole): string {
  return roleName[role];
}

function withReason(text: string, reason: string | undefined): string {
  return reason ? `${text} (${reason})` : text;
}

function classification(c: ClassificationChangeEvent['from']): string {
  return `${c.severity ?? 'no severity'} ${c.class ?? 'unclassified'}`;
}

/** One line per event, for the CLI, the console and channel messages. */
export function describeEvent(e: TimelineEvent): string {
  switch (e.type) {
    case 'signal':
      return `signal ${e.signal} (${e.source}): ${e.summary}`;
    case 'status_change': {
      const text = e.from === null ? `opened as ${e.to}` : `${e.from} → ${e.to}`;
      const extra = [
        e.override ? 'before triage, by override' : '',
        e.postmortem ? `postmortem ${e.postmortem}` : '',
        e.noPostmortemReason ? `no postmortem: ${e.noPostmortemReason}` : '',
        e.reason ?? '',
      ].filter(Boolean);
      return extra.length ? `${text} (${extra.join('; ')})` : text;
    }
    case 'classification_change':
      return withReason(`${classification(e.from)} → ${classification(e.to)}`, e.reason);
    case 'role_change': {
      const role = roleName[e.role];
      if (e.from === null) return withReason(`${e.to ?? 'nobody'} is ${role}`, e.reason);
      if (e.to === null) return withReason(`${e.from} is no longer ${role}`, e.reason);
      return withReason(`${role} handed over from ${e.from} to ${e.to}`, e.reason);
    }
    case 'containment_applied':
      return withReason(
        `contained: ${e.action}${e.override ? ' (before triage, by override)' : ''}`,
        e.reason,
      );
    case 'containment_reverted':
      return withReason(`containment reverted: ${e.action}`, e.reason);
    case 'update_posted':
      return `${e.audience} update posted${e.channels.length ? ` to ${e.channels.join(', ')}` : ''}`;
    case 'note':
      return `note: ${e.text}`;
    case 'page_sent':
      return e.channel === 'none'
        ? `paged ${e.target} (level ${e.level}); the policy has no channel, so only recorded here`
        : `paged ${e.target} (level ${e.level}) via ${e.channel}`;
    case 'page_acknowledged':
      return `page ${e.page} acknowledged by ${e.actor}`;
    case 'escalated':
      return `escalated from level ${e.fromLevel} to level ${e.toLevel}: ${e.target}`;
    case 'delivery_failed':
      return `delivery to ${e.channel} failed (attempt ${e.attempt}): ${e.error}${e.nextAttemptAt === null ? '; no attempt left' : ''}`;
    case 'update_overdue':
      return `internal update overdue since ${new Date(e.dueAt).toISOString()}${e.reminder > 1 ? ` (reminder ${e.reminder})` : ''}`;
    case 'clock_reminder':
      return `${e.clock} reminder: ${e.reminder} of the time to ${new Date(e.dueAt).toISOString()} has passed`;
    case 'clock_due':
      return `${e.clock} deadline reached (${new Date(e.dueAt).toISOString()})`;
  }
}
