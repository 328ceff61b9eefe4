import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { FirebreakError } from '../core/errors.js';
import { approvalViewStatuses } from '../core/policy/approval.js';
import { decideApproval, getApproval, listApprovals } from '../ops/approvals.js';
import { parseInput, queryInt, text } from './input.js';
import type { ApiContext } from './routes.js';

/**
 * Approvals of held tool calls under /api: anyone with a token may read the queue; deciding takes a
 * responder or above, with a reason, recorded in the audit log as the token's name.
 */
const listQuery = z.strictObject({
  status: z.enum(approvalViewStatuses).optional(),
  app: text(64).optional(),
  limit: queryInt(1, 500).optional(),
});
const decisionBody = z.strictObject({ reason: text(2000) });

function actor(req: FastifyRequest): string {
  if (!req.apiPrincipal) throw new FirebreakError('unauthenticated', 'missing API token');
  return `token:${req.apiPrincipal.name}`;
}

type Params = { Params: { id: string } };

export function registerApprovalRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const ops = ctx.ops;

  app.get('/approvals', { config: { minRole: 'viewer' } }, async (req) => {
    const q = parseInput(listQuery, req.query, 'invalid approval list');
    return { data: await listApprovals(ops, q) };
  });

  app.get<Params>('/approvals/:id', { config: { minRole: 'viewer' } }, (req) =>
    getApproval(ops, req.params.id),
  );

  for (const decision of ['approve', 'deny'] as const)
    app.post<Params>(`/approvals/:id/${decision}`, { config: { minRole: 'responder' } }, async (req) => {
      const b = parseInput(
        decisionBody,
        req.body,
        `invalid ${decision === 'approve' ? 'approval' : 'denial'}`,
      );
      return decideApproval(ops, { id: req.params.id, decision, actor: actor(req), reason: b.reason });
    });
}
