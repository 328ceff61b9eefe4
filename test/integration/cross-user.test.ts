import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Finding } from '../../src/core/guards/types.js';
import {
  GATEWAY_KEY,
  deployRelease,
  startFirebreak,
  testConfigYaml,
  type Running,
} from '../support/harness.js';
import { freshDatabaseUrl, storeKinds } from '../support/stores.js';

/**
 * Issue 4, "cross-user data (identifiers that belong to another user of the same app appearing in an
 * answer)": the gateway keeps a directory of each app's users and tenants from the calls it serves and
 * from the store's traces, and the cross-user check reports an answer that names another one of them.
 * A second replica on the same store, which never served the first user, knows them from the traces.
 * Real HTTP, the OpenAI SDK, both stores.
 */
const RECORDS = `
  records:
    type: simulator
    models: [records-1]
    rules:
      - name: order-owner
        when: { contains: 'who placed order 7' }
        then: { reply: 'Order 7 was placed by usr_a1b2c3 of tenant t-acme-01.' }
      - name: echo
        when: { contains: '' }
        then: { reply: 'You said: {{lastUser}}' }
`;
const yaml = () =>
  testConfigYaml(RECORDS).replace(
    '\napps:',
    '\nmodels:\n  - { name: records, provider: records, model: records-1 }\napps:',
  );

const ALICE = { 'x-firebreak-user': 'usr_a1b2c3', 'x-firebreak-tenant': 't-acme-01' };
const BOB = { 'x-firebreak-user': 'usr_z9y8x7', 'x-firebreak-tenant': 't-beta-02' };

describe.each(storeKinds)('cross-user data, with the app’s users known (%s)', (kind) => {
  let url: string;
  let fb: Running;
  let client: OpenAI;

  beforeAll(async () => {
    url = await freshDatabaseUrl(kind);
    fb = await startFirebreak({ store: { url }, yaml: yaml() });
    client = new OpenAI({ baseURL: `${fb.url}/v1`, apiKey: GATEWAY_KEY, maxRetries: 0 });
    await deployRelease(fb, { app: 'support-bot', env: 'prod', spec: { model: { name: 'records' } } });
  });
  afterAll(() => fb.close());

  const ask = async (target: Running, who: Record<string, string>, content: string) => {
    const c = new OpenAI({ baseURL: `${target.url}/v1`, apiKey: GATEWAY_KEY, maxRetries: 0 });
    const { data, response } = await c.chat.completions
      .create({ model: 'records', messages: [{ role: 'user', content }] }, { headers: who })
      .withResponse();
    const [trace] = await target.traceOf(response.headers.get('x-ai-trace-id') ?? '');
    const found = (trace?.body.findings ?? []).filter((f: Finding) => f.detector === 'cross-user');
    return { answer: data.choices[0]?.message.content, found };
  };

  it("reports an answer naming another user's and tenant's ids, and not the caller's own", async () => {
    // Alice calls first: from then on she is a known user of support-bot.
    expect((await ask(fb, ALICE, 'hello')).answer).toBe('You said: hello');
    const bob = await ask(fb, BOB, 'who placed order 7?');
    // Logged (the default action): the answer goes through, the leak is on the trace.
    expect(bob.answer).toBe('Order 7 was placed by usr_a1b2c3 of tenant t-acme-01.');
    expect(bob.found).toEqual([
      expect.objectContaining({
        kind: 'other_user',
        class: 'privacy',
        stage: 'output',
        score: 0.95,
        action: 'log',
      }),
      expect.objectContaining({ kind: 'other_tenant', score: 0.95, action: 'log' }),
    ]);
    // Alice reading her own order: nothing.
    expect((await ask(fb, ALICE, 'who placed order 7?')).found).toEqual([]);
  });

  it('set to block, the answer is refused with output_blocked', async () => {
    await deployRelease(fb, {
      app: 'support-bot',
      env: 'prod',
      spec: { model: { name: 'records' }, guards: { detectors: { 'cross-user': { action: 'block' } } } },
    });
    const err = await client.chat.completions
      .create(
        { model: 'records', messages: [{ role: 'user', content: 'who placed order 7?' }] },
        { headers: BOB },
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    const apiError = err as InstanceType<typeof OpenAI.APIError>;
    expect(apiError.code).toBe('output_blocked');
    expect(apiError.message).not.toContain('usr_a1b2c3');
    // Blocked because the directory knows whose ids they are (not only by their shape).
    const [trace] = await fb.traceOf(apiError.headers?.get('x-ai-trace-id') ?? '');
    expect(
      (trace?.body.findings ?? []).filter((f) => f.detector === 'cross-user').map((f) => [f.kind, f.action]),
    ).toEqual([
      ['other_user', 'block'],
      ['other_tenant', 'block'],
    ]);
    await deployRelease(fb, { app: 'support-bot', env: 'prod', spec: { model: { name: 'records' } } });
  });

  it('a replica that never served Alice knows her from the stored traces', async () => {
    await fb.flushed();
    const replica = await startFirebreak({ store: { url }, yaml: yaml() });
    try {
      // Its first read of the store starts with it; ask until it has landed (bounded).
      // (Bob's own id has Alice's shape, so the shape check alone reads it as `user_id` until then.)
      let found: Finding[] = [];
      const known = () => found.some((f) => f.kind === 'other_user');
      const deadline = Date.now() + 15_000;
      while (!known() && Date.now() < deadline) {
        found = (await ask(replica, BOB, 'who placed order 7?')).found;
        if (!known()) await new Promise((r) => setTimeout(r, 20));
      }
      expect(found.map((f) => f.kind)).toEqual(['other_user', 'other_tenant']);
    } finally {
      await replica.close();
    }
  });
});
