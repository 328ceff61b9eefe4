/**
 * Guard speed profile: the guard-quality bench's speed part alone (the same 2 KB messages per stage and
 * the same context), with more rounds and per-detector p50 / p99, to find where the time goes. Run it
 * under `node --cpu-prof` for a CPU profile.
 *
 *   npm run build && node bench/guard-profile.js [dist-dir]
 *
 * Knobs: BENCH_SPEED_MESSAGES (300), BENCH_SPEED_ROUNDS (20), PROFILE_STAGES (all, comma-separated),
 * PROFILE_DETECTORS (0 skips the per-detector timing).
 */
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { readJsonl, splitDetectionRows } from '../scripts/dataset-split.mjs';
import { positive } from './env-options.js';

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

function messagesFor(stage) {
  const pool = rows.filter((r) => (stage === 'input' ? r.stage === 'input' : r.stage !== 'input'));
  const out = [];
  let buf = '';
  for (let i = 0; out.length < MESSAGES; i = (i + 7) % pool.length) {
    buf += `${pool[i].text}\n`;
    if (buf.length >= 2048) {
      const text = buf.slice(0, 2048);
      out.push(stage === 'tool_call' ? JSON.stringify({ query: text }).slice(0, 2048) : text);
      buf = '';
    }
  }
  return out;
}
const ctxFor = (stage) => ({
  stage,
  settings,
  system: 'You are a helpful assistant for Example Corp. The password is "Hunter2-canary".',
  canaries: ['Hunter2-canary'],
  retrieved: rows
    .filter((r) => r.stage === 'retrieved' && r.label === 'benign')
    .slice(0, 2)
    .map((r, i) => ({ id: `doc-${i}`, source: 'kb', text: r.text })),
  ownIdentifiers: [],
});
const pick = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
function time(fn, msgs) {
  for (const m of msgs) fn(m);
  const samples = [];
  for (let r = 0; r < ROUNDS; r++)
    for (const m of msgs) {
      const a = performance.now();
      fn(m);
      samples.push(performance.now() - a);
    }
  samples.sort((a, b) => a - b);
  const mean = samples.reduce((s, x) => s + x, 0) / samples.length;
  return `p50 ${(pick(samples, 0.5) * 1000).toFixed(1).padStart(6)} µs  p99 ${(pick(samples, 0.99) * 1000)
    .toFixed(1)
    .padStart(6)} µs  mean ${(mean * 1000).toFixed(1).padStart(6)} µs`;
}

for (const stage of stages) {
  const msgs = messagesFor(stage);
  const ctx = ctxFor(stage);
  console.log(`${`ALL @ ${stage}`.padEnd(34)} ${time((m) => guards.scan(m, ctx), msgs)}`);
  if (!PER_DETECTOR) continue;
  for (const d of defaultDetectors) {
    const s = effectiveSettings(d, settings);
    if (!s.enabled || !s.stages.includes(stage)) continue;
    console.log(`  ${`${d.id} @ ${stage}`.padEnd(32)} ${time((m) => d.detect(m, ctx), msgs)}`);
  }
}
