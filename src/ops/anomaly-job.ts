import {
  anomalyRulesExist,
  evaluateInterval,
  seriesKey,
  type SeriesState,
} from '../core/detection/anomaly-run.js';
import type { Signal } from '../core/detection/signal.js';
import type { OpsContext } from './context.js';
import { anyRuleMatches, SIGNAL_TIMER_KIND, signalTimerKey } from './detection.js';

/**
 * The anomaly job (issue 5 items 1–2): every `detection.anomaly.interval`, on control replicas, each
 * app's calls in the interval just ended are counted per env and release (one index range of traces,
 * plus the class marks for findings), fed to the spike detector (core/detection/anomaly-run.ts) with
 * each series' stored state, and what it finds becomes an `anomaly` signal on a `signal` timer, so it
 * goes through the detection rules (processSignal) like a finding, with the same retries.
 *
 * Once per interval across replicas: each interval is one durable timer (`anomaly:<end>`, due `delay`
 * after the interval ends), which schedules the next interval's timer before it evaluates its own, so a
 * failed evaluation does not stop the chain. A rerun after a crash is harmless: a series ignores an
 * interval at or before the last one it learned (stored as it is learned), a state never overwrites a
 * newer one, and a signal's timer key is its fingerprint (app, env, release, metric, interval).
 */

export const ANOMALY_TIMER_KIND = 'anomaly';

/** The timer of the interval ending at `end` (epoch ms). */
export const anomalyTimerKey = (end: number): string => `anomaly:${end}`;

/** After an outage, intervals further back than this are skipped: a day-old spike pages nobody usefully. */
const MAX_CATCH_UP_INTERVALS = 12;

export interface AnomalyRunResult {
  /** Series whose state moved on. */
  readonly series: number;
  /** Anomalies found (each on its `signal` timer if a rule can act on it). */
  readonly signals: readonly Signal[];
}

/** Evaluates `[from, to)` for every app. Idempotent: a second run of the same interval finds nothing. */
export async function evaluateAnomalies(
  ctx: OpsContext,
  interval: { readonly from: number; readonly to: number },
): Promise<AnomalyRunResult> {
  const config = ctx.config.detection.anomaly;
  const rules = ctx.config.detection.rules;
  let series = 0;
  const signals: Signal[] = [];
  for (const app of Object.keys(ctx.config.apps)) {
    const counts = await ctx.store.detection.intervalCounts({
      app,
      since: interval.from,
      until: interval.to,
      tokens: config.metrics.includes('cost'),
    });
    if (counts.length === 0) continue;
    const stored = await ctx.store.detection.anomalySeries(app);
    const now = ctx.now();
    const result = evaluateInterval({
      app,
      ...interval,
      counts,
      states: new Map(stored.map((s) => [seriesKey(s.env, s.release, s.metric), s.state])),
      config,
      now,
    });
    // Signals before states: a crash between the two replays the interval and finds the same
    // anomalies again (same fingerprints, same timers), rather than having learned them and lost them.
    for (const s of result.signals) {
      if (!anyRuleMatches(rules, s)) continue;
      await ctx.store.timers.schedule(
        { kind: SIGNAL_TIMER_KIND, key: signalTimerKey(s), dueAt: now, payload: s },
        now,
      );
    }
    for (const s of result.states) await save(ctx, app, s, now);
    series += result.states.length;
    signals.push(...result.signals);
  }
  return { series, signals };
}

function save(ctx: OpsContext, app: string, s: SeriesState, now: number): Promise<void> {
  return ctx.store.detection.saveAnomalySeries(
    { app, env: s.env, release: s.release, metric: s.metric, state: s.state, lastAt: s.state.lastAt ?? 0 },
    now,
  );
}

/** What the job needs of the scheduler (server/timers.ts). */
interface TimerRegistry {
  registerTimerHandler(
    kind: string,
    handler: (t: { readonly key: string; readonly payload: unknown }) => Promise<{ readonly status: 'done' }>,
  ): void;
  scheduleTimer(kind: string, key: string, dueAt: number, payload?: unknown): Promise<unknown>;
}

interface IntervalPayload {
  readonly from: number;
  readonly to: number;
}

function readPayload(p: unknown): IntervalPayload | undefined {
  if (typeof p !== 'object' || p === null) return undefined;
  const { from, to } = p as Record<string, unknown>;
  return typeof from === 'number' && typeof to === 'number' && from < to ? { from, to } : undefined;
}

/**
 * Registers the `anomaly` timer handler and arms the timer of the interval under way (idempotent on its
 * key, so every control replica may do it). Does nothing when no rule can match an anomaly signal.
 * Returns whether the job runs.
 */
export async function registerAnomalyJob(
  timers: TimerRegistry,
  ctx: OpsContext,
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void },
): Promise<boolean> {
  if (!anomalyRulesExist(ctx.config.detection.rules)) return false;
  const { intervalMs, delayMs } = ctx.config.detection.anomaly;
  const arm = (end: number) =>
    timers.scheduleTimer(ANOMALY_TIMER_KIND, anomalyTimerKey(end), end + delayMs, {
      from: end - intervalMs,
      to: end,
    });

  timers.registerTimerHandler(ANOMALY_TIMER_KIND, async (t) => {
    const interval = readPayload(t.payload);
    // A timer left by another interval length (the setting changed): its chain ends here; the one armed
    // at start on the new grid carries on, so each interval is still evaluated once.
    if (interval === undefined || interval.to - interval.from !== intervalMs) return { status: 'done' };
    // The next interval first, on the grid (so chains meet on one key), skipping ahead after an outage.
    const latest = Math.floor((ctx.now() - delayMs) / intervalMs) * intervalMs;
    const following = (Math.floor(interval.to / intervalMs) + 1) * intervalMs;
    const next = Math.max(following, latest - (MAX_CATCH_UP_INTERVALS - 1) * intervalMs);
    await arm(next);
    const result = await evaluateAnomalies(ctx, interval);
    for (const s of result.signals)
      log.info({ signal: s.fingerprint, app: s.app, title: s.title }, 'anomaly detected');
    return { status: 'done' };
  });

  // The store may be down at start: keep trying in the background (every few seconds, for up to ten
  // minutes; another replica's start arms the chain too), so an outage at start does not stop the job.
  const tryArm = async (attempt: number): Promise<void> => {
    try {
      await arm(Math.floor(ctx.now() / intervalMs) * intervalMs + intervalMs);
      if (attempt > 1) log.info({ attempt }, 'anomaly job armed');
    } catch (error) {
      if (attempt === 1)
        log.warn(
          { err: error instanceof Error ? error.message : String(error) },
          'anomaly job not armed yet; retrying',
        );
      if (attempt >= ARM_ATTEMPTS) {
        log.warn({ attempts: attempt }, 'anomaly job not armed; the next start will arm it');
        return;
      }
      setTimeout(() => void tryArm(attempt + 1), ARM_RETRY_MS).unref();
    }
  };
  await tryArm(1);
  return true;
}

const ARM_RETRY_MS = 5_000;
const ARM_ATTEMPTS = 120;
