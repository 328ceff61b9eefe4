import type { Incident } from './incident.js';
import type { TimelineEvent } from './timeline.js';

/**
 * Response metrics from the timeline's timestamps (product.md §3), in milliseconds, per incident and
 * aggregated. A metric is null when the incident has not reached that point (or has no data for it),
 * and null values are left out of aggregates rather than counted as zero.
 *
 * - MTTD: impact start → detection. Impact start is the earliest of the incident's `impactStartedAt` and
 *   its signals' `observedAt` (or `at`), counting only those at or before detection: a signal linked
 *   later that happened after detection says nothing about how long the harm went unseen.
 * - MTTA: first page → first acknowledgement after it.
 * - MTTC: detection → the first time the incident became `contained`.
 * - MTTR: detection → the last time it became `resolved`, and only while it is resolved or closed: a
 *   reopened incident was not really resolved the first time.
 */
export const metricNames = ['mttd', 'mtta', 'mttc', 'mttr'] as const;
export type MetricName = (typeof metricNames)[number];

export interface IncidentMetrics {
  readonly id: string;
  readonly app: string;
  readonly class: Incident['class'];
  readonly severity: Incident['severity'];
  readonly mttd: number | null;
  readonly mtta: number | null;
  readonly mttc: number | null;
  readonly mttr: number | null;
}

export interface IncidentHistory {
  readonly incident: Incident;
  readonly timeline: readonly TimelineEvent[];
}

function byTime(events: readonly TimelineEvent[]): TimelineEvent[] {
  // Stable sort: events of the same millisecond keep the order they were appended in.
  return [...events].sort((a, b) => a.at - b.at);
}

export function incidentMetrics(incident: Incident, timeline: readonly TimelineEvent[]): IncidentMetrics {
  const events = byTime(timeline);
  const detected = incident.detectedAt;

  let impactStart =
    incident.impactStartedAt !== null && incident.impactStartedAt <= detected
      ? incident.impactStartedAt
      : null;
  for (const e of events) {
    if (e.type !== 'signal') continue;
    const t = e.observedAt ?? e.at;
    if (t <= detected && (impactStart === null || t < impactStart)) impactStart = t;
  }

  const firstPage = events.find((e) => e.type === 'page_sent');
  const firstAck = firstPage
    ? events.find((e) => e.type === 'page_acknowledged' && e.at >= firstPage.at)
    : undefined;

  const contained = events.find((e) => e.type === 'status_change' && e.to === 'contained');
  const resolved =
    incident.status === 'resolved' || incident.status === 'closed'
      ? events.findLast((e) => e.type === 'status_change' && e.to === 'resolved')
      : undefined;

  return {
    id: incident.id,
    app: incident.app,
    class: incident.class,
    severity: incident.severity,
    mttd: impactStart === null ? null : detected - impactStart,
    mtta: firstPage && firstAck ? firstAck.at - firstPage.at : null,
    mttc: contained ? Math.max(0, contained.at - detected) : null,
    mttr: resolved ? Math.max(0, resolved.at - detected) : null,
  };
}

export interface Aggregate {
  /** How many incidents had a value for this metric. */
  readonly count: number;
  readonly mean: number | null;
  readonly median: number | null;
  readonly p90: number | null;
}

export interface MetricsGroup {
  /** The app, class or severity; `all` when not grouped; `unset` for untriaged class or severity. */
  readonly group: string;
  /** Incidents in the group, whether or not they have each metric. */
  readonly incidents: number;
  readonly metrics: Readonly<Record<MetricName, Aggregate>>;
}

export type GroupBy = 'app' | 'class' | 'severity' | 'all';

/**
 * Percentile by linear interpolation between closest ranks (the "R-7" method of spreadsheets and
 * numpy's default), so the 50th is the ordinary median and small samples give sensible values.
 */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const pos = (sorted.length - 1) * p;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo] ?? 0;
  const b = sorted[hi] ?? a;
  return a + (b - a) * (pos - lo);
}

export function aggregate(values: readonly number[]): Aggregate {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    count: sorted.length,
    mean: sorted.length ? sorted.reduce((s, v) => s + v, 0) / sorted.length : null,
    median: percentile(sorted, 0.5),
    p90: percentile(sorted, 0.9),
  };
}

function groupKey(m: IncidentMetrics, by: GroupBy): string {
  switch (by) {
    case 'app':
      return m.app;
    case 'class':
      return m.class ?? 'unset';
    case 'severity':
      return m.severity ?? 'unset';
    case 'all':
      return 'all';
  }
}

/** Aggregates per group, groups sorted by name. Takes computed metrics so callers compute them once. */
export function aggregateMetrics(items: readonly IncidentMetrics[], by: GroupBy): MetricsGroup[] {
  const groups = new Map<string, IncidentMetrics[]>();
  for (const m of items) {
    const key = groupKey(m, by);
    const list = groups.get(key);
    if (list) list.push(m);
    else groups.set(key, [m]);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([group, list]) => {
      const metrics = {} as Record<MetricName, Aggregate>;
      for (const name of metricNames)
        metrics[name] = aggregate(list.flatMap((m) => (m[name] === null ? [] : [m[name]])));
      return { group, incidents: list.length, metrics };
    });
}

/** Both steps for the common case: histories in, aggregates out. */
export function metricsReport(histories: readonly IncidentHistory[], by: GroupBy): MetricsGroup[] {
  return aggregateMetrics(
    histories.map((h) => incidentMetrics(h.incident, h.timeline)),
    by,
  );
}
