import { redactDeep } from '../core/redact.js';
import type { TraceBody, TraceRecord } from '../core/trace.js';
import type { TraceMarksTable, TracesTable } from '../store/schema.js';
import { marksOf, rowOf } from '../store/trace-rows.js';

/**
 * How a recorded trace waits in the recorder and travels to the trace worker: one JSON text per trace
 * (a flat string, cheap to keep and to post), and how that text becomes a row. Its own module so the
 * worker thread loads only this and the store, not the recorder.
 */

/** The key that starts the body in an encoded trace; see decodeTrace for why the first one is it. */
const BODY_KEY = ',"body":';

/**
 * The trace as JSON, its keys in a fixed order with `body` last. One JSON.stringify on the request path;
 * the fixed order is what lets decodeTrace take the body's text without parsing and re-encoding it.
 */
export function encodeTrace(t: TraceRecord): string {
  return JSON.stringify({
    id: t.id,
    traceId: t.traceId,
    ts: t.ts,
    app: t.app,
    env: t.env,
    userId: t.userId,
    tenantId: t.tenantId,
    sessionId: t.sessionId,
    endpoint: t.endpoint,
    model: t.model,
    provider: t.provider,
    release: t.release,
    deployment: t.deployment,
    status: t.status,
    httpStatus: t.httpStatus,
    errorCode: t.errorCode,
    stream: t.stream,
    latencyMs: t.latencyMs,
    upstreamMs: t.upstreamMs,
    overheadMs: t.overheadMs,
    ttftMs: t.ttftMs,
    promptTokens: t.promptTokens,
    completionTokens: t.completionTokens,
    body: t.body,
  } satisfies TraceRecord);
}

export interface DecodedTrace {
  readonly row: TracesTable;
  readonly marks: readonly TraceMarksTable[];
}

/**
 * An encoded trace as its row and marks, its body redacted when recording redacts. The body's JSON text
 * is stored as it came unless redaction changed something (redactDeep returns a clean value as it is),
 * which saves re-encoding nearly every body.
 *
 * Finding the body: every value before it is a string, number, boolean or null (TraceRecord's columns),
 * and inside a JSON string a quote is always escaped (`\"`), so the text `,"body":` cannot occur before
 * the top-level key. An entry that does not split that way (not made by encodeTrace) is parsed whole.
 */
export function decodeTrace(entry: string, redact: boolean): DecodedTrace {
  const split = splitEntry(entry);
  const trace = split?.head ?? (JSON.parse(entry) as TraceRecord);
  let bodyText = split?.bodyText;
  let body = bodyText === undefined ? trace.body : (JSON.parse(bodyText) as TraceBody);
  if (redact) {
    const clean = redactDeep(body) as TraceBody;
    if (clean !== body) bodyText = undefined;
    body = clean;
  }
  return { row: rowOf(trace, bodyText ?? JSON.stringify(body)), marks: marksOf(trace, body) };
}

function splitEntry(entry: string): { head: TraceRecord; bodyText: string } | undefined {
  const at = entry.indexOf(BODY_KEY);
  if (at < 0 || !entry.endsWith('}')) return undefined;
  try {
    const head = JSON.parse(`${entry.slice(0, at)}}`) as TraceRecord;
    // The last column before the body: absent means the entry had its keys in another order.
    return 'completionTokens' in head ? { head, bodyText: entry.slice(at + BODY_KEY.length, -1) } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A batch of encoded traces as rows and marks, in order. An entry that cannot be decoded (not one
 * encodeTrace made: a bug) is left out and counted in `invalid`, so that one bad entry cannot fail its
 * batch on every retry and stop recording for good.
 */
export function decodeBatch(
  entries: readonly string[],
  redact: boolean,
): { rows: TracesTable[]; marks: TraceMarksTable[]; invalid: number } {
  const rows: TracesTable[] = [];
  const marks: TraceMarksTable[] = [];
  let invalid = 0;
  for (const entry of entries) {
    let d: DecodedTrace;
    try {
      d = decodeTrace(entry, redact);
    } catch {
      invalid += 1;
      continue;
    }
    rows.push(d.row);
    for (const m of d.marks) marks.push(m);
  }
  return { rows, marks, invalid };
}
