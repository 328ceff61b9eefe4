import type { IncomingMessage, ServerResponse } from 'node:http';
import { toFirebreakError } from '../core/error-mapping.js';
import { FirebreakError } from '../core/errors.js';
import { parseJsonBody } from '../core/json-body.js';
import { parseAnthropic } from '../core/wire/anthropic-request.js';
import { parseOpenAiChat } from '../core/wire/openai-request.js';
import { withFields } from '../core/with-fields.js';
import type { GatewayPrincipal } from '../auth/credential-index.js';
import { runChat } from './chat-pipeline.js';
import { runEmbeddings } from './embeddings.js';
import { sendJson, type Exchange } from './exchange.js';
import type { GatewayContext } from './gateway-context.js';
import { runToolAuthorize } from './tool-authorize.js';
import { anthropicSurface, openAiSurface, surfaceForPath, type Surface } from './surface.js';

interface Route {
  readonly method: 'GET' | 'POST';
  run(ctx: GatewayContext, ex: Exchange, principal: GatewayPrincipal): Promise<void> | void;
}

const routes: Readonly<Record<string, Route>> = {
  '/v1/chat/completions': {
    method: 'POST',
    run: (ctx, ex, p) => runChat(ctx, openAiSurface, ex, p, parseOpenAiChat(ex.body)),
  },
  '/v1/messages': {
    method: 'POST',
    run: (ctx, ex, p) =>
      runChat(ctx, anthropicSurface, ex, p, withFields(parseAnthropic(ex.body), { includeUsage: false })),
  },
  '/v1/embeddings': { method: 'POST', run: runEmbeddings },
  '/v1/tools/authorize': { method: 'POST', run: runToolAuthorize },
  '/v1/models': {
    method: 'GET',
    run: (ctx, ex, p) =>
      sendJson(
        ex.res,
        200,
        {},
        {
          object: 'list',
          data: ctx.router
            .names(p.app)
            .map((id) => ({ id, object: 'model', created: 0, owned_by: 'firebreak' })),
        },
      ),
  },
};

const CLOSE: Readonly<Record<string, string>> = { connection: 'close' };
const NO_HEADERS: Readonly<Record<string, string>> = {};

const ROUTE_LIST =
  'see GET /v1/models, POST /v1/chat/completions, POST /v1/messages, POST /v1/embeddings, POST /v1/tools/authorize';

/** Whether a request URL belongs to the gateway (the data plane) rather than the control plane. */
export function isGatewayUrl(url: string): boolean {
  return url.startsWith('/v1') && (url.length === 3 || url[3] === '/' || url[3] === '?');
}

/**
 * The path a request target names, as Fastify's router reads it: without the query or a fragment, the
 * absolute form (`POST http://host/v1/…`, which HTTP/1.1 servers must accept) reduced to its path, and
 * percent-decoded. Undefined when the percent-encoding is broken.
 */
function requestPath(url: string): string | undefined {
  let end = url.indexOf('?');
  const hash = url.indexOf('#');
  if (end === -1 || (hash !== -1 && hash < end)) end = hash;
  let path = end === -1 ? url : url.slice(0, end);
  if (!path.startsWith('/') && URL.canParse(path)) path = new URL(path).pathname;
  if (!path.includes('%')) return path;
  try {
    return decodeURIComponent(path);
  } catch {
    return undefined;
  }
}

