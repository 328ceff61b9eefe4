import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';

/**
 * /v1 on the Fastify side. Over real HTTP the server hands /v1 requests to the front door
 * (front-door.ts) before Fastify sees them; these catch-all routes give the very same handler, with the
 * body left unread for it, to `app.inject()` (tests, in-process callers) and to request targets only
 * Fastify's router reads as /v1 (`POST http://host/v1/…`, `/%761/…`).
 */
export function registerGatewayRoutes(
  app: FastifyInstance,
  front: (req: IncomingMessage, res: ServerResponse) => void,
): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));
  const handOver = (req: { raw: IncomingMessage }, reply: { raw: ServerResponse; hijack(): void }) => {
    reply.hijack();
    front(req.raw, reply.raw);
  };
  app.all('/', handOver);
  app.all('/*', handOver);
}
