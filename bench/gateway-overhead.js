/**
 * Gateway overhead benchmark: the cost of putting Firebreak (recording ON, traces written to a temporary
 * SQLite file) between a client and an OpenAI-compatible upstream, on loopback, side by side in one run
 * with (a) calling the upstream directly and (b) a bare Node reverse proxy (bench/bare-proxy.js).
 *
 * Every server runs in its own child process: the fake upstream (bench/fake-upstream.js), the bare proxy
 * and Firebreak (bench/firebreak-server.js, from dist/). This process is only the load generator
 * (autocannon) and the referee. Bounded: a few seconds of warm-up, then fixed-duration measurements; it
 * stops by itself (well under 3 minutes with the defaults).
 *
 *   npm run build && npm run bench
 *
 * Knobs (environment): BENCH_SECONDS (10), BENCH_WARMUP_SECONDS (3), BENCH_CONNECTIONS (16), BENCH_SLICES (5).
 */
import autocannon from 'autocannon';
import Database from 'better-sqlite3';
import { Buffer } from 'node:buffer';
import { execFileSync, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { clearTimeout, setTimeout } from 'node:timers';
import { fileURLToPath } from 'node:url';
import { log, positive } from './env-options.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');

const SECONDS = positive('BENCH_SECONDS', 10);
const WARMUP_SECONDS = positive('BENCH_WARMUP_SECONDS', 3);
const CONNECTIONS = positive('BENCH_CONNECTIONS', 16);
const SLICES = Math.round(positive('BENCH_SLICES', 5));
/** Whatever happens, the run ends: children are killed and the process exits after this long. */
const HARD_DEADLINE_MS = (3 * (WARMUP_SECONDS + 2 * SECONDS) + 90) * 1000;

const TARGETS = {
  throughputVsBare: 0.6, // Firebreak req/s ≥ 60% of the bare proxy's
  addedP50VsDirectMs: 1, // Firebreak p50 ≤ direct p50 + 1 ms
};

const GATEWAY_KEY = `fbk_bench_${randomBytes(12).toString('hex')}`;
const BODY = JSON.stringify({
  model: 'bench-model',
  messages: [{ role: 'user', content: 'Hello, how are you today?' }],
});
const HEADERS = { 'content-type': 'application/json', authorization: `Bearer ${GATEWAY_KEY}` };
const EXPECTED_ANSWER = 'Hello! I am a fixed benchmark answer.';

// ---------------------------------------------------------------------------------------------------
// Child processes

const children = new Set();

/** Forks a server script and resolves once it reports the port it listens on. */
function startChild(name, script, args) {
  const child = fork(join(here, script), args, {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv: (process.env.BENCH_CHILD_NODE_OPTIONS ?? '').split(' ').filter(Boolean),
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within 20 s`)), 20_000);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited before listening (code ${code}, signal ${signal})`));
    });
    child.on('message', function onReady(msg) {
      if (msg.type !== 'ready') return;
      child.off('message', onReady);
      clearTimeout(timer);
      resolve({ name, child, pid: child.pid, url: `http://127.0.0.1:${msg.port}` });
    });
  });
}

/** Sends `{ type }` to a child and resolves with its answer of type `answer`. */
function ask(server, type, answer, timeoutMs = 15_000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      server.child.off('message', onMessage);
      reject(new Error(`${server.name} did not answer "${type}" within ${timeoutMs} ms`));
    }, timeoutMs);
    function onMessage(msg) {
      if (msg.type !== answer) return;
      clearTimeout(timer);
      server.child.off('message', onMessage);
      resolve(msg);
    }
    server.child.on('message', onMessage);
    server.child.send({ type });
  });
}

const stats = (server) => ask(server, 'stats', 'stats');

async function stop(server) {
  if (server.child.exitCode !== null) return undefined;
  const exited = new Promise((resolve) => server.child.once('exit', resolve));
  const final = await ask(server, 'stop', 'stopped', 15_000).catch(() => undefined);
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
  if (server.child.exitCode === null) server.child.kill('SIGKILL');
  return final;
}

function killAll() {
  for (const child of children) child.kill('SIGKILL');
}

// ---------------------------------------------------------------------------------------------------
// Load

