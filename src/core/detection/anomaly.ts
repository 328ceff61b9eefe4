import { FirebreakError } from '../errors.js';
import { buildSignal, type Signal } from './signal.js';

/**
 * A spike detector for one series (one metric of one app and release, one value per interval) against
 * its own recent baseline: an exponentially weighted moving mean and variance (EWMA), and a z-score.
 *
 * - One-sided: only a rise is an anomaly. Fewer findings, errors or handoffs, or less cost, is not an
 *   incident.
 * - Minimum volume: an interval with fewer than `minVolume` requests neither alerts nor teaches the
 *   baseline. A rate over 3 requests is noise (1 error in 3 is 33 %), and quiet nights would otherwise
 *   drag the baseline and its variance around.
 * - Warm-up: the first `warmup` intervals only learn. Until then the weight is 1/n (a plain running
 *   mean), so the baseline converges quickly instead of remembering the first value for ever.
 * - A noise floor, added to the learned variance: a series that has been perfectly flat (0 errors for
 *   hours) has no variance, and the first error would be infinitely many deviations away. For rates of
 *   events per request (`counting`), the floor is the Poisson noise of the baseline at this interval's
 *   volume (at least one event's worth); for amounts (cost per request), 5 % of the mean. It is added
 *   rather than used as a minimum because the EWMA variance rests on few effective samples and runs low
 *   after a calm stretch, and a page that turns out to be noise costs more than a spike seen one interval
 *   later: with the defaults, steady Poisson noise over thousands of intervals stays below z 3.
 * - Robust learning: after warm-up a value is clipped to mean ± zThreshold·sd before it updates the
 *   baseline, so one spike cannot inflate the variance and hide the next one, while a lasting level shift
 *   is still learned within a few intervals (each step moves the mean by up to zThreshold·sd·alpha), so the
 *   alert stops once the new level is normal.
 * - Gradual drift is followed: the EWMA lags a steady trend by about slope·(1-alpha)/alpha, which stays
 *   well within the threshold unless the trend is steep relative to the noise.
 *
 * The state is a plain object (JSON-safe) for the caller to persist per series; `update` ignores an
 * interval at or before the last one it saw, so replaying an interval (a restart, two replicas) is
 * harmless.
 */
export const anomalyMetrics = ['findings', 'blocks', 'errors', 'handoffs', 'cost'] as const;
export type AnomalyMetric = (typeof anomalyMetrics)[number];

/** Rates of events per request get a Poisson floor; cost per request is an amount. */
export const countingMetric: Readonly<Record<AnomalyMetric, boolean>> = {
  findings: true,
  blocks: true,
  errors: true,
  handoffs: true,
  cost: false,
};

export interface AnomalySettings {
  /** EWMA weight of the newest interval, (0, 1]: 0.1 remembers about the last 10–20 intervals. */
  readonly alpha: number;
  /** Deviations above the baseline that make an anomaly. */
  readonly zThreshold: number;
  /** Intervals (with enough volume) that only learn. */
  readonly warmup: number;
  /** Requests an interval needs before its value counts at all. */
  readonly minVolume: number;
  /** The value must also exceed the baseline by this fraction (0.5: at least 1.5×): tiny but "significant" wobbles of a very flat series are not incidents. */
  readonly minIncrease: number;
  /** The value is events per unit of volume (findings per request): Poisson floor under the deviation. */
  readonly counting: boolean;
}

export const defaultAnomalySettings: AnomalySettings = {
  alpha: 0.1,
  zThreshold: 4,
  warmup: 12,
  minVolume: 50,
  minIncrease: 0.5,
  counting: true,
};

export interface AnomalyState {
  /** Intervals learned (those with enough volume). */
  readonly n: number;
  readonly mean: number;
  readonly variance: number;
  /** The last interval seen (learned or skipped), epoch ms; null before the first. */
  readonly lastAt: number | null;
}

export const emptyAnomalyState: AnomalyState = { n: 0, mean: 0, variance: 0, lastAt: null };

export interface Anomaly {
  readonly z: number;
  /** The baseline mean before this interval. */
  readonly baseline: number;
  /** The standard deviation the z-score was taken against (floor included). */
  readonly stdDev: number;
  readonly value: number;
  readonly volume: number;
}

export interface AnomalyUpdate {
  readonly state: AnomalyState;
  readonly anomaly?: Anomaly;
}

