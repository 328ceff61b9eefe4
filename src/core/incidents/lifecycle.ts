import { FirebreakError } from '../errors.js';
import {
  incidentClasses,
  incidentStatuses,
  isIncidentId,
  severities,
  type ActiveContainment,
  type Incident,
  type IncidentClass,
  type IncidentStatus,
  type Severity,
} from './incident.js';
import type { TimelineEvent } from './timeline.js';

/**
 * The incident lifecycle of product.md §3 as pure functions: each takes the incident and what the
 * caller wants, and returns the new incident and the timeline events to append, or throws a
 * FirebreakError saying exactly why not (nothing is half applied: the caller stores both or neither).
 *
 *   detected → triaged → contained → remediated → resolved → closed
 *
 * - No status is skipped. The one exception is the issue's: containment before triage, with an explicit
 *   override that is recorded on the timeline (a canary leak is contained by its rule before a person
 *   has looked). Such an incident must still be triaged (`triage`, status unchanged) before it moves on.
 * - `contained` means a containment action is in force (product.md §3), so the incident moves there by
 *   applying one (`applyContainment`), or by `transition` when one is already in force (after a reopen).
 * - Backwards only by reopening: resolved → triaged, with a reason. Closed is final; a recurrence is a new
 *   incident that can link the old one.
 * - resolved → closed needs a postmortem reference, or a reason for having none; only SEV3 and SEV4 may
 *   close without one, because postmortems are due for SEV1 and SEV2 (product.md §1 targets). The core
 *   takes the reference as given: the operation checks that the postmortem exists and is published.
 *
 * Refusals that depend on the incident's state are `conflict` (409); missing or malformed input is
 * `validation_failed` (400). Functions are generic so a store's richer record passes through unchanged.
 */
export interface Change<T extends Incident = Incident> {
  readonly incident: T;
  readonly events: readonly TimelineEvent[];
}

interface Stamp {
  readonly at: number;
  readonly actor: string;
}

const CHAIN = incidentStatuses.join(' → ');

function conflict(message: string): FirebreakError {
  return new FirebreakError('conflict', message);
}

function invalid(message: string, path: string): FirebreakError {
  return new FirebreakError('validation_failed', message, { path });
}

function nonBlank(value: string | undefined): value is string {
  return value !== undefined && value.trim() !== '';
}

/** Optional fields only when set (exactOptionalPropertyTypes: absent, never `undefined`). */
function opt<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function checkClass(value: string): IncidentClass {
  if (!(incidentClasses as readonly string[]).includes(value))
    throw invalid(`class "${value}" is not one of ${incidentClasses.join(' | ')}`, 'class');
  return value as IncidentClass;
}

function checkSeverity(value: string): Severity {
  if (!(severities as readonly string[]).includes(value))
    throw invalid(`severity "${value}" is not one of ${severities.join(' | ')}`, 'severity');
  return value as Severity;
}

/** For input from the API and CLI: the string as an incident class, or a validation_failed error. */
export function parseIncidentClass(text: string): IncidentClass {
  return checkClass(text);
}

export function parseSeverity(text: string): Severity {
  return checkSeverity(text);
}

export function parseIncidentStatus(text: string): IncidentStatus {
  if (!(incidentStatuses as readonly string[]).includes(text))
    throw invalid(`status "${text}" is not one of ${incidentStatuses.join(' | ')}`, 'status');
  return text as IncidentStatus;
}

function refuseClosed(incident: Incident): void {
  if (incident.status === 'closed')
    throw conflict(`${incident.id} is closed; a closed incident does not change (open a new incident)`);
}

function notTriagedMessage(incident: Incident): string {
  return `${incident.id} is not triaged: triage it first (class, severity, commander), or contain it with override, which is recorded on the timeline`;
}

export interface OpenIncidentArgs extends Stamp {
  readonly id: string;
  readonly app: string;
  readonly env?: string | null;
  readonly title: string;
  /** A detection rule knows these when it opens the incident; triage confirms or changes them. */
  readonly class?: IncidentClass;
  readonly severity?: Severity;
  readonly impactStartedAt?: number;
}

/** A new incident in `detected`, with the event that opens its timeline. */
export function openIncident(args: OpenIncidentArgs): Change {
  if (!isIncidentId(args.id)) throw invalid(`incident id "${args.id}" is not INC-<n>`, 'id');
  if (!nonBlank(args.app)) throw invalid('an incident needs an app', 'app');
  if (!nonBlank(args.title)) throw invalid('an incident needs a title', 'title');
  const cls = args.class === undefined ? null : checkClass(args.class);
  const severity = args.severity === undefined ? null : checkSeverity(args.severity);
  if (args.impactStartedAt !== undefined && args.impactStartedAt > args.at)
    throw invalid('impact cannot start after the incident was detected', 'impactStartedAt');
  const incident: Incident = {
    id: args.id,
    app: args.app,
    env: args.env ?? null,
    title: args.title.trim(),
    status: 'detected',
    class: cls,
    severity,
    commander: null,
    communicationsLead: null,
    responders: [],
    containment: [],
    impactStartedAt: args.impactStartedAt ?? null,
    detectedAt: args.at,
    triagedAt: null,
    statusAt: args.at,
    postmortem: null,
    noPostmortemReason: null,
  };
  return {
    incident,
    events: [{ type: 'status_change', at: args.at, actor: args.actor, from: null, to: 'detected' }],
  };
}

