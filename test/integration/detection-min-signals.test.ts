import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signalFromFeedback } from '../../src/core/detection/signal.js';
import { processSignal } from '../../src/ops/detection.js';
import { containIncident, getIncident, listIncidents, transitionIncident } from '../../src/ops/incidents.js';
import type { FirebreakApp } from '../../src/server/app.js';
import { startFirebreak, testConfigYaml, type Running } from '../support/harness.js';
import { storeKinds } from '../support/stores.js';

/**
 * Issue 5 items 1–2: a rule with `minSignals: 3` opens on the third distinct signal of its key within
 * the window (counted in the store, so replicas share the count), with all three on the timeline; a
 * replayed signal counts once, signals older than the window do not count, and racing signals open one
 * incident. Each test uses its own env/tenant-free key (group by app, env, user) so counts do not mix.
 */
const DETECTION = `
detection:
  rules:
    - id: harmful-feedback
      match: { source: feedback, kind: harmful }
      group: { by: [app, env, user], window: 1h }
      incident: { class: integrity, severity: SEV3, title: 'Users report harmful answers in {app}' }
      minSignals: 3
      page: false
`;

describe.each(storeKinds)('detection: minSignals (%s)', (kind) => {
  let fb: FirebreakApp;
  let clock = Date.UTC(2026, 5, 1, 12, 0, 0);
  const now = () => clock;

  let running: Running;
  beforeAll(async () => {
    const yaml = testConfigYaml().replace('\napps:', `\n${DETECTION}\napps:`);
    running = await startFirebreak({ store: kind, yaml, now, timers: { tickMs: 0 } });
    ({ fb } = running);
  });
  afterAll(() => running.close());

  /** A harmful-answer report on trace `trace` by `user` (the key's user), received now. */
  const report = (user: string, trace: string) =>
    signalFromFeedback({
      traceId: trace,
      app: 'support-bot',
      env: 'prod',
      kind: 'harmful',
      userId: user,
      at: clock,
    });

  async function incidentsOf(user: string) {
    const { data } = await listIncidents(fb.ops, { app: 'support-bot' });
    return data.filter((i) => i.dedupKey?.endsWith(`user=${user}`));
  }

  it('two signals open nothing; the third opens one incident with all three signals on its timeline', async () => {
    const first = await processSignal(fb.ops, report('u1', 'tr-a'));
    clock += 60_000;
    const second = await processSignal(fb.ops, report('u1', 'tr-b'));
    expect(first).toEqual([expect.objectContaining({ action: 'count', signals: 1 })]);
    expect(second).toEqual([expect.objectContaining({ action: 'count', signals: 2 })]);
    expect(await incidentsOf('u1')).toEqual([]);

    clock += 60_000;
    const third = report('u1', 'tr-c');
    const [outcome] = await processSignal(fb.ops, third);
    expect(outcome).toMatchObject({ action: 'open', signals: 3, attachedCounted: 2 });
    const incidents = await incidentsOf('u1');
    expect(incidents).toHaveLength(1);
    const view = await getIncident(fb.ops, incidents[0]?.id ?? '');
    const signals = view.timeline.flatMap((e) => (e.type === 'signal' ? [e] : []));
    expect(signals.map((e) => e.trace).sort()).toEqual(['tr-a', 'tr-b', 'tr-c']);
    // The earliest report is when the harm was first seen.
    expect(Math.min(...signals.map((e) => e.observedAt ?? e.at))).toBe(clock - 120_000);

    // A fourth report attaches to it; the replayed third adds nothing.
    clock += 60_000;
    expect(await processSignal(fb.ops, report('u1', 'tr-d'))).toEqual([
      expect.objectContaining({ action: 'attach', incident: view.id }),
    ]);
    expect(await processSignal(fb.ops, third)).toEqual([
      expect.objectContaining({ action: 'attach', incident: view.id, duplicate: true }),
    ]);
    const after = await getIncident(fb.ops, view.id);
    expect(after.timeline.filter((e) => e.type === 'signal')).toHaveLength(4);
  });

  it('the same signal offered again (a timer rerun) counts once', async () => {
    const s = report('u2', 'tr-same');
    expect(await processSignal(fb.ops, s)).toEqual([expect.objectContaining({ signals: 1 })]);
    clock += 1_000;
    expect(await processSignal(fb.ops, s)).toEqual([expect.objectContaining({ signals: 1 })]);
    expect(await processSignal(fb.ops, s)).toEqual([expect.objectContaining({ action: 'count' })]);
    clock += 1_000;
    expect(await processSignal(fb.ops, report('u2', 'tr-other'))).toEqual([
      expect.objectContaining({ action: 'count', signals: 2 }),
    ]);
    expect(await incidentsOf('u2')).toEqual([]);
  });

  it('signals older than the window do not count', async () => {
    await processSignal(fb.ops, report('u3', 'tr-old-1'));
    clock += 10 * 60_000;
    await processSignal(fb.ops, report('u3', 'tr-old-2'));
    clock += 61 * 60_000; // the first two are now more than an hour old
    expect(await processSignal(fb.ops, report('u3', 'tr-new-1'))).toEqual([
      expect.objectContaining({ action: 'count', signals: 1 }),
    ]);
    clock += 60_000;
    await processSignal(fb.ops, report('u3', 'tr-new-2'));
    expect(await incidentsOf('u3')).toEqual([]);
    clock += 60_000;
    expect(await processSignal(fb.ops, report('u3', 'tr-new-3'))).toEqual([
      expect.objectContaining({ action: 'open', signals: 3 }),
    ]);
    const [incident] = await incidentsOf('u3');
    const view = await getIncident(fb.ops, incident?.id ?? '');
    expect(
      view.timeline.flatMap((e) => (e.type === 'signal' && e.trace !== undefined ? [e.trace] : [])).sort(),
    ).toEqual(['tr-new-1', 'tr-new-2', 'tr-new-3']);
  });

  it('the third and fourth signal processed at once open one incident with all four signals', async () => {
    await processSignal(fb.ops, report('u4', 'tr-r1'));
    await processSignal(fb.ops, report('u4', 'tr-r2'));
    clock += 1_000;
    const outcomes = (
      await Promise.all([
        processSignal(fb.ops, report('u4', 'tr-r3')),
        processSignal(fb.ops, report('u4', 'tr-r4')),
      ])
    ).flat();
    expect(outcomes.filter((o) => o.action === 'open')).toHaveLength(1);
    const incidents = await incidentsOf('u4');
    expect(incidents).toHaveLength(1);
    const view = await getIncident(fb.ops, incidents[0]?.id ?? '');
    const traces = view.timeline.flatMap((e) =>
      e.type === 'signal' && e.trace !== undefined ? [e.trace] : [],
    );
    expect(traces.sort()).toEqual(['tr-r1', 'tr-r2', 'tr-r3', 'tr-r4']);
  });

  it('after the incident is resolved, counting starts afresh: one more report opens nothing', async () => {
    for (const t of ['tr-x1', 'tr-x2', 'tr-x3']) await processSignal(fb.ops, report('u5', t));
    const [incident] = await incidentsOf('u5');
    const id = incident?.id ?? '';
    await transitionIncident(fb.ops, { id, to: 'triaged', actor: 'test:commander', commander: 'alice' });
    await containIncident(fb.ops, {
      id,
      action: { action: 'block-user', target: 'u5' },
      actor: 'test:commander',
      reason: 'test',
    });
    for (const to of ['remediated', 'resolved'])
      await transitionIncident(fb.ops, {
        id,
        to,
        actor: 'test:commander',
        reason: 'test',
      });
    expect((await getIncident(fb.ops, id)).status).toBe('resolved');
    clock += 60_000;
    expect(await processSignal(fb.ops, report('u5', 'tr-after'))).toEqual([
      expect.objectContaining({ action: 'count', signals: 1 }),
    ]);
  });
});
