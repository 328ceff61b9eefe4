import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditHashInput } from '../../src/core/audit.js';
import {
  ADMIN_TOKEN,
  GATEWAY_KEY,
  RESPONDER_TOKEN,
  VIEWER_TOKEN,
  startFirebreak,
  testConfigYaml,
  type Running,
} from '../support/harness.js';
import { freshDatabaseUrl, sqlOn, storeKinds } from '../support/stores.js';

/**
 * Releases, deployments, known-good and rollback, flags, the audit log and replicas over real HTTP on
 * both stores. Every refused request is checked to have changed nothing; every accepted change to have
 * written exactly one audit entry naming its actor and reason.
 */

const CATALOGUE = `
models:
  - { name: big-4, provider: sim, model: sim-1, family: big }
  - { name: big-4-mini, provider: sim, model: sim-2, family: big }
tools:
  lookup_order: { risk: low }
  send_email: { risk: high, description: 'Sends an e-mail to the customer' }
  issue_refund: { risk: critical }
`;

const SPEC_1 = {
  model: { name: 'big-4', params: { temperature: 0.2 } },
  prompt: { system: 'You are the support bot.\nBe kind.\nNever promise refunds.' },
  tools: ['lookup_order', 'send_email'],
};
const SPEC_2 = {
  model: { name: 'big-4', params: { temperature: 0.7 } },
  prompt: { system: 'You are the support bot.\nBe brief.\nNever promise refunds.' },
  tools: ['lookup_order', { name: 'send_email', risk: 'critical' }],
};

interface Reply {
  status: number;
  body: Record<string, unknown> & { error?: { code: string; message: string; path?: string } };
}

async function call(
  base: string,
  method: 'GET' | 'POST',
  path: string,
  token: string | undefined,
  body?: unknown,
  raw?: string,
): Promise<Reply> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined || raw !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(raw !== undefined ? { body: raw } : body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as Reply['body'] };
}

/** Everything a control-plane change can write, counted straight from the store. */
async function counts(fb: Running) {
  const c = fb.store.control;
  return {
    audit: (await c.auditLog({ limit: 100_000 })).length,
    releases: (await c.releases()).length,
    deployments: (await c.deployments({ limit: 100_000 })).length,
    flags: (await c.flags({ includeRemoved: true })).length,
    activeFlags: (await c.flags({ includeRemoved: false })).length,
    knownGood: (await c.knownGood()).length,
    version: await c.version(),
  };
}