/** The connection closes after answers given before reading a body the client sent (none is drained). */
function unreadBody(req: IncomingMessage): Readonly<Record<string, string>> | undefined {
  const length = req.headers['content-length'];
  return (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined
    ? CLOSE
    : undefined;
}

function presentedKey(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  if (auth !== undefined) return /^Bearer\s+(.+)$/i.exec(auth)?.[1]?.trim();
  const key = req.headers['x-api-key'];
  return Array.isArray(key) ? key[0] : key;
}

export interface FrontDoorOptions {
  readonly bodyLimitBytes: number;
  /** True once the server has begun shutting down: new calls get a 503 and the connection closes. */
  readonly closing: () => boolean;
}

/**
 * The gateway's front door: every /v1 request, straight from node:http. The data plane does the same few
 * things for every call (authenticate, read and parse one JSON body, dispatch on five fixed paths, answer
 * errors in the caller's API format), and doing them here rather than through a general-purpose framework
 * was a measured share of the gateway's per-request time. The control plane (/api, health) stays on
 * Fastify. Order: shutdown check, URL encoding, key, route, body, handler; each failure is answered in
 * the format of the API the URL belongs to (Anthropic's for /v1/messages, OpenAI's for the rest).
 */
export function gatewayFrontDoor(
  ctx: GatewayContext,
  options: FrontDoorOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  const limit = options.bodyLimitBytes;

  const logFailure = (error: unknown) => ctx.log.error({ err: error }, 'gateway front door failed');

  const fail = (
    res: ServerResponse,
    surface: Surface,
    error: unknown,
    headers: Readonly<Record<string, string>> = NO_HEADERS,
  ) => {
    const err = toFirebreakError(error, limit);
    if (err.code === 'internal')
      ctx.log.error(
        { err: error, method: res.req.method, path: requestPath(res.req.url ?? '') },
        'unhandled error in gateway route',
      );
    if (res.headersSent) {
      // Nothing more can be said on a response already under way; end it so the client is not left waiting.
      if (!res.writableEnded) res.end();
      return;
    }
    sendJson(res, err.status, headers, surface.renderError(err));
  };

  const dispatch = (
    req: IncomingMessage,
    res: ServerResponse,
    surface: Surface,
    path: string,
    principal: GatewayPrincipal,
  ) => {
    const route = routes[path];
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    if (route === undefined) {
      fail(
        res,
        surface,
        new FirebreakError('not_found', `no route ${req.method ?? ''} ${path} (${ROUTE_LIST})`),
        unreadBody(req),
      );
      return;
    }
    if (route.method !== method) {
      fail(
        res,
        surface,
        new FirebreakError('method_not_allowed', `${path} takes ${route.method}, not ${req.method ?? ''}`),
        unreadBody(req) === CLOSE ? { allow: route.method, connection: 'close' } : { allow: route.method },
      );
      return;
    }
    const run = (body: unknown) => {
      try {
        const done = route.run(ctx, { headers: req.headers, body, res }, principal);
        if (done !== undefined) done.catch((error: unknown) => fail(res, surface, error)).catch(logFailure);
      } catch (error) {
        fail(res, surface, error);
      }
    };
    if (route.method === 'GET') run(undefined);
    else readBody(req, res, surface, run);
  };

  const readBody = (
    req: IncomingMessage,
    res: ServerResponse,
    surface: Surface,
    then: (body: unknown) => void,
  ) => {
    const declared = req.headers['content-length'];
    const tooLarge = () => {
      // The rest of the body is not read: the connection closes after this answer.
      fail(
        res,
        surface,
        new FirebreakError(
          'payload_too_large',
          `request body is larger than the limit of ${limit} bytes (server.bodyLimitBytes)`,
        ),
        CLOSE,
      );
    };
    if (declared !== undefined && Number(declared) > limit) {
      tooLarge();
      return;
    }
    const chunks: Buffer[] = [];
    let received = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      if (over) return;
      received += chunk.length;
      if (received > limit) {
        over = true;
        tooLarge();
        return;
      }
      chunks.push(chunk);
    });
    // A client that goes away mid-body leaves nothing to answer; the error must not escape.
    req.on('error', () => undefined);
    req.on('end', () => {
      if (over) return;
      // Node's parser frames a real socket's body by its Content-Length; a mismatch comes only through
      // app.inject(), which hands over a body and a header of its own.
      if (declared !== undefined && Number(declared) !== received) {
        fail(
          res,
          surface,
          new FirebreakError('bad_request', 'the Content-Length header does not match the body'),
        );
        return;
      }
      const text =
        chunks.length === 1 ? (chunks[0] as Buffer).toString('utf8') : Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = parseJsonBody(text);
      } catch (error) {
        fail(res, surface, error);
        return;
      }
      then(body);
    });
  };

  return (req, res) => {
    const url = req.url ?? '/';
    const path = requestPath(url);
    const surface = surfaceForPath(path ?? url);
    if (options.closing()) {
      fail(
        res,
        surface,
        new FirebreakError('unavailable', 'the server is shutting down; retry on another replica'),
        CLOSE,
      );
      return;
    }
    if (path === undefined) {
      fail(
        res,
        surface,
        new FirebreakError('bad_request', `the URL ${url} is not valid percent-encoding`),
        unreadBody(req),
      );
      return;
    }
    const key = presentedKey(req);
    if (key === undefined || key === '') {
      fail(
        res,
        surface,
        new FirebreakError(
          'unauthenticated',
          'missing gateway key: send "Authorization: Bearer <key>" (OpenAI clients) or "x-api-key: <key>" (Anthropic clients)',
        ),
        unreadBody(req),
      );
      return;
    }
    // A key this process has verified is answered without hashing or a promise.
    const known = ctx.credentials.knownGateway(key);
    if (known) {
      dispatch(req, res, surface, path, known);
      return;
    }
    ctx.credentials
      .gateway(key)
      .then(
        (principal) => {
          if (principal) dispatch(req, res, surface, path, principal);
          else
            fail(res, surface, new FirebreakError('unauthenticated', 'invalid gateway key'), unreadBody(req));
        },
        (error: unknown) => fail(res, surface, error),
      )
      .catch(logFailure);
  };
}