/** One POST, for the smoke check. */
function post(url) {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/v1/chat/completions`,
      { method: 'POST', headers: { ...HEADERS, 'content-length': Buffer.byteLength(BODY) } },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode, headers: res.headers, text: Buffer.concat(chunks).toString() }),
        );
      },
    );
    req.on('error', reject);
    req.end(BODY);
  });
}

/**
 * Runs autocannon for a fixed duration. With `samples`, every response time is kept at full precision
 * (autocannon's own histogram records whole milliseconds, too coarse for sub-millisecond overheads).
 */
function load(url, connections, seconds, samples) {
  return new Promise((resolve, reject) => {
    const latencies = [];
    const instance = autocannon(
      {
        url: `${url}/v1/chat/completions`,
        method: 'POST',
        headers: HEADERS,
        body: BODY,
        connections,
        pipelining: 1,
        duration: seconds,
        timeout: 10,
      },
      (error, result) => {
        if (error) {
          reject(error instanceof Error ? error : new Error(String(error)));
          return;
        }
        const failed = result.non2xx + result.errors + result.timeouts;
        if (failed > 0) {
          reject(
            new Error(
              `${url}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`,
            ),
          );
          return;
        }
        resolve({
          ok: result['2xx'],
          seconds: result.duration,
          rps: result['2xx'] / result.duration,
          latencies,
        });
      },
    );
    if (samples)
      instance.on('response', (_client, statusCode, _bytes, responseTime) => {
        if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
      });
  });
}

function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index];
}

/**
 * Each target is warmed up, then measured for SECONDS at CONNECTIONS connections (throughput) and for
 * SECONDS at 1 connection (latency). Both are cut into SLICES slices taken round-robin across the targets
 * (rotating who goes first), so a slow drift of a shared machine hits all three alike instead of whichever
 * target happened to run during it. Also the CPU time of the process in front of the client.
 */
async function measureAll(targets) {
  for (const t of targets) {
    log(`- warm-up ${t.label}: ${WARMUP_SECONDS} s at ${CONNECTIONS} connections`);
    t.requests += (await load(t.url, CONNECTIONS, WARMUP_SECONDS, false)).ok;
  }
  const slice = SECONDS / SLICES;
  for (const connections of [CONNECTIONS, 1]) {
    log(`- ${SECONDS} s per target at ${connections} connection(s), in ${SLICES} slices of ${slice} s`);
    for (let i = 0; i < SLICES; i++) {
      const order = [...targets.slice(i % targets.length), ...targets.slice(0, i % targets.length)];
      for (const t of order) {
        const before = await stats(t.server);
        const r = await load(t.url, connections, slice, connections === 1);
        const after = await stats(t.server);
        t.requests += r.ok;
        if (connections === 1) for (const ms of r.latencies) t.latencies.push(ms);
        else {
          t.ok += r.ok;
          t.seconds += r.seconds;
          t.cpuMs += after.cpuMs - before.cpuMs;
          t.sliceRps.push(r.rps);
        }
      }
    }
  }
  return targets.map((t) => {
    const sorted = Float64Array.from(t.latencies).sort();
    const result = {
      label: t.label,
      rps: t.ok / t.seconds,
      minRps: Math.min(...t.sliceRps),
      maxRps: Math.max(...t.sliceRps),
      cpuUsPerReq: (t.cpuMs * 1000) / t.ok,
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      mean: sorted.reduce((a, b) => a + b, 0) / sorted.length,
      samples: sorted.length,
      requests: t.requests,
    };
    log(
      `  ${t.label}: ${fmt(result.rps, 0)} req/s (slices ${fmt(result.minRps, 0)}-${fmt(result.maxRps, 0)}), ` +
        `p50 ${fmt(result.p50, 3)} ms, p99 ${fmt(result.p99, 3)} ms (${result.samples} samples)`,
    );
    return result;
  });
}

// ---------------------------------------------------------------------------------------------------
// Report

function fmt(n, digits) {
  return Number.isFinite(n) ? n.toFixed(digits) : 'n/a';
}
const pct = (a, b) => `${fmt((100 * a) / b, 1)}%`;
const signed = (n) => `${n >= 0 ? '+' : ''}${fmt(n, 3)} ms`;

/** Which code was measured: the commit, whether src/ had uncommitted changes, when dist/ was built. */
function revision() {
  const built = statSync(join(root, 'dist', 'server', 'app.js')).mtime.toISOString();
  try {
    const git = (...args) => execFileSync('git', ['-C', root, ...args], { encoding: 'utf8' }).trim();
    const dirty = git('status', '--porcelain', '--', 'src') === '' ? '' : ' + uncommitted src/ changes';
    return `commit ${git('rev-parse', '--short', 'HEAD')}${dirty}, dist/ built ${built}`;
  } catch {
    return `dist/ built ${built}`;
  }
}

function report({ direct, bare, firebreak, rss, traces, startedAt }) {
  const cpu = cpus();
  const lines = [];
  lines.push(`## Gateway overhead (Firebreak, recording ON to SQLite)`);
  lines.push('');
  lines.push(
    `Node ${process.version}, ${availableParallelism()} cores (${cpu[0]?.model.trim() ?? 'unknown CPU'}), ` +
      `${fmt(totalmem() / 1024 ** 3, 1)} GB RAM, ${process.platform}/${process.arch}. ` +
      `Non-streaming POST /v1/chat/completions (${Buffer.byteLength(BODY)}-byte body), loopback, ` +
      `${WARMUP_SECONDS} s warm-up + ${SECONDS} s at ${CONNECTIONS} connections + ${SECONDS} s at 1 connection per target ` +
      `(in ${SLICES} interleaved slices). Firebreak: ${revision()}.`,
  );
  lines.push('');
  lines.push(
    `| Target | req/s @${CONNECTIONS} conn | p50 @1 conn | p99 @1 conn | mean @1 conn | server CPU / req | peak RSS (process) |`,
  );
  lines.push('|---|---:|---:|---:|---:|---:|---:|');
  const row = (r, rssLabel, rssMb) =>
    lines.push(
      `| ${r.label} | ${fmt(r.rps, 0)} | ${fmt(r.p50, 3)} ms | ${fmt(r.p99, 3)} ms | ${fmt(r.mean, 3)} ms | ` +
        `${fmt(r.cpuUsPerReq, 0)} µs | ${fmt(rssMb, 1)} MB (${rssLabel}) |`,
    );
  row(direct, 'fake upstream', rss.upstream);
  row(bare, 'bare proxy', rss.bare);
  row(firebreak, 'Firebreak', rss.firebreak);
  lines.push('');
  lines.push(
    '"server CPU / req" is the user+system CPU time of the process in front of the client (the fake upstream ' +
      `for direct, else the proxy) during the ${CONNECTIONS}-connection phase, divided by the requests served.`,
  );
  lines.push('');

  const tputBare = firebreak.rps / bare.rps;
  const addedP50Direct = firebreak.p50 - direct.p50;
  const ok = (pass) => (pass ? 'met' : 'MISSED');
  lines.push('| Firebreak vs | bare proxy | direct | target |');
  lines.push('|---|---:|---:|---|');
  lines.push(
    `| throughput (req/s) | ${pct(firebreak.rps, bare.rps)} | ${pct(firebreak.rps, direct.rps)} | ` +
      `≥ ${TARGETS.throughputVsBare * 100}% of bare proxy: **${ok(tputBare >= TARGETS.throughputVsBare)}** |`,
  );
  lines.push(
    `| added p50 latency | ${signed(firebreak.p50 - bare.p50)} | ${signed(addedP50Direct)} | ` +
      `≤ ${TARGETS.addedP50VsDirectMs} ms vs direct: **${ok(addedP50Direct <= TARGETS.addedP50VsDirectMs)}** |`,
  );
  lines.push(
    `| added p99 latency | ${signed(firebreak.p99 - bare.p99)} | ${signed(firebreak.p99 - direct.p99)} | |`,
  );
  lines.push(
    `| peak RSS | ${fmt(rss.firebreak, 1)} MB vs ${fmt(rss.bare, 1)} MB | ${fmt(rss.firebreak, 1)} MB vs ${fmt(rss.upstream, 1)} MB | |`,
  );
  lines.push(
    `| server CPU / req | ${fmt(firebreak.cpuUsPerReq / bare.cpuUsPerReq, 1)}× | ${fmt(firebreak.cpuUsPerReq / direct.cpuUsPerReq, 1)}× | |`,
  );
  lines.push('');
  lines.push(
    `Recording: ${traces.rows} traces in SQLite for ${traces.calls} calls Firebreak made to the upstream ` +
      `(recorder: ${traces.written} written, ${traces.dropped} dropped, ${traces.pending} pending at shutdown; ` +
      `batches written on the ${traces.thread} thread). ` +
      `Total run ${fmt((Date.now() - startedAt) / 1000, 0)} s.`,
  );
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------------
// Main

async function main() {
  const startedAt = Date.now();
  if (!existsSync(join(root, 'dist', 'server', 'app.js'))) {
    console.error(
      'dist/ is missing: this benchmark runs the built gateway. Run `npm run build` first, then `npm run bench`.',
    );
    process.exitCode = 1;
    return;
  }
  const deadline = setTimeout(() => {
    console.error(`benchmark did not finish within ${HARD_DEADLINE_MS / 1000} s: killing the servers`);
    killAll();
    process.exit(2);
  }, HARD_DEADLINE_MS);

  const tmp = mkdtempSync(join(tmpdir(), 'firebreak-bench-'));
  const dbFile = join(tmp, 'traces.db');
  try {
    log(`starting servers (traces to ${dbFile})`);
    const upstream = await startChild('fake upstream', 'fake-upstream.js', []);
    const [bare, firebreak] = await Promise.all([
      startChild('bare proxy', 'bare-proxy.js', [upstream.url]),
      startChild('Firebreak', 'firebreak-server.js', [upstream.url, dbFile, GATEWAY_KEY]),
    ]);

    // Smoke check: all three answer the same completion; Firebreak also says what it added.
    for (const s of [upstream, bare, firebreak]) {
      const res = await post(s.url);
      const answer = res.status === 200 ? JSON.parse(res.text).choices?.[0]?.message?.content : undefined;
      if (answer !== EXPECTED_ANSWER)
        throw new Error(`${s.name} answered ${res.status}: ${res.text.slice(0, 300)}`);
    }
    const idle = {
      upstream: (await stats(upstream)).rssMb,
      bare: (await stats(bare)).rssMb,
      firebreak: (await stats(firebreak)).rssMb,
    };
    log(
      `idle RSS: upstream ${fmt(idle.upstream, 1)} MB, bare proxy ${fmt(idle.bare, 1)} MB, Firebreak ${fmt(idle.firebreak, 1)} MB`,
    );

    const target = (label, server) => ({
      label,
      server,
      url: server.url,
      ok: 0,
      seconds: 0,
      cpuMs: 0,
      sliceRps: [],
      latencies: [],
      requests: 0,
    });
    const [direct, bareResult, fbResult] = await measureAll([
      target('direct (fake upstream)', upstream),
      target('bare Node proxy', bare),
      target('Firebreak', firebreak),
    ]);

    // Peak RSS over the whole run: the kernel's high-water mark, read before shutdown.
    const rss = {
      upstream: (await stats(upstream)).peakRssMb,
      bare: (await stats(bare)).peakRssMb,
      firebreak: (await stats(firebreak)).peakRssMb,
    };
    // Where the recorder was writing batches during the run ('worker' thread or 'main' thread).
    const recordingThread = (await stats(firebreak)).recorder?.thread ?? 'unknown';
    const fbFinal = await stop(firebreak);
    const upFinal = await stop(upstream);
    await stop(bare);

    const db = new Database(dbFile, { readonly: true });
    const rows = db.prepare('select count(*) as n from traces').get().n;
    db.close();
    const recorder = fbFinal?.recorder ?? { written: Number.NaN, dropped: Number.NaN, pending: Number.NaN };
    const traces = {
      rows,
      calls: upFinal?.withTraceparent ?? Number.NaN,
      written: recorder.written,
      dropped: recorder.dropped,
      pending: recorder.pending,
      thread: recordingThread,
    };

    process.stdout.write(
      `${report({ direct, bare: bareResult, firebreak: fbResult, rss, traces, startedAt })}\n`,
    );
  } finally {
    killAll();
    clearTimeout(deadline);
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  killAll();
  process.exitCode = 1;
});