export interface TriageArgs extends Stamp {
  /** Required unless the incident already has one (set by its detection rule). */
  readonly class?: IncidentClass;
  readonly severity?: Severity;
  /** Required unless the incident already has one. The operation may pass the caller's own name. */
  readonly commander?: string;
}

/**
 * Triage: class and severity set, commander assigned (product.md §3). Moves a detected incident to
 * `triaged`; an incident contained before triage (by override) is triaged in place and keeps its status.
 */
export function triage<T extends Incident>(incident: T, args: TriageArgs): Change<T> {
  refuseClosed(incident);
  const late = incident.status === 'contained' && incident.triagedAt === null;
  if (incident.status !== 'detected' && !late) {
    if (incident.triagedAt !== null)
      throw conflict(`${incident.id} is already triaged (it is ${incident.status})`);
    throw conflict(`${incident.id} is ${incident.status}: only a detected incident can be triaged`);
  }
  const cls = args.class !== undefined ? checkClass(args.class) : incident.class;
  if (cls === null) throw invalid(`triage needs a class (${incidentClasses.join(' | ')})`, 'class');
  const severity = args.severity !== undefined ? checkSeverity(args.severity) : incident.severity;
  if (severity === null) throw invalid(`triage needs a severity (${severities.join(' | ')})`, 'severity');
  if (args.commander !== undefined && !nonBlank(args.commander))
    throw invalid('the commander must be named', 'commander');
  const commander = args.commander?.trim() ?? incident.commander;
  if (commander === null) throw invalid('triage needs a commander', 'commander');

  const events: TimelineEvent[] = [];
  const stamp = { at: args.at, actor: args.actor };
  if (!late) events.push({ type: 'status_change', ...stamp, from: incident.status, to: 'triaged' });
  if (cls !== incident.class || severity !== incident.severity)
    events.push({
      type: 'classification_change',
      ...stamp,
      from: { class: incident.class, severity: incident.severity },
      to: { class: cls, severity },
      ...opt('reason', late ? 'triaged after containment' : undefined),
    });
  if (commander !== incident.commander)
    events.push({
      type: 'role_change',
      ...stamp,
      role: 'commander',
      from: incident.commander,
      to: commander,
    });
  return {
    incident: {
      ...incident,
      class: cls,
      severity,
      commander,
      triagedAt: args.at,
      ...(late ? {} : { status: 'triaged' as const, statusAt: args.at }),
    },
    events,
  };
}

export interface TransitionArgs extends Stamp {
  /** Why; required to reopen (resolved → triaged), recorded on the timeline whenever given. */
  readonly reason?: string;
  /** detected → triaged: see TriageArgs. */
  readonly class?: IncidentClass;
  readonly severity?: Severity;
  readonly commander?: string;
  /** detected → contained: containment before triage, on purpose. */
  readonly override?: boolean;
  /** resolved → closed: the postmortem's reference (id or URL)… */
  readonly postmortem?: string;
  /** …or why there is none (SEV3 and SEV4 only). Exactly one of the two. */
  readonly noPostmortem?: string;
}

