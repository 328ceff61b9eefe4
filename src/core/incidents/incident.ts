import type { IncidentClass } from '../guards/types.js';

export { incidentClasses, type IncidentClass } from '../guards/types.js';

/**
 * The incident record the lifecycle works on (product.md §2, §3), without its timeline: the timeline is
 * an append-only list of events kept beside it (timeline.ts), so a store can write a change as "replace
 * the row, append the events" in one transaction. Times are epoch milliseconds, as everywhere in core.
 */
export const incidentStatuses = [
  'detected',
  'triaged',
  'contained',
  'remediated',
  'resolved',
  'closed',
] as const;
export type IncidentStatus = (typeof incidentStatuses)[number];

export const severities = ['SEV1', 'SEV2', 'SEV3', 'SEV4'] as const;
export type Severity = (typeof severities)[number];

/** The named roles of an incident; responders are a list, the other two one person each. */
export const incidentRoles = ['commander', 'communications_lead', 'responder'] as const;
export type IncidentRole = (typeof incidentRoles)[number];

/** A containment action in force (a flag or a rollback made for this incident), listed on the incident. */
export interface ActiveContainment {
  /** What the action is known by where it was executed: the flag id, the deployment id. Unique per incident. */
  readonly ref: string;
  /** In words, as the responder typed it: `disable-tool send_email`, `safe-mode handoff`, `rollback`. */
  readonly action: string;
  readonly at: number;
  readonly actor: string;
}

export interface Incident {
  /** `INC-<n>` (product.md §2). */
  readonly id: string;
  readonly app: string;
  readonly env: string | null;
  readonly title: string;
  readonly status: IncidentStatus;
  /** Null until triage (a detection rule may set both when it opens the incident). */
  readonly class: IncidentClass | null;
  readonly severity: Severity | null;
  readonly commander: string | null;
  readonly communicationsLead: string | null;
  readonly responders: readonly string[];
  readonly containment: readonly ActiveContainment[];
  /** When harm started, when known (the first harmful trace): the start of MTTD. */
  readonly impactStartedAt: number | null;
  readonly detectedAt: number;
  /**
   * When the incident was last triaged (set again on reopen). Null while untriaged, which includes an
   * incident contained before triage by override: it must still be triaged before it can be remediated.
   */
  readonly triagedAt: number | null;
  /** When the current status was entered. */
  readonly statusAt: number;
  /** The postmortem it was closed with, or why it has none (exactly one is set once closed). */
  readonly postmortem: string | null;
  readonly noPostmortemReason: string | null;
}

const INCIDENT_ID = /^INC-[1-9]\d{0,15}$/;

export function isIncidentId(text: string): boolean {
  return INCIDENT_ID.test(text);
}
