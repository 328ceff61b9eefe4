import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/open-store.js';

/** The `firebreak` command as users run it: the built bin, in child processes, on a real port. */
const BIN = join(import.meta.dirname, '../../bin/firebreak.js');

function run(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

interface Served {
  readonly proc: ChildProcess;
  readonly url: string;
  readonly output: () => string;
  stop(): Promise<number | null>;
}

async function serve(args: string[], cwd: string): Promise<Served> {
  const proc = spawn(process.execPath, [BIN, 'serve', '--port', '0', ...args], {
    cwd,
    env: { ...process.env, FIREBREAK_LOG_LEVEL: 'info' },
  });
  let output = '';
  proc.stdout.on('data', (d: Buffer) => (output += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setInterval(() => {
      const m = /running at (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (m?.[1]) {
        clearInterval(timer);
        resolve(m[1]);
      }
    }, 20);
    proc.on('exit', (code) => {
      clearInterval(timer);
      reject(new Error(`serve exited early (${code}): ${output}`));
    });
  });
  return {
    proc,
    url,
    output: () => output,
    stop: () =>
      new Promise((resolve) => {
        proc.on('exit', (code) => resolve(code));
        proc.kill('SIGTERM');
      }),
  };
}

const CONFIG = `
server: { logLevel: warn }
recording: { flushIntervalMs: 600000 }
providers:
  sim: { type: simulator, models: [sim-1] }
apps:
  shop: { environments: [prod] }
`;

describe('firebreak CLI', () => {
  let dir: string;
  let configFile: string;
  let dbUrl: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'firebreak-cli-'));
    configFile = join(dir, 'firebreak.yaml');
    dbUrl = `sqlite:${join(dir, 'data', 'fb.db')}`;
    writeFileSync(configFile, `${CONFIG}\ndatabase: { url: '${dbUrl}' }\n`);
  });

  it('prints help listing its commands', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    for (const cmd of ['serve', 'trace', 'keys', 'tokens', 'simulator']) expect(r.stdout).toContain(cmd);
  });

  describe('serve, first start, graceful shutdown', () => {
    let server: Served;
    let key = '';
    let token = '';

    beforeAll(async () => {
      server = await serve(['--config', configFile], dir);
      key = /Gateway key \(app shop, env prod\): (fbk_\S+)/.exec(server.output())?.[1] ?? '';
      token = /Admin API token:\s+(fbt_\S+)/.exec(server.output())?.[1] ?? '';
    });
    afterAll(async () => {
      if (server.proc.exitCode === null) await server.stop();
    });

    it('creates a gateway key and an admin token on first start, saved to a private file', () => {
      expect(key).toMatch(/^fbk_/);
      expect(token).toMatch(/^fbt_/);
      const file = join(dir, 'data', 'credentials');
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(readFileSync(file, 'utf8')).toContain(key);
    });

    it('serves health, readiness and the gateway with the printed key', async () => {
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      const ready = (await (await fetch(`${server.url}/readyz`)).json()) as { status: string };
      expect(ready.status).toBe('ready');
      for (let i = 0; i < 5; i++) {
        const r = await fetch(`${server.url}/v1/chat/completions`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${key}`,
            'x-ai-trace-id': `cli-${i}`,
            'x-firebreak-user': `user-${i % 2}`,
          },
          body: JSON.stringify({ model: 'sim-1', messages: [{ role: 'user', content: `hello ${i}` }] }),
        });
        expect(r.status).toBe(200);
      }
    });

    it('finds traces remotely with --server and the token', async () => {
      // Recording flushes every 10 minutes in this config: nothing is written before shutdown.
      const r = await run(['trace', 'search', '--server', server.url, '--json'], { FIREBREAK_TOKEN: token });
      expect(r.code).toBe(0);
      expect((JSON.parse(r.stdout) as { data: unknown[] }).data).toHaveLength(0);
      const bad = await run(['trace', 'search', '--server', server.url], {
        FIREBREAK_TOKEN: 'fbt_wrong_token_xxxxxxxxxxxx',
      });
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain('invalid API token');
    });

    it('flushes pending traces on SIGTERM and exits cleanly', async () => {
      expect(await server.stop()).toBe(0);
      expect(server.output()).toContain('all traces flushed');
      const store = await openStore(dbUrl);
      try {
        expect(await store.traces.count({ app: 'shop' })).toBe(5);
      } finally {
        await store.close();
      }
    });
  });

  it('searches and shows traces in-process on the store', async () => {
    const search = await run(['trace', 'search', '--config', configFile, '--user', 'user-1', '--json']);
    expect(search.code).toBe(0);
    const rows = (JSON.parse(search.stdout) as { data: { traceId: string; userId: string }[] }).data;
    expect(rows.map((r) => r.traceId).sort()).toEqual(['cli-1', 'cli-3']);
    const table = await run(['trace', 'search', '--config', configFile, '--limit', '2']);
    expect(table.stdout).toMatch(/trace id/);
    expect(table.stdout).toContain('more: --cursor ');
    const show = await run(['trace', 'show', 'cli-3', '--config', configFile]);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain('hello 3');
    expect(show.stdout).toContain('user user-1');
  });

  it('creates keys and tokens that work against a running server', async () => {
    const created = await run(['keys', 'create', '--app', 'shop', '--env', 'prod', '--config', configFile]);
    expect(created.code).toBe(0);
    const key = created.stdout.split('\n')[0] ?? '';
    const tokenOut = await run([
      'tokens',
      'create',
      '--role',
      'viewer',
      '--name',
      'ci',
      '--config',
      configFile,
    ]);
    const token = tokenOut.stdout.split('\n')[0] ?? '';
    const server = await serve(['--config', configFile], dir);
    try {
      const r = await fetch(`${server.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } });
      expect(r.status).toBe(200);
      const t = await fetch(`${server.url}/api/traces?limit=1`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(t.status).toBe(200);
    } finally {
      await server.stop();
    }
  });

  it('rejects bad input with a clear message and a non-zero exit', async () => {
    const unknownApp = await run([
      'keys',
      'create',
      '--app',
      'nope',
      '--env',
      'prod',
      '--config',
      configFile,
    ]);
    expect(unknownApp.code).toBe(1);
    expect(unknownApp.stderr).toContain('unknown app "nope"');
    const badRole = await run(['tokens', 'create', '--role', 'root', '--name', 'x', '--config', configFile]);
    expect(badRole.stderr).toContain('role "root" is not one of viewer, responder, commander, admin');
    const missing = await run(['trace', 'show', 'no-such-trace', '--config', configFile]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no trace "no-such-trace"');
    const badTime = await run(['trace', 'search', '--since', 'yesterday', '--config', configFile]);
    expect(badTime.stderr).toContain('since: "yesterday" is not a time');
    const role = await run(['serve', '--role', 'everything']);
    expect(role.code).toBe(2);
    expect(role.stderr).toContain('everything');
    const badConfigFile = join(dir, 'bad.yaml');
    writeFileSync(
      badConfigFile,
      'providers:\n  x: { type: openai-compatible, baseUrl: not-a-url }\nkeys:\n  - { key: short, app: ghost, env: prod }\n',
    );
    const badConfig = await run(['trace', 'search', '--config', badConfigFile]);
    expect(badConfig.code).toBe(1);
    expect(badConfig.stderr).toContain('providers.x.baseUrl');
    expect(badConfig.stderr).toContain('keys[0].key: keys must be at least 16 characters');
    const noFile = await run(['trace', 'search', '--config', join(dir, 'absent.yaml')]);
    expect(noFile.stderr).toContain('does not exist');
    const unset = join(dir, 'env.yaml');
    writeFileSync(
      unset,
      "providers:\n  o: { type: openai-compatible, baseUrl: 'http://x', apiKey: '${FB_TEST_UNSET_KEY}' }\n",
    );
    const envMissing = await run(['trace', 'search', '--config', unset]);
    expect(envMissing.stderr).toContain(
      'providers.o.apiKey: environment variable FB_TEST_UNSET_KEY is not set',
    );
  });
});