/** Moves an incident to `to` if the lifecycle allows it from where it is; see the rules above. */
export function transition<T extends Incident>(
  incident: T,
  to: IncidentStatus,
  args: TransitionArgs,
): Change<T> {
  parseIncidentStatus(to);
  refuseClosed(incident);
  const from = incident.status;
  if (to === from) throw conflict(`${incident.id} is already ${to}`);
  const fromIndex = incidentStatuses.indexOf(from);
  const toIndex = incidentStatuses.indexOf(to);

  if (from === 'resolved' && to === 'triaged') return reopen(incident, args);
  if (toIndex < fromIndex) {
    if (to === 'triaged' && incident.triagedAt === null)
      throw conflict(
        `${incident.id} was contained before triage: triage it (class, severity, commander) without changing its status`,
      );
    throw conflict(
      `${incident.id} cannot go back from ${from} to ${to}; only a resolved incident can be reopened (to triaged, with a reason)`,
    );
  }
  if (from === 'detected' && to === 'contained') {
    if (args.override !== true) throw conflict(notTriagedMessage(incident));
  } else if (toIndex > fromIndex + 1) {
    const next = incidentStatuses[fromIndex + 1] ?? from;
    throw conflict(`${incident.id} cannot go from ${from} to ${to}: the next status is ${next} (${CHAIN})`);
  }

  switch (to) {
    case 'triaged':
      return triage(incident, args);
    case 'contained':
      if (incident.containment.length === 0)
        throw conflict(
          `${incident.id} has no containment action in force: apply one (disable a tool or model, safe mode, rollback, narrow retrieval, block a user) to contain it`,
        );
      return moveTo(incident, 'contained', args, from === 'detected');
    case 'remediated':
      if (incident.triagedAt === null)
        throw conflict(
          `${incident.id} was contained before triage: triage it (class, severity, commander) before it can be remediated`,
        );
      return moveTo(incident, 'remediated', args, false);
    case 'resolved':
      return moveTo(incident, 'resolved', args, false);
    case 'closed':
      return close(incident, args);
    case 'detected':
      // Unreachable: nothing is before detected, so it was refused as going back above.
      throw conflict(`${incident.id} cannot go back to detected`);
  }
}

function moveTo<T extends Incident>(
  incident: T,
  to: IncidentStatus,
  args: TransitionArgs,
  override: boolean,
): Change<T> {
  return {
    incident: { ...incident, status: to, statusAt: args.at },
    events: [
      {
        type: 'status_change',
        at: args.at,
        actor: args.actor,
        from: incident.status,
        to,
        ...opt('reason', nonBlank(args.reason) ? args.reason.trim() : undefined),
        ...opt('override', override ? (true as const) : undefined),
      },
    ],
  };
}

function reopen<T extends Incident>(incident: T, args: TransitionArgs): Change<T> {
  if (!nonBlank(args.reason)) throw invalid(`reopening ${incident.id} needs a reason`, 'reason');
  const change = moveTo(incident, 'triaged', args, false);
  return { incident: { ...change.incident, triagedAt: args.at }, events: change.events };
}

function close<T extends Incident>(incident: T, args: TransitionArgs): Change<T> {
  const hasPostmortem = nonBlank(args.postmortem);
  const hasReason = nonBlank(args.noPostmortem);
  if (hasPostmortem && hasReason)
    throw invalid(
      `closing ${incident.id}: give a postmortem or a reason for having none, not both`,
      'noPostmortem',
    );
  if (!hasPostmortem && !hasReason)
    throw invalid(
      `closing ${incident.id} needs a postmortem reference, or a reason for having none (SEV3 and SEV4 only)`,
      'postmortem',
    );
  if (hasReason && (incident.severity === 'SEV1' || incident.severity === 'SEV2'))
    throw conflict(
      `${incident.id} is ${incident.severity}: it closes with a postmortem (postmortems are due for SEV1 and SEV2); closing without one is for SEV3 and SEV4`,
    );
  const postmortem = hasPostmortem ? args.postmortem.trim() : null;
  const noPostmortemReason = hasReason ? args.noPostmortem.trim() : null;
  return {
    incident: { ...incident, status: 'closed', statusAt: args.at, postmortem, noPostmortemReason },
    events: [
      {
        type: 'status_change',
        at: args.at,
        actor: args.actor,
        from: incident.status,
        to: 'closed',
        ...opt('reason', nonBlank(args.reason) ? args.reason.trim() : undefined),
        ...opt('postmortem', postmortem ?? undefined),
        ...opt('noPostmortemReason', noPostmortemReason ?? undefined),
      },
    ],
  };
}

export interface ClassifyArgs extends Stamp {
  readonly class?: IncidentClass;
  readonly severity?: Severity;
  readonly reason?: string;
}

/** Changes class and/or severity of an open incident (an upgrade when in doubt, a downgrade with care). */
export function classify<T extends Incident>(incident: T, args: ClassifyArgs): Change<T> {
  refuseClosed(incident);
  if (args.class === undefined && args.severity === undefined)
    throw invalid(`give a class or a severity to change on ${incident.id}`, 'class');
  const cls = args.class !== undefined ? checkClass(args.class) : incident.class;
  const severity = args.severity !== undefined ? checkSeverity(args.severity) : incident.severity;
  if (cls === incident.class && severity === incident.severity)
    throw conflict(`${incident.id} is already ${severity ?? 'without severity'} ${cls ?? 'unclassified'}`);
  return {
    incident: { ...incident, class: cls, severity },
    events: [
      {
        type: 'classification_change',
        at: args.at,
        actor: args.actor,
        from: { class: incident.class, severity: incident.severity },
        to: { class: cls, severity },
        ...opt('reason', nonBlank(args.reason) ? args.reason.trim() : undefined),
      },
    ],
  };
}

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
