import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import type { TraceRecord } from '../../src/core/trace.js';
import { incidentBlastRadius, incidentBlastRadiusExport } from '../../src/ops/blast-radius-of-incident.js';
import {
  containIncident,
  openIncident,
  recordSignal,
  transitionIncident,
  triageIncident,
} from '../../src/ops/incidents.js';
import {
  RESPONDER_TOKEN,
  VIEWER_TOKEN,
  startFirebreak,
  testConfigYaml,
  type Running,
} from '../support/harness.js';
import { storeKinds } from '../support/stores.js';
import { seedFinding, seedTrace } from '../support/trace-record.js';

/**
 * The blast radius of an incident (issue 5 item 5): the plain blast radius filter derived from the
 * incident (app, env, class, window from the first signal to the resolve), over traces written to the
 * real store (with their trace marks). Every count is checked against a brute-force count over the
 * traces written here, and the main ones by hand.
 */
const MIN = 60_000;
/** Recent enough for the 90-day window limit against the real clock the in-process CLI uses. */
const T0 = Math.floor((Date.now() - 3 * 3_600_000) / MIN) * MIN;
const RESOLVED = T0 + 20 * MIN;

function yaml(): string {
  return testConfigYaml().replace('\napps:', '\ntools:\n  send_email: { risk: high }\napps:');
}

interface Spec {
  readonly at: number;
  readonly user: string | null;
  readonly tenant: string | null;
  readonly detector?: string;
  readonly class?: string;
  readonly app?: string;
  readonly env?: string;
  readonly traceId?: string;
  readonly tool?: string;
}

const SPECS: readonly Spec[] = [
  { at: T0 - 20 * MIN, user: 'u1', tenant: 'acme', detector: 'canary', class: 'privacy' }, // before
  {
    at: T0 - 10 * MIN,
    user: 'u1',
    tenant: 'acme',
    detector: 'canary',
    class: 'privacy',
    traceId: 'sig-trace-1',
  },
  { at: T0 + 5 * MIN, user: 'u2', tenant: 'acme', detector: 'pii', class: 'privacy' },
  { at: T0 + 6 * MIN, user: 'u3', tenant: 'globex', detector: 'pii', class: 'privacy', tool: 'send_email' },
  { at: T0 + 7 * MIN, user: 'u4', tenant: 'acme' }, // no finding
  { at: T0 + 8 * MIN, user: 'u5', tenant: 'acme', detector: 'canary', class: 'privacy', env: 'dev' },
  { at: T0 + 9 * MIN, user: 'u6', tenant: 'acme', detector: 'canary', class: 'privacy', app: 'billing-bot' },
  { at: T0 + 10 * MIN, user: 'u7', tenant: 'acme', detector: 'injection', class: 'security' },
  { at: T0 + 11 * MIN, user: null, tenant: 'acme', detector: 'canary', class: 'privacy' },
  { at: RESOLVED, user: 'u9', tenant: 'initech', detector: 'pii', class: 'privacy' }, // the resolving instant
  { at: T0 + 24 * MIN, user: 'u8', tenant: 'acme', detector: 'canary', class: 'privacy' }, // after resolve
];

function trace(s: Spec, i: number): TraceRecord {
  const app = s.app ?? 'support-bot';
  return seedTrace(
    {
      id: `tr_ibr_${String(i).padStart(4, '0')}`,
      traceId: s.traceId ?? `ibr-${i}`,
      ts: s.at,
      app,
      env: s.env ?? (app === 'billing-bot' ? 'dev' : 'prod'),
      userId: s.user,
      tenantId: s.tenant,
    },
    {
      ...(s.tool !== undefined ? { toolCalls: [{ id: 'c1', name: s.tool, arguments: '{}' }] } : {}),
      ...(s.detector !== undefined ? { findings: [seedFinding(s.detector, s.class ?? 'privacy')] } : {}),
    },
  );
}

interface Expect {
  readonly since: number;
  readonly until: number;
  readonly env?: string;
  readonly class?: string;
  readonly detector?: string;
  readonly tool?: string;
}

