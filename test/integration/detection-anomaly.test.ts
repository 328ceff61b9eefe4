import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TraceRecord, TraceStatus } from '../../src/core/trace.js';
import { ANOMALY_TIMER_KIND, anomalyTimerKey, evaluateAnomalies } from '../../src/ops/anomaly-job.js';
import { getIncident, listIncidents } from '../../src/ops/incidents.js';
import type { FirebreakApp } from '../../src/server/app.js';
import type { Store } from '../../src/store/port.js';
import { startFirebreak, testConfigYaml, type Running } from '../support/harness.js';
import { storeKinds } from '../support/stores.js';
import { seedTrace } from '../support/trace-record.js';

/**
 * Issue 5 items 1–2: the anomaly job, driven by a controlled clock and `timers.runDue()`. Traces are
 * written to the real store interval by interval: a steady baseline (1 error in 40 calls) for 15
 * intervals, then 20 errors in 40 → an `anomaly` signal → the `error-spike` rule opens an incident. An
 * app with 5 calls an interval (below minVolume) raises nothing however bad, a steady series raises
 * nothing, and evaluating an interval again finds nothing new.
 */
const DETECTION = `
detection:
  rules:
    - id: error-spike
      match: { source: anomaly, kind: errors }
      group: { by: [app, env], window: 1h }
      incident: { class: integrity, severity: SEV2, title: 'Error spike in {app}/{env}' }
      page: false
  anomaly: { interval: 1m, delay: 5s, minVolume: 20, warmup: 12 }
`;
const MINUTE = 60_000;
const DELAY = 5_000;

