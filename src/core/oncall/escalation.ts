import { onCallAt, type Schedule } from './schedule.js';
import { MINUTE_MS } from './zoned-time.js';

/**
 * Escalation policies: level 1 is notified when the page goes out, each level waits its minutes before
 * the next, and after the last level's wait the whole sequence starts again, `repeat` more times.
 * Time is always passed in, so the timer layer and tests drive it with their own clock.
 */

/** Targets hold the schedule itself (config resolves the ids), so a policy needs nothing else to page. */
export type EscalationTarget =
  | { readonly kind: 'user'; readonly user: string }
  | { readonly kind: 'schedule'; readonly schedule: Schedule };

export interface EscalationLevel {
  readonly targets: readonly EscalationTarget[];
  /** Minutes to wait after notifying this level before the next one (or the next round) is notified. */
  readonly waitMinutes: number;
}

export interface EscalationPolicy {
  readonly id: string;
  readonly levels: readonly EscalationLevel[];
  /** How many more times the levels run after the first pass; 0 stops after the last level. */
  readonly repeat: number;
  /** The channels (firebreak.yaml `channels`) every notification goes to; none records the page only. */
  readonly channels?: readonly string[];
}

/** A target as it stands at one moment; a schedule with nobody on call has `user: undefined`. */
export type ResolvedTarget =
  | { readonly kind: 'user'; readonly user: string }
  | {
      readonly kind: 'schedule';
      readonly schedule: string;
      readonly user: string | undefined;
      /** The layer, or `override`, that put the user there. */
      readonly source: string | undefined;
    };

export interface LevelOnCall {
  /** 1-based, as people say "level 2". */
  readonly level: number;
  readonly targets: readonly ResolvedTarget[];
  /** Everyone this level reaches, deduplicated, in target order; empty means the level reaches nobody. */
  readonly users: readonly string[];
}

export interface Notification extends LevelOnCall {
  /** 1-based; round 2 is the first repeat. */
  readonly round: number;
  readonly at: number;
}

interface Due {
  readonly level: number;
  readonly round: number;
  readonly at: number;
  readonly def: EscalationLevel;
}

/** Every notification of an unacknowledged page, in time order. */
function timeline(policy: EscalationPolicy, pagedAt: number): Due[] {
  const out: Due[] = [];
  let at = pagedAt;
  for (let round = 1; round <= policy.repeat + 1; round++) {
    policy.levels.forEach((def, i) => {
      out.push({ level: i + 1, round, at, def });
      at += def.waitMinutes * MINUTE_MS;
    });
  }
  return out;
}

/** An acknowledgement at A stops what is due after A; a notification due exactly at A has gone out. */
function stillDue(at: number, ackedAt: number | undefined): boolean {
  return ackedAt === undefined || at <= ackedAt;
}

/** Who a level reaches at an instant. */
export function resolveLevel(def: EscalationLevel, level: number, at: number): LevelOnCall {
  const targets = def.targets.map((t): ResolvedTarget => {
    if (t.kind === 'user') return t;
    const who = onCallAt(t.schedule, at);
    return { kind: 'schedule', schedule: t.schedule.id, user: who?.user, source: who?.source };
  });
  const users = [...new Set(targets.flatMap((t) => (t.user === undefined ? [] : [t.user])))];
  return { level, targets, users };
}

/**
 * The notifications of a page, each with its targets resolved through the schedules at its own time,
 * up to the acknowledgement (all of them if there is none). The caller sends those with `at <= now`.
 */
export function escalationPlan(policy: EscalationPolicy, pagedAt: number, ackedAt?: number): Notification[] {
  return timeline(policy, pagedAt)
    .filter((d) => stillDue(d.at, ackedAt))
    .map((d) => ({ ...resolveLevel(d.def, d.level, d.at), round: d.round, at: d.at }));
}

/** When the timer should next fire for this page: the first notification after `now`, if any is left. */
export function nextEscalationAt(
  policy: EscalationPolicy,
  pagedAt: number,
  now: number,
  ackedAt?: number,
): number | undefined {
  return timeline(policy, pagedAt).find((d) => d.at > now && stillDue(d.at, ackedAt))?.at;
}
