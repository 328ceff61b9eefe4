import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCodes, errorStatus, type ErrorCode } from '../../src/core/errors.js';
import { parseConfig } from '../../src/server/config-load.js';
import {
  ADMIN_TOKEN,
  GATEWAY_KEY,
  VIEWER_TOKEN,
  startFirebreak,
  testConfigYaml,
  type Running,
} from '../support/harness.js';
import {
  malformedBodies,
  malformedQueries,
  validBodies,
  type Endpoint,
  type MalformedCase,
} from '../support/malformed.js';

/*
 * Bad input never reaches a provider, never gets a 5xx, never gets recorded: every malformed body,
 * query string, header or key gets a 4xx in the error format of the interface it was sent to, with a
 * code from the catalogue and a message that says what is wrong. The store plays no part in rejecting
 * input, so this suite runs on SQLite only.
 */

const paths: Record<Endpoint, string> = {
  chat: '/v1/chat/completions',
  messages: '/v1/messages',
  embeddings: '/v1/embeddings',
};

interface ErrorView {
  readonly code: ErrorCode;
  readonly message: string;
  /** The field path the error points at, when the format carries one (OpenAI `param`, /api `path`). */
  readonly path: string | null;
}

/** Checks the body is exactly the OpenAI error shape and returns its parts. */
function openAiError(res: { status: number; json: unknown }): ErrorView {
  const body = res.json as { error: Record<string, unknown> };
  expect(Object.keys(body)).toEqual(['error']);
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
  expect(body.error['type']).toMatch(/^[a-z_]+_error$/);
  return checked(res.status, body.error['code'], body.error['message'], body.error['param']);
}

/** Checks the body is exactly the Anthropic error shape and returns its parts. */
function anthropicError(res: { status: number; json: unknown }): ErrorView {
  const body = res.json as { type: unknown; error: Record<string, unknown> };
  expect(Object.keys(body).sort()).toEqual(['error', 'type']);
  expect(body.type).toBe('error');
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'type']);
  // Anthropic's own error types, so its SDK raises the matching exception class.
  expect([
    'invalid_request_error',
    'authentication_error',
    'permission_error',
    'not_found_error',
    'request_too_large',
  ]).toContain(body.error['type']);
  return checked(res.status, body.error['code'], body.error['message'], null);
}

/** Checks the body is exactly the /api envelope and returns its parts. */
function apiEnvelope(res: { status: number; json: unknown }): ErrorView {
  const body = res.json as { error: Record<string, unknown> };
  expect(Object.keys(body)).toEqual(['error']);
  const keys = Object.keys(body.error).sort();
  expect(keys.filter((k) => k !== 'path')).toEqual(['code', 'message']);
  return checked(res.status, body.error['code'], body.error['message'], body.error['path'] ?? null);
}

function checked(status: number, code: unknown, message: unknown, path: unknown): ErrorView {
  expect(errorCodes).toContain(code);
  // The status is the catalogue's for that code, and bad input is always the client's fault.
  expect(status).toBe(errorStatus[code as ErrorCode]);
  expect(status).toBeGreaterThanOrEqual(400);
  expect(status).toBeLessThan(500);
  expect(typeof message).toBe('string');
  expect((message as string).trim().length).toBeGreaterThan(10);
  expect(path === null || (typeof path === 'string' && path.length > 0)).toBe(true);
  return { code: code as ErrorCode, message: message as string, path: (path as string | null) ?? null };
}

const errorOf: Record<Endpoint, (res: { status: number; json: unknown }) => ErrorView> = {
  chat: openAiError,
  messages: anthropicError,
  embeddings: openAiError,
};

function view(res: LightMyRequestResponse): { status: number; json: unknown } {
  return { status: res.statusCode, json: JSON.parse(res.body) as unknown };
}

async function fetchJson(url: string, init: RequestInit): Promise<{ status: number; json: unknown }> {
  const res = await fetch(url, init);
  return { status: res.status, json: await res.json() };
}

const gatewayAuth = { authorization: `Bearer ${GATEWAY_KEY}` };
const apiAuth = { authorization: `Bearer ${VIEWER_TOKEN}` };

