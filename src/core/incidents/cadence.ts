import type { Incident, Severity } from './incident.js';
import type { TimelineEvent } from './timeline.js';

/**
 * Update cadence (product.md §1 and §3): internal updates are owed from triage until the incident is
 * resolved, one per the severity's interval. Intervals are milliseconds; null means none is owed.
 */
export type UpdateCadence = Readonly<Record<Severity, number | null>>;

const MINUTE = 60_000;

/** product.md §1 fixes SEV1 30 min and SEV2 60 min; SEV3 every 4 h; a SEV4 near miss owes none. */
export const defaultUpdateCadence: UpdateCadence = {
  SEV1: 30 * MINUTE,
  SEV2: 60 * MINUTE,
  SEV3: 240 * MINUTE,
  SEV4: null,
};

/** Configured intervals over the defaults (config's `incidents.updateCadence`, say). */
export function resolveCadence(overrides: Partial<Record<Severity, number | null>> = {}): UpdateCadence {
  return { ...defaultUpdateCadence, ...overrides };
}

/** Whether updates are owed at all: from triage (or containment before it) until resolved. */
export function updatesOwed(incident: Incident): boolean {
  return incident.status === 'triaged' || incident.status === 'contained' || incident.status === 'remediated';
}

/** When the last internal update was posted, from the timeline; null if none yet. */
export function lastInternalUpdateAt(timeline: readonly TimelineEvent[]): number | null {
  let last: number | null = null;
  for (const e of timeline)
    if (e.type === 'update_posted' && e.audience === 'internal' && (last === null || e.at > last))
      last = e.at;
  return last;
}

/**
 * When the next internal update is due, or null when none is owed. The clock starts at triage (set again
 * on reopen; detection for an incident contained before triage), so an update posted before a reopen
 * does not count towards the reopened incident: the first update is due one interval after triage.
 */
export function nextUpdateDue(
  incident: Incident,
  lastUpdateAt: number | null,
  cadence: UpdateCadence = defaultUpdateCadence,
): number | null {
  if (!updatesOwed(incident) || incident.severity === null) return null;
  const interval = cadence[incident.severity];
  if (interval === null) return null;
  const start = incident.triagedAt ?? incident.detectedAt;
  return Math.max(start, lastUpdateAt ?? start) + interval;
}

/** True when an update is owed and its due time has passed: the moment to remind the communications lead. */
export function overdue(
  incident: Incident,
  lastUpdateAt: number | null,
  now: number,
  cadence: UpdateCadence = defaultUpdateCadence,
): boolean {
  const due = nextUpdateDue(incident, lastUpdateAt, cadence);
  return due !== null && now > due;
}
