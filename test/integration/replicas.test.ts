import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setFlag, unsetFlag } from '../../src/ops/flags.js';
import {
  GATEWAY_KEY,
  VIEWER_TOKEN,
  startFirebreak,
  testConfigYaml,
  type Running,
} from '../support/harness.js';
import { startPostgres, type PostgresServer } from '../support/postgres-server.js';
import { freshDatabaseUrl } from '../support/stores.js';

/**
 * Issue 3, several replicas on one store. PostgreSQL only: this is about separate replicas (each with its
 * own store connection and LISTEN connection) sharing one database, and about what a replica does when
 * that database goes away; SQLite is a single-process store. Liveness checks with generous deadlines,
 * never timing assertions (bench/flag-propagation.js measures the propagation time).
 */
const AGENT = `
  agent:
    type: simulator
    models: [agent-1]
    rules:
      - name: always-mail
        when: { contains: '' }
        then: { toolCalls: [{ name: send_email, arguments: { to: 'x@example.com' } }] }`;

function yaml(options: { storeLossSafeMode?: boolean } = {}): string {
  let text = testConfigYaml(AGENT).replace('\napps:', '\ntools:\n  send_email: { risk: high }\napps:');
  if (options.storeLossSafeMode === true)
    text = text.replace(
      'support-bot: { environments: [dev, prod] }',
      'support-bot: { environments: [dev, prod], storeLossSafeMode: { afterSeconds: 30, mode: handoff } }',
    );
  return text;
}

const actor = 'test:responder';
const FLAG = { key: 'tool:send_email', app: 'support-bot', env: 'prod', actor, reason: 'exfiltration' };
const HANDOFF = 'I am handing this conversation to a member of our team';

async function waitFor(check: () => Promise<boolean> | boolean, what: string, tries = 400): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

interface Readyz {
  status: string;
  replica: string;
  control: { version: number; storeReachable: boolean; lastContact: number | null };
}
async function readyz(fb: Running): Promise<Readyz> {
  return (await (await fetch(`${fb.url}/readyz`)).json()) as Readyz;
}

/** One request offering send_email to a model that always calls it. */
async function ask(fb: Running) {
  const client = new OpenAI({ baseURL: `${fb.url}/v1`, apiKey: GATEWAY_KEY, maxRetries: 0 });
  const { data, response } = await client.chat.completions
    .create({
      model: 'agent-1',
      messages: [{ role: 'user', content: 'please email the customer' }],
      tools: [{ type: 'function', function: { name: 'send_email', parameters: { type: 'object' } } }],
    })
    .withResponse();
  const message = data.choices[0]?.message;
  const calls = (message?.tool_calls ?? []).map((c) => (c.type === 'function' ? c.function.name : ''));
  return {
    traceId: response.headers.get('x-ai-trace-id') ?? '',
    called: calls.includes('send_email'),
    blocked: (message?.content ?? '').includes('Firebreak blocked "send_email"'),
    text: message?.content ?? '',
  };
}

describe('replicas sharing one PostgreSQL database', () => {
  let db: string;
  let control: Running;
  let gateways: Running[] = [];

  beforeAll(async () => {
    db = await freshDatabaseUrl('postgres');
    // The control instance first: it migrates the database; the gateways then start on it.
    control = await startFirebreak({ store: { url: db }, yaml: yaml(), role: 'control' });
    gateways = [
      await startFirebreak({ store: { url: db }, yaml: yaml(), role: 'gateway' }),
      await startFirebreak({ store: { url: db }, yaml: yaml(), role: 'gateway' }),
    ];
  });
  afterAll(async () => {
    for (const fb of [...gateways, control]) await fb.close();
  });

  it('a flag set through one instance is enforced by every other replica, and all report the version', async () => {
    for (const gw of gateways) expect((await ask(gw)).called).toBe(true);

    await setFlag(control.fb.ops, { ...FLAG, value: 'off' });
    const version = await control.store.control.version();
    for (const gw of gateways) {
      await waitFor(async () => (await ask(gw)).blocked, 'the gateway replica to block send_email');
      // Once blocked, it stays blocked.
      for (let i = 0; i < 5; i++) expect(await ask(gw)).toMatchObject({ called: false, blocked: true });
      expect(gw.fb.control.current().version).toBe(version);
    }

    const all = [control, ...gateways];
    const ids = all.map((fb) => fb.fb.control.replicaId);
    expect(new Set(ids).size).toBe(3);
    for (const fb of all) expect((await readyz(fb)).replica).toBe(fb.fb.control.replicaId);
    interface ReplicaRow {
      id: string;
      role: string;
      stateVersion: number;
      stale: boolean;
    }
    const listed = async (): Promise<ReplicaRow[]> => {
      const res = await fetch(`${control.url}/api/replicas`, {
        headers: { authorization: `Bearer ${VIEWER_TOKEN}` },
      });
      expect(res.status).toBe(200);
      return ((await res.json()) as { data: ReplicaRow[] }).data;
    };
    // Heartbeats come with the periodic reconcile: wait until every replica has reported the version.
    await waitFor(async () => {
      const rows = await listed();
      return ids.every((id) => rows.some((r) => r.id === id && r.stateVersion === version));
    }, 'every replica to report the current state version');
    const rows = await listed();
    expect(
      rows
        .filter((r) => ids.includes(r.id))
        .map((r) => [r.role, r.stale])
        .sort(),
    ).toEqual([
      ['control', false],
      ['gateway', false],
      ['gateway', false],
    ]);

    await unsetFlag(gateways[0]?.fb.ops ?? control.fb.ops, FLAG);
    for (const gw of gateways)
      await waitFor(async () => (await ask(gw)).called, 'the replica to allow send_email again');
  });
});