describe.each(storeKinds)('control plane API (%s)', (kind) => {
  let fb: Running;
  const api = (method: 'GET' | 'POST', path: string, token: string | undefined, body?: unknown) =>
    call(fb.url, method, path, token, body);

  beforeAll(async () => {
    fb = await startFirebreak({ store: kind, yaml: testConfigYaml(CATALOGUE) });
  });
  afterAll(async () => {
    await fb.close();
  });

  it('creates releases by content: the same content twice is the same version, not a new one', async () => {
    const first = await api('POST', '/api/releases', ADMIN_TOKEN, {
      app: 'support-bot',
      spec: SPEC_1,
      reason: 'initial',
    });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ created: true, release: { app: 'support-bot', version: 1 } });
    const again = await api('POST', '/api/releases', ADMIN_TOKEN, { app: 'support-bot', spec: SPEC_1 });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ created: false, release: { version: 1 } });
    const second = await api('POST', '/api/releases', ADMIN_TOKEN, {
      app: 'support-bot',
      spec: SPEC_2,
      reason: 'warmer, briefer',
    });
    expect(second.body).toMatchObject({ created: true, release: { version: 2 } });
    // Tool risks are copied in from the catalogue, so the stored release never depends on it again.
    const shown = await api('GET', '/api/releases/support-bot@1', VIEWER_TOKEN);
    expect(shown.status).toBe(200);
    expect((shown.body['spec'] as { tools: unknown[] }).tools).toEqual([
      { name: 'lookup_order', risk: 'low' },
      { name: 'send_email', risk: 'high', description: 'Sends an e-mail to the customer' },
    ]);
    const list = await api('GET', '/api/releases?app=support-bot', VIEWER_TOKEN);
    expect((list.body['data'] as { version: number }[]).map((r) => r.version)).toEqual([1, 2]);
    const none = await api('GET', '/api/releases?app=billing-bot', VIEWER_TOKEN);
    expect(none.body['data']).toEqual([]);
  });

  it('diffs two releases: each changed path with before and after, and the prompt as a line diff', async () => {
    const d = await api('GET', '/api/releases/support-bot@1/diff/support-bot@2', VIEWER_TOKEN);
    expect(d.status).toBe(200);
    const changes = d.body['changes'] as { path: string; before: unknown; after: unknown }[];
    expect(changes).toContainEqual({ path: 'model.params.temperature', before: 0.2, after: 0.7 });
    expect(changes).toContainEqual({ path: 'tools[send_email].risk', before: 'high', after: 'critical' });
    expect(changes.map((c) => c.path)).toContain('prompt.system');
    expect(d.body['promptDiff']).toEqual([
      '  You are the support bot.',
      '- Be kind.',
      '+ Be brief.',
      '  Never promise refunds.',
    ]);
    const same = await api('GET', '/api/releases/support-bot@1/diff/support-bot@1', VIEWER_TOKEN);
    expect(same.body).toMatchObject({ changes: [], promptDiff: null });
  });

  it('deploys, marks known-good and rolls back (to known-good by default, or to a version)', async () => {
    const before = await counts(fb);
    const noGood = await api('POST', '/api/rollbacks', RESPONDER_TOKEN, {
      app: 'support-bot',
      env: 'prod',
      reason: 'panic',
    });
    expect(noGood.status).toBe(404);
    expect(noGood.body.error?.message).toContain('no known-good release for support-bot/prod');
    expect(await counts(fb)).toEqual(before);

    const d1 = await api('POST', '/api/deployments', RESPONDER_TOKEN, {
      release: 'support-bot@1',
      env: 'prod',
      reason: 'first launch',
      incident: 'INC-1',
    });
    expect(d1.status).toBe(201);
    expect(d1.body).toMatchObject({ app: 'support-bot', env: 'prod', version: 1, kind: 'deploy' });
    const good = await api('POST', '/api/known-good', RESPONDER_TOKEN, {
      release: 'support-bot@1',
      env: 'prod',
      reason: 'a week without trouble',
    });
    expect(good.status).toBe(200);
    expect(good.body).toMatchObject({ version: 1, markedBy: 'token:test-responder' });
    await api('POST', '/api/deployments', RESPONDER_TOKEN, {
      release: 'support-bot@2',
      env: 'prod',
      reason: 'new prompt',
    });
    const back = await api('POST', '/api/rollbacks', RESPONDER_TOKEN, {
      app: 'support-bot',
      env: 'prod',
      reason: 'refund promises',
      incident: 'INC-2',
    });
    expect(back.status).toBe(201);
    expect(back.body).toMatchObject({ version: 1, kind: 'rollback', incident: 'INC-2' });
    const to = await api('POST', '/api/rollbacks', RESPONDER_TOKEN, {
      app: 'support-bot',
      env: 'prod',
      to: 2,
      reason: 'false alarm',
    });
    expect(to.body).toMatchObject({ version: 2, kind: 'rollback' });
    const list = await api('GET', '/api/deployments?app=support-bot&env=prod&limit=3', VIEWER_TOKEN);
    expect(
      (list.body['data'] as { version: number; kind: string }[]).map((x) => [x.version, x.kind]),
    ).toEqual([
      [2, 'rollback'],
      [1, 'rollback'],
      [2, 'deploy'],
    ]);
    const after = await counts(fb);
    expect(after.deployments - before.deployments).toBe(4);
    expect(after.audit - before.audit).toBe(5); // 4 deployments + 1 known-good mark
  });

  it('sets, lists and unsets flags with a scope and an expiry', async () => {
    const t0 = Date.now();
    const set = await api('POST', '/api/flags', RESPONDER_TOKEN, {
      key: 'tool:send_email',
      value: 'off',
      app: 'support-bot',
      env: 'prod',
      tenant: 'acme',
      reason: 'mails leak',
      incident: 'INC-3',
      expires: '30m',
    });
    expect(set.status).toBe(201);
    expect(set.body).toMatchObject({
      key: 'tool:send_email',
      value: 'off',
      env: 'prod',
      tenant: 'acme',
      user: null,
    });
    const expiresAt = set.body['expiresAt'] as number;
    expect(expiresAt).toBeGreaterThanOrEqual(t0 + 30 * 60_000);
    expect(expiresAt).toBeLessThan(Date.now() + 30 * 60_000 + 1);
    await api('POST', '/api/flags', RESPONDER_TOKEN, {
      key: 'model:big',
      value: 'off',
      app: 'support-bot',
      reason: 'family misbehaves',
    });
    await api('POST', '/api/flags', RESPONDER_TOKEN, {
      key: 'safe-mode',
      value: 'handoff',
      app: 'billing-bot',
      user: 'u-9',
      reason: 'one angry user',
    });
    const forApp = await api('GET', '/api/flags?app=support-bot', VIEWER_TOKEN);
    expect((forApp.body['data'] as { key: string }[]).map((f) => f.key).sort()).toEqual([
      'model:big',
      'tool:send_email',
    ]);
    // The scope must match exactly: unsetting at app level does not touch the env+tenant flag.
    const wrongScope = await api('POST', '/api/flags/unset', RESPONDER_TOKEN, {
      key: 'tool:send_email',
      app: 'support-bot',
      reason: 'fixed',
    });
    expect(wrongScope.status).toBe(404);
    expect(wrongScope.body.error?.message).toContain('no flag tool:send_email is set at support-bot/*');
    const unset = await api('POST', '/api/flags/unset', RESPONDER_TOKEN, {
      key: 'tool:send_email',
      app: 'support-bot',
      env: 'prod',
      tenant: 'acme',
      reason: 'fixed',
    });
    expect(unset.status).toBe(200);
    const active = await api('GET', '/api/flags', VIEWER_TOKEN);
    expect((active.body['data'] as unknown[]).length).toBe(2);
    const all = await api('GET', '/api/flags?all=true', VIEWER_TOKEN);
    expect((all.body['data'] as unknown[]).length).toBe(3);
    const expires = [
      ['soon', 'is not a duration'],
      ['0m', 'is not in the future'],
      ['2020-01-01T00:00:00Z', 'is not in the future'],
    ];
    for (const [text, message] of expires) {
      const before = await counts(fb);
      const r = await api('POST', '/api/flags', RESPONDER_TOKEN, {
        key: 'tool:lookup_order',
        value: 'off',
        app: 'support-bot',
        reason: 'x',
        expires: text,
      });
      expect(r.status, text).toBe(400);
      expect(r.body.error).toMatchObject({ code: 'validation_failed', path: 'expires' });
      expect(r.body.error?.message).toContain(message);
      expect(await counts(fb)).toEqual(before);
    }
  });

  const good = { key: 'tool:lookup_order', value: 'off', app: 'support-bot', reason: 'x' };
  const badCases: {
    name: string;
    method?: 'GET' | 'POST';
    path: string;
    token?: string | undefined;
    body?: unknown;
    raw?: string;
    status: number;
    message: string;
  }[] = [
    {
      name: 'unknown app (release)',
      path: '/api/releases',
      body: { app: 'nope', spec: SPEC_1 },
      status: 404,
      message: 'unknown app "nope"',
    },
    {
      name: 'unknown app (flag)',
      path: '/api/flags',
      token: RESPONDER_TOKEN,
      body: { ...good, app: 'nope' },
      status: 404,
      message: 'unknown app "nope"',
    },
    {
      name: 'unknown release',
      path: '/api/deployments',
      token: RESPONDER_TOKEN,
      body: { release: 'support-bot@99', env: 'prod', reason: 'x' },
      status: 404,
      message: 'no release support-bot@99',
    },
    {
      name: 'not a release name',
      path: '/api/deployments',
      token: RESPONDER_TOKEN,
      body: { release: 'support-bot', env: 'prod', reason: 'x' },
      status: 400,
      message: 'is not a release name',
    },
    {
      name: 'unknown release (show)',
      method: 'GET',
      path: '/api/releases/support-bot@99',
      token: VIEWER_TOKEN,
      status: 404,
      message: 'no release support-bot@99',
    },
    {
      name: 'unknown release (known-good)',
      path: '/api/known-good',
      token: RESPONDER_TOKEN,
      body: { release: 'billing-bot@1', env: 'dev' },
      status: 404,
      message: 'no release billing-bot@1',
    },
    {
      name: 'rollback to a version that does not exist',
      path: '/api/rollbacks',
      token: RESPONDER_TOKEN,
      body: { app: 'support-bot', env: 'prod', to: 42, reason: 'x' },
      status: 404,
      message: 'no release support-bot@42',
    },
    {
      name: 'unknown flag kind',
      path: '/api/flags',
      token: RESPONDER_TOKEN,
      body: { ...good, key: 'colour:red' },
      status: 400,
      message: 'flag "colour:red" is not one of',
    },
    {
      name: 'bad flag value',
      path: '/api/flags',
      token: RESPONDER_TOKEN,
      body: { ...good, value: 'maybe' },
      status: 400,
      message: 'value "maybe" is not valid for tool flags (use off | on)',
    },
    {
      name: 'unknown tool in a tool: flag',
      path: '/api/flags',
      token: RESPONDER_TOKEN,
      body: { ...good, key: 'tool:format_disk' },
      status: 404,
      message: 'unknown tool "format_disk"',
    },
    {
      name: 'unknown model family',
      path: '/api/flags',
      token: RESPONDER_TOKEN,
      body: { ...good, key: 'model:gpt-9' },
      status: 404,
      message: 'unknown model family "gpt-9"',
    },
    {
      name: 'unknown env scope',
      path: '/api/flags',
      token: RESPONDER_TOKEN,
      body: { ...good, env: 'staging' },
      status: 404,
      message: 'app "support-bot" has no environment "staging"',
    },
    {
      name: 'unknown env (deploy)',
      path: '/api/deployments',
      token: RESPONDER_TOKEN,
      body: { release: 'support-bot@1', env: 'staging', reason: 'x' },
      status: 404,
      message: 'has no environment "staging"',
    },
    {
      name: 'unset of a flag that is not set',
      path: '/api/flags/unset',
      token: RESPONDER_TOKEN,
      body: { key: 'safe-mode', app: 'support-bot', reason: 'x' },
      status: 404,
      message: 'no flag safe-mode is set',
    },
    {
      name: 'release with an unknown tool',
      path: '/api/releases',
      body: { app: 'support-bot', spec: { ...SPEC_1, tools: ['lookup_order', 'rm_rf'] } },
      status: 400,
      message: 'tools[1]: unknown tool "rm_rf"',
    },
    {
      name: 'release with an unknown model',
      path: '/api/releases',
      body: { app: 'support-bot', spec: { model: { name: 'gpt-9' } } },
      status: 400,
      message: 'model.name: unknown model or provider "gpt-9"',
    },
    {
      name: 'release with an unknown provider',
      path: '/api/releases',
      body: { app: 'support-bot', spec: { model: { name: 'big-4', fallbacks: ['ghost/m'] } } },
      status: 400,
      message: 'model.fallbacks[0]: unknown model or provider "ghost/m"',
    },
    {
      name: 'release with an unknown spec field',
      path: '/api/releases',
      body: { app: 'support-bot', spec: { ...SPEC_1, temprature: 1 } },
      status: 400,
      message: 'invalid release',
    },
    {
      name: 'unknown body field',
      path: '/api/deployments',
      token: RESPONDER_TOKEN,
      body: { release: 'support-bot@1', env: 'prod', reson: 'typo' },
      status: 400,
      message: 'unknown field "reson" (allowed: release, env, reason, incident)',
    },
    {
      name: 'missing reason',
      path: '/api/rollbacks',
      token: RESPONDER_TOKEN,
      body: { app: 'support-bot', env: 'prod', to: 1 },
      status: 400,
      message: 'reason',
    },
    {
      name: 'blank reason',
      path: '/api/flags',
      token: RESPONDER_TOKEN,
      body: { ...good, reason: '   ' },
      status: 400,
      message: 'reason: must not be empty',
    },
    {
      name: 'version is not a number',
      path: '/api/rollbacks',
      token: RESPONDER_TOKEN,
      body: { app: 'support-bot', env: 'prod', to: '1', reason: 'x' },
      status: 400,
      message: 'to:',
    },
    {
      name: 'body is not JSON',
      path: '/api/flags',
      token: RESPONDER_TOKEN,
      raw: '{"key": ',
      status: 400,
      message: 'not valid JSON',
    },
    {
      name: 'body is an array',
      path: '/api/flags',
      token: RESPONDER_TOKEN,
      raw: '[]',
      status: 400,
      message: 'invalid flag',
    },
    { name: 'body is null', path: '/api/apply', raw: 'null', status: 400, message: 'invalid apply' },
    {
      name: 'bad query limit',
      method: 'GET',
      path: '/api/audit?limit=lots',
      token: VIEWER_TOKEN,
      status: 400,
      message: 'limit: must be a whole number',
    },
    {
      name: 'unknown query parameter',
      method: 'GET',
      path: '/api/flags?ap=support-bot',
      token: VIEWER_TOKEN,
      status: 400,
      message: 'unknown field "ap"',
    },
    {
      name: 'deployments without an app',
      method: 'GET',
      path: '/api/deployments',
      token: VIEWER_TOKEN,
      status: 400,
      message: 'app',
    },
    {
      name: 'invalid token',
      path: '/api/flags',
      token: 'fbt_not_a_real_token_000000',
      body: good,
      status: 401,
      message: 'invalid API token',
    },
    // Tokens do not expire in this version; one that is not (or no longer) configured is simply invalid.
    {
      name: 'no token',
      path: '/api/releases',
      token: undefined,
      body: { app: 'support-bot', spec: SPEC_1 },
      status: 401,
      message: 'missing API token',
    },
    {
      name: 'gateway key',
      path: '/api/flags',
      token: GATEWAY_KEY,
      body: good,
      status: 403,
      message: 'gateway keys cannot call /api',
    },
    {
      name: 'under-privileged token (flag)',
      path: '/api/flags',
      token: VIEWER_TOKEN,
      body: good,
      status: 403,
      message: 'this needs role responder or above; token "test-viewer" has viewer',
    },
    {
      name: 'under-privileged token (release)',
      path: '/api/releases',
      token: RESPONDER_TOKEN,
      body: { app: 'support-bot', spec: { model: { name: 'sim-2' } } },
      status: 403,
      message: 'this needs role admin or above',
    },
  ];

  it.each(badCases)('refuses $name with a clear 4xx and changes nothing', async (c) => {
    const before = await counts(fb);
    const token = 'token' in c ? c.token : ADMIN_TOKEN;
    const r = await call(fb.url, c.method ?? 'POST', c.path, token, c.body, c.raw);
    expect(r.status).toBe(c.status);
    expect(r.body.error?.message).toContain(c.message);
    expect(Object.keys(r.body)).toEqual(['error']);
    expect(await counts(fb)).toEqual(before);
  });

  it('writes one audit entry per accepted change, with actor and reason, in order', async () => {
    const r = await api('GET', '/api/audit?limit=1000', VIEWER_TOKEN);
    const rows = r.body['data'] as {
      seq: number;
      actor: string;
      action: string;
      target: string;
      reason: string | null;
      incident: string | null;
    }[];
    expect(rows.map((e) => [e.seq, e.actor, e.action, e.target, e.reason])).toEqual([
      [1, 'token:test-admin', 'release.create', 'support-bot@1', 'initial'],
      [2, 'token:test-admin', 'release.create', 'support-bot@2', 'warmer, briefer'],
      [3, 'token:test-responder', 'deploy', 'support-bot/prod', 'first launch'],
      [4, 'token:test-responder', 'release.mark-known-good', 'support-bot/prod', 'a week without trouble'],
      [5, 'token:test-responder', 'deploy', 'support-bot/prod', 'new prompt'],
      [6, 'token:test-responder', 'rollback', 'support-bot/prod', 'refund promises'],
      [7, 'token:test-responder', 'rollback', 'support-bot/prod', 'false alarm'],
      [8, 'token:test-responder', 'flag.set', 'tool:send_email @ support-bot/prod/tenant=acme', 'mails leak'],
      [9, 'token:test-responder', 'flag.set', 'model:big @ support-bot/*', 'family misbehaves'],
      [10, 'token:test-responder', 'flag.set', 'safe-mode @ billing-bot/*/user=u-9', 'one angry user'],
      [11, 'token:test-responder', 'flag.unset', 'tool:send_email @ support-bot/prod/tenant=acme', 'fixed'],
    ]);
    expect(rows[2]?.incident).toBe('INC-1');
    const page = await api('GET', '/api/audit?after=9&limit=1', VIEWER_TOKEN);
    expect(page.body).toMatchObject({ data: [{ seq: 10 }], next_after: 10 });
    const verify = await api('GET', '/api/audit/verify', VIEWER_TOKEN);
    expect(verify.body).toEqual({ ok: true, entries: 11, problems: [] });
  });

  it('lists replicas with a stale mark for heartbeats older than 10 s', async () => {
    const now = Date.now();
    const base = { role: 'gateway', stateVersion: 3, startedAt: now - 120_000, host: 'h', pid: 1 };
    await fb.store.control.heartbeat({ ...base, id: 'test-fresh', seenAt: now - 1_000 });
    await fb.store.control.heartbeat({ ...base, id: 'test-stale', seenAt: now - 60_000 });
    const r = await api('GET', '/api/replicas', VIEWER_TOKEN);
    expect(r.status).toBe(200);
    const mine = (r.body['data'] as { id: string; stale: boolean }[]).filter((x) => x.id.startsWith('test-'));
    expect(mine.map((x) => [x.id, x.stale]).sort()).toEqual([
      ['test-fresh', false],
      ['test-stale', true],
    ]);
  });
});

