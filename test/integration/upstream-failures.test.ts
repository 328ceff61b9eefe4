import Anthropic, { APIError as AnthropicApiError } from '@anthropic-ai/sdk';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI, { APIError as OpenAIApiError } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorCode } from '../../src/core/errors.js';
import type { TraceRecord } from '../../src/core/trace.js';
import type { SimulatorServer } from '../../src/providers/simulator-server.js';
import { GATEWAY_KEY, startFirebreak, testConfigYaml, type Running } from '../support/harness.js';
import { storeKinds, type StoreKind } from '../support/stores.js';
import { closedPort, providersYaml, startUpstream, UPSTREAM_KEY } from '../support/upstream.js';

/**
 * Upstream failures through real HTTP upstreams (the simulator server, and a port nobody listens on):
 * each reaches the client in its API's own error format with a clear message, is recorded as an
 * `error` trace, and leaves the gateway serving.
 */
// Wide enough that a stalled CI machine does not turn a 80 ms chunk gap into a timeout.
const TIMEOUT_MS = 1_000;

// Anything that escapes the gateway's handling would surface here (the process must never crash).
const escaped: unknown[] = [];
const onEscape = (e: unknown) => escaped.push(e);

let upstream: SimulatorServer;
let refusedPort: number;

beforeAll(async () => {
  process.on('unhandledRejection', onEscape);
  process.on('uncaughtException', onEscape);
  upstream = await startUpstream([
    { when: { contains: 'fail-500' }, then: { error: { status: 500, message: 'simulated crash' } } },
    { when: { contains: 'fail-503' }, then: { error: { status: 503, message: 'simulated overload' } } },
    {
      when: { contains: 'fail-429' },
      then: { error: { status: 429, message: 'slow down', retryAfter: 7 } },
    },
    {
      when: { contains: 'fail-400' },
      then: {
        error: { status: 400, message: 'max_tokens is too large', type: 'invalid_request_error' },
      },
    },
    { when: { contains: 'fail-hang' }, then: { fail: 'hang' } },
    { when: { contains: 'fail-malformed' }, then: { fail: 'malformed-json' } },
    {
      when: { contains: 'fail-cut' },
      then: { reply: 'one two three four five six', fail: 'cut-stream', cutAfterChunks: 2 },
    },
    {
      // Longer in all than the 1 s timeout, but never silent for that long.
      when: { contains: 'long-stream' },
      then: { chunks: Array.from({ length: 16 }, (_, i) => `c${i} `), chunkDelayMs: 80 },
    },
    {
      // Silent between its chunks for longer than the timeout.
      when: { contains: 'stall-stream' },
      then: { chunks: ['first ', 'second '], chunkDelayMs: 5_000 },
    },
    {
      when: { contains: 'slow-stream' },
      then: { chunks: Array.from({ length: 40 }, (_, i) => `w${i} `), chunkDelayMs: 40 },
    },
  ]);
  refusedPort = await closedPort();
});

afterAll(async () => {
  await upstream.close();
  process.off('unhandledRejection', onEscape);
  process.off('uncaughtException', onEscape);
});

type UpstreamKind = 'openai-compatible' | 'anthropic';
type ClientKind = 'openai' | 'anthropic';

/** Provider names per upstream wire format: a working one, one with a short timeout, one refused. */
const providerNames: Record<UpstreamKind, { ok: string; slow: string; down: string }> = {
  'openai-compatible': { ok: 'oa', slow: 'oa-slow', down: 'oa-down' },
  anthropic: { ok: 'an', slow: 'an-slow', down: 'an-down' },
};

