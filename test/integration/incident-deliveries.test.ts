import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { enqueueDelivery } from '../../src/ops/deliveries.js';
import { incidentDeliveries, searchDeliveries } from '../../src/ops/delivery-views.js';
import { openIncident, type IncidentView } from '../../src/ops/incidents.js';
import { buildApp, type FirebreakApp } from '../../src/server/app.js';
import { parseConfig } from '../../src/server/config-load.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/port.js';
import { RESPONDER_TOKEN, VIEWER_TOKEN, testConfigYaml } from '../support/harness.js';
import { freshDatabaseUrl, storeKinds } from '../support/stores.js';

/**
 * Deliveries visible on the incident (issue 5 item 8): messages put in the real outbox, sent by the
 * real scheduler to a receiver on loopback (one answers 200, one 400, one port is closed), then read
 * through GET /api/incidents/:id/deliveries, GET /api/deliveries and `firebreak incident deliveries`.
 */
const T0 = Date.UTC(2026, 10, 27, 10, 0);

/** Answers 200 on /ok and 400 "bad payload" on /reject; records nothing else. */
function receiver(): Server {
  return createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const reject = req.url === '/reject';
      res.writeHead(reject ? 400 : 200, { 'content-type': 'text/plain' });
      res.end(reject ? 'bad payload' : 'ok');
    });
  });
}

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

interface Listed {
  id: string;
  channel: string;
  channelType: string;
  incident: string | null;
  kind: string;
  status: string;
  attempts: number;
  nextAttemptAt: number | null;
  lastStatus: number | null;
  lastError: string | null;
  attemptLog: { attempt: number; httpStatus: number | null; outcome: string; error: string | null }[];
}

