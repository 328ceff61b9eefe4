import { connect, type Socket } from 'node:net';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GATEWAY_KEY, startFirebreak, testConfigYaml, type Running } from '../support/harness.js';

// The gateway's front door (src/gateway/front-door.ts) over real sockets: what only a real connection
// shows (a body larger than the limit arriving in chunks, HEAD, a client vanishing mid-body, a call
// arriving while the server shuts down). The thousands of malformed bodies are in bad-input.test.ts.

const LIMIT = 2048;
const yaml = testConfigYaml()
  .replace(
    '      - name: refund\n',
    "      - name: slow\n        when: { contains: take-your-time }\n        then: { reply: 'done slowly', delayMs: 1500 }\n      - name: refund\n",
  )
  .replace(
    'server: { logLevel: silent, upstreamTimeoutMs: 2000 }',
    `server: { logLevel: silent, upstreamTimeoutMs: 2000, bodyLimitBytes: ${LIMIT} }`,
  );

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** One request over a fresh connection; `chunks` are written one by one (chunked when no length is given). */
function call(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  chunks: readonly string[] = [],
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on('error', reject);
    for (const c of chunks) req.write(c);
    req.end();
  });
}

const chatBody = (content: string) =>
  JSON.stringify({ model: 'sim-1', messages: [{ role: 'user', content }] });
const errorMessage = (text: string) => (JSON.parse(text) as { error: { message: string } }).error.message;
const auth = { authorization: `Bearer ${GATEWAY_KEY}`, 'content-type': 'application/json' };

/** Its own Firebreak, one raw keep-alive connection to it, and a slow call on it still being answered. */
async function slowCallInFlight(): Promise<{
  own: Running;
  socket: Socket;
  received: () => string;
  ended: Promise<unknown>;
}> {
  const own = await startFirebreak({ store: 'sqlite', yaml });
  const url = new URL(own.url);
  const socket: Socket = connect(Number(url.port), url.hostname);
  await new Promise((r) => socket.once('connect', r));
  let text = '';
  socket.setEncoding('utf8');
  socket.on('data', (c: string) => (text += c));
  const ended = new Promise((r) => socket.once('close', r));
  const slow = chatBody('take-your-time');
  socket.write(
    `POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${GATEWAY_KEY}\r\ncontent-length: ${Buffer.byteLength(slow)}\r\n\r\n${slow}`,
  );
  // Long enough for the server to have read the call on a stalled CI machine; the answer takes 1.5 s,
  // which leaves the tests below room to act while it is in flight.
  await new Promise((r) => setTimeout(r, 300));
  return { own, socket, received: () => text, ended };
}

