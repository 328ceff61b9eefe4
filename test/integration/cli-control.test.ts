import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_TOKEN,
  RESPONDER_TOKEN,
  VIEWER_TOKEN,
  startFirebreak,
  type Running,
} from '../support/harness.js';
import { runCli } from '../support/cli.js';

/**
 * `firebreak apply | release | deploy | rollback | deployments | flag | audit` as users run them: the
 * built bin in child processes, in-process on a SQLite file, then against a running server with --server,
 * which must print the same thing.
 */

const config = (temperature: number, rules: string) => `
server: { logLevel: silent }
recording: { flushIntervalMs: 20 }
providers:
  sim: { type: simulator, models: [sim-1, sim-2] }
models:
  - { name: fast, provider: sim, model: sim-1, family: fast-family }
tools:
  lookup_order: { risk: low }
  send_email: { risk: high }
apps:
  shop:
    environments: [dev, prod]
    release:
      model: { name: fast, params: { temperature: ${temperature} } }
      prompt:
        system: |-
          You are the shop assistant.
          ${rules}
          Never share card numbers.
      tools: [lookup_order, send_email]
tokens:
  - { key: ${ADMIN_TOKEN}, role: admin, name: test-admin }
  - { key: ${VIEWER_TOKEN}, role: viewer, name: test-viewer }
  - { key: ${RESPONDER_TOKEN}, role: responder, name: test-responder }
`;

