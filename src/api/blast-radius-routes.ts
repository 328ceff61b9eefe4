import { PassThrough } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  blastRadius,
  type BlastRadiusExportFormat,
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
    const stamp = new Date(filter.since).toISOString().replaceAll(':', '').slice(0, 15);
    return streamExport(req, reply, fmt, `blast-radius-${filter.app ?? 'all'}-${stamp}`, (write) =>
      blastRadiusExport(ctx.ops, filter, fmt, write),
    );
  });
}

/**
 * Sends an export as it is produced: `run` writes through `write`, a page at a time, and the next page
 * is produced only once the previous one has drained (or the client has gone). Call it only once the
 * input is checked: after this the status line is 200, and a failure midway cuts the body.
 */
export function streamExport(
  req: FastifyRequest,
  reply: FastifyReply,
  fmt: BlastRadiusExportFormat,
  filename: string,
  run: (write: (chunk: string) => Promise<void> | undefined) => Promise<unknown>,
): FastifyReply {
  const body = new PassThrough();
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
  run(write).then(
    () => body.end(),
    (error: unknown) => {
      if (!body.destroyed) req.log.error({ err: error }, 'blast radius export failed midway');
      body.destroy(error instanceof Error ? error : new Error(String(error)));
    },
  );
  return reply
    .header('content-type', fmt === 'csv' ? 'text/csv; charset=utf-8' : 'application/json; charset=utf-8')
    .header('content-disposition', `attachment; filename="${filename}.${fmt}"`)
    .header('cache-control', 'no-store')
    .send(body);
}
