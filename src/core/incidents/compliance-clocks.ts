import type { ClockDueEvent, ClockReminderEvent, ComplianceClockId } from './timeline.js';

/**
 * Regulatory reporting deadlines (product.md §3, issue 5 item 9), opt-in per incident. Each runs from
 * the moment of awareness, which the responder records when flagging the incident (it is often later
 * than detection: awareness means reasonable certainty that the incident is one of these).
 *
 * GDPR (Regulation (EU) 2016/679) Art. 33(1): the controller notifies the competent supervisory
 * authority of a personal-data breach "without undue delay and, where feasible, not later than 72 hours
 * after having become aware of it", unless the breach is unlikely to result in a risk to people's rights
 * and freedoms; a later notification must give the reasons for the delay.
 *
 * EU AI Act (Regulation (EU) 2024/1689) Art. 73, serious incidents (Art. 3(49)) of high-risk AI systems,
 * reported to the market surveillance authority:
 * - 73(2): immediately after a causal link (or its reasonable likelihood) is established, and not later
 *   than 15 days after becoming aware;
 * - 73(3): not later than 2 days in the event of a widespread infringement (Art. 3(61)) or a serious
 *   incident under Art. 3(49)(b), serious and irreversible disruption of critical infrastructure;
 * - 73(4): not later than 10 days in the event of the death of a person.
 * When several apply, the earliest binds, and only that one is returned: it is one report.
 *
 * Periods are counted as whole 24-hour days from the moment of awareness. Regulation (EEC, Euratom)
 * No 1182/71 on time limits would start a period of days only at the beginning of the following day, so
 * this count is never later than the legal deadline: the clock errs on the side of reporting early.
 */
export interface ComplianceFlags {
  /** GDPR Art. 33. */
  readonly personalDataBreach?: boolean;
  /** AI Act Art. 73(2); implied by any of the three below. */
  readonly aiActSeriousIncident?: boolean;
  /** AI Act Art. 73(3), widespread infringement (Art. 3(61)). */
  readonly widespreadInfringement?: boolean;
  /** AI Act Art. 73(3), serious and irreversible disruption of critical infrastructure (Art. 3(49)(b)). */
  readonly criticalInfrastructureDisruption?: boolean;
  /** AI Act Art. 73(4), the death of a person. */
  readonly death?: boolean;
}

export interface Deadline {
  readonly clock: ComplianceClockId;
  readonly regulation: 'GDPR' | 'EU AI Act';
  readonly article: string;
  readonly awareAt: number;
  readonly dueAt: number;
  readonly label: string;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** The deadlines the flags start, earliest first. */
export function deadlines(flags: ComplianceFlags, awareAt: number): Deadline[] {
  const out: Deadline[] = [];
  if (flags.personalDataBreach === true)
    out.push({
      clock: 'gdpr-art33',
      regulation: 'GDPR',
      article: 'Art. 33(1)',
      awareAt,
      dueAt: awareAt + 72 * HOUR,
      label: 'notify the supervisory authority of the personal-data breach within 72 hours of awareness',
    });

  const aiAct: { article: string; days: number; why: string }[] = [];
  if (flags.widespreadInfringement === true)
    aiAct.push({ article: 'Art. 73(3)', days: 2, why: 'widespread infringement' });
  if (flags.criticalInfrastructureDisruption === true)
    aiAct.push({ article: 'Art. 73(3)', days: 2, why: 'critical-infrastructure disruption' });
  if (flags.death === true) aiAct.push({ article: 'Art. 73(4)', days: 10, why: 'death of a person' });
  if (flags.aiActSeriousIncident === true || aiAct.length > 0)
    aiAct.push({ article: 'Art. 73(2)', days: 15, why: 'serious incident' });
  // Stable sort: on equal days the first reason listed above names the deadline.
  const binding = aiAct.sort((a, b) => a.days - b.days)[0];
  if (binding) {
    const whys = [...new Set(aiAct.filter((a) => a.days === binding.days).map((a) => a.why))];
    out.push({
      clock: 'ai-act-art73',
      regulation: 'EU AI Act',
      article: binding.article,
      awareAt,
      dueAt: awareAt + binding.days * DAY,
      label: `report the serious incident (${whys.join(', ')}) to the market surveillance authority within ${binding.days} days of awareness`,
    });
  }
  return out.sort((a, b) => a.dueAt - b.dueAt);
}

export type ReminderKind = '50%' | '75%' | '90%' | 'overdue';

export interface ClockReminder {
  readonly clock: ComplianceClockId;
  readonly kind: ReminderKind;
  /** When the reminder is due. */
  readonly at: number;
  readonly dueAt: number;
  /** Unique per clock and reminder, so a timer can fire each exactly once (`gdpr-art33:75%`). */
  readonly key: string;
  readonly label: string;
}

const FRACTIONS: readonly [ReminderKind, number][] = [
  ['50%', 0.5],
  ['75%', 0.75],
  ['90%', 0.9],
  ['overdue', 1],
];

/** Every reminder of a deadline: at 50%, 75% and 90% of the time allowed, and when it runs out. */
export function reminderSchedule(deadline: Deadline): ClockReminder[] {
  const span = deadline.dueAt - deadline.awareAt;
  return FRACTIONS.map(([kind, fraction]) => ({
    clock: deadline.clock,
    kind,
    at: deadline.awareAt + Math.round(span * fraction),
    dueAt: deadline.dueAt,
    key: `${deadline.clock}:${kind}`,
    label:
      kind === 'overdue'
        ? `${deadline.regulation} ${deadline.article} deadline passed: ${deadline.label}`
        : `${deadline.regulation} ${deadline.article}: ${kind} of the time used; ${deadline.label}`,
  }));
}

/**
 * The reminders due by `now` (all of those whose time has come; the caller fires the ones it has not
 * fired yet, by key, and stops asking once the report is filed).
 */
export function reminders(deadline: Deadline, now: number): ClockReminder[] {
  return reminderSchedule(deadline).filter((r) => r.at <= now);
}

/** The timeline event for a reminder that fired. */
export function reminderEvent(reminder: ClockReminder, actor = 'system'): ClockReminderEvent | ClockDueEvent {
  return reminder.kind === 'overdue'
    ? { type: 'clock_due', at: reminder.at, actor, clock: reminder.clock, dueAt: reminder.dueAt }
    : {
        type: 'clock_reminder',
        at: reminder.at,
        actor,
        clock: reminder.clock,
        dueAt: reminder.dueAt,
        reminder: reminder.kind,
      };
}
