import { checkClass, checkSeverity } from './classification.js';
import {
  incidentClasses,
  incidentStatuses,
  isIncidentId,
  severities,
  type Incident,
  type IncidentClass,
  type IncidentStatus,
  type Severity,
} from './incident.js';
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
 * Classification, roles and containment bookkeeping are in classification.ts, roles.ts and
 * containment.ts; the Change they all return and the refusals they share in lifecycle-change.ts.
 */

const CHAIN = incidentStatuses.join(' → ');

export function parseIncidentStatus(text: string): IncidentStatus {
  if (!(incidentStatuses as readonly string[]).includes(text))
    throw invalid(`status "${text}" is not one of ${incidentStatuses.join(' | ')}`, 'status');
  return text as IncidentStatus;
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
