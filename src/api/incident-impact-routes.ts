import type { FastifyInstance } from 'fastify';
import { parseExportFormat } from '../ops/blast-radius.js';
import {
  exportPrepared,
  incidentBlastRadius,
  prepareIncidentBlastRadius,
} from '../ops/blast-radius-of-incident.js';
import { incidentDeliveries, searchDeliveries } from '../ops/delivery-views.js';
import { streamExport } from './blast-radius-routes.js';
import type { ApiContext } from './routes.js';

/**
 * What an incident reached, under /api: its blast radius (the plain blast radius filter derived from
 * the incident, narrowed by the query string: `env`, `release`, `since`, `until`, `detector`, `tool`,
 * `class`, `status`; `env=any` / `class=any` widen), the affected users as CSV or JSON, and the channel
 * deliveries made about it. Counts and deliveries are for viewers; lists of user ids and the
 * deliveries of every incident take a responder, like the plain export.
 */
type IdParams = { Params: { id: string } };

export function registerIncidentImpactRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get<IdParams>('/incidents/:id/blast-radius', { config: { minRole: 'viewer' } }, (req) =>
    incidentBlastRadius(ctx.ops, req.params.id, req.query),
  );

  app.get<IdParams>(
    '/incidents/:id/blast-radius/export',
    { config: { minRole: 'responder' } },
    async (req, reply) => {
      const { format, ...query } = (req.query ?? {}) as Record<string, unknown>;
      // The incident is loaded and the filter checked before the status line: 404 / 400 envelopes.
      const fmt = parseExportFormat(format);
      const prepared = await prepareIncidentBlastRadius(ctx.ops, req.params.id, query);
      return streamExport(req, reply, fmt, `blast-radius-${prepared.incident}`, (write) =>
        exportPrepared(ctx.ops, prepared, fmt, write),
      );
    },
  );

  app.get<IdParams>('/incidents/:id/deliveries', { config: { minRole: 'viewer' } }, (req) =>
    incidentDeliveries(ctx.ops, req.params.id, req.query),
  );

  app.get('/deliveries', { config: { minRole: 'responder' } }, (req) => searchDeliveries(ctx.ops, req.query));
}