describe.each(storeKinds)('detection: the anomaly job (%s)', (kind) => {
  let fb: FirebreakApp;
  let store: Store;
  const start = Date.UTC(2026, 5, 1, 12, 0, 0);
  let clock = start + 10_000;
  const now = () => clock;
  let seq = 0;

  let running: Running;
  beforeAll(async () => {
    const yaml = testConfigYaml().replace('\napps:', `\n${DETECTION}\napps:`);
    running = await startFirebreak({ store: kind, yaml, now, timers: { tickMs: 0 } });
    ({ fb, store } = running);
  });
  afterAll(() => running.close());

  function trace(app: string, env: string, ts: number, status: TraceStatus): TraceRecord {
    seq += 1;
    return seedTrace({
      id: `tr_${kind}_${seq}`,
      traceId: `t-${seq}`,
      ts,
      app,
      env,
      status,
      httpStatus: status === 'error' ? 502 : 200,
      errorCode: status === 'error' ? 'upstream_error' : null,
      latencyMs: 12,
      upstreamMs: 10,
      overheadMs: 1,
      promptTokens: 30,
      completionTokens: 20,
    });
  }

  /** `calls` calls of which `errors` failed, spread over the interval starting at `from`. */
  function calls(app: string, env: string, from: number, total: number, errors: number): TraceRecord[] {
    return Array.from({ length: total }, (_, i) =>
      trace(app, env, from + Math.floor((i * MINUTE) / total), i < errors ? 'error' : 'ok'),
    );
  }

  /** Writes the interval's traces, moves the clock past its end and runs what is due (twice: the anomaly timer, then the signal timers it scheduled). */
  async function interval(from: number, spike: boolean) {
    await store.traces.insertBatch([
      ...calls('support-bot', 'prod', from, 40, spike ? 20 : 1),
      ...calls('support-bot', 'dev', from, 40, 1),
      ...calls('billing-bot', 'dev', from, 5, spike ? 5 : 0),
    ]);
    clock = from + MINUTE + DELAY;
    const first = await fb.timers.runDue();
    const second = await fb.timers.runDue();
    return [...first, ...second];
  }

  const spikeFrom = start + 16 * MINUTE;

  it('a steady baseline raises nothing; a spike of errors becomes an anomaly signal that opens an incident', async () => {
    // The job armed the timer of the interval under way when the app started.
    expect(await store.timers.get(anomalyTimerKey(start + MINUTE))).toMatchObject({
      kind: ANOMALY_TIMER_KIND,
      dueAt: start + MINUTE + DELAY,
      status: 'pending',
    });
    for (let i = 0; i < 16; i++) {
      const runs = await interval(start + i * MINUTE, false);
      expect(runs.map((r) => r.kind)).toEqual([ANOMALY_TIMER_KIND]);
      expect(runs[0]?.outcome).toEqual({ status: 'done' });
    }
    expect((await listIncidents(fb.ops, { app: 'support-bot' })).data).toEqual([]);

    const runs = await interval(spikeFrom, true);
    expect(runs.map((r) => r.kind)).toEqual([ANOMALY_TIMER_KIND, 'signal']);
    expect(runs.every((r) => r.outcome.status === 'done')).toBe(true);
    const { data } = await listIncidents(fb.ops, { app: 'support-bot' });
    expect(data).toHaveLength(1);
    expect(data[0]).toMatchObject({
      env: 'prod',
      title: 'Error spike in support-bot/prod',
      class: 'integrity',
      severity: 'SEV2',
      dedupKey: 'error-spike|app=support-bot|env=prod',
    });
    const view = await getIncident(fb.ops, data[0]?.id ?? '');
    const signals = view.timeline.flatMap((e) => (e.type === 'signal' ? [e] : []));
    expect(signals).toHaveLength(1);
    expect(signals[0]).toMatchObject({ source: 'anomaly', observedAt: spikeFrom });
    expect(signals[0]?.summary).toMatch(/^errors spike in support-bot@0 \(prod\): 0\.5 errors per request/);
  });

  it('an app below minVolume raises nothing, however bad its interval', async () => {
    expect((await listIncidents(fb.ops, { app: 'billing-bot' })).data).toEqual([]);
    // Its series never learned an interval: each was skipped for volume.
    const series = await store.detection.anomalySeries('billing-bot');
    expect(series.length).toBeGreaterThan(0);
    for (const s of series) expect(s.state).toMatchObject({ n: 0, lastAt: spikeFrom + MINUTE });
  });

  it('an interval evaluated again (a rerun, another replica) finds nothing and schedules no second signal', async () => {
    const again = await evaluateAnomalies(fb.ops, { from: spikeFrom, to: spikeFrom + MINUTE });
    expect(again).toEqual({ series: 0, signals: [] });
    const signalTimers = await store.timers.list({ kind: 'signal', limit: 10 });
    expect(signalTimers).toHaveLength(1);
    expect(signalTimers[0]?.key).toMatch(/^signal:anomaly:/);
    expect((await listIncidents(fb.ops, { app: 'support-bot' })).data).toHaveLength(1);
  });

  it('the chain goes on: the next interval is armed, and a quiet one after the spike opens nothing new', async () => {
    expect(await store.timers.get(anomalyTimerKey(spikeFrom + 2 * MINUTE))).toMatchObject({
      status: 'pending',
    });
    await interval(spikeFrom + MINUTE, false);
    expect((await listIncidents(fb.ops, { app: 'support-bot' })).data).toHaveLength(1);
    expect(await store.timers.list({ kind: 'signal', limit: 10 })).toHaveLength(1);
  });

  it('a timer left by another interval length ends without arming a chain of its own', async () => {
    const end = spikeFrom + 3 * MINUTE + 30_000; // off the one-minute grid, 5 minutes long
    await fb.timers.scheduleTimer(ANOMALY_TIMER_KIND, anomalyTimerKey(end), clock, {
      from: end - 5 * MINUTE,
      to: end,
    });
    const before = (await store.timers.list({ kind: ANOMALY_TIMER_KIND, limit: 100 })).length;
    await fb.timers.runDue();
    expect(await store.timers.get(anomalyTimerKey(end))).toMatchObject({ status: 'done' });
    expect(await store.timers.list({ kind: ANOMALY_TIMER_KIND, limit: 100 })).toHaveLength(before);
    expect(await store.timers.get(anomalyTimerKey(end + 5 * MINUTE))).toBeUndefined();
  });

  it('the interval counts per env and release: calls, calls with findings (once per call), blocks, errors, safe mode, tokens', async () => {
    const from = start + 100 * MINUTE;
    const finding = (detector: string, cls: 'privacy' | 'security') => ({
      detector,
      class: cls,
      stage: 'output' as const,
      action: 'redact' as const,
      score: 1,
      message: 'test',
    });
    const base = calls('support-bot', 'prod', from, 6, 1);
    const withFindings = base.map((t, i) =>
      i === 1
        ? { ...t, body: { ...t.body, findings: [finding('pii', 'privacy'), finding('secrets', 'security')] } }
        : i === 2
          ? { ...t, status: 'blocked' as const, body: { ...t.body, findings: [finding('pii', 'privacy')] } }
          : i === 3
            ? { ...t, status: 'safe_mode' as const }
            : t,
    );
    await store.traces.insertBatch([
      ...withFindings,
      ...calls('support-bot', 'dev', from, 2, 0),
      ...calls('support-bot', 'prod', from + MINUTE, 3, 3), // the next interval: not counted
    ]);
    const counts = await store.detection.intervalCounts({
      app: 'support-bot',
      since: from,
      until: from + MINUTE,
      tokens: true,
    });
    expect([...counts].sort((a, b) => a.env.localeCompare(b.env))).toEqual([
      {
        env: 'dev',
        release: 'support-bot@0',
        requests: 2,
        findings: 0,
        blocked: 0,
        errors: 0,
        safeMode: 0,
        tokens: 100,
      },
      {
        env: 'prod',
        release: 'support-bot@0',
        requests: 6,
        findings: 2,
        blocked: 1,
        errors: 1,
        safeMode: 1,
        tokens: 300,
      },
    ]);
    const withoutTokens = await store.detection.intervalCounts({
      app: 'support-bot',
      since: from,
      until: from + MINUTE,
      tokens: false,
    });
    expect(withoutTokens.map((c) => c.tokens)).toEqual([null, null]);
  });
});
