import type { Selectable } from 'kysely';
import type { ErrorCode } from '../core/errors.js';
import type { Endpoint, TraceBody, TraceRecord, TraceStatus } from '../core/trace.js';
import type { TraceMarksTable, TracesTable } from './schema.js';

/** Mapping between the domain record and the row; the only place that knows column names. */
export function toRow(t: TraceRecord): TracesTable {
  return rowOf(t, JSON.stringify(t.body));
}

/** The row of a trace whose body is already JSON text (the trace worker keeps a clean body's text). */
export function rowOf(t: Omit<TraceRecord, 'body'>, bodyJson: string): TracesTable {
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
    body: bodyJson,
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

/** What a trace can be marked with (trace_marks.kind). */
export type MarkKind = 'detector' | 'class' | 'tool' | 'status';

/** trace_marks.value is varchar(128): longer tool names (a model can return anything) are cut there. */
export const MARK_VALUE_MAX = 128;

const NO_MARKS: readonly TraceMarksTable[] = [];

/**
 * The marks of one trace: each detector and incident class that fired (findings at any stage, whatever
 * their action), each tool the model called (returned, judged or blocked), and the status unless `ok`.
 * One row per distinct (kind, value). A clean trace (ok, no findings, no tool calls) has none, and
 * costs nothing here beyond these checks. The body comes separately: the trace worker has it apart.
 */
export function marksOf(t: Omit<TraceRecord, 'body'>, b: TraceBody): readonly TraceMarksTable[] {
  const findings = b.findings ?? [];
  const decisions = b.toolDecisions ?? [];
  const blocked = b.blockedToolCalls ?? [];
  const called = b.toolCalls;
  if (
    t.status === 'ok' &&
    findings.length === 0 &&
    called.length === 0 &&
    decisions.length === 0 &&
    blocked.length === 0
  )
    return NO_MARKS;
  const out: TraceMarksTable[] = [];
  const seen = new Set<string>();
  const add = (kind: MarkKind, raw: string) => {
    // PostgreSQL text cannot hold NUL; a tool name is whatever the model returned.
    const value = raw.replaceAll('\u0000', '').slice(0, MARK_VALUE_MAX);
    const key = `${kind}:${value}`;
    if (value === '' || seen.has(key)) return;
    seen.add(key);
    out.push({
      kind,
      value,
      ts: t.ts,
      trace_row: t.id,
      app: t.app,
      env: t.env,
      release: t.release,
      status: t.status,
      user_id: t.userId,
      tenant_id: t.tenantId,
    });
  };
  for (const f of findings) {
    add('detector', f.detector);
    add('class', f.class);
  }
  for (const c of called) add('tool', c.name);
  for (const d of decisions) add('tool', d.name);
  for (const c of blocked) add('tool', c.name);
  if (t.status !== 'ok') add('status', t.status);
  return out;
}
