import type { ActiveContainment, Incident } from './incident.js';
import {
  conflict,
  invalid,
  nonBlank,
  notTriagedMessage,
  opt,
  refuseClosed,
  type Change,
  type Stamp,
} from './lifecycle-change.js';
import type { TimelineEvent } from './timeline.js';

/**
 * Containment bookkeeping: which actions are in force on an incident. Executing them (flags, rollback) is
 * the operation's job (ops/incident-containment.ts); applying the first one is what moves an incident to
 * `contained` (lifecycle.ts).
 */

export interface ApplyContainmentArgs extends Stamp {
  /** The executed action's id (flag id, deployment id), to revert it by. */
  readonly ref: string;
  readonly action: string;
  readonly reason?: string;
  /** Required while the incident is still `detected`: containment before triage, recorded. */
  readonly override?: boolean;
}

/**
 * Records a containment action the caller has executed (or is executing in the same transaction) and,
 * for a detected or triaged incident, moves it to `contained`. Before triage this needs `override`.
 */
export function applyContainment<T extends Incident>(incident: T, args: ApplyContainmentArgs): Change<T> {
  refuseClosed(incident);
  if (incident.status === 'resolved')
    throw conflict(`${incident.id} is resolved: reopen it before applying containment`);
  if (!nonBlank(args.ref)) throw invalid('a containment action needs a reference', 'ref');
  if (!nonBlank(args.action)) throw invalid('a containment action needs a description', 'action');
  if (incident.containment.some((c) => c.ref === args.ref))
    throw conflict(`containment ${args.ref} is already in force on ${incident.id}`);
  const beforeTriage = incident.status === 'detected';
  if (beforeTriage && args.override !== true) throw conflict(notTriagedMessage(incident));
  const entry: ActiveContainment = {
    ref: args.ref,
    action: args.action.trim(),
    at: args.at,
    actor: args.actor,
  };
  const reason = nonBlank(args.reason) ? args.reason.trim() : undefined;
  const events: TimelineEvent[] = [
    {
      type: 'containment_applied',
      at: args.at,
      actor: args.actor,
      ref: entry.ref,
      action: entry.action,
      ...opt('reason', reason),
      ...opt('override', beforeTriage ? (true as const) : undefined),
    },
  ];
  const moves = incident.status === 'detected' || incident.status === 'triaged';
  if (moves)
    events.push({
      type: 'status_change',
      at: args.at,
      actor: args.actor,
      from: incident.status,
      to: 'contained',
      ...opt('override', beforeTriage ? (true as const) : undefined),
    });
  return {
    incident: {
      ...incident,
      containment: [...incident.containment, entry],
      ...(moves ? { status: 'contained' as const, statusAt: args.at } : {}),
    },
    events,
  };
}

export interface RevertContainmentArgs extends Stamp {
  readonly ref: string;
  readonly reason?: string;
}

/**
 * Records that a containment action was reverted. Allowed in every status, closed included: switching a
 * kill switch back on must never be refused by the bookkeeping. The status does not move back; it says
 * how far the incident got, and `contained` → `remediated` is the normal moment to revert.
 */
export function revertContainment<T extends Incident>(incident: T, args: RevertContainmentArgs): Change<T> {
  const entry = incident.containment.find((c) => c.ref === args.ref);
  if (!entry) throw conflict(`no containment ${args.ref} is in force on ${incident.id}`);
  return {
    incident: { ...incident, containment: incident.containment.filter((c) => c.ref !== args.ref) },
    events: [
      {
        type: 'containment_reverted',
        at: args.at,
        actor: args.actor,
        ref: entry.ref,
        action: entry.action,
        ...opt('reason', nonBlank(args.reason) ? args.reason.trim() : undefined),
      },
    ],
  };
}