describe('gateway front door over real HTTP', () => {
  let fb: Running;
  beforeAll(async () => {
    fb = await startFirebreak({ store: 'sqlite', yaml });
  });
  afterAll(() => fb.close());

  it('refuses a body over the limit whether its length is declared or it arrives in chunks, and closes the connection', async () => {
    const declared = await call(
      fb.url,
      'POST',
      '/v1/chat/completions',
      {
        ...auth,
        'content-length': String(LIMIT + 1),
      },
      ['x'.repeat(LIMIT + 1)],
    );
    expect(declared.status).toBe(413);
    expect(declared.headers['connection']).toBe('close');
    expect(JSON.parse(declared.text)).toMatchObject({
      error: {
        code: 'payload_too_large',
        message: `request body is larger than the limit of ${LIMIT} bytes (server.bodyLimitBytes)`,
      },
    });

    const piece = 'y'.repeat(700);
    const chunked = await call(fb.url, 'POST', '/v1/messages', { 'x-api-key': GATEWAY_KEY }, [
      piece,
      piece,
      piece,
      piece,
    ]);
    expect(chunked.status).toBe(413);
    expect(JSON.parse(chunked.text)).toMatchObject({ type: 'error', error: { code: 'payload_too_large' } });

    // A valid body in several chunks under the limit is read whole.
    const body = chatBody('hello in pieces');
    const ok = await call(fb.url, 'POST', '/v1/chat/completions', auth, [
      body.slice(0, 10),
      body.slice(10, 40),
      body.slice(40),
    ]);
    expect(ok.status).toBe(200);
    expect(
      (JSON.parse(ok.text) as { choices: { message: { content: string } }[] }).choices[0]?.message.content,
    ).toBe('Simulated answer to: hello in pieces');
  });

  it('answers HEAD on /v1/models like GET without a body, and wrong methods and paths precisely', async () => {
    const get = await call(fb.url, 'GET', '/v1/models', auth);
    const head = await call(fb.url, 'HEAD', '/v1/models', auth);
    expect(head.status).toBe(200);
    expect(head.text).toBe('');
    expect(head.headers['content-length']).toBe(String(Buffer.byteLength(get.text)));

    const wrong = await call(fb.url, 'GET', '/v1/chat/completions', auth);
    expect(wrong.status).toBe(405);
    expect(wrong.headers['allow']).toBe('POST');
    expect(errorMessage(wrong.text)).toBe('/v1/chat/completions takes POST, not GET');

    for (const path of ['/v1', '/v1/', '/v1/models/', '/v1/chat/completions/x']) {
      const missing = await call(fb.url, 'GET', path, auth);
      expect(missing.status, path).toBe(404);
      expect(errorMessage(missing.text), path).toMatch(/^no route GET .* \(see GET \/v1\/models/);
    }
    // Paths that only look like /v1 belong to the control plane and get its envelope.
    const api = await call(fb.url, 'GET', '/v1x/models', auth);
    expect(api.status).toBe(404);
    expect(JSON.parse(api.text)).toEqual({
      error: { code: 'not_found', message: 'no route GET /v1x/models' },
    });
  });

  it('routes the request-target forms Fastify read as /v1: absolute form, a fragment, percent-encoding', async () => {
    const url = new URL(fb.url);
    const raw = async (target: string) => {
      const socket = connect(Number(url.port), url.hostname);
      await new Promise((r) => socket.once('connect', r));
      let text = '';
      socket.setEncoding('utf8');
      socket.on('data', (c: string) => (text += c));
      const closed = new Promise((r) => socket.once('close', r));
      socket.write(
        `GET ${target} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${GATEWAY_KEY}\r\nconnection: close\r\n\r\n`,
      );
      await closed;
      return text;
    };
    for (const target of [
      `http://${url.host}/v1/models`,
      '/v1/models#part',
      '/v1/%6Dodels',
      '/%761/models?x=1',
    ]) {
      const text = await raw(target);
      expect(text, target).toMatch(/^HTTP\/1\.1 200 /);
      expect(text, target).toContain('"object":"list"');
    }
    // Still authenticated whatever the form.
    const noKey = await call(fb.url, 'GET', '/v1/%6Dodels', {});
    expect(noKey.status).toBe(401);
  });

  it('closes the connection after refusing a call whose body it did not read', async () => {
    const refused = await call(
      fb.url,
      'POST',
      '/v1/chat/completions',
      { 'content-type': 'application/json' },
      [chatBody('no key')],
    );
    expect(refused.status).toBe(401);
    expect(refused.headers['connection']).toBe('close');
    const wrongMethod = await call(fb.url, 'PUT', '/v1/models', auth, ['{}']);
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers['allow']).toBe('GET');
    expect(wrongMethod.headers['connection']).toBe('close');
  });

  it('survives a client that goes away mid-body, records nothing for it, and serves the next call', async () => {
    await fb.flushed();
    const before = fb.fb.recorder.stats().written;
    const url = new URL(fb.url);
    const socket: Socket = connect(Number(url.port), url.hostname);
    await new Promise((r) => socket.once('connect', r));
    socket.write(
      `POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${GATEWAY_KEY}\r\ncontent-length: 500\r\n\r\n{"model":"sim-1","mess`,
    );
    await new Promise((r) => setTimeout(r, 50));
    socket.destroy();
    await new Promise((r) => setTimeout(r, 50));
    const next = await call(fb.url, 'POST', '/v1/chat/completions', auth, [chatBody('still here?')]);
    expect(next.status).toBe(200);
    await fb.flushed();
    expect(fb.fb.recorder.stats().written).toBe(before + 1);
  });

  it('lets a keep-alive client’s call in flight finish at shutdown, then closes its connection at once', async () => {
    const { own, received, ended } = await slowCallInFlight();
    // Without closing the connection once its answer is out, close() waited for the 72 s keep-alive
    // timeout (far past this test's time limit).
    await own.close();
    await ended;
    expect(received()).toMatch(/^HTTP\/1\.1 200 /);
    expect(received()).toContain('done slowly');
  });

  it('answers a call that arrives during shutdown with 503 in the caller’s format, after finishing the one in flight', async () => {
    const { own, socket, received, ended } = await slowCallInFlight();
    const closing = own.close();
    await new Promise((r) => setTimeout(r, 50));
    // Pipelined on the busy connection, so the server's closing of idle connections does not drop it.
    socket.write(
      `POST /v1/messages HTTP/1.1\r\nhost: x\r\nx-api-key: ${GATEWAY_KEY}\r\ncontent-length: 2\r\n\r\n{}`,
    );
    await closing;
    await ended;
    const responses = received().split(/(?=HTTP\/1\.1 )/);
    expect(responses).toHaveLength(2);
    expect(responses[0]).toMatch(/^HTTP\/1\.1 200 /);
    expect(responses[0]).toContain('done slowly');
    expect(responses[1]).toMatch(/^HTTP\/1\.1 503 /);
    expect(responses[1]?.toLowerCase()).toContain('connection: close');
    expect(responses[1]).toContain('"type":"error"');
    expect(responses[1]).toContain('"code":"unavailable"');
  });
});
