import { PassThrough } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import {
  blastRadius,
  type BlastRadiusFilter,
  blastRadiusExport,
  parseExportFormat,
  resolveBlastRadiusFilter,
} from '../ops/blast-radius.js';
import type { ApiContext } from './routes.js';

/**
 * Blast radius under /api. The counts are for anyone with a token; the export lists user ids, so it
 * takes a responder. Query parameters are the operation's filter fields (`app`, `env`, `release`,
 * `since`, `until`, `detector`, `tool`, `class`, `status`), plus `format` on the export.
 */
export function registerBlastRadiusRoutes(app: FastifyInstance, ctx: ApiContext): void {
  // The operations check their filter themselves (unknown fields, types, values), so the query string
  // is handed over as it came.
  app.get('/blast-radius', { config: { minRole: 'viewer' } }, (req) =>
    blastRadius(ctx.ops, req.query as BlastRadiusFilter),
  );

  app.get('/blast-radius/export', { config: { minRole: 'responder' } }, async (req, reply) => {
    const { format, ...query } = (req.query ?? {}) as Record<string, unknown>;
    // Everything is checked before the status line goes out, so a bad filter is a 400 envelope.
    const fmt = parseExportFormat(format);
    const filter = resolveBlastRadiusFilter(ctx.ops, query);
    const body = new PassThrough();
    // A page is written only once the previous one has drained (or the client has gone).
    const write = (chunk: string): Promise<void> | undefined => {
      if (body.destroyed) throw new Error('the client closed the export');
      if (body.write(chunk)) return undefined;
      return new Promise((resolve) => {
        const done = () => {
          body.off('drain', done);
          body.off('close', done);
          resolve();
        };
        body.on('drain', done);
        body.on('close', done);
      });
    };
    blastRadiusExport(ctx.ops, filter, fmt, write).then(
      () => body.end(),
      (error: unknown) => {
        if (!body.destroyed) req.log.error({ err: error }, 'blast radius export failed midway');
        body.destroy(error instanceof Error ? error : new Error(String(error)));
      },
    );
    const stamp = new Date(filter.since).toISOString().replaceAll(':', '').slice(0, 15);
    return reply
      .header('content-type', fmt === 'csv' ? 'text/csv; charset=utf-8' : 'application/json; charset=utf-8')
      .header(
        'content-disposition',
        `attachment; filename="blast-radius-${filter.app ?? 'all'}-${stamp}.${fmt}"`,
      )
      .header('cache-control', 'no-store')
      .send(body);
  });
}
