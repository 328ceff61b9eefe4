// Added time to first token from the streamed-output guards (issue 4: "under 5 ms").
//
// One Firebreak (built dist/, in this process, SQLite in a temp dir, recording on) serves two apps from
// the same simulator, whose answer streams in word chunks 20 ms apart:
//   - guarded: the default guard configuration plus a canary (so the canary hold-back is active too);
//   - bare:    a release that switches every detector off (the baseline, same gateway otherwise).
// Requests alternate between the two; time to first token is measured by the client as the time from
// sending the request to receiving the first SSE line that carries answer text. The difference of the
// two distributions is what the guards add. Run: npm run build && node bench/stream-guard-ttft.js
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout } from 'node:timers';
import { TextDecoder } from 'node:util';
import { fetch } from 'undici';
import { log, positive } from './env-options.js';

const dist = new URL('../dist/', import.meta.url);
const { parseConfig } = await import(new URL('server/config-load.js', dist).href);
const { buildApp } = await import(new URL('server/app.js', dist).href);
const { openStore } = await import(new URL('store/open-store.js', dist).href);
const { createRelease } = await import(new URL('ops/releases.js', dist).href);
const { deploy } = await import(new URL('ops/deployments.js', dist).href);
const { defaultDetectors } = await import(new URL('core/guards/detectors/index.js', dist).href);
const pino = (await import('pino')).default;

const N = positive('BENCH_REQUESTS', 200);
const ANSWER =
  'Sure, here is what I found about your order: it shipped on Monday and should arrive within three working days. Contact us if it does not.';

const yaml = `
server: { logLevel: silent }
providers:
  sim:
    type: simulator
    models: [sim-1]
    wordsPerChunk: 1
    rules:
      - when: { contains: '' }
        then: { reply: '${ANSWER}', chunkDelayMs: 20 }
apps:
  guarded: { environments: [prod] }
  bare: { environments: [prod] }
keys:
  - { key: fbk_bench_guarded_key_0000000000000, app: guarded, env: prod }
  - { key: fbk_bench_bare_key_000000000000000000, app: bare, env: prod }
`;

const dir = mkdtempSync(join(tmpdir(), 'fb-ttft-'));
const store = await openStore(`sqlite:${join(dir, 'bench.db')}`);
const fb = await buildApp(parseConfig(yaml, 'bench', {}), {
  store,
  logger: pino({ level: 'silent' }),
  role: 'all',
});
try {
  await fb.app.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${fb.app.server.address().port}`;
  const off = Object.fromEntries(defaultDetectors.map((d) => [d.id, { enabled: false }]));
  await createRelease(fb.ops, {
    app: 'guarded',
    actor: 'bench',
    spec: { model: { name: 'sim-1' }, guards: { canaries: ['CANARY-7f3a9c2e'] } },
  });
  await createRelease(fb.ops, {
    app: 'bare',
    actor: 'bench',
    spec: { model: { name: 'sim-1' }, guards: { detectors: off } },
  });
  await deploy(fb.ops, { release: 'guarded@1', env: 'prod', actor: 'bench', reason: 'bench' });
  await deploy(fb.ops, { release: 'bare@1', env: 'prod', actor: 'bench', reason: 'bench' });
  const version = await store.control.version();
  while (fb.control.current().version < version) await new Promise((r) => setTimeout(r, 10));

  async function ttft(key) {
    const t0 = performance.now();
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'sim-1',
        stream: true,
        messages: [{ role: 'user', content: 'where is my order?' }],
      }),
    });
    const reader = res.body.getReader();
    const dec = new TextDecoder();
    let buf = '';
    let first;
    let text = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buf += dec.decode(value, { stream: true });
      let nl;
      while ((nl = buf.indexOf('\n\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        if (!line.startsWith('data: {')) continue;
        const delta = JSON.parse(line.slice(6)).choices?.[0]?.delta?.content;
        if (delta) {
          first ??= performance.now() - t0;
          text += delta;
        }
      }
    }
    if (text !== ANSWER) throw new Error(`answer changed by the guards: ${JSON.stringify(text)}`);
    return first;
  }

  const guarded = [];
  const bare = [];
  for (let i = 0; i < 10; i++)
    await Promise.all([
      ttft('fbk_bench_guarded_key_0000000000000'),
      ttft('fbk_bench_bare_key_000000000000000000'),
    ]);
  log(`measuring ${N} streamed requests per app (sequential, alternating)…`);
  for (let i = 0; i < N; i++) {
    guarded.push(await ttft('fbk_bench_guarded_key_0000000000000'));
    bare.push(await ttft('fbk_bench_bare_key_000000000000000000'));
    if ((i + 1) % 50 === 0) log(`  ${i + 1}/${N}`);
  }
  const q = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];
  const row = (name, xs) =>
    `| ${name} | ${q(xs, 0.5).toFixed(2)} | ${q(xs, 0.9).toFixed(2)} | ${q(xs, 0.99).toFixed(2)} |`;
  const diff = (p) => (q(guarded, p) - q(bare, p)).toFixed(2);
  console.log('| time to first token (ms) | p50 | p90 | p99 |\n|---|---|---|---|');
  console.log(row('guards off (baseline)', bare));
  console.log(row('default guards + canary', guarded));
  console.log(`| **added by the guards** | **${diff(0.5)}** | **${diff(0.9)}** | **${diff(0.99)}** |`);

  // The noise-free part: the stream guard alone, in this process, over the same answer's chunks — how
  // many chunks it holds back, and its CPU time per chunk.
  const { GuardSet } = await import(new URL('core/guards/engine.js', dist).href);
  const { parseGuardSettings } = await import(new URL('core/guards/guard-settings.js', dist).href);
  const { OutputStreamGuard } = await import(new URL('core/guards/stream-guard.js', dist).href);
  const settings = parseGuardSettings({ canaries: ['CANARY-7f3a9c2e'] });
  const set = new GuardSet(settings);
  const ctx = { stage: 'output', settings, canaries: settings.canaries, retrieved: [], ownIdentifiers: [] };
  const chunks = ANSWER.split(/(?<= )/);
  let held = 0;
  const times = [];
  for (let r = 0; r < 200; r++) {
    const g = new OutputStreamGuard(set, ctx);
    for (const c of chunks) {
      const t = performance.now();
      const step = g.push(0, c);
      times.push(performance.now() - t);
      if (r === 0 && step.emit !== c) held++;
    }
    g.end(0);
  }
  console.log(
    `\nStream guard alone over the answer's ${chunks.length} chunks: ${held} chunk(s) held back; per chunk p50 ${(q(times, 0.5) * 1000).toFixed(1)} µs, p99 ${(q(times, 0.99) * 1000).toFixed(1)} µs.`,
  );
} finally {
  await fb.close(5000);
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
