import type { Selectable } from 'kysely';
import type { ErrorCode } from '../core/errors.js';
import type { Endpoint, TraceBody, TraceRecord, TraceStatus } from '../core/trace.js';
import type { TracesTable } from './schema.js';

/** Mapping between the domain record and the row; the only place that knows column names. */
export function toRow(t: TraceRecord): TracesTable {
  return {
    id: t.id,
    trace_id: t.traceId,
    ts: t.ts,
    app: t.app,
    env: t.env,
    user_id: t.userId,
    tenant_id: t.tenantId,
    session_id: t.sessionId,
    endpoint: t.endpoint,
    model: t.model,
    provider: t.provider,
    release: t.release,
    deployment: t.deployment,
    status: t.status,
    http_status: t.httpStatus,
    error_code: t.errorCode,
    stream: t.stream ? 1 : 0,
    latency_ms: t.latencyMs,
    upstream_ms: t.upstreamMs,
    overhead_ms: t.overheadMs,
    ttft_ms: t.ttftMs,
    prompt_tokens: t.promptTokens,
    completion_tokens: t.completionTokens,
    body: JSON.stringify(t.body),
  };
}

export function fromRow(r: Selectable<TracesTable>): TraceRecord {
  return {
    id: r.id,
    traceId: r.trace_id,
    ts: r.ts,
    app: r.app,
    env: r.env,
    userId: r.user_id,
    tenantId: r.tenant_id,
    sessionId: r.session_id,
    endpoint: r.endpoint as Endpoint,
    model: r.model,
    provider: r.provider,
    release: r.release,
    deployment: r.deployment,
    status: r.status as TraceStatus,
    httpStatus: r.http_status,
    errorCode: r.error_code as ErrorCode | null,
    stream: r.stream === 1,
    latencyMs: r.latency_ms,
    upstreamMs: r.upstream_ms,
    overheadMs: r.overhead_ms,
    ttftMs: r.ttft_ms,
    promptTokens: r.prompt_tokens,
    completionTokens: r.completion_tokens,
    body: JSON.parse(r.body) as TraceBody,
  };
}