describe.each(storeKinds)('firebreak.yaml releases via POST /api/apply (%s)', (kind) => {
  const release = (tools: string) => `
    release:
      model: { name: sim-1 }
      prompt: { system: 'Hello.' }
      tools: [${tools}]`;
  const yaml = (billingTools: string) =>
    testConfigYaml(CATALOGUE)
      .replace(
        'support-bot: { environments: [dev, prod] }',
        `support-bot:\n    environments: [dev, prod]${release('lookup_order')}`,
      )
      .replace(
        'billing-bot: { environments: [dev] }',
        `billing-bot:\n    environments: [dev]${release(billingTools)}`,
      );

  it('creates a release per app, and re-applying the same file creates nothing', async () => {
    const fb = await startFirebreak({ store: kind, yaml: yaml('issue_refund') });
    try {
      const first = await call(fb.url, 'POST', '/api/apply', ADMIN_TOKEN);
      expect(first.status).toBe(200);
      const results = first.body['data'] as { release: { app: string; version: number }; created: boolean }[];
      expect(results.map((r) => [r.release.app, r.release.version, r.created])).toEqual([
        ['support-bot', 1, true],
        ['billing-bot', 1, true],
      ]);
      const again = await call(fb.url, 'POST', '/api/apply', ADMIN_TOKEN, {});
      expect((again.body['data'] as { created: boolean }[]).map((r) => r.created)).toEqual([false, false]);
      expect((await counts(fb)).audit).toBe(2);
    } finally {
      await fb.close();
    }
  });

  it('refuses a file with a release naming an unknown tool, and creates no release for any app', async () => {
    const fb = await startFirebreak({ store: kind, yaml: yaml('lookup_order, wipe_db') });
    try {
      const r = await call(fb.url, 'POST', '/api/apply', ADMIN_TOKEN);
      expect(r.status).toBe(400);
      expect(r.body.error?.message).toContain(
        'apps.billing-bot.release: invalid release: tools[1]: unknown tool "wipe_db"',
      );
      const after = await counts(fb);
      expect([after.releases, after.audit]).toEqual([0, 0]);
    } finally {
      await fb.close();
    }
  });
});

