import type { DetectionRule, AnomalyConfig } from './rules-config.js';
import {
  countingMetric,
  readAnomalyState,
  signalFromAnomaly,
  update,
  type AnomalyMetric,
  type AnomalySettings,
  type AnomalyState,
} from './anomaly.js';
import type { Signal } from './signal.js';

/**
 * One run of the anomaly detector over one app's interval (pure): the interval's counts per env and
 * release (from the traces), each configured metric's series state → the new states to keep and the
 * anomalies as signals. The caller (ops/anomaly-job.ts) reads the counts and states and writes the
 * results; a series is (app, env, release, metric), so a new release starts its own baseline and one
 * environment's traffic never hides another's spike.
 */

/** One env and release's calls in the interval (store IntervalCounts). */
export interface SeriesCounts {
  readonly env: string;
  readonly release: string;
  readonly requests: number;
  readonly findings: number;
  readonly blocked: number;
  readonly errors: number;
  readonly safeMode: number;
  /** Prompt plus completion tokens; null when not read. */
  readonly tokens: number | null;
}

/**
 * The metric's value for the interval, per request: calls with findings, blocked calls, errors, calls
 * answered in safe mode, and (for `cost`) tokens, since traces record tokens rather than money. Null
 * when the interval says nothing about it (no calls, or tokens not read).
 */
export function metricValue(metric: AnomalyMetric, c: SeriesCounts): number | null {
  if (c.requests <= 0) return null;
  switch (metric) {
    case 'findings':
      return c.findings / c.requests;
    case 'blocks':
      return c.blocked / c.requests;
    case 'errors':
      return c.errors / c.requests;
    case 'handoffs':
      return c.safeMode / c.requests;
    case 'cost':
      return c.tokens === null ? null : c.tokens / c.requests;
  }
}

export function anomalySettings(config: AnomalyConfig, metric: AnomalyMetric): AnomalySettings {
  return {
    alpha: config.alpha,
    zThreshold: config.zThreshold,
    warmup: config.warmup,
    minVolume: config.minVolume,
    minIncrease: config.minIncrease,
    counting: countingMetric[metric],
  };
}

/** `env|release|metric`, the series of one app (values are ids and `app@N`: no `|` in them). */
export const seriesKey = (env: string, release: string, metric: string): string =>
  `${encodeURIComponent(env)}|${encodeURIComponent(release)}|${metric}`;

/**
 * Whether any rule could act on an anomaly signal (its sources include `anomaly`, or it names no
 * source and no condition only findings or external alerts carry): without one, the job does not run.
 */
export function anomalyRulesExist(rules: readonly DetectionRule[]): boolean {
  return rules.some(
    ({ match: m }) =>
      m.sources?.includes('anomaly') ??
      (m.detectors === null && m.stages === null && m.minAction === null && m.alerts === null),
  );
}

export interface IntervalRun {
  readonly app: string;
  /** The interval, `[from, to)`, epoch ms. */
  readonly from: number;
  readonly to: number;
  readonly counts: readonly SeriesCounts[];
  /** Stored states by seriesKey (whatever was stored; unreadable ones start afresh). */
  readonly states: ReadonlyMap<string, unknown>;
  readonly config: AnomalyConfig;
  /** When the detector ran: the signals' receivedAt. */
  readonly now: number;
}

export interface SeriesState {
  readonly env: string;
  readonly release: string;
  readonly metric: AnomalyMetric;
  readonly state: AnomalyState;
}

/**
 * The interval through every series it has calls for. States are returned only where they changed: an
 * interval at or before a series' last one (a replay) changes nothing and raises nothing.
 */
export function evaluateInterval(run: IntervalRun): { states: SeriesState[]; signals: Signal[] } {
  const states: SeriesState[] = [];
  const signals: Signal[] = [];
  for (const c of run.counts)
    for (const metric of run.config.metrics) {
      const value = metricValue(metric, c);
      if (value === null) continue;
      const before = readAnomalyState(run.states.get(seriesKey(c.env, c.release, metric)));
      const result = update(before, value, c.requests, run.to, anomalySettings(run.config, metric));
      if (result.state === before) continue;
      states.push({ env: c.env, release: c.release, metric, state: result.state });
      if (result.anomaly)
        signals.push(
          signalFromAnomaly({
            app: run.app,
            env: c.env,
            release: c.release,
            metric,
            anomaly: result.anomaly,
            from: run.from,
            to: run.to,
            receivedAt: Math.max(run.now, run.to),
          }),
        );
    }
  return { states, signals };
}