/** Runs `fn` over `items`, `width` at a time. */
async function inBatches<T>(items: readonly T[], width: number, fn: (item: T, i: number) => Promise<void>) {
  for (let i = 0; i < items.length; i += width)
    await Promise.all(items.slice(i, i + width).map((item, j) => fn(item, i + j)));
}

describe('bad input (sqlite)', () => {
  let fb: Running;

  beforeAll(async () => {
    fb = await startFirebreak({ store: 'sqlite' });
  });
  afterAll(() => fb.close());

  const chat = (body: unknown, headers: Record<string, string> = {}) =>
    fb.fb.app.inject({
      method: 'POST',
      url: paths.chat,
      headers: { ...gatewayAuth, 'content-type': 'application/json', ...headers },
      payload: JSON.stringify(body),
    });

  it('answers thousands of generated malformed bodies with a 4xx in each endpoint’s format, and records none', async () => {
    await fb.flushed();
    const tracesBefore = await fb.store.traces.count({});
    const writtenBefore = fb.fb.recorder.stats().written;
    const counts: Record<Endpoint, number> = { chat: 1500, messages: 900, embeddings: 600 };
    let total = 0;
    let fieldCases = 0;
    for (const [endpoint, count] of Object.entries(counts) as [Endpoint, number][]) {
      const cases = malformedBodies(endpoint, count, 0xf1eb + count);
      expect(cases).toHaveLength(count);
      await inBatches(cases, 25, async (c: MalformedCase, i) => {
        const res = await fb.fb.app.inject({
          method: 'POST',
          url: paths[endpoint],
          headers: { ...gatewayAuth, ...(c.contentType ? { 'content-type': c.contentType } : {}) },
          payload: c.payload,
        });
        const where = `${endpoint} case #${i} (${c.label})`;
        expect(res.statusCode, where).toBeGreaterThanOrEqual(400);
        expect(res.statusCode, where).toBeLessThan(500);
        const err = errorOf[endpoint](view(res));
        expect(['invalid_json', 'validation_failed', 'unsupported_media_type'], where).toContain(err.code);
        if (c.fields.length > 0) {
          // The error names one of the fields that were broken, by its path.
          fieldCases += 1;
          expect(err.code, where).toBe('validation_failed');
          const named = c.fields.filter((f) => err.message.includes(`: ${f}`));
          expect(named, `${where}: ${err.message}`).not.toHaveLength(0);
          if (err.path !== null) expect(c.fields, where).toContain(err.path.split(/[.[]/)[0]);
        }
        total += 1;
      });
    }
    expect(total).toBe(3000);
    expect(fieldCases).toBeGreaterThan(1000);

    // Nothing reached the recorder, so nothing can reach the store.
    expect(fb.fb.recorder.stats()).toMatchObject({ pending: 0, written: writtenBefore, dropped: 0 });
    await fb.flushed();
    expect(await fb.store.traces.count({})).toBe(tracesBefore);

    // And the process still serves, and records, a valid request.
    const ok = await chat(validBodies.chat(), { 'x-ai-trace-id': 'after-the-storm' });
    expect(ok.statusCode).toBe(200);
    const [call] = await fb.traceOf('after-the-storm');
    expect(call?.status).toBe('ok');
    expect(await fb.store.traces.count({})).toBe(tracesBefore + 1);
  });

  it('answers malformed trace queries on /api with a 400 envelope naming the parameter', async () => {
    const queries = malformedQueries(600, 0x5eed);
    await inBatches(queries, 25, async (q, i) => {
      const res = await fb.fb.app.inject({ method: 'GET', url: `/api/traces?${q.query}`, headers: apiAuth });
      const where = `query #${i}: ${q.query.slice(0, 120)}`;
      expect(res.statusCode, where).toBe(400);
      const err = apiEnvelope(view(res));
      expect(err.code, where).toBe('validation_failed');
      if (err.path !== null) expect(err.path, where).toBe(q.param);
      else expect(err.message, where).toContain(`"${q.param}"`);
    });
  });

  it('names the field path precisely', async () => {
    const base = validBodies.chat();
    const cases: { body: unknown; path: string; says: RegExp }[] = [
      { body: { messages: base['messages'] }, path: 'model', says: /expected string, received undefined/ },
      { body: { ...base, model: 5 }, path: 'model', says: /expected string, received number/ },
      { body: { ...base, messages: {} }, path: 'messages', says: /expected array/ },
      { body: { ...base, messages: [] }, path: 'messages', says: /at least one message is required/ },
      {
        body: { ...base, messages: [{ role: 'wizard', content: 'x' }] },
        path: 'messages[0].role',
        says: /system|user|assistant|tool/,
      },
      {
        body: {
          ...base,
          messages: [
            { role: 'user', content: 'a' },
            { role: 'user', content: 5 },
          ],
        },
        path: 'messages[1].content',
        says: /Invalid input/,
      },
      {
        body: {
          ...base,
          messages: [
            { role: 'user', content: 'a' },
            { role: 'tool', content: 'r' },
          ],
        },
        path: 'messages[1].tool_call_id',
        says: /expected string, received undefined/,
      },
      { body: { ...base, n: 0 }, path: 'n', says: />=1/ },
      { body: { ...base, n: 100 }, path: 'n', says: /<=16/ },
      { body: { ...base, n: '2' }, path: 'n', says: /expected number, received string/ },
      { body: { ...base, temperature: 5 }, path: 'temperature', says: /<=2/ },
      { body: { ...base, stream: 'yes' }, path: 'stream', says: /expected boolean, received string/ },
      { body: { ...base, max_tokens: -1 }, path: 'max_tokens', says: />=1/ },
      {
        body: { ...base, tools: [{ type: 'function', function: { name: 'bad name!' } }] },
        path: 'tools[0].function.name',
        says: /tool names are 1-64 letters, digits, _ or -/,
      },
      { body: { ...base, tools: 'x' }, path: 'tools', says: /expected array/ },
      {
        body: { ...base, firebreak: { retrieved: [{ id: 'd', source: 's' }] } },
        path: 'firebreak.retrieved[0].text',
        says: /expected string/,
      },
    ];
    for (const c of cases) {
      const err = openAiError(view(await chat(c.body)));
      expect(err.code).toBe('validation_failed');
      expect(err.path).toBe(c.path);
      expect(err.message).toMatch(new RegExp(`^invalid request: ${c.path.replace(/[.[\]]/g, '\\$&')}: `));
      expect(err.message).toMatch(c.says);
    }

    const messages = async (body: unknown) =>
      anthropicError(
        view(
          await fb.fb.app.inject({
            method: 'POST',
            url: paths.messages,
            headers: { 'x-api-key': GATEWAY_KEY, 'content-type': 'application/json' },
            payload: JSON.stringify(body),
          }),
        ),
      );
    const m = validBodies.messages();
    const noMax = await messages({ model: 'sim-1', messages: m['messages'] });
    expect(noMax.code).toBe('validation_failed');
    expect(noMax.message).toMatch(/^invalid request: max_tokens: .*expected number, received undefined/);
    expect((await messages({ ...m, messages: [{ role: 'system', content: 'x' }] })).message).toMatch(
      /^invalid request: messages\[0\]\.role: /,
    );
    expect((await messages({ ...m, temperature: 1.5 })).message).toMatch(
      /^invalid request: temperature: .*<=1/,
    );
    expect(
      (await messages({ ...m, messages: [{ role: 'user', content: [{ type: 'tool_result' }] }] })).message,
    ).toMatch(/^invalid request: messages\[0\]\.content\[0\]\.tool_use_id: /);

    const embed = async (body: unknown) =>
      openAiError(
        view(
          await fb.fb.app.inject({
            method: 'POST',
            url: paths.embeddings,
            headers: { ...gatewayAuth, 'content-type': 'application/json' },
            payload: JSON.stringify(body),
          }),
        ),
      );
    expect(await embed({ model: 'sim-1', input: 5 })).toMatchObject({
      code: 'validation_failed',
      path: 'input',
    });
    expect(await embed({ model: 'sim-1', input: 'a', dimensions: 0 })).toMatchObject({ path: 'dimensions' });
    expect(await embed({ model: 'sim-1', input: ['a', 2] })).toMatchObject({ path: 'input[1]' });

    const api = async (query: string) =>
      apiEnvelope(
        view(await fb.fb.app.inject({ method: 'GET', url: `/api/traces?${query}`, headers: apiAuth })),
      );
    expect(await api('limit=abc')).toMatchObject({ code: 'validation_failed', path: 'limit' });
    expect(await api('status=bogus')).toMatchObject({ path: 'status' });
    expect((await api('status=bogus')).message).toMatch(/ok.*blocked.*safe_mode.*error/);
    const since = await api('since=yesterday');
    expect(since).toMatchObject({ path: 'since' });
    expect(since.message).toBe(
      'since: "yesterday" is not a time (use ISO 8601, epoch ms, or 30m / 24h / 7d)',
    );
    expect((await api('colour=red')).message).toContain('"colour"');
  });

  it('says why a body is not JSON', async () => {
    const post = (payload: string, contentType = 'application/json') =>
      fb.fb.app.inject({
        method: 'POST',
        url: paths.chat,
        headers: { ...gatewayAuth, 'content-type': contentType },
        payload,
      });
    const empty = openAiError(view(await post('')));
    expect(empty).toMatchObject({
      code: 'invalid_json',
      message: 'request body is empty; a JSON object is required',
    });
    const cut = openAiError(view(await post('{"model": "sim-1", "messages": [')));
    expect(cut.code).toBe('invalid_json');
    expect(cut.message).toMatch(
      /^request body is not valid JSON: (Unexpected end of JSON input|.*position \d+)/,
    );
    const broken = openAiError(view(await post('{"model": "sim-1",, "messages": []}')));
    expect(broken.message).toMatch(/^request body is not valid JSON: .*position 18/);
    const proto = openAiError(view(await post('{"model":"sim-1","__proto__":{"isAdmin":true}}')));
    expect(proto).toMatchObject({ code: 'invalid_json' });
    expect(proto.message).toMatch(/prototype/);
    expect(({} as Record<string, unknown>)['isAdmin']).toBeUndefined();
    const deep = openAiError(view(await post(`{"model":"sim-1","x":${'['.repeat(129)}${']'.repeat(129)}}`)));
    expect(deep).toMatchObject({
      code: 'invalid_json',
      message: 'request body nests arrays/objects deeper than 128 levels',
    });
    // Nesting up to the limit is fine: tool schemas do nest.
    const nested = await post(
      JSON.stringify({
        ...validBodies.chat(),
        metadata: JSON.parse(`${'['.repeat(120)}${']'.repeat(120)}`) as unknown,
      }),
    );
    expect(nested.statusCode).toBe(200);
    // Brackets inside strings (escaped quotes and backslashes too) are text, not nesting.
    const bracketsInText = await post(
      JSON.stringify({
        ...validBodies.chat(),
        metadata: { note: `\\"${'[{'.repeat(200)}\\` },
      }),
    );
    expect(bracketsInText.statusCode).toBe(200);
    const top = openAiError(view(await post('[{"model":"sim-1"}]')));
    expect(top).toMatchObject({ code: 'validation_failed', path: null });
    expect(top.message).toMatch(/expected object, received array/);
    // Whatever the content type says, the body is read as JSON (curl -d sends form-encoded).
    const form = await post(JSON.stringify(validBodies.chat()), 'application/x-www-form-urlencoded');
    expect(form.statusCode).toBe(200);
  });

  it('answers the same over real HTTP', async () => {
    const post = (path: string, body: string, headers: Record<string, string> = {}) =>
      fetchJson(`${fb.url}${path}`, {
        method: 'POST',
        headers: { ...gatewayAuth, 'content-type': 'application/json', ...headers },
        body,
      });
    expect(openAiError(await post(paths.chat, '{"model":'))).toMatchObject({ code: 'invalid_json' });
    expect(openAiError(await post(paths.chat, 'null'))).toMatchObject({ code: 'validation_failed' });
    expect(openAiError(await post(paths.chat, '{"__proto__":{"a":1}}'))).toMatchObject({
      code: 'invalid_json',
    });
    expect(
      openAiError(await post(paths.chat, JSON.stringify({ ...validBodies.chat(), n: '2' }))),
    ).toMatchObject({ code: 'validation_failed', path: 'n' });
    expect(
      anthropicError(await post(paths.messages, JSON.stringify({ model: 'sim-1', messages: [] }))),
    ).toMatchObject({ code: 'validation_failed' });
    expect(openAiError(await post(paths.embeddings, '"just a string"'))).toMatchObject({
      code: 'validation_failed',
    });
    expect(
      openAiError(await post(paths.chat, `{"a":${'['.repeat(10_000)}${']'.repeat(10_000)}}`)),
    ).toMatchObject({ code: 'invalid_json' });
    const query = apiEnvelope(
      await fetchJson(`${fb.url}/api/traces?limit=0&status=ok`, { headers: apiAuth }),
    );
    expect(query).toMatchObject({ code: 'validation_failed', path: 'limit' });
  });

  it('answers URLs that are not valid percent-encoding in the format of the interface they were sent to', async () => {
    const bad = await fetchJson(`${fb.url}/api/traces/%ZZ`, { headers: apiAuth });
    expect(bad.status).toBe(400);
    expect(apiEnvelope(bad).message).toContain('%ZZ');
    const v1 = await fetchJson(`${fb.url}/v1/chat/completions%ZZ`, { method: 'POST', headers: gatewayAuth });
    expect(v1.status).toBe(400);
    expect(openAiError(v1).code).toBe('bad_request');
    expect(openAiError(v1).message).toContain('%ZZ');
    const msgs = await fetchJson(`${fb.url}/v1/messages/%ZZ`, { method: 'POST', headers: gatewayAuth });
    expect(anthropicError(msgs).code).toBe('bad_request');
  });

  describe('gateway keys', () => {
    const body = JSON.stringify(validBodies.chat());

    it('asks for a key, and says how to send one, when none is sent', async () => {
      for (const headers of [{}, { authorization: 'Bearer ' }, { authorization: 'Basic dXNlcjpwYXNz' }]) {
        const res = await fetchJson(`${fb.url}${paths.chat}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body,
        });
        expect(res.status).toBe(401);
        const err = openAiError(res);
        expect(err.code).toBe('unauthenticated');
        expect(err.message).toContain('Authorization: Bearer <key>');
        expect(err.message).toContain('x-api-key: <key>');
      }
      const anthropic = await fetchJson(`${fb.url}${paths.messages}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(validBodies.messages()),
      });
      expect(anthropic.status).toBe(401);
      expect(anthropicError(anthropic)).toMatchObject({ code: 'unauthenticated' });
      expect(anthropicError(anthropic).message).toMatch(/^missing gateway key/);
    });

    it('refuses a wrong key, and an API token used as a gateway key', async () => {
      for (const key of ['fbk_not_a_real_key_000000000000', ADMIN_TOKEN, VIEWER_TOKEN, `${GATEWAY_KEY}x`]) {
        const res = await fetchJson(`${fb.url}${paths.chat}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
          body,
        });
        expect(res.status).toBe(401);
        expect(openAiError(res)).toMatchObject({ code: 'unauthenticated', message: 'invalid gateway key' });
      }
      const res = await fetchJson(`${fb.url}${paths.messages}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': ADMIN_TOKEN },
        body: JSON.stringify(validBodies.messages()),
      });
      expect(anthropicError(res)).toMatchObject({ code: 'unauthenticated', message: 'invalid gateway key' });
      const models = await fetchJson(`${fb.url}/v1/models`, { headers: { authorization: 'Bearer nope' } });
      expect(openAiError(models)).toMatchObject({ code: 'unauthenticated', message: 'invalid gateway key' });
    });

    it('checks the key before the body: a bad body with a bad key is a 401', async () => {
      const res = await fetchJson(`${fb.url}${paths.chat}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer wrong-key-000000000' },
        body: '{"model":',
      });
      expect(openAiError(res)).toMatchObject({ code: 'unauthenticated' });
    });

    it('takes the key from x-api-key on /v1/messages, as Anthropic clients send it', async () => {
      const res = await fetch(`${fb.url}${paths.messages}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-api-key': GATEWAY_KEY,
          'anthropic-version': '2023-06-01',
        },
        body: JSON.stringify({ ...validBodies.messages(), messages: [{ role: 'user', content: 'refund?' }] }),
      });
      expect(res.status).toBe(200);
      const json = (await res.json()) as { type: string; content: { type: string; text: string }[] };
      expect(json.type).toBe('message');
      expect(json.content[0]).toEqual({ type: 'text', text: 'Refunds within 30 days.' });
      const [call] = await fb.traceOf(res.headers.get('x-ai-trace-id') ?? '');
      expect(call).toMatchObject({ app: 'support-bot', env: 'prod', endpoint: 'messages', status: 'ok' });
    });
  });

  it('refuses an invalid X-AI-Trace-Id, naming the header, and records nothing', async () => {
    await fb.flushed();
    const before = await fb.store.traces.count({});
    for (const id of ['a'.repeat(200), 'has spaces', 'semi;colon', 'slash/id', 'é']) {
      const res = await fetchJson(`${fb.url}${paths.chat}`, {
        method: 'POST',
        headers: { ...gatewayAuth, 'content-type': 'application/json', 'x-ai-trace-id': id },
        body: JSON.stringify(validBodies.chat()),
      });
      expect(res.status).toBe(400);
      const err = openAiError(res);
      expect(err).toMatchObject({ code: 'validation_failed', path: 'X-AI-Trace-Id' });
      expect(err.message).toBe(
        'X-AI-Trace-Id must be 1-128 characters of letters, digits, ".", "_", ":" or "-"',
      );
    }
    const anthropic = await fb.fb.app.inject({
      method: 'POST',
      url: paths.messages,
      headers: {
        'x-api-key': GATEWAY_KEY,
        'content-type': 'application/json',
        'x-ai-trace-id': 'x'.repeat(129),
      },
      payload: JSON.stringify(validBodies.messages()),
    });
    expect(anthropicError(view(anthropic)).message).toMatch(/^X-AI-Trace-Id must be/);
    const embeddings = await fb.fb.app.inject({
      method: 'POST',
      url: paths.embeddings,
      headers: { ...gatewayAuth, 'content-type': 'application/json', 'x-ai-trace-id': 'a b' },
      payload: JSON.stringify(validBodies.embeddings()),
    });
    expect(openAiError(view(embeddings))).toMatchObject({ code: 'validation_failed', path: 'X-AI-Trace-Id' });
    const user = openAiError(view(await chat(validBodies.chat(), { 'x-firebreak-user': 'u'.repeat(257) })));
    expect(user).toMatchObject({ code: 'validation_failed', path: 'x-firebreak-user' });
    // The longest valid id is accepted.
    expect((await chat(validBodies.chat(), { 'x-ai-trace-id': 'k'.repeat(128) })).statusCode).toBe(200);
    await fb.traceOf('k'.repeat(128));
    expect(await fb.store.traces.count({})).toBe(before + 1);
  });

  it('answers an unknown model with 404 model_not_found listing the models there are', async () => {
    const res = await chat({ ...validBodies.chat(), model: 'gpt-9' });
    expect(res.statusCode).toBe(404);
    const err = openAiError(view(res));
    expect(err).toMatchObject({ code: 'model_not_found', path: 'model' });
    expect(err.message).toMatch(/^model "gpt-9" is not configured; available: sim-1, sim-2/);
    const msgs = await fb.fb.app.inject({
      method: 'POST',
      url: paths.messages,
      headers: { 'x-api-key': GATEWAY_KEY, 'content-type': 'application/json' },
      payload: JSON.stringify({ ...validBodies.messages(), model: 'claude-nope' }),
    });
    expect(msgs.statusCode).toBe(404);
    expect(anthropicError(view(msgs))).toMatchObject({ code: 'model_not_found' });
    expect(anthropicError(view(msgs)).message).toContain('available: sim-1, sim-2');
    const emb = await fb.fb.app.inject({
      method: 'POST',
      url: paths.embeddings,
      headers: { ...gatewayAuth, 'content-type': 'application/json' },
      payload: JSON.stringify({ ...validBodies.embeddings(), model: 'nope/nope' }),
    });
    expect(openAiError(view(emb))).toMatchObject({ code: 'model_not_found', path: 'model' });
  });
});