describe('firebreak control-plane commands', () => {
  let dir: string;
  let file: string;
  let dbUrl: string;
  const me = `cli:${userInfo().username}`;
  const write = (temperature: number, rules: string) =>
    writeFileSync(file, `${config(temperature, rules)}\ndatabase: { url: '${dbUrl}' }\n`);
  const fb = (...args: string[]) => runCli([...args, '--config', file]);

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'firebreak-cli-control-'));
    file = join(dir, 'firebreak.yaml');
    dbUrl = `sqlite:${join(dir, 'fb.db')}`;
    write(0.2, 'Be kind.');
  });

  it('lists the new commands in its help', async () => {
    const r = await runCli(['--help']);
    for (const cmd of ['apply', 'release', 'deploy', 'rollback', 'deployments', 'flag', 'audit'])
      expect(r.stdout).toContain(cmd);
  });

  it('applies firebreak.yaml: a new version only when the content changed', async () => {
    expect((await fb('apply')).stdout).toBe('shop@1 created\n');
    expect((await fb('apply')).stdout).toBe('shop@1 unchanged (same content)\n');
    write(0.7, 'Be brief.');
    expect((await fb('apply')).stdout).toBe('shop@2 created\n');
    const list = await fb('release', 'list', '--json');
    const releases = (JSON.parse(list.stdout) as { data: { version: number; createdBy: string }[] }).data;
    expect(releases.map((r) => [r.version, r.createdBy])).toEqual([
      [1, me],
      [2, me],
    ]);
    const table = await fb('release', 'list', '--app', 'shop');
    expect(table.stdout).toMatch(/^release +hash +created +by +model +tools\nshop@1 /);
    const show = await fb('release', 'show', 'shop@2');
    expect(show.stdout).toContain('tools (unknown tools: deny): lookup_order [low], send_email [high]');
    expect(show.stdout).toContain('  Be brief.');
  });

  it('diffs two releases: each changed path before → after, the prompt as +/- lines', async () => {
    const r = await fb('release', 'diff', 'shop@1', 'shop@2');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        'shop@1 → shop@2: 2 change(s)',
        'model.params.temperature: 0.2 → 0.7',
        'prompt.system:',
        '    You are the shop assistant.',
        '  - Be kind.',
        '  + Be brief.',
        '    Never share card numbers.',
        '',
      ].join('\n'),
    );
  });

  it('deploys, marks known-good, rolls back, and lists deployments', async () => {
    const none = await fb('rollback', '--app', 'shop', '--env', 'prod', '--reason', 'panic');
    expect(none.code).toBe(1);
    expect(none.stderr).toBe(
      'firebreak: no known-good release for shop/prod: mark one (firebreak release mark-known-good) or pass --to\n',
    );
    expect((await fb('deploy', 'shop@1', '--env', 'prod', '--reason', 'launch')).stdout).toMatch(
      /^deployed shop\/prod to shop@1 \(dep_[0-9a-f]+, state version \d+\)\n$/,
    );
    const good = await fb('release', 'mark-known-good', 'shop@1', '--env', 'prod', '--reason', 'calm week');
    expect(good.stdout).toBe('shop@1 is the known-good release of shop/prod\n');
    await fb('deploy', 'shop@2', '--env', 'prod', '--reason', 'briefer', '--incident', 'INC-7');
    expect((await fb('rollback', '--app', 'shop', '--env', 'prod', '--reason', 'rude')).stdout).toMatch(
      /^rolled back shop\/prod to shop@1 /,
    );
    expect(
      (await fb('rollback', '--app', 'shop', '--env', 'prod', '--to', '2', '--reason', 'fine after all'))
        .stdout,
    ).toMatch(/^rolled back shop\/prod to shop@2 /);
    const list = await fb('deployments', 'list', '--app', 'shop', '--json');
    const rows = (
      JSON.parse(list.stdout) as { data: { version: number; kind: string; incident: string | null }[] }
    ).data;
    expect(rows.map((d) => [d.version, d.kind])).toEqual([
      [2, 'rollback'],
      [1, 'rollback'],
      [2, 'deploy'],
      [1, 'deploy'],
    ]);
    expect(rows[2]?.incident).toBe('INC-7');
  });

  it('sets, lists and unsets flags', async () => {
    const set = await fb(
      'flag',
      'set',
      'tool:send_email',
      'off',
      '--app',
      'shop',
      '--env',
      'prod',
      '--reason',
      'leak',
      '--expires',
      '30m',
    );
    expect(set.code).toBe(0);
    expect(set.stdout).toMatch(/^flag tool:send_email=off set at shop\/prod until \d{4}-/);
    await fb(
      'flag',
      'set',
      'model:fast-family',
      'off',
      '--app',
      'shop',
      '--tenant',
      'acme',
      '--reason',
      'slow',
    );
    const list = await fb('flag', 'list', '--app', 'shop');
    expect(list.stdout).toContain('tool:send_email    off    shop/prod');
    expect(list.stdout).toContain('model:fast-family  off    shop/*/tenant=acme');
    const unset = await fb(
      'flag',
      'unset',
      'model:fast-family',
      '--app',
      'shop',
      '--tenant',
      'acme',
      '--reason',
      'ok',
    );
    expect(unset.stdout).toBe('flag model:fast-family unset at shop/*/tenant=acme (was off)\n');
    const active = JSON.parse((await fb('flag', 'list', '--json')).stdout) as { data: unknown[] };
    const all = JSON.parse((await fb('flag', 'list', '--all', '--json')).stdout) as { data: unknown[] };
    expect([active.data.length, all.data.length]).toEqual([1, 2]);
  });

  it('refuses bad input with `firebreak: <message>` and exit 1, changing nothing', async () => {
    const before = (await fb('audit', 'list', '--json')).stdout;
    const cases: [string[], string][] = [
      [['deploy', 'shop@9', '--env', 'prod', '--reason', 'x'], 'no release shop@9'],
      [['deploy', 'shop@1', '--env', 'staging', '--reason', 'x'], 'app "shop" has no environment "staging"'],
      [['flag', 'set', 'tool:rm_rf', 'off', '--app', 'shop', '--reason', 'x'], 'unknown tool "rm_rf"'],
      [
        ['flag', 'set', 'model:gpt-9', 'off', '--app', 'shop', '--reason', 'x'],
        'unknown model family "gpt-9"',
      ],
      [
        ['flag', 'set', 'colour:red', 'off', '--app', 'shop', '--reason', 'x'],
        'flag "colour:red" is not one of',
      ],
      [['flag', 'set', 'safe-mode', 'panic', '--app', 'shop', '--reason', 'x'], 'value "panic" is not valid'],
      [
        ['flag', 'set', 'safe-mode', 'limited', '--app', 'shop', '--reason', 'x', '--expires', 'later'],
        'expires: "later"',
      ],
      [
        ['flag', 'unset', 'safe-mode', '--app', 'shop', '--reason', 'x'],
        'no flag safe-mode is set at shop/*',
      ],
      [['release', 'show', 'nope@1'], 'unknown app "nope"'],
      [['release', 'show', 'shop'], '"shop" is not a release name'],
    ];
    for (const [args, message] of cases) {
      const r = await fb(...args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr, args.join(' ')).toMatch(/^firebreak: /);
      expect(r.stderr, args.join(' ')).toContain(message);
    }
    const usage = await fb('rollback', '--app', 'shop', '--env', 'prod', '--reason', 'x', '--to', 'two');
    expect(usage.code).toBe(2);
    expect((await fb('audit', 'list', '--json')).stdout).toBe(before);
  });

  it('lists and verifies the audit log, one entry per change with the OS user as actor', async () => {
    const r = await fb('audit', 'list', '--json');
    const rows = (
      JSON.parse(r.stdout) as { data: { actor: string; action: string; reason: string | null }[] }
    ).data;
    expect(rows.map((e) => e.action)).toEqual([
      'release.create',
      'release.create',
      'deploy',
      'release.mark-known-good',
      'deploy',
      'rollback',
      'rollback',
      'flag.set',
      'flag.set',
      'flag.unset',
    ]);
    expect(new Set(rows.map((e) => e.actor))).toEqual(new Set([me]));
    const page = await fb('audit', 'list', '--after', '8', '--limit', '1');
    expect(page.stdout).toMatch(
      /^seq +time +actor +action +target +reason\n9 +\S+ +\S+ +flag\.set +model:fast-family/,
    );
    expect(page.stdout).toContain('more: --after 9');
    const verify = await fb('audit', 'verify');
    expect([verify.code, verify.stdout]).toEqual([
      0,
      'audit log intact: 10 entries, chain and head verified\n',
    ]);
  });

  describe('remote, with --server', () => {
    let server: Running;
    const remote = (token: string, ...args: string[]) =>
      runCli([...args, '--server', server.url, '--token', token]);

    beforeAll(async () => {
      server = await startFirebreak({ store: { url: dbUrl }, yaml: config(0.7, 'Be brief.') });
    });
    afterAll(async () => {
      await server.close();
    });

    it('prints exactly what the in-process command prints', async () => {
      for (const args of [
        ['release', 'list'],
        ['release', 'list', '--json'],
        ['release', 'show', 'shop@1', '--json'],
        ['release', 'diff', 'shop@1', 'shop@2'],
        ['release', 'diff', 'shop@1', 'shop@2', '--json'],
        ['deployments', 'list', '--app', 'shop', '--env', 'prod'],
        ['flag', 'list', '--all', '--json'],
        ['audit', 'list', '--limit', '3', '--json'],
        ['audit', 'verify', '--json'],
      ]) {
        const local = await fb(...args);
        const viaServer = await remote(VIEWER_TOKEN, ...args);
        expect(viaServer.stdout, args.join(' ')).toBe(local.stdout);
        expect(viaServer.code, args.join(' ')).toBe(0);
      }
      // Eighteen CLI processes, one after another: about 1–1.5 s each on a 2-core machine.
    }, 90_000);

    it('makes changes as the token, and is refused by role', async () => {
      const denied = await remote(
        VIEWER_TOKEN,
        'flag',
        'set',
        'safe-mode',
        'handoff',
        '--app',
        'shop',
        '--reason',
        'x',
      );
      expect(denied.code).toBe(1);
      expect(denied.stderr).toBe(
        'firebreak: 403 forbidden: this needs role responder or above; token "test-viewer" has viewer\n',
      );
      const set = await remote(
        RESPONDER_TOKEN,
        'flag',
        'set',
        'safe-mode',
        'handoff',
        '--app',
        'shop',
        '--reason',
        'drill',
      );
      expect(set.stdout).toBe('flag safe-mode=handoff set at shop/*\n');
      const back = await remote(
        RESPONDER_TOKEN,
        'rollback',
        '--app',
        'shop',
        '--env',
        'prod',
        '--reason',
        'drill',
        '--json',
      );
      expect(JSON.parse(back.stdout)).toMatchObject({
        version: 1,
        kind: 'rollback',
        actor: 'token:test-responder',
      });
      const applied = await remote(ADMIN_TOKEN, 'apply');
      expect(applied.stdout).toBe('shop@2 unchanged (same content)\n');
      const missing = await remote(RESPONDER_TOKEN, 'deploy', 'shop@9', '--env', 'prod', '--reason', 'x');
      expect(missing.stderr).toBe('firebreak: 404 not_found: no release shop@9\n');
      const last = JSON.parse(
        (await remote(VIEWER_TOKEN, 'audit', 'list', '--after', '10', '--json')).stdout,
      ) as {
        data: { actor: string; action: string }[];
      };
      expect(last.data.map((e) => [e.actor, e.action])).toEqual([
        ['token:test-responder', 'flag.set'],
        ['token:test-responder', 'rollback'],
      ]);
      const verify = await remote(VIEWER_TOKEN, 'audit', 'verify');
      expect([verify.code, verify.stdout]).toEqual([
        0,
        'audit log intact: 12 entries, chain and head verified\n',
      ]);
      const noToken = await runCli(['audit', 'verify', '--server', server.url]);
      expect(noToken.stderr).toContain('--server needs an API token');
    });
  });
});
