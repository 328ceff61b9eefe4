import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { CredentialIndex, TokenPrincipal } from '../auth/credential-index.js';
import type { Role } from '../core/config.js';
import { roles } from '../core/config.js';
import { toFirebreakError } from '../core/error-mapping.js';
import { FirebreakError } from '../core/errors.js';
import type { OpsContext } from '../ops/context.js';
import { getTrace, searchTraces } from '../ops/traces.js';
import { registerApprovalRoutes } from './approval-routes.js';
import { registerBlastRadiusRoutes } from './blast-radius-routes.js';
import { registerControlRoutes } from './control-routes.js';
import { registerIncidentImpactRoutes } from './incident-impact-routes.js';
import { registerIncidentRoutes } from './incident-routes.js';
import { registerOnCallRoutes } from './oncall-routes.js';
import { registerSignalRoutes } from './signal-routes.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The least role a route accepts; every /api route declares one. */
    minRole?: Role;
  }
  interface FastifyRequest {
    apiPrincipal: TokenPrincipal | null;
  }
}

export interface ApiContext {
  readonly ops: OpsContext;
  readonly credentials: CredentialIndex;
  readonly bodyLimitBytes: number;
}

/** `{"error": {"code", "message", "path"?}}` — the one error envelope of /api. */
export function apiError(err: FirebreakError): { error: Record<string, unknown> } {
  return {
    error: { code: err.code, message: err.message, ...(err.details.path ? { path: err.details.path } : {}) },
  };
}

function bearer(req: FastifyRequest): string | undefined {
  return /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1]?.trim();
}

/** The control plane under /api: thin handlers over operations, each route with a minimum role. */
export function registerApiRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.decorateRequest('apiPrincipal', null);

  app.addHook('onRequest', async (req) => {
    const minRole = req.routeOptions.config.minRole;
    if (minRole === undefined) return; // unknown route: the not-found handler answers
    const token = bearer(req);
    if (token === undefined)
      throw new FirebreakError('unauthenticated', 'missing API token: send "Authorization: Bearer <token>"');
    const principal = await ctx.credentials.token(token);
    if (!principal) {
      const isGatewayKey = (await ctx.credentials.gateway(token)) !== undefined;
      throw isGatewayKey
        ? new FirebreakError('forbidden', 'gateway keys cannot call /api; use an API token')
        : new FirebreakError('unauthenticated', 'invalid API token');
    }
    if (principal.expiresAt !== null && principal.expiresAt <= ctx.ops.now())
      throw new FirebreakError(
        'unauthenticated',
        `API token "${principal.name}" expired at ${new Date(principal.expiresAt).toISOString()}`,
      );
    if (roles.indexOf(principal.role) < roles.indexOf(minRole))
      throw new FirebreakError(
        'forbidden',
        `this needs role ${minRole} or above; token "${principal.name}" has ${principal.role}`,
      );
    req.apiPrincipal = principal;
  });

  app.setErrorHandler((error, req, reply) => {
    const err = toFirebreakError(error, ctx.bodyLimitBytes);
    if (err.code === 'internal') req.log.error({ err: error }, 'unhandled error in API route');
    return reply.code(err.status).send(apiError(err));
  });

  app.setNotFoundHandler((req, reply) => {
    const err = new FirebreakError('not_found', `no route ${req.method} ${req.url.split('?')[0] ?? ''}`);
    return reply.code(err.status).send(apiError(err));
  });

  app.get('/traces', { config: { minRole: 'viewer' } }, async (req) => {
    const page = await searchTraces(ctx.ops, req.query);
    return { data: page.data, next_cursor: page.nextCursor };
  });

  app.get<{ Params: { id: string } }>('/traces/:id', { config: { minRole: 'viewer' } }, (req) =>
    getTrace(ctx.ops, req.params.id),
  );

  registerControlRoutes(app, ctx);
  registerApprovalRoutes(app, ctx);
  registerBlastRadiusRoutes(app, ctx);
  registerIncidentRoutes(app, ctx);
  registerIncidentImpactRoutes(app, ctx);
  registerOnCallRoutes(app, ctx);
  registerSignalRoutes(app, ctx);
}