describe('body size limit (sqlite)', () => {
  const LIMIT = 4096;
  let fb: Running;

  beforeAll(async () => {
    const yaml = testConfigYaml().replace('server: {', `server: { bodyLimitBytes: ${LIMIT},`);
    expect(yaml).toContain(`bodyLimitBytes: ${LIMIT}`);
    fb = await startFirebreak({ store: 'sqlite', yaml });
  });
  afterAll(() => fb.close());

  const padded = (bytes: number) => {
    const body = { model: 'sim-1', messages: [{ role: 'user', content: '' }] };
    const pad = bytes - JSON.stringify(body).length;
    return JSON.stringify({ ...body, messages: [{ role: 'user', content: 'p'.repeat(pad) }] });
  };

  it('is 10 MB by default', () => {
    const config = parseConfig('providers: {}\n', 'minimal', {});
    expect(config.server.bodyLimitBytes).toBe(10 * 1024 * 1024);
  });

  it('answers a body over the limit with 413 payload_too_large naming the limit, on /v1 and /api', async () => {
    expect(padded(LIMIT)).toHaveLength(LIMIT);
    const message = `request body is larger than the limit of ${LIMIT} bytes (server.bodyLimitBytes)`;
    const over = await fetchJson(`${fb.url}${paths.chat}`, {
      method: 'POST',
      headers: { ...gatewayAuth, 'content-type': 'application/json' },
      body: padded(LIMIT + 1),
    });
    expect(over.status).toBe(413);
    expect(openAiError(over)).toEqual({ code: 'payload_too_large', message, path: null });

    const anthropic = await fetchJson(`${fb.url}${paths.messages}`, {
      method: 'POST',
      headers: { 'x-api-key': GATEWAY_KEY, 'content-type': 'application/json' },
      body: padded(LIMIT * 3),
    });
    expect(anthropic.status).toBe(413);
    expect(anthropicError(anthropic)).toMatchObject({ code: 'payload_too_large', message });

    const api = await fetchJson(`${fb.url}/api/traces`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: 'x'.repeat(LIMIT + 1),
    });
    expect(api.status).toBe(413);
    expect(apiEnvelope(api)).toMatchObject({ code: 'payload_too_large', message });

    // A streamed body without Content-Length is cut off at the limit too.
    const chunked = await fb.fb.app.inject({
      method: 'POST',
      url: paths.chat,
      headers: { ...gatewayAuth, 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      payload: padded(LIMIT * 2),
    });
    expect(chunked.statusCode).toBe(413);
    expect(openAiError(view(chunked))).toMatchObject({ code: 'payload_too_large', message });

    // A body right at the limit is served.
    const at = await fetch(`${fb.url}${paths.chat}`, {
      method: 'POST',
      headers: { ...gatewayAuth, 'content-type': 'application/json' },
      body: padded(LIMIT),
    });
    expect(at.status).toBe(200);
  });

  it('enforces the default 10 MB limit when none is configured', async () => {
    const dflt = await startFirebreak({ store: 'sqlite' });
    try {
      const res = await dflt.fb.app.inject({
        method: 'POST',
        url: paths.chat,
        headers: { ...gatewayAuth, 'content-type': 'application/json' },
        payload: padded(10 * 1024 * 1024 + 1),
      });
      expect(res.statusCode).toBe(413);
      expect(openAiError(view(res)).message).toContain(`limit of ${10 * 1024 * 1024} bytes`);
    } finally {
      await dflt.close();
    }
  });
});