function gatewayYaml(): string {
  const down = `http://127.0.0.1:${refusedPort}`;
  return testConfigYaml(
    providersYaml({
      oa: { type: 'openai-compatible', baseUrl: `${upstream.url}/v1`, apiKey: UPSTREAM_KEY },
      'oa-slow': {
        type: 'openai-compatible',
        baseUrl: `${upstream.url}/v1`,
        apiKey: UPSTREAM_KEY,
        timeoutMs: TIMEOUT_MS,
      },
      'oa-down': { type: 'openai-compatible', baseUrl: `${down}/v1`, apiKey: UPSTREAM_KEY },
      an: { type: 'anthropic', baseUrl: upstream.url, apiKey: UPSTREAM_KEY },
      'an-slow': { type: 'anthropic', baseUrl: upstream.url, apiKey: UPSTREAM_KEY, timeoutMs: TIMEOUT_MS },
      'an-down': { type: 'anthropic', baseUrl: down, apiKey: UPSTREAM_KEY },
    }),
  );
}

interface Clients {
  readonly fb: Running;
  readonly openai: OpenAI;
  readonly anthropic: Anthropic;
}

async function startGateway(store: StoreKind): Promise<Clients> {
  const fb = await startFirebreak({ store, yaml: gatewayYaml() });
  return {
    fb,
    openai: new OpenAI({ baseURL: `${fb.url}/v1`, apiKey: GATEWAY_KEY, maxRetries: 0 }),
    anthropic: new Anthropic({ baseURL: fb.url, apiKey: GATEWAY_KEY, maxRetries: 0 }),
  };
}

/** What a client saw of a failed call, whatever its SDK. */
interface Failure {
  readonly status: number | undefined;
  /** The human message from the error body. */
  readonly message: string;
  /** Firebreak's stable code, carried in both formats' error bodies. */
  readonly code: unknown;
  readonly type: unknown;
  readonly headers: Headers | undefined;
  /** Text received before the error (streams cut midway). */
  readonly partial: string;
}

function asFailure(error: unknown, client: ClientKind, partial = ''): Failure {
  if (client === 'openai') {
    expect(error).toBeInstanceOf(OpenAI.APIError);
    const e = error as OpenAIApiError;
    // The OpenAI error object: { message, type, param, code }.
    const body = e.error as Record<string, unknown> | undefined;
    expect(typeof body?.['message']).toBe('string');
    expect(typeof body?.['type']).toBe('string');
    expect(body && 'param' in body).toBe(true);
    return {
      status: e.status,
      message: String(body?.['message']),
      code: e.code,
      type: e.type,
      headers: e.headers,
      partial,
    };
  }
  expect(error).toBeInstanceOf(Anthropic.APIError);
  const e = error as AnthropicApiError;
  // The Anthropic error body: { type: 'error', error: { type, message } }.
  const body = e.error as { type?: unknown; error?: { type?: unknown; message?: unknown; code?: unknown } };
  expect(body.type).toBe('error');
  expect(typeof body.error?.message).toBe('string');
  return {
    status: e.status,
    message: String(body.error?.message),
    code: body.error?.code,
    type: e.type,
    headers: e.headers,
    partial,
  };
}

/** Sends one request that is expected to fail, streaming or not, and returns what the client saw. */
async function failingCall(
  c: Clients,
  client: ClientKind,
  model: string,
  text: string,
  traceId: string,
  stream: boolean,
): Promise<Failure> {
  const options = { headers: { 'X-AI-Trace-Id': traceId } };
  let partial = '';
  try {
    if (client === 'openai') {
      const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: text }];
      if (!stream) await c.openai.chat.completions.create({ model, messages }, options);
      else {
        const s = await c.openai.chat.completions.create({ model, messages, stream: true }, options);
        for await (const chunk of s) partial += chunk.choices[0]?.delta.content ?? '';
      }
    } else {
      const body = { model, max_tokens: 64, messages: [{ role: 'user' as const, content: text }] };
      if (!stream) await c.anthropic.messages.create(body, options);
      else {
        const s = await c.anthropic.messages.create({ ...body, stream: true }, options);
        for await (const event of s)
          if (event.type === 'content_block_delta' && event.delta.type === 'text_delta')
            partial += event.delta.text;
      }
    }
  } catch (error) {
    return asFailure(error, client, partial);
  }
  throw new Error(`the call to ${model} with "${text}" did not fail`);
}

