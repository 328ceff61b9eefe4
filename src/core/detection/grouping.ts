import type { IncidentClass, IncidentStatus, Severity } from '../incidents/incident.js';
import type { DetectionRule, PageTarget } from './rules-config.js';
import {
  incidentClassFor,
  incidentSeverityFor,
  matchSignal,
  renderTitle,
  resolveContainment,
  type Containment,
} from './rules.js';
import type { Signal } from './signal.js';

/**
 * What detection does with one signal (pure and deterministic): for each rule that acts on it
 * (rules.ts `matchSignal`), attach it to the open incident of its dedup key, count it towards a new
 * incident, or open one. The caller executes the actions: it stores the signal with its dedup keys,
 * opens the incident (actor `detection:<rule id>`), pages and applies containment.
 *
 * Dedup: an incident of the same key that is still open (not resolved or closed) and had a signal within
 * the rule's window takes the signal. The window slides with the incident's last signal, so a burst of
 * any length stays one incident while it lasts; a key that has been quiet for longer than the window
 * starts a new incident even if the old one was never resolved, since a recurrence after that long
 * deserves its own page. A resolved incident never takes new signals: a leak after the fix is news.
 */

/** What the caller knows about incidents opened by rules: enough to dedup against them. */
export interface GroupedIncident {
  readonly id: string;
  /** The key it was opened under; null for an incident opened by hand (never a dedup target). */
  readonly dedupKey: string | null;
  readonly openedAt: number;
  readonly lastSignalAt: number;
  readonly status: IncidentStatus;
}

export type DetectionAction =
  | {
      readonly type: 'open';
      readonly rule: string;
      readonly dedupKey: string;
      readonly app: string;
      /** Null when the rule does not group by env: the incident (and its containment) covers every env. */
      readonly env: string | null;
      readonly class: IncidentClass | null;
      readonly severity: Severity | null;
      readonly title: string;
      readonly page: PageTarget;
      readonly contain: Containment | null;
      /** Why the rule's containment could not be applied (e.g. from-signal with no tool on the signal). */
      readonly containSkipped?: string;
      /** Signals in the window, this one included (≥ the rule's minSignals). */
      readonly signals: number;
    }
  | { readonly type: 'attach'; readonly rule: string; readonly dedupKey: string; readonly incidentId: string }
  | {
      readonly type: 'count';
      readonly rule: string;
      readonly dedupKey: string;
      /** Signals in the window, this one included. */
      readonly signals: number;
      readonly needed: number;
    };

export interface DecideArgs {
  readonly rules: readonly DetectionRule[];
  readonly signal: Signal;
  readonly openIncidents: readonly GroupedIncident[];
  /**
   * Per dedup key, how many signals with that key arrived within the rule's window before this one
   * (this one not included). Only needed for rules with `minSignals` above 1; a missing key is 0.
   */
  readonly priorSignals?: ReadonlyMap<string, number>;
  readonly now: number;
}

const finished: ReadonlySet<IncidentStatus> = new Set(['resolved', 'closed']);

/** The live incident for a key: the one with the latest signal; ties by later opening, then id, so the choice is stable. */
function liveIncident(
  incidents: readonly GroupedIncident[],
  key: string,
  now: number,
  windowMs: number,
): GroupedIncident | undefined {
  let best: GroupedIncident | undefined;
  for (const i of incidents) {
    if (i.dedupKey !== key || finished.has(i.status) || now - i.lastSignalAt > windowMs) continue;
    if (
      !best ||
      i.lastSignalAt > best.lastSignalAt ||
      (i.lastSignalAt === best.lastSignalAt &&
        (i.openedAt > best.openedAt || (i.openedAt === best.openedAt && i.id > best.id)))
    )
      best = i;
  }
  return best;
}

export function decide(args: DecideArgs): DetectionAction[] {
  const { signal, now } = args;
  return matchSignal(args.rules, signal).map(({ rule, dedupKey }): DetectionAction => {
    const live = liveIncident(args.openIncidents, dedupKey, now, rule.group.windowMs);
    if (live) return { type: 'attach', rule: rule.id, dedupKey, incidentId: live.id };
    const signals = (args.priorSignals?.get(dedupKey) ?? 0) + 1;
    if (signals < rule.minSignals)
      return { type: 'count', rule: rule.id, dedupKey, signals, needed: rule.minSignals };
    const cls = incidentClassFor(rule, signal);
    const severity = incidentSeverityFor(rule, signal);
    const contain = rule.contain ? resolveContainment(rule.contain, signal) : null;
    return {
      type: 'open',
      rule: rule.id,
      dedupKey,
      app: signal.app,
      env: rule.group.by.includes('env') ? signal.env : null,
      class: cls,
      severity,
      title: renderTitle(rule, signal, { class: cls, severity }),
      page: rule.page,
      contain: contain && 'containment' in contain ? contain.containment : null,
      ...(contain && 'skipped' in contain ? { containSkipped: contain.skipped } : {}),
      signals,
    };
  });
}
