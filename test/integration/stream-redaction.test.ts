import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  GATEWAY_KEY,
  OTHER_APP_KEY,
  deployRelease,
  startFirebreak,
  testConfigYaml,
  type Running,
  withoutEventIds,
} from '../support/harness.js';
import { storeKinds } from '../support/stores.js';

/**
 * Review finding "streamed redaction leaks what the non-streamed path redacts", through the real gateway
 * and simulator: the reviewer's chunkings of an AWS key, a GitHub token, an e-mail address and a
 * password reach the client, as raw SSE bytes, exactly as the same call without streaming answers (the
 * value replaced by `[REDACTED:<kind>]`), with no piece of the value in any event. Credential fixtures
 * are assembled at run time so this file holds nothing a secret scanner would take for a real key.
 */
const AWS_KEY = 'AK' + 'IA' + 'Z7Q4M2N7P5R3T6VW';
const GITHUB_TOKEN = 'gh' + 'p_' + '8fK2mQ9xL4vR7tY1wE3zP6nB0cJ5hG2dA9sX';
const PASSWORD = 'Xk9#mPq2' + 'vL7wQz';

/** The simulator's chunks per prompt: each value cut where the old hold-back let a piece out. */
const ANSWERS: Readonly<Record<string, readonly string[]>> = {
  'aws key': ['Your key is AK', AWS_KEY.slice(2), ' keep it safe.'],
  'github token': ['Here is g', 'h', GITHUB_TOKEN.slice(2, 12), GITHUB_TOKEN.slice(12), ', done'],
  'contact address': ['Write to bob.sm', 'ith@corp', '.com please'],
  'db password': ['password=', PASSWORD.slice(0, 8), PASSWORD.slice(8), ' done'],
  'order status': [
    ' Sure',
    ',',
    ' your',
    ' order',
    ' shipped',
    ' on',
    ' Monday',
    ' and',
    ' arrives',
    ' soon',
    '.',
  ],
  'colleague address': ['Ask bob', '.smith@corp.com for it', ' today.'],
};

function yaml(): string {
  const rules = Object.entries(ANSWERS)
    .map(
      ([prompt, chunks]) =>
        `      - when: { contains: '${prompt}' }\n        then: { chunks: ${JSON.stringify(chunks)}, chunkDelayMs: 5 }`,
    )
    .join('\n');
  return testConfigYaml(
    `  redacting:\n    type: simulator\n    models: [redacting-1]\n    rules:\n${rules}\n`,
  ).replace('\napps:', '\nmodels:\n  - { name: redacting, provider: redacting, model: redacting-1 }\napps:');
}

/** The answer text carried by an OpenAI SSE stream's `data:` events, one entry per event with text. */
function deltas(raw: string): string[] {
  const out: string[] = [];
  for (const line of raw.split('\n')) {
    if (!line.startsWith('data: {')) continue;
    const event = JSON.parse(line.slice(6)) as { choices?: { delta?: { content?: string } }[] };
    const text = event.choices?.[0]?.delta?.content;
    if (text) out.push(text);
  }
  return out;
}

/** 4-character pieces of `value` that `redacted` does not hold as ordinary text. */
function pieces(value: string, redacted: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 4 <= value.length; i++)
    if (!redacted.includes(value.slice(i, i + 4))) out.push(value.slice(i, i + 4));
  return out;
}

describe.each(storeKinds)('streamed redaction through the gateway (%s)', (kind) => {
  let fb: Running;

  beforeAll(async () => {
    fb = await startFirebreak({ store: kind, yaml: yaml() });
    // Secrets redact by default; this release redacts personal data too.
    await deployRelease(fb, {
      app: 'support-bot',
      env: 'prod',
      reason: 'stream redaction test',
      spec: { model: { name: 'redacting' }, guards: { detectors: { pii: { action: 'redact' } } } },
    });
    // Cross-user redaction has no hold-back (any word may be an address's start): the fail-closed case.
    await deployRelease(fb, {
      app: 'billing-bot',
      env: 'dev',
      reason: 'stream redaction test',
      spec: { model: { name: 'redacting' }, guards: { detectors: { 'cross-user': { action: 'redact' } } } },
    });
  });
  afterAll(() => fb.close());

  async function call(
    content: string,
    stream: boolean,
    key = GATEWAY_KEY,
  ): Promise<{ raw: string; traceId: string }> {
    const res = await fetch(`${fb.url}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${key}`,
        'content-type': 'application/json',
        'x-firebreak-user': 'alice@corp.com',
      },
      body: JSON.stringify({ model: 'redacting', stream, messages: [{ role: 'user', content }] }),
    });
    expect(res.status).toBe(200);
    return { raw: await res.text(), traceId: res.headers.get('x-ai-trace-id') ?? '' };
  }

  const cases = [
    // A key format's prefix (`AKIA`, `ghp_`) names the format and stays; the key after it does not.
    {
      prompt: 'aws key',
      value: AWS_KEY,
      redacted: 'Your key is AKIA[REDACTED:aws-access-key-id] keep it safe.',
    },
    { prompt: 'github token', value: GITHUB_TOKEN, redacted: 'Here is ghp_[REDACTED:github-token], done' },
    { prompt: 'contact address', value: 'bob.smith@corp.com', redacted: 'Write to [REDACTED:email] please' },
    { prompt: 'db password', value: PASSWORD, redacted: 'password=[REDACTED:generic-assignment] done' },
  ];

  for (const c of cases)
    it(`streams the ${c.prompt} redacted exactly as the non-streamed answer, no piece of it in the SSE bytes`, async () => {
      const whole = await call(c.prompt, false);
      const answer = (JSON.parse(whole.raw) as { choices: { message: { content: string } }[] }).choices[0]
        ?.message.content;
      expect(answer).toBe(c.redacted);

      const { raw, traceId } = await call(c.prompt, true);
      expect(deltas(raw).join('')).toBe(c.redacted);
      // Every byte but the event type's name (`chat.completion.chunk` holds `.com`).
      const sent = raw.replaceAll('"chat.completion.chunk"', '');
      for (const p of pieces(c.value, c.redacted)) expect(sent.includes(p), `sent ${p}`).toBe(false);
      expect(raw).toContain('data: [DONE]');
      const [trace] = await fb.traceOf(traceId);
      expect(trace?.status).toBe('ok');
      expect(trace?.body.findings).toEqual(
        expect.arrayContaining([expect.objectContaining({ stage: 'output', action: 'redact' })]),
      );
    });

  it('still streams ordinary prose in several events while every word could be an address', async () => {
    const { raw } = await call('order status', true);
    const events = deltas(raw);
    expect(events.join('')).toBe(ANSWERS['order status']?.join(''));
    expect(events.length).toBeGreaterThan(5);
  });

  it('ends the stream with output_blocked when a redaction would start in text already sent (fail closed)', async () => {
    const { raw, traceId } = await call('colleague address', true, OTHER_APP_KEY);
    expect(deltas(raw).join('')).toBe('Ask bob');
    expect(withoutEventIds(raw)).not.toMatch(/smith|@corp\.com|for it/);
    expect(raw).toContain('"code":"output_blocked"');
    expect(raw).not.toContain('[DONE]');
    const [trace] = await fb.traceOf(traceId);
    expect(trace?.status).toBe('blocked');
    expect(trace?.body.findings).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ detector: 'cross-user', kind: 'email', stage: 'output', action: 'block' }),
      ]),
    );
  });
});