describe('a replica when its PostgreSQL goes away', () => {
  // Owns its PostgreSQL server, since it stops it.
  let pg: PostgresServer;

  beforeAll(async () => {
    pg = await startPostgres();
  }, 120_000);
  afterAll(() => pg.destroy());

  it('fails static: keeps enforcing the last state, reports degraded, and follows changes again after', async () => {
    const fb = await startFirebreak({
      store: { url: await freshDatabaseUrl('postgres', pg.url()) },
      yaml: yaml(),
    });
    try {
      // The LISTEN connection is what a change arrives by; it must come back after a restart.
      const pushed: number[] = [];
      const unsubscribe = fb.store.control.subscribe((v) => pushed.push(v));
      await setFlag(fb.fb.ops, { ...FLAG, value: 'off' });
      const version = await fb.store.control.version();
      await waitFor(async () => (await ask(fb)).blocked, 'the flag to be enforced');
      await waitFor(() => pushed.includes(version), 'the change to be pushed');

      await pg.stop();
      await waitFor(async () => !(await readyz(fb)).control.storeReachable, 'the replica to notice');
      const during = await readyz(fb);
      expect(during.status).toBe('degraded');
      expect(during.control).toMatchObject({ version, storeReachable: false });
      for (let i = 0; i < 10; i++) expect(await ask(fb)).toMatchObject({ called: false, blocked: true });
      expect((await readyz(fb)).control.version).toBe(version);

      await pg.start();
      await waitFor(async () => (await readyz(fb)).status === 'ready', '/readyz to be ready again');
      expect((await readyz(fb)).control.storeReachable).toBe(true);

      await unsetFlag(fb.fb.ops, FLAG);
      const next = await fb.store.control.version();
      await waitFor(async () => (await ask(fb)).called, 'the unset to apply after the restart');
      await waitFor(() => pushed.includes(next), 'the LISTEN connection to be back (change pushed)');
      unsubscribe();
    } finally {
      await pg.start();
      await fb.close();
    }
  }, 120_000);

  it('opt-in store-loss safe mode: handoff once the store has been unreachable for afterSeconds', async () => {
    let clock = Date.now();
    const fb = await startFirebreak({
      store: { url: await freshDatabaseUrl('postgres', pg.url()) },
      yaml: yaml({ storeLossSafeMode: true }),
      now: () => clock,
    });
    try {
      expect((await ask(fb)).called).toBe(true);
      await pg.stop();
      await waitFor(async () => !(await readyz(fb)).control.storeReachable, 'the replica to notice');

      // Unreachable, but not yet for 30 s (by the injected clock): served normally.
      const before = await ask(fb);
      expect(before.called).toBe(true);
      expect(before.text).not.toContain(HANDOFF);

      clock += 31_000;
      const after = await ask(fb);
      expect(after.called).toBe(false);
      expect(after.text).toContain(HANDOFF);

      await pg.start();
      await waitFor(async () => (await readyz(fb)).status === 'ready', '/readyz to be ready again');
      const [trace] = await fb.traceOf(after.traceId);
      expect(trace?.status).toBe('safe_mode');
      expect(trace?.body.safeMode).toEqual({ mode: 'handoff', flag: 'store-unreachable' });
      const [earlier] = await fb.traceOf(before.traceId);
      expect(earlier?.status).toBe('ok');

      // The store is back: no longer in safe mode.
      expect((await ask(fb)).called).toBe(true);
    } finally {
      await pg.start();
      await fb.close();
    }
  }, 120_000);
});