/** A stored state read back: anything that is not one starts the series afresh rather than failing. */
export function readAnomalyState(value: unknown): AnomalyState {
  if (typeof value !== 'object' || value === null) return emptyAnomalyState;
  const v = value as Record<string, unknown>;
  const num = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
  if (!num(v['n']) || !num(v['mean']) || !num(v['variance']) || v['n'] < 0 || v['variance'] < 0)
    return emptyAnomalyState;
  const lastAt = v['lastAt'];
  return {
    n: Math.floor(v['n']),
    mean: v['mean'],
    variance: v['variance'],
    lastAt: num(lastAt) ? lastAt : null,
  };
}

function invalid(message: string, path: string): FirebreakError {
  return new FirebreakError('validation_failed', message, { path });
}

function stdDevFloor(mean: number, volume: number, settings: AnomalySettings): number {
  if (settings.counting) return Math.sqrt(Math.max(mean, 1 / volume) / volume);
  // Amounts: 5 % of the mean, and something above zero so z stays finite on an all-zero baseline.
  return Math.max(0.05 * Math.abs(mean), 1e-9);
}

/**
 * Feeds one interval's value (a rate or an amount per request) and its volume (requests); returns the
 * new state and, when the value is a spike, the anomaly.
 */
export function update(
  state: AnomalyState,
  value: number,
  volume: number,
  at: number,
  settings: AnomalySettings = defaultAnomalySettings,
): AnomalyUpdate {
  // A NaN would poison the baseline for good; refuse it where it is made.
  if (!Number.isFinite(value) || value < 0) throw invalid(`value must be a finite number ≥ 0`, 'value');
  if (!Number.isFinite(volume) || volume < 0) throw invalid(`volume must be a finite number ≥ 0`, 'volume');
  if (!Number.isFinite(at)) throw invalid('at must be a time in epoch milliseconds', 'at');
  if (state.lastAt !== null && at <= state.lastAt) return { state };
  if (volume < settings.minVolume || volume === 0) return { state: { ...state, lastAt: at } };
  if (state.n === 0) return { state: { n: 1, mean: value, variance: 0, lastAt: at } };

  const { mean, variance, n } = state;
  const sd = Math.sqrt(variance + stdDevFloor(mean, volume, settings) ** 2);
  const z = (value - mean) / sd;
  const warm = n >= settings.warmup;
  const spike = warm && z >= settings.zThreshold && value > mean * (1 + settings.minIncrease);

  const bound = settings.zThreshold * sd;
  const x = warm ? Math.min(mean + bound, Math.max(mean - bound, value)) : value;
  const a = Math.max(settings.alpha, 1 / (n + 1));
  const d = x - mean;
  const next: AnomalyState = {
    n: n + 1,
    mean: mean + a * d,
    variance: (1 - a) * (variance + a * d * d),
    lastAt: at,
  };
  return spike ? { state: next, anomaly: { z, baseline: mean, stdDev: sd, value, volume } } : { state: next };
}

export interface AnomalySignalInput {
  readonly app: string;
  readonly env: string | null;
  readonly release: string | null;
  readonly metric: AnomalyMetric;
  readonly anomaly: Anomaly;
  /** The interval's start and end. */
  readonly from: number;
  readonly to: number;
  /** When the detector ran (defaults to the interval's end). */
  readonly receivedAt?: number;
}

function figure(x: number): string {
  return Number(x.toPrecision(3)).toString();
}

/** An anomaly as a signal; rules match it by `source: anomaly` and `kind: <metric>`. One per series and interval. */
export function signalFromAnomaly(input: AnomalySignalInput): Signal {
  const { anomaly: a } = input;
  const unit = input.metric === 'cost' ? 'cost per request' : `${input.metric} per request`;
  const where = input.release ?? input.app;
  return buildSignal({
    source: 'anomaly',
    app: input.app,
    env: input.env,
    release: input.release,
    kind: input.metric,
    title: `${input.metric} spike in ${where}${input.env ? ` (${input.env})` : ''}: ${figure(a.value)} ${unit} against a baseline of ${figure(a.baseline)} (z ${a.z.toFixed(1)}, ${a.volume} requests)`,
    details: { ...a, from: input.from, to: input.to },
    observedAt: input.from,
    receivedAt: input.receivedAt ?? input.to,
    identity: [input.app, input.env, input.release, input.metric, input.from],
  });
}
