import type { Incident } from './incident.js';
import {
  conflict,
  invalid,
  nonBlank,
  opt,
  refuseClosed,
  type Change,
  type Stamp,
} from './lifecycle-change.js';

/** The people on an incident: commander and communications lead (assigned, handed over), responders. */

export interface AssignRoleArgs extends Stamp {
  readonly role: 'commander' | 'communications_lead';
  /** Who takes the role; null releases it (never the commander of a triaged incident). */
  readonly to: string | null;
  readonly reason?: string;
}

/** Assigns or hands over the commander or communications lead; a hand-over records from and to. */
export function assignRole<T extends Incident>(incident: T, args: AssignRoleArgs): Change<T> {
  refuseClosed(incident);
  const role: string = args.role;
  if (role !== 'commander' && role !== 'communications_lead')
    throw invalid(
      role === 'responder'
        ? 'responders are added and removed, not assigned'
        : `role "${role}" is not commander or communications_lead`,
      'role',
    );
  if (args.to !== null && !nonBlank(args.to)) throw invalid('the new role holder must be named', 'to');
  const to = args.to === null ? null : args.to.trim();
  const field = args.role === 'commander' ? 'commander' : 'communicationsLead';
  const label = args.role === 'commander' ? 'commander' : 'communications lead';
  const from = incident[field];
  if (to === from)
    throw conflict(
      to === null ? `${incident.id} has no ${label}` : `${to} is already ${label} of ${incident.id}`,
    );
  if (to === null && args.role === 'commander' && incident.triagedAt !== null)
    throw conflict(`${incident.id} needs a commander from triage on: hand command over to someone instead`);
  return {
    incident: { ...incident, [field]: to },
    events: [
      {
        type: 'role_change',
        at: args.at,
        actor: args.actor,
        role: args.role,
        from,
        to,
        ...opt('reason', nonBlank(args.reason) ? args.reason.trim() : undefined),
      },
    ],
  };
}

export interface ResponderArgs extends Stamp {
  readonly name: string;
  readonly reason?: string;
}

export function addResponder<T extends Incident>(incident: T, args: ResponderArgs): Change<T> {
  refuseClosed(incident);
  if (!nonBlank(args.name)) throw invalid('the responder must be named', 'name');
  const name = args.name.trim();
  if (incident.responders.includes(name)) throw conflict(`${name} is already a responder on ${incident.id}`);
  return {
    incident: { ...incident, responders: [...incident.responders, name] },
    events: [
      {
        type: 'role_change',
        at: args.at,
        actor: args.actor,
        role: 'responder',
        from: null,
        to: name,
        ...opt('reason', nonBlank(args.reason) ? args.reason.trim() : undefined),
      },
    ],
  };
}

export function removeResponder<T extends Incident>(incident: T, args: ResponderArgs): Change<T> {
  refuseClosed(incident);
  const name = args.name.trim();
  if (!incident.responders.includes(name)) throw conflict(`${name} is not a responder on ${incident.id}`);
  return {
    incident: { ...incident, responders: incident.responders.filter((r) => r !== name) },
    events: [
      {
        type: 'role_change',
        at: args.at,
        actor: args.actor,
        role: 'responder',
        from: name,
        to: null,
        ...opt('reason', nonBlank(args.reason) ? args.reason.trim() : undefined),
      },
    ],
  };
}
