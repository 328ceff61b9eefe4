import { z } from 'zod';
import { FirebreakError } from '../core/errors.js';
import { parseTimeSpec } from '../core/time-spec.js';
import {
  decodeCursor,
  encodeCursor,
  traceStatuses,
  type TraceRecord,
  type TraceStatus,
} from '../core/trace.js';
import { parseWith } from '../core/validation.js';
import type { OpsContext } from './context.js';

/** Trace search and lookup: one operation each, shared by the API and the CLI. */
const timeSpec = z.string().min(1).max(64);
export const traceSearchSchema = z.strictObject({
  app: z.string().min(1).max(64).optional(),
  env: z.string().min(1).max(64).optional(),
  user: z.string().min(1).max(256).optional(),
  tenant: z.string().min(1).max(256).optional(),
  status: z.enum(traceStatuses as [TraceStatus, ...TraceStatus[]]).optional(),
  model: z.string().min(1).max(256).optional(),
  trace_id: z.string().min(1).max(128).optional(),
  since: timeSpec.optional(),
  until: timeSpec.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().min(1).max(200).optional(),
});

export type TraceSearchInput = z.input<typeof traceSearchSchema>;

/** What a list shows: everything but the content. */
export type TraceSummary = Omit<TraceRecord, 'body'>;

export interface TracePage {
  readonly data: TraceSummary[];
  readonly nextCursor: string | null;
}

function time(field: 'since' | 'until', text: string | undefined, now: number): number | undefined {
  if (text === undefined) return undefined;
  const ms = parseTimeSpec(text, now);
  if (ms === undefined)
    throw new FirebreakError(
      'validation_failed',
      `${field}: "${text}" is not a time (use ISO 8601, epoch ms, or 30m / 24h / 7d)`,
      {
        path: field,
      },
    );
  return ms;
}

export async function searchTraces(ctx: OpsContext, input: unknown): Promise<TracePage> {
  const now = ctx.now();
  const q = parseWith(traceSearchSchema, input, 'invalid trace search');
  const cursor = q.cursor === undefined ? undefined : decodeCursor(q.cursor);
  if (q.cursor !== undefined && cursor === undefined)
    throw new FirebreakError('validation_failed', 'cursor: not a cursor returned by this API', {
      path: 'cursor',
    });
  const since = time('since', q.since, now);
  const until = time('until', q.until, now);
  const rows = await ctx.store.traces.page({
    limit: q.limit,
    ...(cursor ? { cursor } : {}),
    ...(q.app !== undefined ? { app: q.app } : {}),
    ...(q.env !== undefined ? { env: q.env } : {}),
    ...(q.user !== undefined ? { userId: q.user } : {}),
    ...(q.tenant !== undefined ? { tenantId: q.tenant } : {}),
    ...(q.status !== undefined ? { status: q.status } : {}),
    ...(q.model !== undefined ? { model: q.model } : {}),
    ...(q.trace_id !== undefined ? { traceId: q.trace_id } : {}),
    ...(since !== undefined ? { since } : {}),
    ...(until !== undefined ? { until } : {}),
  });
  const last = rows.at(-1);
  return {
    data: rows.map(({ body: _body, ...summary }) => summary),
    nextCursor: rows.length === q.limit && last ? encodeCursor(last) : null,
  };
}

export interface TraceDetail {
  readonly traceId: string;
  /** Every gateway call recorded under this trace id, oldest first (agents reuse one id across calls). */
  readonly calls: TraceRecord[];
}

export async function getTrace(ctx: OpsContext, id: string): Promise<TraceDetail> {
  if (id.length === 0 || id.length > 128)
    throw new FirebreakError('validation_failed', 'trace id must be 1-128 characters');
  const calls = await ctx.store.traces.getByTraceId(id);
  const first = calls[0];
  if (!first)
    throw new FirebreakError(
      'not_found',
      `no trace "${id}" (traces are written within a second of the call)`,
    );
  return { traceId: first.traceId, calls };
}
