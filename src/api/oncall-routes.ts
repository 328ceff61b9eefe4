import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { FirebreakError } from '../core/errors.js';
import { parseTimeInput } from '../ops/incidents.js';
import { acknowledgeIncident, onCallNow } from '../ops/paging.js';
import { parseInput, text } from './input.js';
import type { ApiContext } from './routes.js';

/**
 * On-call and paging under /api: who is on the hook for an app (viewers), and acknowledging an
 * incident's page, which stops its escalation (responders).
 */
const nowQuery = z.strictObject({
  app: text(64),
  /** The instant to ask about (ISO time or epoch ms); default now. */
  at: text(64).optional(),
});
const ackBody = z.strictObject({});

function actor(req: FastifyRequest): string {
  if (!req.apiPrincipal) throw new FirebreakError('unauthenticated', 'missing API token');
  return `token:${req.apiPrincipal.name}`;
}

export function registerOnCallRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const ops = ctx.ops;

  app.get('/oncall/now', { config: { minRole: 'viewer' } }, (req) => {
    const q = parseInput(nowQuery, req.query, 'invalid on-call query');
    return onCallNow(ops, q.app, parseTimeInput('at', q.at, ops.now()) ?? ops.now());
  });

  app.post<{ Params: { id: string } }>(
    '/incidents/:id/acknowledge',
    { config: { minRole: 'responder' } },
    (req) => {
      parseInput(ackBody, req.body, 'invalid acknowledgement');
      return acknowledgeIncident(ops, { incidentId: req.params.id, actor: actor(req), at: ops.now() });
    },
  );
}
