import { table } from './control-format.js';
import type { TraceDetail, TraceSummary } from '../ops/traces.js';

/** Human-readable output for `firebreak trace`; `--json` prints the API's JSON instead. */
export function formatTraceTable(rows: readonly TraceSummary[]): string {
  if (rows.length === 0) return 'no traces match';
  const header = ['time', 'trace id', 'app/env', 'user', 'model', 'status', 'ms'];
  const lines = rows.map((r) => [
    new Date(r.ts).toISOString(),
    r.traceId,
    `${r.app}/${r.env}`,
    r.userId ?? '-',
    r.model ?? '-',
    r.errorCode ? `${r.status} (${r.errorCode})` : r.status,
    r.latencyMs.toFixed(1),
  ]);
  return table(header, lines);
}

export function formatTraceDetail(detail: TraceDetail): string {
  const out: string[] = [`trace ${detail.traceId}: ${detail.calls.length} call(s)`];
  for (const c of detail.calls) {
    out.push(
      '',
      `call ${c.id}  ${new Date(c.ts).toISOString()}  ${c.endpoint}${c.stream ? ' (stream)' : ''}`,
      `  app ${c.app}/${c.env}  release ${c.release}  model ${c.model ?? '-'} via ${c.provider ?? '-'}`,
      `  user ${c.userId ?? '-'}  tenant ${c.tenantId ?? '-'}  session ${c.sessionId ?? '-'}`,
      `  status ${c.status} (HTTP ${c.httpStatus}${c.errorCode ? `, ${c.errorCode}` : ''})  latency ${c.latencyMs} ms  upstream ${c.upstreamMs ?? '-'} ms  overhead ${c.overheadMs} ms`,
      `  tokens ${c.promptTokens ?? '-'} in / ${c.completionTokens ?? '-'} out`,
    );
    if (c.body.error) out.push(`  error: ${c.body.error.message}`);
    if (c.body.retrieved.length > 0)
      out.push(`  retrieved: ${c.body.retrieved.map((d) => `${d.source}:${d.id}`).join(', ')}`);
    for (const t of c.body.toolCalls) out.push(`  tool call ${t.name}(${t.arguments})`);
    for (const t of c.body.toolResults) out.push(`  tool result for ${t.toolCallId}: ${t.content}`);
    out.push(
      `  request: ${JSON.stringify(c.body.request)}`,
      `  response: ${JSON.stringify(c.body.response)}`,
    );
  }
  return out.join('\n');
}
