import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChatRequest } from '../core/chat.js';
import { FirebreakError } from '../core/errors.js';
import {
  compileSimulator,
  decide,
  type SimulatorConfig,
  type SimulatorScript,
} from '../core/simulator-rules.js';
import { parseAnthropic } from '../core/wire/anthropic-request.js';
import { AnthropicStreamRenderer, renderAnthropicResponse } from '../core/wire/anthropic-response.js';
import { parseOpenAiEmbedding, renderOpenAiEmbedding } from '../core/wire/openai-embeddings.js';
import { parseOpenAiChat } from '../core/wire/openai-request.js';
import { OpenAiChunkRenderer, renderOpenAiResponse } from '../core/wire/openai-response.js';
import { scriptResponse, scriptSteps, simulatorProvider } from './simulator.js';

/**
 * The simulator as a real HTTP upstream speaking the OpenAI and Anthropic wire formats, with real
 * transport failures (bodies that are not JSON, streams cut midway, answers that never come).
 * Tests, benchmarks and `firebreak simulator` point providers at it.
 */
export interface SimulatorServer {
  readonly url: string;
  /** Headers of the requests received, newest last (bounded), so tests can check what was forwarded. */
  readonly received: { path: string; headers: IncomingHttpHeaders; body: unknown }[];
  close(): Promise<void>;
}

type Format = 'openai' | 'anthropic';

export async function startSimulatorServer(
  config: SimulatorConfig,
  options: { port?: number; host?: string } = {},
): Promise<SimulatorServer> {
  const sim = compileSimulator(config);
  const embedder = simulatorProvider('simulator', config);
  const received: SimulatorServer['received'] = [];
  let n = 0;

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      if (req.method === 'GET' && path === '/v1/models') {
        json(res, 200, {
          object: 'list',
          data: config.models.map((id) => ({
            id,
            object: 'model',
            created: 0,
            owned_by: 'firebreak-simulator',
          })),
        });
        return;
      }
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        json(res, 400, { error: { message: 'body is not JSON', type: 'invalid_request_error' } });
        return;
      }
      received.push({ path, headers: req.headers, body });
      if (received.length > 100) received.shift();
      const id = `sim-${++n}`;
      try {
        if (path === '/v1/chat/completions') {
          const parsed = parseOpenAiChat(body);
          void perform('openai', parsed.request, decide(sim, parsed.request), res, id, parsed.includeUsage);
        } else if (path === '/v1/messages') {
          const parsed = parseAnthropic(body);
          void perform('anthropic', parsed.request, decide(sim, parsed.request), res, `msg_${id}`, false);
        } else if (path === '/v1/embeddings') {
          const parsed = parseOpenAiEmbedding(body);
          void embedder
            .embed(parsed.request, { traceparent: '', signal: new AbortController().signal, timeoutMs: 1000 })
            .then((r) => json(res, 200, renderOpenAiEmbedding(r, parsed.request.model, parsed.encoding)));
        } else json(res, 404, { error: { message: `no route ${path}`, type: 'invalid_request_error' } });
      } catch (error) {
        const message = error instanceof FirebreakError ? error.message : String(error);
        json(res, 400, { error: { message, type: 'invalid_request_error' } });
      }
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) =>
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve),
  );
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

async function perform(
  format: Format,
  req: ChatRequest,
  script: SimulatorScript,
  res: ServerResponse,
  id: string,
  includeUsage: boolean,
): Promise<void> {
  if (script.kind === 'hang') return; // never answer; the client's timeout ends it
  if (script.delayMs > 0) await sleep(script.delayMs);
  if (script.kind === 'error') {
    const body =
      format === 'openai'
        ? { error: { message: script.message, type: script.type ?? 'server_error', code: null } }
        : { type: 'error', error: { type: script.type ?? 'api_error', message: script.message } };
    json(
      res,
      script.status,
      body,
      script.retryAfter === undefined ? {} : { 'retry-after': String(script.retryAfter) },
    );
    return;
  }
  if (!req.stream) {
    if (script.malformed) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"id": "chatcmpl-broken", "choices": [{"mess');
      return;
    }
    const resp = scriptResponse(script, req.model, id);
    json(
      res,
      200,
      format === 'openai' ? renderOpenAiResponse(resp, req.model) : renderAnthropicResponse(resp, req.model),
    );
    return;
  }
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
  });
  const openai = new OpenAiChunkRenderer(id, Math.floor(Date.now() / 1000), req.model, includeUsage);
  const anthropic = new AnthropicStreamRenderer(id, req.model);
  const write = (event: StreamEventOut) =>
    res.write(
      event.event
        ? `event: ${event.event}\ndata: ${JSON.stringify(event.data)}\n\n`
        : `data: ${JSON.stringify(event.data)}\n\n`,
    );
  let sent = 0;
  for (const step of scriptSteps(script)) {
    if (script.cut && sent >= script.cut.afterChunks) {
      // Node corks a response until the next tick, so destroy() now would drop the chunks written so
      // far; end() flushes them, then closes the connection without finishing the chunked body.
      res.socket?.end();
      return;
    }
    if (script.malformed) {
      res.write('data: {"choices": [{"delta": {"content": "hal\n\n');
      res.end();
      return;
    }
    if (sent > 0 && script.chunkDelayMs > 0) await sleep(script.chunkDelayMs);
    for (const event of step) {
      if (format === 'openai') for (const data of openai.render(event)) write({ data });
      else for (const e of anthropic.render(event)) write(e);
    }
    sent += 1;
  }
  if (format === 'openai') res.end('data: [DONE]\n\n');
  else {
    for (const e of anthropic.end()) write(e);
    res.end();
  }
}

interface StreamEventOut {
  readonly event?: string;
  readonly data: Record<string, unknown>;
}