/** The `firebreak` command, built, in a child process (as in cli.test.ts). */
const BIN = join(import.meta.dirname, '../../bin/firebreak.js');
function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, ...args]);
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe.each(storeKinds)('audit log tampering is detected (%s)', (kind) => {
  let fb: Running;
  let url: string;
  let configFile: string;

  const verifyBoth = async () => {
    const api = await call(fb.url, 'GET', '/api/audit/verify', VIEWER_TOKEN);
    const bin = await cli(['audit', 'verify', '--config', configFile]);
    return {
      api: api.body as {
        ok: boolean;
        entries: number;
        problems: { seq: number; kind: string; message: string }[];
      },
      bin,
    };
  };

  beforeAll(async () => {
    url = await freshDatabaseUrl(kind);
    fb = await startFirebreak({ store: { url }, yaml: testConfigYaml(CATALOGUE) });
    configFile = join(mkdtempSync(join(tmpdir(), 'firebreak-tamper-')), 'firebreak.yaml');
    writeFileSync(configFile, `${testConfigYaml(CATALOGUE)}\ndatabase: { url: '${url}' }\n`);
    await call(fb.url, 'POST', '/api/releases', ADMIN_TOKEN, {
      app: 'support-bot',
      spec: SPEC_1,
      reason: 'r1',
    });
    for (const [i, env] of ['dev', 'prod'].entries())
      await call(fb.url, 'POST', '/api/deployments', RESPONDER_TOKEN, {
        release: 'support-bot@1',
        env,
        reason: `deploy ${i}`,
      });
    await call(fb.url, 'POST', '/api/flags', RESPONDER_TOKEN, {
      ...{ key: 'safe-mode', value: 'limited' },
      app: 'support-bot',
      reason: 'drill',
    });
  });
  afterAll(async () => {
    await fb.close();
  });

  it('reports an intact log as ok (API and CLI, exit 0)', async () => {
    const { api, bin } = await verifyBoth();
    expect(api).toEqual({ ok: true, entries: 4, problems: [] });
    expect(bin.code).toBe(0);
    expect(bin.stdout).toContain('audit log intact: 4 entries');
  });

  it('names an edited row', async () => {
    await sqlOn(url, 'UPDATE audit_log SET reason = $1 WHERE seq = 2', ['nothing to see here']);
    const { api, bin } = await verifyBoth();
    expect(api.ok).toBe(false);
    expect(api.problems).toContainEqual(expect.objectContaining({ seq: 2, kind: 'edited' }));
    expect(api.problems.every((p) => p.seq === 2)).toBe(true);
    expect(bin.code).toBe(1);
    expect(bin.stdout).toContain(
      'row 2: edited: row 2 (deploy support-bot/dev) was changed after it was written',
    );
    await sqlOn(url, 'UPDATE audit_log SET reason = $1 WHERE seq = 2', ['deploy 0']);
    expect((await verifyBoth()).api.ok).toBe(true);
  });

  it('names a deleted newest row', async () => {
    const [newest] = await fb.store.control.auditLog({ afterSeq: 3, limit: 1 });
    if (!newest) throw new Error('no row 4');
    await sqlOn(url, 'DELETE FROM audit_log WHERE seq = 4');
    const { api, bin } = await verifyBoth();
    expect(api).toMatchObject({ ok: false, entries: 3 });
    expect(api.problems).toEqual([expect.objectContaining({ seq: 4, kind: 'missing' })]);
    expect(bin.code).toBe(1);
    expect(bin.stdout).toContain('row 4: missing: rows 4..4 (the newest) are missing');
    await sqlOn(
      url,
      'INSERT INTO audit_log (seq, ts, actor, action, target, before, after, reason, incident, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)',
      [
        4,
        newest.ts,
        newest.actor,
        newest.action,
        newest.target,
        null,
        JSON.stringify(newest.after),
        newest.reason,
        newest.incident,
        newest.prevHash,
        newest.hash,
      ],
    );
    expect((await verifyBoth()).api.ok).toBe(true);
  });

  it('names a forged row appended with a correct hash', async () => {
    const [last] = await fb.store.control.auditLog({ afterSeq: 3, limit: 1 });
    if (!last) throw new Error('no row 4');
    // A forger who knows the chain's algorithm: the row links and hashes correctly, only the recorded
    // head gives it away.
    const forged = {
      seq: 5,
      ts: Date.now(),
      actor: 'token:test-admin',
      action: 'flag.unset',
      target: 'safe-mode @ support-bot/*',
      before: null,
      after: null,
      reason: 'cover-up',
      incident: null,
    };
    const hash = createHash('sha256').update(auditHashInput(last.hash, forged), 'utf8').digest('hex');
    await sqlOn(
      url,
      'INSERT INTO audit_log (seq, ts, actor, action, target, before, after, reason, incident, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)',
      [
        5,
        forged.ts,
        forged.actor,
        forged.action,
        forged.target,
        null,
        null,
        forged.reason,
        null,
        last.hash,
        hash,
      ],
    );
    const { api, bin } = await verifyBoth();
    expect(api).toMatchObject({ ok: false, entries: 5 });
    expect(api.problems).toEqual([expect.objectContaining({ seq: 5, kind: 'inserted' })]);
    expect(bin.code).toBe(1);
    expect(bin.stdout).toContain('row 5: inserted: rows 5..5 were added outside Firebreak');
    const json = await cli(['audit', 'verify', '--json', '--config', configFile]);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toEqual(api);
  });
});
