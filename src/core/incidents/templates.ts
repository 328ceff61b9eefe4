import { FirebreakError } from '../errors.js';
import type { Incident, IncidentStatus } from './incident.js';

/**
 * Update texts (issue 5 item 6), built only from what they are given so the same input always gives the
 * same text. Three audiences:
 * - internal: everything the organisation needs (status, impact numbers, containment, who leads, when
 *   the next update comes);
 * - external: what customers see. Incident titles, class, names and trace counts are internal, so the
 *   headline and message are written by the communications lead and the template only frames them with
 *   the public status and the time of the next update;
 * - responders: Conditions / Actions / Needs, the short form responders report in.
 * Times are shown in UTC, to the minute, so readers in several time zones see one clock.
 */
export interface Impact {
  readonly users: number;
  readonly tenants: number;
  readonly traces: number;
  /** The window the counts are for (blast radius), when known. */
  readonly from?: number;
  readonly to?: number;
}

export function formatUtc(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

/** 1234567 → `1,234,567`; written out so the output does not depend on the runtime's locale data. */
export function formatCount(n: number): string {
  const [int = '0', frac] = String(Math.abs(n)).split('.');
  const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${n < 0 ? '-' : ''}${grouped}${frac === undefined ? '' : `.${frac}`}`;
}

function plural(n: number, one: string, many: string): string {
  return `${formatCount(n)} ${n === 1 ? one : many}`;
}

export function describeImpact(impact: Impact): string {
  const counts = [
    plural(impact.users, 'user', 'users'),
    plural(impact.tenants, 'tenant', 'tenants'),
    plural(impact.traces, 'trace', 'traces'),
  ].join(', ');
  const window =
    impact.from !== undefined && impact.to !== undefined
      ? ` between ${formatUtc(impact.from)} and ${formatUtc(impact.to)}`
      : '';
  return `${counts} affected${window}`;
}

/** `INC-7 · SEV1 privacy · contained`; severity and class say `untriaged` until set. */
export function incidentHeadline(incident: Incident): string {
  const classification =
    incident.severity === null && incident.class === null
      ? 'untriaged'
      : `${incident.severity ?? 'no severity'} ${incident.class ?? 'unclassified'}`;
  return `${incident.id} · ${classification} · ${incident.status}`;
}

function bullets(items: readonly string[], none: string): string[] {
  const kept = items.map((i) => i.trim()).filter(Boolean);
  return kept.length ? kept.map((i) => `- ${i}`) : [`- ${none}`];
}

function nextUpdateLine(next: number | null): string {
  return next === null ? 'Next update: none scheduled' : `Next update: by ${formatUtc(next)}`;
}

export interface InternalUpdateInput {
  readonly at: number;
  /** What is known now, in the commander's words. */
  readonly summary?: string;
  /** Blast-radius numbers; absent while they are still being counted. */
  readonly impact?: Impact;
  /** Actions taken besides the containment in force (which the incident lists itself). */
  readonly actions?: readonly string[];
  readonly nextUpdateAt: number | null;
}

export function internalUpdate(incident: Incident, input: InternalUpdateInput): string {
  const lines = [
    `${incidentHeadline(incident)} — ${incident.title}`,
    `Update of ${formatUtc(input.at)}`,
    `App: ${incident.app}${incident.env === null ? '' : ` (${incident.env})`}`,
    `Status: ${incident.status} since ${formatUtc(incident.statusAt)}; detected ${formatUtc(incident.detectedAt)}`,
  ];
  if (input.summary?.trim()) lines.push(`Summary: ${input.summary.trim()}`);
  lines.push(`Impact: ${input.impact ? describeImpact(input.impact) : 'being assessed'}`);
  lines.push(
    'Containment in force:',
    ...bullets(
      incident.containment.map((c) => `${c.action} (since ${formatUtc(c.at)}, by ${c.actor})`),
      'none',
    ),
  );
  if (input.actions?.length) lines.push('Actions taken:', ...bullets(input.actions, 'none'));
  const roles = [
    `Commander: ${incident.commander ?? 'unassigned'}`,
    `Communications: ${incident.communicationsLead ?? 'unassigned'}`,
  ];
  if (incident.responders.length) roles.push(`Responders: ${incident.responders.join(', ')}`);
  lines.push(roles.join(' · '), nextUpdateLine(input.nextUpdateAt));
  return lines.join('\n');
}

/** The wording status pages use, from the lifecycle status. */
export type PublicStatus = 'Investigating' | 'Identified' | 'Monitoring' | 'Resolved';

const publicStatusOf: Record<IncidentStatus, PublicStatus> = {
  detected: 'Investigating',
  triaged: 'Investigating',
  // Contained: the cause is known well enough to stop the harm; the fix is not out yet.
  contained: 'Identified',
  // Remediated: the fix is shipped and being watched.
  remediated: 'Monitoring',
  resolved: 'Resolved',
  closed: 'Resolved',
};

export function publicStatus(status: IncidentStatus): PublicStatus {
  return publicStatusOf[status];
}

export interface ExternalUpdateInput {
  readonly at: number;
  /** The public name of the problem (never the internal title). */
  readonly headline: string;
  readonly message: string;
  /** Only when the communications lead chooses to publish a number. */
  readonly affectedUsers?: number;
  readonly nextUpdateAt: number | null;
}

export function externalUpdate(incident: Incident, input: ExternalUpdateInput): string {
  if (!input.headline.trim())
    throw new FirebreakError('validation_failed', 'an external update needs a public headline', {
      path: 'headline',
    });
  if (!input.message.trim())
    throw new FirebreakError('validation_failed', 'an external update needs a message', { path: 'message' });
  const status = publicStatus(incident.status);
  const lines = [`${status}: ${input.headline.trim()}`, input.message.trim()];
  if (input.affectedUsers !== undefined) lines.push(`Users affected: ${formatCount(input.affectedUsers)}.`);
  if (status !== 'Resolved' && input.nextUpdateAt !== null)
    lines.push(`We will post the next update by ${formatUtc(input.nextUpdateAt)}.`);
  lines.push(`Posted ${formatUtc(input.at)}.`);
  return lines.join('\n');
}

export interface ResponderUpdateInput {
  readonly at: number;
  /** What the situation is now. */
  readonly conditions: string;
  /** What is being done, or was just done. */
  readonly actions: readonly string[];
  /** What the responders need from others (people, access, decisions). */
  readonly needs: readonly string[];
}

/** A Conditions / Actions / Needs report. */
export function responderUpdate(incident: Incident, input: ResponderUpdateInput): string {
  if (!input.conditions.trim())
    throw new FirebreakError('validation_failed', 'a CAN report needs its conditions', {
      path: 'conditions',
    });
  return [
    `${incidentHeadline(incident)} — CAN report ${formatUtc(input.at)}`,
    `Conditions: ${input.conditions.trim()}`,
    'Actions:',
    ...bullets(input.actions, 'none yet'),
    'Needs:',
    ...bullets(input.needs, 'nothing'),
  ].join('\n');
}
