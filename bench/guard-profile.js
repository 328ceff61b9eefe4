/**
 * Guard speed profile: the guard-quality bench's speed part alone (the same 2 KB messages per stage and
 * the same context), with more rounds and per-detector p50 / p99, to find where the time goes. Run it
 * under `node --cpu-prof` for a CPU profile.
 *
 *   npm run build && node bench/guard-profile.js [dist-dir]
 *
 * Knobs: BENCH_SPEED_MESSAGES (300), BENCH_SPEED_ROUNDS (20), PROFILE_STAGES (all, comma-separated),
 * PROFILE_DETECTORS (0 skips the per-detector timing).
 *
 * Each line also shows the minor GCs (scavenges) that ran inside the timed rounds and the bytes a
 * message allocates: a scavenge is a pause of half a millisecond or more, so when more than 1% of
 * messages meet one it sets the p99, and allocation per message decides how often that happens. And
 * `floor p99`: each message's fastest round, at the 99th percentile over messages, what the code costs
 * without pauses or other processes; a p99 far above it is noise, not a slow message.
 */
import { dirname, join, resolve } from 'node:path';
import { PerformanceObserver, constants, performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { readJsonl, splitDetectionRows } from '../scripts/dataset-split.mjs';
import { positive } from './env-options.js';
import { speedContext, speedMessages } from './speed-workload.js';

const here = dirname(fileURLToPath(import.meta.url));
const dist = resolve(process.argv[2] ?? join(here, '../dist'));
const load = (p) => import(pathToFileURL(join(dist, p)).href);
const { GuardSet, effectiveSettings } = await load('core/guards/engine.js');
const { defaultDetectors } = await load('core/guards/detectors/index.js');
const { defaultGuardSettings: settings } = await load('core/guards/guard-settings.js');

const MESSAGES = Math.round(positive('BENCH_SPEED_MESSAGES', 300));
const ROUNDS = Math.round(positive('BENCH_SPEED_ROUNDS', 20));
const PER_DETECTOR = process.env.PROFILE_DETECTORS !== '0';
const stages = (process.env.PROFILE_STAGES ?? 'input,retrieved,tool_call,tool_result,output').split(',');
const rows = splitDetectionRows(readJsonl('detection-dev.jsonl')).map((s) => s.row);
const guards = new GuardSet(settings, defaultDetectors);

let scavenges = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) if (e.detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) scavenges++;
}).observe({ entryTypes: ['gc'] });
// GC entries reach the observer on a later turn of the event loop, after a timer.
const settle = () => sleep(20);

/**
 * Bytes one call allocates, on average over the messages: heap growth across the call, less what
 * measuring costs. A call during which a scavenge ran shows the heap shrinking and is left out.
 */
function allocated(fn, msgs) {
  const used = () => process.memoryUsage().heapUsed;
  const measure = (f) => {
    let sum = 0;
    let n = 0;
    for (const m of msgs) {
      const a = used();
      f(m);
      const b = used();
      if (b >= a) {
        sum += b - a;
        n++;
      }
    }
    return n ? sum / n : NaN;
  };
  const base = measure(() => {});
  return Math.max(0, measure(fn) - base);
}

const pick = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
async function time(fn, msgs) {
  for (const m of msgs) fn(m);
  const bytes = allocated(fn, msgs);
  await settle();
  const gcBefore = scavenges;
  const samples = [];
  const fastest = msgs.map(() => Infinity);
  for (let r = 0; r < ROUNDS; r++)
    for (let i = 0; i < msgs.length; i++) {
      const a = performance.now();
      fn(msgs[i]);
      const d = performance.now() - a;
      samples.push(d);
      if (d < fastest[i]) fastest[i] = d;
    }
  await settle();
  const gcs = scavenges - gcBefore;
  samples.sort((a, b) => a - b);
  fastest.sort((a, b) => a - b);
  const mean = samples.reduce((s, x) => s + x, 0) / samples.length;
  const us = (x) => `${(x * 1000).toFixed(1).padStart(6)} µs`;
  return (
    `p50 ${us(pick(samples, 0.5))}  p99 ${us(pick(samples, 0.99))}  mean ${us(mean)}` +
    `  floor p99 ${us(pick(fastest, 0.99))}` +
    `  ${(bytes / 1024).toFixed(1).padStart(6)} KB/msg  ${String(gcs).padStart(3)} GCs/${samples.length}`
  );
}

for (const stage of stages) {
  const msgs = speedMessages(rows, stage, MESSAGES);
  const ctx = speedContext(rows, stage, settings);
  console.log(`${`ALL @ ${stage}`.padEnd(34)} ${await time((m) => guards.scan(m, ctx), msgs)}`);
  if (!PER_DETECTOR) continue;
  for (const d of defaultDetectors) {
    const s = effectiveSettings(d, settings);
    if (!s.enabled || !s.stages.includes(stage)) continue;
    console.log(`  ${`${d.id} @ ${stage}`.padEnd(32)} ${await time((m) => d.detect(m, ctx), msgs)}`);
  }
}