/** What the blast radius must say, counted by brute force over SPECS. */
function expected(f: Expect) {
  const hits = SPECS.filter(
    (s) =>
      (s.app ?? 'support-bot') === 'support-bot' &&
      s.at >= f.since &&
      s.at < f.until &&
      (f.env === undefined || (s.env ?? 'prod') === f.env) &&
      (f.class === undefined || s.class === f.class) &&
      (f.detector === undefined || s.detector === f.detector) &&
      (f.tool === undefined || s.tool === f.tool),
  );
  const users = new Set(hits.flatMap((s) => (s.user === null ? [] : [s.user])));
  const tenants = new Set(hits.flatMap((s) => (s.tenant === null ? [] : [s.tenant])));
  return {
    users: users.size,
    tenants: tenants.size,
    traces: hits.length,
    tracesWithoutUser: hits.filter((s) => s.user === null).length,
    userIds: [...users].sort(),
  };
}

describe.each(storeKinds)('incident blast radius (%s)', (kind) => {
  let fb: Running;
  let clock = T0;
  const ops = () => fb.fb.ops;
  const api = (path: string, token = VIEWER_TOKEN) =>
    fetch(`${fb.url}${path}`, { headers: { authorization: `Bearer ${token}` } });

  beforeAll(async () => {
    fb = await startFirebreak({ store: kind, yaml: yaml(), now: () => clock });
    await fb.store.traces.insertBatch(SPECS.map(trace));
    // Detection at T0 of a harm observed ten minutes earlier, on the trace that showed it.
    const { incident } = await recordSignal(ops(), {
      actor: 'detection:canary',
      source: 'finding',
      summary: 'canary token in an answer',
      signal: 'finding:0123456789abcdef',
      observedAt: T0 - 10 * MIN,
      trace: 'sig-trace-1',
      app: 'support-bot',
      env: 'prod',
      title: 'Canary leaked',
      class: 'privacy',
      severity: 'SEV2',
    });
    expect(incident.id).toBe('INC-1');
  });
  afterAll(async () => {
    await fb.close();
  });

  it('derives app, env, class and the window (first signal → now) from an unresolved incident', async () => {
    clock = T0 + 15 * MIN;
    const r = await incidentBlastRadius(ops(), 'INC-1');
    const want = expected({ since: T0 - 10 * MIN, until: clock, env: 'prod', class: 'privacy' });
    // By hand: u1 (the signal's trace), u2, u3, and one call without a user; acme and globex.
    expect(want).toMatchObject({ users: 3, tenants: 2, traces: 4, tracesWithoutUser: 1 });
    expect(r).toMatchObject({
      incident: 'INC-1',
      users: want.users,
      tenants: want.tenants,
      traces: want.traces,
      tracesWithoutUser: want.tracesWithoutUser,
      window: { since: T0 - 10 * MIN, until: clock },
      filters: { app: 'support-bot', env: 'prod', class: 'privacy', since: T0 - 10 * MIN, until: clock },
      signalTraces: ['sig-trace-1'],
    });
    expect(r.sources).toEqual({
      app: 'incident',
      env: 'incident',
      class: 'incident',
      since: `incident: signal finding:0123456789abcdef observed ${new Date(T0 - 10 * MIN).toISOString()}`,
      until: 'incident: unresolved (detected), so now',
    });
  });

  it('ends the window when the incident was resolved, that instant included', async () => {
    clock = T0 + MIN;
    await triageIncident(ops(), { id: 'INC-1', actor: 'alice' });
    await containIncident(ops(), {
      id: 'INC-1',
      action: { action: 'disable-tool', target: 'send_email' },
      actor: 'alice',
    });
    // Containing moves a triaged incident to contained.
    await transitionIncident(ops(), { id: 'INC-1', to: 'remediated', actor: 'alice' });
    clock = RESOLVED;
    await transitionIncident(ops(), { id: 'INC-1', to: 'resolved', actor: 'alice' });
    clock = T0 + 60 * MIN;

    const r = await incidentBlastRadius(ops(), 'INC-1');
    const want = expected({ since: T0 - 10 * MIN, until: RESOLVED + 1, env: 'prod', class: 'privacy' });
    expect(want).toMatchObject({ users: 4, tenants: 3, traces: 5 }); // + u9 at the resolve, not u8 after
    expect(r).toMatchObject({
      users: want.users,
      tenants: want.tenants,
      traces: want.traces,
      window: { since: T0 - 10 * MIN, until: RESOLVED + 1 },
    });
    expect(r.sources.until).toBe(`incident: resolved ${new Date(RESOLVED).toISOString()}`);
  });

  it('lets the caller narrow or replace what the incident gives', async () => {
    const base = { since: T0 - 10 * MIN, until: RESOLVED + 1 };
    const cases: [Record<string, string>, Expect][] = [
      [{ detector: 'pii' }, { ...base, env: 'prod', class: 'privacy', detector: 'pii' }],
      [{ tool: 'send_email' }, { ...base, env: 'prod', class: 'privacy', tool: 'send_email' }],
      [{ class: 'any' }, { ...base, env: 'prod' }],
      [{ class: 'security' }, { ...base, env: 'prod', class: 'security' }],
      [{ env: 'any' }, { ...base, class: 'privacy' }],
      [{ env: 'dev' }, { ...base, env: 'dev', class: 'privacy' }],
      [
        { since: String(T0 - 30 * MIN), until: String(T0 + 30 * MIN) },
        { since: T0 - 30 * MIN, until: T0 + 30 * MIN, env: 'prod', class: 'privacy' },
      ],
    ];
    for (const [overrides, f] of cases) {
      const r = await incidentBlastRadius(ops(), 'INC-1', overrides);
      const want = expected(f);
      expect(
        { users: r.users, tenants: r.tenants, traces: r.traces, without: r.tracesWithoutUser },
        JSON.stringify(overrides),
      ).toEqual({
        users: want.users,
        tenants: want.tenants,
        traces: want.traces,
        without: want.tracesWithoutUser,
      });
      for (const k of Object.keys(overrides))
        expect(r.sources[k as keyof typeof r.sources], k).toMatch(/^caller/);
    }
    const any = await incidentBlastRadius(ops(), 'INC-1', { class: 'any' });
    expect(any.filters.class).toBeUndefined();
    expect(any.notes).toContain(
      'no class, detector, tool or status: every call of support-bot/prod in the window counts',
    );
  });

  it('exports exactly the users it counts, as CSV and as JSON naming the incident', async () => {
    const want = expected({ since: T0 - 10 * MIN, until: RESOLVED + 1, env: 'prod', class: 'privacy' });
    let csv = '';
    const n = await incidentBlastRadiusExport(ops(), 'INC-1', {}, 'csv', (s) => {
      csv += s;
    });
    expect(n.users).toBe(want.users);
    const lines = csv.split('\r\n').filter(Boolean);
    expect(lines[0]).toBe('user_id,tenant_id,first_seen,last_seen,traces,example_trace_id');
    expect(lines.slice(1).map((l) => l.split(',')[0])).toEqual(want.userIds);
    expect(lines.find((l) => l.startsWith('u1,'))).toContain(',sig-trace-1');

    let json = '';
    await incidentBlastRadiusExport(ops(), 'INC-1', {}, 'json', (s) => {
      json += s;
    });
    const doc = JSON.parse(json) as {
      incident: string;
      sources: Record<string, string>;
      filters: Record<string, unknown>;
      users: { userId: string }[];
    };
    expect(doc.incident).toBe('INC-1');
    expect(doc.sources['class']).toBe('incident');
    expect(doc.filters).toMatchObject({ app: 'support-bot', env: 'prod', class: 'privacy' });
    expect(doc.users.map((u) => u.userId)).toEqual(want.userIds);
  });

  it('counts every call of the app in the window for an incident with no class, and says so', async () => {
    clock = T0 + 60 * MIN;
    const v = await openIncident(ops(), {
      app: 'support-bot',
      env: 'prod',
      title: 'Customers say the bot is rude',
      actor: 'bob',
      impactStartedAt: T0 + 4 * MIN,
    });
    expect(v.id).toBe('INC-2');
    const r = await incidentBlastRadius(ops(), 'INC-2');
    const want = expected({ since: T0 + 4 * MIN, until: clock, env: 'prod' });
    expect(r).toMatchObject({ users: want.users, traces: want.traces, filters: { since: T0 + 4 * MIN } });
    expect(r.filters.class).toBeUndefined();
    expect(r.sources.since).toBe(`incident: impact started ${new Date(T0 + 4 * MIN).toISOString()}`);
    expect(r.notes[0]).toBe(
      'INC-2 has no class yet: every call of support-bot/prod in the window counts; narrow with class, detector, tool or status',
    );
  });

  it('answers on /api with the incident filter, the export for responders, and precise errors', async () => {
    const res = await api('/api/incidents/INC-1/blast-radius');
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    const want = expected({ since: T0 - 10 * MIN, until: RESOLVED + 1, env: 'prod', class: 'privacy' });
    expect(body).toMatchObject({
      incident: 'INC-1',
      users: want.users,
      traces: want.traces,
      sources: { class: 'incident', until: `incident: resolved ${new Date(RESOLVED).toISOString()}` },
    });
    const narrowed = (await (await api('/api/incidents/INC-1/blast-radius?detector=canary')).json()) as {
      traces: number;
    };
    expect(narrowed.traces).toBe(
      expected({
        since: T0 - 10 * MIN,
        until: RESOLVED + 1,
        env: 'prod',
        class: 'privacy',
        detector: 'canary',
      }).traces,
    );

    const csv = await api('/api/incidents/INC-1/blast-radius/export?format=csv', RESPONDER_TOKEN);
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(csv.headers.get('content-disposition')).toBe('attachment; filename="blast-radius-INC-1.csv"');
    expect((await csv.text()).split('\r\n').filter(Boolean)).toHaveLength(want.users + 1);
    const json = await api('/api/incidents/INC-1/blast-radius/export?format=json', RESPONDER_TOKEN);
    expect(((await json.json()) as { incident: string }).incident).toBe('INC-1');

    const viewerExport = await api('/api/incidents/INC-1/blast-radius/export?format=csv');
    expect(viewerExport.status).toBe(403);

    const errors: [string, number, string, string, string | undefined][] = [
      ['/api/incidents/INC-99/blast-radius', 404, 'not_found', 'no incident INC-99', 'id'],
      [
        '/api/incidents/nonsense/blast-radius',
        404,
        'not_found',
        'no incident "nonsense" (incident ids look like INC-7)',
        'id',
      ],
      [
        '/api/incidents/INC-1/blast-radius?app=billing-bot',
        400,
        'validation_failed',
        "app: an incident's blast radius is over the incident's app (support-bot)",
        'app',
      ],
      [
        '/api/incidents/INC-1/blast-radius?class=privcy',
        400,
        'validation_failed',
        'class: unknown incident class "privcy"',
        'class',
      ],
      [
        '/api/incidents/INC-1/blast-radius?env=staging',
        400,
        'validation_failed',
        'env: "staging" is not an environment of support-bot',
        'env',
      ],
      [
        '/api/incidents/INC-1/blast-radius?since=later',
        400,
        'validation_failed',
        'since: "later" is not a time',
        'since',
      ],
      [
        '/api/incidents/INC-1/blast-radius?colour=red',
        400,
        'validation_failed',
        'colour: unknown field (allowed: env, release, since, until, detector, tool, class, status)',
        'colour',
      ],
    ];
    for (const [path, status, code, message, errPath] of errors) {
      const r = await api(path);
      const e = ((await r.json()) as { error: { code: string; message: string; path?: string } }).error;
      expect(r.status, path).toBe(status);
      expect(e.code, path).toBe(code);
      expect(e.message, path).toContain(message);
      expect(e.path, path).toBe(errPath);
    }
    for (const [path, status, message] of [
      ['/api/incidents/INC-99/blast-radius/export?format=csv', 404, 'no incident INC-99'],
      ['/api/incidents/INC-1/blast-radius/export?format=xml', 400, 'format: "xml" is not csv or json'],
      ['/api/incidents/INC-1/blast-radius/export', 400, 'format: required: csv or json'],
      ['/api/incidents/INC-1/blast-radius/export?format=csv&tool=', 400, 'tool: must not be empty'],
    ] as const) {
      const r = await api(path, RESPONDER_TOKEN);
      expect(r.status, path).toBe(status);
      expect(r.headers.get('content-type'), path).toMatch(/^application\/json/);
      expect(((await r.json()) as { error: { message: string } }).error.message, path).toContain(message);
    }
  });

  it('works from the CLI, in-process and with --server, printing the same', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'firebreak-incident-blast-'));
    const file = join(dir, 'firebreak.yaml');
    writeFileSync(file, `${yaml()}\ndatabase: { url: '${fb.store.url}' }\n`);
    const run = async (args: string[]) => {
      let out = '';
      const code = await main(['node', 'firebreak', 'incident', 'blast-radius', ...args], (s) => (out += s));
      return { code, out };
    };
    const want = expected({ since: T0 - 10 * MIN, until: RESOLVED + 1, env: 'prod', class: 'privacy' });
    const local = await run(['INC-1', '--config', file]);
    expect(local.code).toBe(0);
    expect(local.out).toContain(
      `blast radius of INC-1\nwindow: ${new Date(T0 - 10 * MIN).toISOString()} → ${new Date(RESOLVED + 1).toISOString()}\nusers    ${want.users}\ntenants  ${want.tenants}\ntraces   ${want.traces} (1 without a user id)`,
    );
    expect(local.out).toMatch(
      /filter used:\n {2}app {6}support-bot +\(incident\)\n {2}env {6}prod +\(incident\)\n/,
    );
    expect(local.out).toMatch(/\n {2}class {4}privacy +\(incident\)\n/);
    expect(local.out).toContain('signal traces: sig-trace-1');
    const remote = await run(['INC-1', '--server', fb.url, '--token', VIEWER_TOKEN]);
    expect(remote).toEqual(local);

    const narrowed = await run(['INC-1', '--config', file, '--detector', 'canary', '--json']);
    expect(JSON.parse(narrowed.out)).toMatchObject({
      incident: 'INC-1',
      filters: { detector: 'canary', class: 'privacy' },
      sources: { detector: 'caller' },
    });

    for (const format of ['csv', 'json']) {
      const csvLocal = await run(['INC-1', '--config', file, '--export', format]);
      const csvRemote = await run([
        'INC-1',
        '--export',
        format,
        '--server',
        fb.url,
        '--token',
        RESPONDER_TOKEN,
      ]);
      expect(csvLocal.code, format).toBe(0);
      expect(csvRemote, format).toEqual(csvLocal);
      let direct = '';
      await incidentBlastRadiusExport(ops(), 'INC-1', {}, format, (s) => {
        direct += s;
      });
      expect(csvLocal.out, format).toBe(direct);
      const out = join(dir, `users.${format}`);
      const written = await run(['INC-1', '--config', file, '--export', format, '--out', out]);
      expect(written).toEqual({ code: 0, out: `wrote ${out} (${Buffer.byteLength(direct)} bytes)\n` });
      expect(readFileSync(out, 'utf8')).toBe(direct);
      expect(existsSync(`${out}.partial`)).toBe(false);
    }
    const viewerExport = await run(['INC-1', '--export', 'csv', '--server', fb.url, '--token', VIEWER_TOKEN]);
    expect(viewerExport.code).toBe(1);

    const unknown = await run(['INC-42', '--config', file]);
    expect(unknown).toEqual({ code: 1, out: '' });
    const unknownRemote = await run(['INC-42', '--server', fb.url, '--token', VIEWER_TOKEN]);
    expect(unknownRemote.code).toBe(1);
    const outWithoutExport = await run(['INC-1', '--config', file, '--out', join(dir, 'x.csv')]);
    expect(outWithoutExport.code).toBe(1);
    const badExportFile = join(dir, 'bad.csv');
    const bad = await run([
      'INC-1',
      '--config',
      file,
      '--export',
      'csv',
      '--since',
      'later',
      '--out',
      badExportFile,
    ]);
    expect(bad.code).toBe(1);
    expect(existsSync(badExportFile)).toBe(false);
    expect(existsSync(`${badExportFile}.partial`)).toBe(false);
  });
});
