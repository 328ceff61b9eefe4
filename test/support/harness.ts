import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { releaseName, type Release } from '../../src/core/release.js';
import type { TraceRecord } from '../../src/core/trace.js';
import { deploy } from '../../src/ops/deployments.js';
import { createRelease } from '../../src/ops/releases.js';
import { buildApp, type FirebreakApp, type ServerRole } from '../../src/server/app.js';
import { parseConfig } from '../../src/server/config-load.js';
import type { TimerSchedulerSettings } from '../../src/server/timers.js';
import { openStore } from '../../src/store/open-store.js';
import type { DeploymentRecord, Store } from '../../src/store/port.js';
import { freshDatabaseUrl, type StoreKind } from './stores.js';

export const GATEWAY_KEY = 'fbk_test_support_bot_prod_key_000';
export const OTHER_APP_KEY = 'fbk_test_billing_bot_dev_key_0000';
export const ADMIN_TOKEN = 'fbt_test_admin_token_00000000000';
export const VIEWER_TOKEN = 'fbt_test_viewer_token_0000000000';
export const RESPONDER_TOKEN = 'fbt_test_responder_token_0000000';
export const COMMANDER_TOKEN = 'fbt_test_commander_token_0000000';

/** The test configuration: simulator rules every suite can rely on, plus whatever a suite adds. */
export function testConfigYaml(extra = ''): string {
  return `
server: { logLevel: silent, upstreamTimeoutMs: 2000 }
recording: { flushIntervalMs: 20 }
providers:
  sim:
    type: simulator
    models: [sim-1, sim-2]
    rules:
      - name: refund
        when: { contains: refund }
        then: { reply: 'Refunds within 30 days.' }
      - name: after-tool
        when: { afterToolResult: true }
        then: { reply: 'Tool said: {{toolResult}}' }
      - name: weather
        when: { contains: weather, hasTools: true }
        then: { toolCalls: [{ name: get_weather, arguments: { city: Paris } }] }
      - name: leak
        when: { contains: leak }
        then: { reply: 'Mail alice@example.com with key sk-abcdefghijklmnopqrstuvwx' }
      - name: e500
        when: { contains: fail-500 }
        then: { error: { status: 500, message: 'simulated crash' } }
      - name: e429
        when: { contains: fail-429 }
        then: { error: { status: 429, message: 'slow down', retryAfter: 7 } }
      - name: hang
        when: { contains: fail-hang }
        then: { fail: hang }
      - name: malformed
        when: { contains: fail-malformed }
        then: { fail: malformed-json }
      - name: cut
        when: { contains: fail-cut }
        then: { reply: 'one two three four five six', fail: cut-stream, cutAfterChunks: 2 }
${extra}
apps:
  support-bot: { environments: [dev, prod] }
  billing-bot: { environments: [dev] }
keys:
  - { key: ${GATEWAY_KEY}, app: support-bot, env: prod }
  - { key: ${OTHER_APP_KEY}, app: billing-bot, env: dev }
tokens:
  - { key: ${ADMIN_TOKEN}, role: admin, name: test-admin }
  - { key: ${VIEWER_TOKEN}, role: viewer, name: test-viewer }
  - { key: ${RESPONDER_TOKEN}, role: responder, name: test-responder }
  - { key: ${COMMANDER_TOKEN}, role: commander, name: test-commander }
`;
}

export interface Running {
  readonly url: string;
  readonly fb: FirebreakApp;
  readonly store: Store;
  /** Waits until the recorder has written everything accepted so far. */
  flushed(): Promise<void>;
  /** Polls the store until `n` calls are recorded under the trace id. */
  traceOf(traceId: string, n?: number): Promise<TraceRecord[]>;
  close(): Promise<void>;
}

export async function startFirebreak(options: {
  store: StoreKind | { url: string };
  yaml?: string;
  role?: ServerRole;
  /** An injectable clock (flag expiry, safe-mode timers) so tests never sleep. */
  now?: () => number;
  /** The timer loop's settings; `{ tickMs: 0 }` turns it off for tests that call `fb.timers.runDue()`. */
  timers?: TimerSchedulerSettings;
}): Promise<Running> {
  const config = parseConfig(options.yaml ?? testConfigYaml(), 'test config', {});
  const url = typeof options.store === 'string' ? await freshDatabaseUrl(options.store) : options.store.url;
  const store = await openStore(url);
  const fb = await buildApp(config, {
    store,
    logger: pino({ level: 'silent' }),
    role: options.role ?? 'all',
    ...(options.now ? { now: options.now } : {}),
    ...(options.timers ? { timers: options.timers } : {}),
  });
  await fb.app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = fb.app.server.address() as AddressInfo;
  const flushed = async () => {
    for (let i = 0; i < 500 && fb.recorder.stats().pending > 0; i++)
      await new Promise((r) => setTimeout(r, 10));
  };
  return {
    url: `http://127.0.0.1:${port}`,
    fb,
    store,
    flushed,
    async traceOf(traceId, n = 1) {
      for (let i = 0; i < 300; i++) {
        const calls = await store.traces.getByTraceId(traceId);
        if (calls.length >= n) return calls;
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error(`trace ${traceId} was not recorded (${n} call(s) expected)`);
    },
    async close() {
      await fb.close(5_000);
      await store.close();
    },
  };
}

/** What the helpers below need of a running Firebreak: a `Running` has it, and so has a hand-built app. */
export interface ControlPlane {
  readonly fb: Pick<FirebreakApp, 'ops' | 'control'>;
  readonly store: Pick<Store, 'control'>;
}

/**
 * Waits until the gateway's in-memory control state has loaded the store's current version, so the next
 * call sees every change committed so far; throws if it has not within about three seconds.
 */
export async function untilControlApplied(target: ControlPlane): Promise<void> {
  const version = await target.store.control.version();
  for (let i = 0; i < 300 && target.fb.control.current().version < version; i++)
    await new Promise((r) => setTimeout(r, 10));
  const applied = target.fb.control.current().version;
  if (applied < version)
    throw new Error(`the gateway is at control-state version ${applied}, the store at ${version}`);
}

export interface DeployReleaseArgs {
  readonly app: string;
  readonly env: string;
  /** The release spec as the API takes it (`model`, `prompt`, `guards`, …). */
  readonly spec: unknown;
  readonly actor?: string;
  readonly reason?: string;
}

/**
 * Creates a release of `app` (or finds the one with the same content), deploys it to `env` and waits
 * until the gateway has applied the new control-state version, so the next call is served by it.
 */
export async function deployRelease(
  target: ControlPlane,
  args: DeployReleaseArgs,
): Promise<{ release: Release; deployment: DeploymentRecord }> {
  const actor = args.actor ?? 'test:admin';
  const { release } = await createRelease(target.fb.ops, { app: args.app, spec: args.spec, actor });
  const deployment = await deploy(target.fb.ops, {
    release: releaseName(release.app, release.version),
    env: args.env,
    actor,
    reason: args.reason ?? 'test deploy',
  });
  await untilControlApplied(target);
  return { release, deployment };
}

/**
 * Raw SSE bytes with each event's `id` emptied: the id is a random trace id, which can contain any short
 * piece of text ("7f3", "1111") a test checks the stream for the absence of. Everything else is kept.
 */
export const withoutEventIds = (raw: string): string => raw.replace(/"id":"[^"]*"/g, '"id":""');