interface Case {
  readonly name: string;
  readonly text: string;
  readonly provider: (p: (typeof providerNames)[UpstreamKind]) => string;
  readonly status: number;
  readonly code: ErrorCode;
  readonly message: (provider: string) => RegExp;
  readonly retryAfter?: string;
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Failures answered before the first byte: an HTTP error, streaming or not. */
const beforeFirstByte: Case[] = [
  {
    name: 'upstream 500',
    text: 'fail-500 please',
    provider: (p) => p.ok,
    status: 502,
    code: 'upstream_error',
    message: (p) => new RegExp(`^provider "${esc(p)}" failed with HTTP 500: simulated crash$`),
  },
  {
    name: 'upstream 503',
    text: 'fail-503 please',
    provider: (p) => p.ok,
    status: 502,
    code: 'upstream_unavailable',
    message: (p) =>
      new RegExp(`^provider "${esc(p)}" is overloaded or unavailable \\(503\\): simulated overload$`),
  },
  {
    name: 'upstream 429',
    text: 'fail-429 please',
    provider: (p) => p.ok,
    status: 429,
    code: 'upstream_rate_limited',
    message: (p) => new RegExp(`^provider "${esc(p)}" is rate limiting: slow down$`),
    retryAfter: '7',
  },
  {
    name: 'upstream 400',
    text: 'fail-400 please',
    provider: (p) => p.ok,
    status: 400,
    code: 'upstream_error',
    message: (p) =>
      new RegExp(`^provider "${esc(p)}" rejected the request \\(400\\): max_tokens is too large$`),
  },
  {
    name: 'timeout',
    text: 'fail-hang please',
    provider: (p) => p.slow,
    status: 504,
    code: 'upstream_timeout',
    message: (p) => new RegExp(`^provider "${esc(p)}" did not answer within ${TIMEOUT_MS} ms$`),
  },
  {
    name: 'connection refused',
    text: 'hello',
    provider: (p) => p.down,
    status: 502,
    code: 'upstream_unavailable',
    message: (p) =>
      new RegExp(`^provider "${esc(p)}" is unreachable at http://127\\.0\\.0\\.1:\\d+: .*ECONNREFUSED`),
  },
];

/** A 200 whose body is not JSON: only a non-streaming failure before the first byte. */
const malformed: Case = {
  name: 'malformed JSON',
  text: 'fail-malformed please',
  provider: (p) => p.ok,
  status: 502,
  code: 'upstream_bad_response',
  message: (p) => new RegExp(`^provider "${esc(p)}" answered with a body that is not JSON \\(\\d+ bytes`),
};

const upstreamKinds: UpstreamKind[] = ['openai-compatible', 'anthropic'];
const clientKinds: ClientKind[] = ['openai', 'anthropic'];
const matrix = upstreamKinds.flatMap((upstreamKind) =>
  clientKinds.map((client) => ({ upstreamKind, client })),
);

async function expectErrorTrace(fb: Running, traceId: string, expected: Partial<TraceRecord>) {
  const [call] = await fb.traceOf(traceId);
  expect(call).toMatchObject({ status: 'error', ...expected });
  return call as TraceRecord;
}

describe('upstream failures reach the client in its own format and are recorded (sqlite)', () => {
  let c: Clients;
  beforeAll(async () => {
    c = await startGateway('sqlite');
  });
  afterAll(() => c.fb.close());

  describe.each(matrix)('$client client → $upstreamKind upstream', ({ upstreamKind, client }) => {
    const names = providerNames[upstreamKind];

    it.each([...beforeFirstByte, malformed])('non-streaming: $name', async (k) => {
      const provider = k.provider(names);
      const traceId = `nf-${k.name.replace(/\W+/g, '-')}-${upstreamKind}-${client}`;
      const failure = await failingCall(c, client, `${provider}/up-1`, k.text, traceId, false);
      expect(failure.status).toBe(k.status);
      expect(failure.message).toMatch(k.message(provider));
      expect(failure.code).toBe(k.code);
      expect(failure.headers?.get('x-ai-trace-id')).toBe(traceId);
      expect(failure.headers?.get('retry-after') ?? undefined).toBe(k.retryAfter);
      const call = await expectErrorTrace(c.fb, traceId, {
        errorCode: k.code,
        httpStatus: k.status,
        provider,
        stream: false,
        endpoint: client === 'openai' ? 'chat.completions' : 'messages',
      });
      expect(call.body.error?.message).toMatch(k.message(provider));
    });

    it.each(beforeFirstByte)('streaming, failing before the first byte: $name', async (k) => {
      const provider = k.provider(names);
      const traceId = `sf-${k.name.replace(/\W+/g, '-')}-${upstreamKind}-${client}`;
      const failure = await failingCall(c, client, `${provider}/up-1`, k.text, traceId, true);
      expect(failure.status).toBe(k.status);
      expect(failure.message).toMatch(k.message(provider));
      expect(failure.code).toBe(k.code);
      expect(failure.partial).toBe('');
      expect(failure.headers?.get('retry-after') ?? undefined).toBe(k.retryAfter);
      await expectErrorTrace(c.fb, traceId, {
        errorCode: k.code,
        httpStatus: k.status,
        provider,
        stream: true,
      });
    });

    it('streaming, cut midway: the SDK raises while iterating; the trace keeps the partial answer', async () => {
      const traceId = `cut-${upstreamKind}-${client}`;
      const failure = await failingCall(c, client, `${names.ok}/up-1`, 'fail-cut now', traceId, true);
      // Headers were sent (200) before the cut, so the error arrives in the stream, without a status.
      expect(failure.status).toBeUndefined();
      expect(failure.partial).toBe('one two three four ');
      expect(failure.message).toMatch(new RegExp(`^provider "${names.ok}" stream broke midway: `));
      expect(failure.code).toBe('upstream_error');
      const call = await expectErrorTrace(c.fb, traceId, {
        errorCode: 'upstream_error',
        httpStatus: 200,
        provider: names.ok,
        stream: true,
      });
      expect(call.body.error?.message).toContain('stream broke midway');
      expect(JSON.stringify(call.body.response)).toContain('one two three four');
      expect(JSON.stringify(call.body.response)).not.toContain('five');
    });

    it('streaming, an event that is not JSON: the SDK raises while iterating', async () => {
      const traceId = `bad-event-${upstreamKind}-${client}`;
      const failure = await failingCall(c, client, `${names.ok}/up-1`, 'fail-malformed', traceId, true);
      expect(failure.status).toBeUndefined();
      expect(failure.message).toMatch(
        new RegExp(`^provider "${names.ok}" sent a stream event that is not JSON`),
      );
      expect(failure.code).toBe('upstream_bad_response');
      await expectErrorTrace(c.fb, traceId, {
        errorCode: 'upstream_bad_response',
        httpStatus: 200,
        stream: true,
      });
    });
  });

  describe('the timeout bounds waiting, not a stream that keeps flowing', () => {
    it.each(upstreamKinds)(
      'a stream longer in all than the timeout is answered in full (%s upstream)',
      async (upstreamKind) => {
        const traceId = `long-${upstreamKind}`;
        const stream = await c.openai.chat.completions.create(
          {
            model: `${providerNames[upstreamKind].slow}/up-1`,
            stream: true,
            messages: [{ role: 'user', content: 'long-stream please' }],
          },
          { headers: { 'X-AI-Trace-Id': traceId } },
        );
        let text = '';
        for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
        expect(text).toBe(Array.from({ length: 16 }, (_, i) => `c${i} `).join(''));
        const [call] = await c.fb.traceOf(traceId);
        expect(call).toMatchObject({ status: 'ok', stream: true, errorCode: null });
      },
    );

    it.each(matrix)(
      'a stream silent for longer than the timeout is cut and recorded ($client client, $upstreamKind upstream)',
      async ({ upstreamKind, client }) => {
        const provider = providerNames[upstreamKind].slow;
        const traceId = `stall-${upstreamKind}-${client}`;
        const failure = await failingCall(c, client, `${provider}/up-1`, 'stall-stream', traceId, true);
        expect(failure.partial).toBe('first ');
        expect(failure.message).toMatch(
          new RegExp(`^provider "${provider}" stopped sending midway through the stream: `),
        );
        const call = await expectErrorTrace(c.fb, traceId, { httpStatus: 200, stream: true, provider });
        expect(call.errorCode).toBe('upstream_timeout');
        expect(JSON.stringify(call.body.response)).toContain('first');
        expect(JSON.stringify(call.body.response)).not.toContain('second');
      },
    );
  });

  describe('trace context', () => {
    const w3c = '4bf92f3577b34da6a3ce929d0e0e4736';
    const clientSpan = '00f067aa0ba902b7';

    const receivedWith = (marker: string) => {
      const hit = upstream.received.filter((r) => JSON.stringify(r.body).includes(marker));
      expect(hit).toHaveLength(1);
      return hit[0] as SimulatorServer['received'][number];
    };

    it.each(upstreamKinds)(
      'forwards the client’s W3C trace id upstream in traceparent (%s upstream)',
      async (upstreamKind) => {
        const marker = `tp-only-${upstreamKind}`;
        // A distinct W3C trace id per upstream, so each test finds its own trace.
        const traceId = `${upstreamKind === 'anthropic' ? 'a' : 'b'}${w3c.slice(1)}`;
        const { response } = await c.openai.chat.completions
          .create(
            {
              model: `${providerNames[upstreamKind].ok}/up-1`,
              messages: [{ role: 'user', content: marker }],
            },
            { headers: { traceparent: `00-${traceId}-${clientSpan}-01` } },
          )
          .withResponse();
        // With only a traceparent, its trace id is the Firebreak trace id.
        expect(response.headers.get('x-ai-trace-id')).toBe(traceId);
        const forwarded = String(receivedWith(marker).headers['traceparent']);
        const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(forwarded);
        expect(m?.[1]).toBe(traceId);
        // A new span: the gateway's call is a child of the client's span, not the same one.
        expect(m?.[2]).not.toBe(clientSpan);
        const [call] = await c.fb.traceOf(traceId);
        expect(call?.status).toBe('ok');
      },
    );

    it('with both X-AI-Trace-Id and traceparent: echoes the former, continues the client’s W3C trace upstream', async () => {
      const { response } = await c.anthropic.messages
        .create(
          { model: 'an/up-1', max_tokens: 32, messages: [{ role: 'user', content: 'both-headers' }] },
          { headers: { 'X-AI-Trace-Id': 'order-42', traceparent: `00-${w3c}-${clientSpan}-01` } },
        )
        .withResponse();
      expect(response.headers.get('x-ai-trace-id')).toBe('order-42');
      const forwarded = String(receivedWith('both-headers').headers['traceparent']);
      expect(forwarded).toMatch(new RegExp(`^00-${w3c}-[0-9a-f]{16}-01$`));
      const [call] = await c.fb.traceOf('order-42');
      expect(call?.body.w3cTraceId).toBe(w3c);
    });

    it('forwards traceparent on a failing call too, and echoes X-AI-Trace-Id on the error', async () => {
      const w3cFail = 'f'.repeat(31) + '1';
      const failure = asFailure(
        await c.openai.chat.completions
          .create(
            { model: 'oa/up-1', messages: [{ role: 'user', content: 'fail-500 traced' }] },
            { headers: { traceparent: `00-${w3cFail}-${clientSpan}-00` } },
          )
          .then(
            () => new Error('the call did not fail'),
            (e: unknown) => e,
          ),
        'openai',
      );
      expect(failure.status).toBe(502);
      expect(failure.headers?.get('x-ai-trace-id')).toBe(w3cFail);
      expect(String(receivedWith('fail-500 traced').headers['traceparent'])).toMatch(
        new RegExp(`^00-${w3cFail}-[0-9a-f]{16}-00$`),
      );
      await expectErrorTrace(c.fb, w3cFail, { errorCode: 'upstream_error', httpStatus: 502 });
    });

    it('sends the provider’s key upstream, never the client’s gateway key', () => {
      expect(upstream.received.length).toBeGreaterThan(0);
      for (const r of upstream.received) {
        expect(JSON.stringify(r.headers)).not.toContain(GATEWAY_KEY);
        const key = r.path === '/v1/messages' ? r.headers['x-api-key'] : r.headers.authorization;
        expect(key).toContain(UPSTREAM_KEY);
      }
    });
  });

  describe('a client that disconnects mid-stream', () => {
    it('with the OpenAI SDK: nothing crashes, the trace is recorded, the next request works', async () => {
      const controller = new AbortController();
      const stream = await c.openai.chat.completions.create(
        { model: 'oa/up-1', stream: true, messages: [{ role: 'user', content: 'slow-stream please' }] },
        { headers: { 'X-AI-Trace-Id': 'abort-openai' }, signal: controller.signal },
      );
      let first = '';
      try {
        for await (const chunk of stream) {
          first += chunk.choices[0]?.delta.content ?? '';
          if (first !== '') controller.abort();
        }
      } catch (error) {
        expect(error).toBeInstanceOf(OpenAI.APIUserAbortError);
      }
      expect(first).toMatch(/^w0 /);
      const call = await expectErrorTrace(c.fb, 'abort-openai', {
        errorCode: 'upstream_error',
        httpStatus: 200,
        stream: true,
        provider: 'oa',
      });
      expect(JSON.stringify(call.body.response)).toContain('w0');
      // The stream was not read to its end: the gateway stopped when the client left.
      expect(JSON.stringify(call.body.response)).not.toContain('w39');

      const next = await c.openai.chat.completions.create({
        model: 'oa/up-1',
        messages: [{ role: 'user', content: 'refund after abort' }],
      });
      expect(next.choices[0]?.message.content).toBe('Refunds within 30 days.');
    });

    it('with the Anthropic SDK: nothing crashes, the trace is recorded, the next request works', async () => {
      const controller = new AbortController();
      const stream = c.anthropic.messages.stream(
        { model: 'an/up-1', max_tokens: 256, messages: [{ role: 'user', content: 'slow-stream please' }] },
        { headers: { 'X-AI-Trace-Id': 'abort-anthropic' }, signal: controller.signal },
      );
      let first = '';
      stream.on('text', (delta) => {
        first += delta;
        controller.abort();
      });
      await expect(stream.done()).rejects.toBeInstanceOf(Anthropic.APIUserAbortError);
      expect(first).toMatch(/^w0 /);
      const call = await expectErrorTrace(c.fb, 'abort-anthropic', {
        httpStatus: 200,
        stream: true,
        provider: 'an',
      });
      expect(JSON.stringify(call.body.response)).not.toContain('w39');

      const next = await c.anthropic.messages.create({
        model: 'an/up-1',
        max_tokens: 64,
        messages: [{ role: 'user', content: 'refund after abort' }],
      });
      expect(next.content).toEqual([{ type: 'text', text: 'Refunds within 30 days.' }]);
    });
  });

  it('after every failure the gateway still answers, through both clients and both upstreams', async () => {
    const health = await fetch(`${c.fb.url}/healthz`);
    expect(health.status).toBe(200);
    for (const upstreamKind of upstreamKinds) {
      const model = `${providerNames[upstreamKind].ok}/up-1`;
      const a = await c.openai.chat.completions.create({
        model,
        messages: [{ role: 'user', content: 'refund?' }],
      });
      expect(a.choices[0]?.message.content).toBe('Refunds within 30 days.');
      const b = await c.anthropic.messages.create({
        model,
        max_tokens: 64,
        messages: [{ role: 'user', content: 'refund?' }],
      });
      expect(b.content).toEqual([{ type: 'text', text: 'Refunds within 30 days.' }]);
    }
    await c.fb.flushed();
    expect(c.fb.fb.recorder.stats().pending).toBe(0);
    expect(escaped).toEqual([]);
  });
});

describe.each(storeKinds)('upstream failures are recorded as error traces (%s)', (kind) => {
  let c: Clients;
  beforeAll(async () => {
    c = await startGateway(kind);
  });
  afterAll(() => c.fb.close());

  it('an upstream 5xx: a 502 for the client, an error trace in the store', async () => {
    const traceId = `store-5xx-${kind}`;
    const failure = await failingCall(c, 'openai', 'oa/up-1', 'fail-500', traceId, false);
    expect(failure.status).toBe(502);
    expect(failure.message).toBe('provider "oa" failed with HTTP 500: simulated crash');
    const call = await expectErrorTrace(c.fb, traceId, {
      errorCode: 'upstream_error',
      httpStatus: 502,
      provider: 'oa',
      model: 'oa/up-1',
    });
    expect(call.body.error).toEqual({
      code: 'upstream_error',
      message: 'provider "oa" failed with HTTP 500: simulated crash',
    });
    expect(JSON.stringify(call.body.request)).toContain('fail-500');
    // Listed with the other errors too, not only found by its trace id.
    const page = await c.fb.store.traces.page({ status: 'error', limit: 10 });
    expect(page.map((t) => t.traceId)).toContain(traceId);
  });

  it('a stream cut midway: the partial answer and the error are both stored', async () => {
    const traceId = `store-cut-${kind}`;
    const failure = await failingCall(c, 'anthropic', 'an/up-1', 'fail-cut', traceId, true);
    expect(failure.partial).toBe('one two three four ');
    expect(failure.message).toMatch(/^provider "an" stream broke midway/);
    const call = await expectErrorTrace(c.fb, traceId, {
      errorCode: 'upstream_error',
      httpStatus: 200,
      stream: true,
    });
    expect(JSON.stringify(call.body.response)).toContain('one two three four');
  });
});

describe('embeddings against an upstream that never answers', () => {
  it('is an upstream timeout (504) in the OpenAI format, recorded as an error trace', async () => {
    // Accepts connections and requests, never answers: the gateway's own timeout must end the call.
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as AddressInfo).port;
    const fb = await startFirebreak({
      store: 'sqlite',
      yaml: testConfigYaml(
        providersYaml({ mute: { type: 'openai-compatible', baseUrl: `http://127.0.0.1:${port}/v1` } }),
      ),
    });
    try {
      const openai = new OpenAI({ baseURL: `${fb.url}/v1`, apiKey: GATEWAY_KEY, maxRetries: 0 });
      const failure = await openai.embeddings
        .create({ model: 'mute/emb-1', input: 'hello' }, { headers: { 'x-ai-trace-id': 'emb-timeout' } })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(failure).toBeInstanceOf(OpenAIApiError);
      const e = failure as InstanceType<typeof OpenAIApiError>;
      expect(e.status).toBe(504);
      expect(e.error).toMatchObject({
        code: 'upstream_timeout',
        message: 'provider "mute" did not answer within 2000 ms',
      });
      await expectErrorTrace(fb, 'emb-timeout', { errorCode: 'upstream_timeout', httpStatus: 504 });
    } finally {
      await fb.close();
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});