describe.each(storeKinds)('deliveries on the incident (%s)', (kind) => {
  const rx = receiver();
  let clock = T0;
  let fb: FirebreakApp;
  let store: Store;
  let dbUrl: string;
  let url: string;
  let yaml: string;
  const ids: Record<'sent' | 'failed' | 'retrying' | 'other', string> = {
    sent: '',
    failed: '',
    retrying: '',
    other: '',
  };
  const api = (path: string, token = VIEWER_TOKEN) =>
    fetch(`${url}${path}`, { headers: { authorization: `Bearer ${token}` } });

  beforeAll(async () => {
    await new Promise<void>((resolve) => rx.listen(0, '127.0.0.1', resolve));
    const port = (rx.address() as AddressInfo).port;
    const down = await closedPort();
    const channels = `
channels:
  ops-slack: { type: slack, url: 'http://127.0.0.1:${port}/ok' }
  hook: { type: webhook, url: 'http://127.0.0.1:${port}/reject', secret: 'whsec_test_0123456789abcdef' }
  down: { type: slack, url: 'http://127.0.0.1:${down}/gone' }
`;
    yaml = testConfigYaml().replace('\napps:', `${channels}apps:`);
    dbUrl = await freshDatabaseUrl(kind);
    store = await openStore(dbUrl);
    fb = await buildApp(parseConfig(yaml, 'test config', {}), {
      store,
      logger: pino({ level: 'silent' }),
      now: () => clock,
      timers: { tickMs: 0 },
    });
    await fb.app.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(fb.app.server.address() as AddressInfo).port}`;

    const open = (title: string) =>
      openIncident(fb.ops, { app: 'support-bot', env: 'prod', title, actor: 'alice' });
    const inc1 = await open('Canary leaked');
    const inc2 = await open('Refund tool misused');
    await open('Nothing sent about this one');
    const send = async (channel: string, incident: IncidentView) => {
      clock += 1_000;
      const d = await enqueueDelivery(fb.ops, {
        channel,
        incident,
        event: { type: 'note', at: clock, actor: 'alice', text: 'looking at traces' },
      });
      return d.id;
    };
    ids.sent = await send('ops-slack', inc1);
    ids.failed = await send('hook', inc1);
    ids.retrying = await send('down', inc1);
    ids.other = await send('ops-slack', inc2);
    for (let i = 0; i < 20 && (await fb.timers.runDue()).length > 0; i++);
  });
  afterAll(async () => {
    await fb.close(2_000);
    await store.close();
    rx.closeAllConnections();
    await new Promise<void>((resolve) => rx.close(() => resolve()));
  });

  it('lists an incident’s deliveries newest first, each with its state and attempt log, no payload', async () => {
    const res = await api('/api/incidents/INC-1/deliveries');
    expect(res.status).toBe(200);
    const body = (await res.json()) as { incident: string; data: Listed[] };
    expect(body.incident).toBe('INC-1');
    expect(body.data.map((d) => d.id)).toEqual([ids.retrying, ids.failed, ids.sent]);
    const [retrying, failed, sent] = body.data;
    expect(sent).toMatchObject({
      channel: 'ops-slack',
      channelType: 'slack',
      incident: 'INC-1',
      kind: 'update',
      status: 'sent',
      attempts: 1,
      lastStatus: 200,
      lastError: null,
      nextAttemptAt: null,
      attemptLog: [{ attempt: 1, outcome: 'sent', httpStatus: 200, error: null }],
    });
    expect(failed).toMatchObject({
      channel: 'hook',
      channelType: 'webhook',
      status: 'failed',
      attempts: 1,
      lastStatus: 400,
      lastError: 'HTTP 400: bad payload',
      nextAttemptAt: null,
      attemptLog: [{ attempt: 1, outcome: 'failed', httpStatus: 400, error: 'HTTP 400: bad payload' }],
    });
    expect(retrying).toMatchObject({ channel: 'down', status: 'pending', attempts: 1, lastStatus: null });
    expect(retrying?.nextAttemptAt).toBeGreaterThan(clock);
    expect(retrying?.lastError).toMatch(/ECONNREFUSED/);
    expect(retrying?.attemptLog).toMatchObject([{ attempt: 1, outcome: 'retry', httpStatus: null }]);
    for (const d of body.data) expect(d).not.toHaveProperty('payload');

    // The same through the operation; an incident with nothing sent is an empty list.
    expect((await incidentDeliveries(fb.ops, 'INC-1')).data).toEqual(body.data);
    expect(await (await api('/api/incidents/INC-3/deliveries')).json()).toEqual({
      incident: 'INC-3',
      data: [],
    });
  });

  it('filters by status and channel, and across incidents for responders', async () => {
    const list = async (path: string, token?: string) =>
      ((await (await api(path, token)).json()) as { data: Listed[] }).data.map((d) => d.id);
    expect(await list('/api/incidents/INC-1/deliveries?status=failed')).toEqual([ids.failed]);
    expect(await list('/api/incidents/INC-1/deliveries?status=pending')).toEqual([ids.retrying]);
    expect(await list('/api/incidents/INC-1/deliveries?channel=ops-slack')).toEqual([ids.sent]);
    expect(await list('/api/incidents/INC-1/deliveries?limit=2')).toEqual([ids.retrying, ids.failed]);

    expect(await list('/api/deliveries', RESPONDER_TOKEN)).toEqual([
      ids.other,
      ids.retrying,
      ids.failed,
      ids.sent,
    ]);
    expect(await list('/api/deliveries?status=failed', RESPONDER_TOKEN)).toEqual([ids.failed]);
    expect(await list('/api/deliveries?channel=ops-slack&status=sent', RESPONDER_TOKEN)).toEqual([
      ids.other,
      ids.sent,
    ]);
    expect(await list('/api/deliveries?incident=INC-2', RESPONDER_TOKEN)).toEqual([ids.other]);
    expect((await searchDeliveries(fb.ops, { status: 'failed' })).data.map((d) => d.id)).toEqual([
      ids.failed,
    ]);
    expect((await api('/api/deliveries?status=failed')).status).toBe(403);
  });

  it('answers unknown incidents with 404 and bad query values with a precise 400', async () => {
    const cases: [string, number, string, string, string | undefined][] = [
      ['/api/incidents/INC-99/deliveries', 404, 'not_found', 'no incident INC-99', 'id'],
      [
        '/api/incidents/bogus/deliveries',
        404,
        'not_found',
        'no incident "bogus" (incident ids look like INC-7)',
        'id',
      ],
      [
        '/api/incidents/INC-1/deliveries?status=lost',
        400,
        'validation_failed',
        'status: "lost" is not a delivery status (pending, sent, failed)',
        'status',
      ],
      [
        '/api/incidents/INC-1/deliveries?channel=pager',
        400,
        'validation_failed',
        'channel: unknown channel "pager" (configured: ops-slack, hook, down)',
        'channel',
      ],
      [
        '/api/incidents/INC-1/deliveries?limit=0',
        400,
        'validation_failed',
        'limit: "0" is not a whole number from 1 to 1000',
        'limit',
      ],
      [
        '/api/incidents/INC-1/deliveries?limit=ten',
        400,
        'validation_failed',
        'limit: "ten" is not a whole number from 1 to 1000',
        'limit',
      ],
      [
        '/api/incidents/INC-1/deliveries?incident=INC-2',
        400,
        'validation_failed',
        'incident: unknown field (allowed: status, channel, limit)',
        'incident',
      ],
      [
        '/api/deliveries?sort=asc',
        400,
        'validation_failed',
        'sort: unknown field (allowed: status, channel, limit, incident)',
        'sort',
      ],
      ['/api/deliveries?incident=INC-77', 404, 'not_found', 'no incident INC-77', 'id'],
      [
        '/api/deliveries?status=failed&status=sent',
        400,
        'validation_failed',
        'status: ["failed","sent"] is not a delivery status (pending, sent, failed)',
        'status',
      ],
    ];
    for (const [path, status, code, message, errPath] of cases) {
      const res = await api(path, RESPONDER_TOKEN);
      const { error } = (await res.json()) as { error: { code: string; message: string; path?: string } };
      expect(res.status, path).toBe(status);
      expect(error, path).toEqual({ code, message, ...(errPath !== undefined ? { path: errPath } : {}) });
    }
  });

  it('prints a table from the CLI, in-process and with --server the same, attempts under failures', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'firebreak-deliveries-'));
    const file = join(dir, 'firebreak.yaml');
    writeFileSync(file, `${yaml}\ndatabase: { url: '${dbUrl}' }\n`);
    const run = async (args: string[]) => {
      let out = '';
      const code = await main(['node', 'firebreak', 'incident', 'deliveries', ...args], (s) => (out += s));
      return { code, out };
    };
    const local = await run(['INC-1', '--config', file]);
    expect(local.code).toBe(0);
    const remote = await run(['INC-1', '--server', url, '--token', VIEWER_TOKEN]);
    expect(remote).toEqual(local);

    const lines = local.out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^delivery +channel +kind +status +attempts +created +state +last error$/);
    expect(lines[1]).toMatch(new RegExp(`^${ids.retrying} +down \\(slack\\) +update +pending +1 `));
    expect(lines[1]).toContain('retry ');
    expect(lines[2]).toMatch(/^ {4}#1 \S+ {2}no response {2}retry {2}.*ECONNREFUSED/);
    expect(lines[3]).toMatch(new RegExp(`^${ids.failed} +hook \\(webhook\\) +update +failed +1 `));
    expect(lines[3]).toContain('no retry left');
    expect(lines[3]).toMatch(/HTTP 400: bad payload$/);
    expect(lines[4]).toMatch(/^ {4}#1 \S+ {2}HTTP 400 {2}failed {2}HTTP 400: bad payload$/);
    expect(lines[5]).toMatch(
      new RegExp(`^${ids.sent} +ops-slack \\(slack\\) +update +sent +1 +\\S+ +sent \\S+ +-$`),
    );
    expect(lines).toHaveLength(6); // no attempt lines under the one that went out

    const failed = await run(['INC-1', '--status', 'failed', '--config', file]);
    expect(failed.out.trimEnd().split('\n')).toHaveLength(3); // header, the failed one, its attempt
    expect(failed.out).toContain(ids.failed);
    expect(failed.out).not.toContain(ids.sent);
    expect(failed.out).toContain('    #1 ');

    const json = await run(['INC-1', '--config', file, '--json', '--channel', 'ops-slack']);
    expect(JSON.parse(json.out)).toMatchObject({
      incident: 'INC-1',
      data: [{ id: ids.sent, status: 'sent' }],
    });
    expect((await run(['INC-3', '--config', file])).out).toBe('no deliveries about INC-3\n');
    expect((await run(['INC-3', '--config', file, '--status', 'failed'])).out).toBe(
      'no deliveries about INC-3 (status failed)\n',
    );

    expect(await run(['INC-42', '--config', file])).toEqual({ code: 1, out: '' });
    expect((await run(['INC-42', '--server', url, '--token', VIEWER_TOKEN])).code).toBe(1);
    expect((await run(['INC-1', '--status', 'lost', '--config', file])).code).toBe(2);
    expect((await run(['INC-1', '--channel', 'pager', '--config', file])).code).toBe(1);
  });
});
