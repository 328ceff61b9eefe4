import type { FastifyInstance, FastifyRequest } from 'fastify';
import { toFirebreakError } from '../core/error-mapping.js';
import { FirebreakError } from '../core/errors.js';
import { parseAnthropic } from '../core/wire/anthropic-request.js';
import { parseOpenAiChat } from '../core/wire/openai-request.js';
import { withFields } from '../core/with-fields.js';
import type { GatewayPrincipal } from '../auth/credential-index.js';
import { runChat } from './chat-pipeline.js';
import { runEmbeddings } from './embeddings.js';
import type { GatewayContext } from './gateway-context.js';
import { runToolAuthorize } from './tool-authorize.js';
import { anthropicSurface, openAiSurface, type Surface } from './surface.js';

declare module 'fastify' {
  interface FastifyRequest {
    gatewayPrincipal: GatewayPrincipal | null;
  }
}

const routeMethods: Readonly<Record<string, string>> = {
  '/v1/chat/completions': 'POST',
  '/v1/messages': 'POST',
  '/v1/embeddings': 'POST',
  '/v1/models': 'GET',
  '/v1/tools/authorize': 'POST',
};

function surfaceFor(url: string): Surface {
  return url.startsWith('/v1/messages') ? anthropicSurface : openAiSurface;
}

function presentedKey(req: FastifyRequest): string | undefined {
  const auth = req.headers.authorization;
  if (auth !== undefined) return /^Bearer\s+(.+)$/i.exec(auth)?.[1]?.trim();
  const key = req.headers['x-api-key'];
  return Array.isArray(key) ? key[0] : key;
}

function principalOf(req: FastifyRequest): GatewayPrincipal {
  if (!req.gatewayPrincipal) throw new FirebreakError('unauthenticated', 'missing gateway key');
  return req.gatewayPrincipal;
}

/** The data plane: OpenAI- and Anthropic-compatible routes under /v1, answering errors in each one's format. */
export function registerGatewayRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  app.decorateRequest('gatewayPrincipal', null);

  // Callback style, not async: a key this process has verified is answered without a promise and
  // a microtask per request (the async hook was a measurable share of the gateway's hot path).
  app.addHook('onRequest', (req, _reply, done) => {
    const key = presentedKey(req);
    if (key === undefined || key === '') {
      done(
        new FirebreakError(
          'unauthenticated',
          'missing gateway key: send "Authorization: Bearer <key>" (OpenAI clients) or "x-api-key: <key>" (Anthropic clients)',
        ),
      );
      return;
    }
    const known = ctx.credentials.knownGateway(key);
    if (known) {
      req.gatewayPrincipal = known;
      done();
      return;
    }
    ctx.credentials.gateway(key).then((principal) => {
      if (!principal) {
        done(new FirebreakError('unauthenticated', 'invalid gateway key'));
        return;
      }
      req.gatewayPrincipal = principal;
      done();
    }, done);
  });

  app.setErrorHandler((error, req, reply) => {
    const err = toFirebreakError(error, ctx.config.server.bodyLimitBytes);
    if (err.code === 'internal') req.log.error({ err: error }, 'unhandled error in gateway route');
    return reply.code(err.status).send(surfaceFor(req.url).renderError(err));
  });

  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0] ?? '';
    const method = routeMethods[path];
    const err = method
      ? new FirebreakError('method_not_allowed', `${path} takes ${method}, not ${req.method}`)
      : new FirebreakError(
          'not_found',
          `no route ${req.method} ${path} (see GET /v1/models, POST /v1/chat/completions, POST /v1/messages, POST /v1/embeddings)`,
        );
    if (method) void reply.header('allow', method);
    return reply.code(err.status).send(surfaceFor(req.url).renderError(err));
  });

  app.post('/chat/completions', (req, reply) =>
    runChat(ctx, openAiSurface, req, reply, principalOf(req), parseOpenAiChat(req.body)),
  );

  app.post('/messages', (req, reply) =>
    runChat(
      ctx,
      anthropicSurface,
      req,
      reply,
      principalOf(req),
      withFields(parseAnthropic(req.body), { includeUsage: false }),
    ),
  );

  app.post('/embeddings', (req, reply) => runEmbeddings(ctx, req, reply, principalOf(req)));

  app.post('/tools/authorize', (req, reply) => runToolAuthorize(ctx, req, reply, principalOf(req)));

  app.get('/models', (req) => ({
    object: 'list',
    data: ctx.router
      .names(principalOf(req).app)
      .map((id) => ({ id, object: 'model', created: 0, owned_by: 'firebreak' })),
  }));
}
