import { withFields } from '../core/with-fields.js';
import { redactDeep } from '../core/redact.js';
import type { TraceBody, TraceRecord } from '../core/trace.js';
import type { TraceMarksTable, TracesTable } from '../store/schema.js';
import { marksOf, rowOf } from '../store/trace-rows.js';

/**
 * How a recorded trace waits in the recorder and travels to the trace worker: one JSON text per trace
 * (a flat string, cheap to keep and to post), and how that text becomes a row. Its own module so the
 * worker thread loads only this and the store, not the recorder.
 */

/**
 * The start of the body in an encoded trace: the body object's first key (CallTrace.finish writes
 * `request` first). See decodeTrace for why its first occurrence is the body's.
 */
const BODY_START = ',{"request":';
/** How many columns come before the body. */
const HEAD_COLUMNS = 23;

/**
 * The trace as a JSON array: its columns in TraceRecord's order, then the body. One JSON.stringify on
 * the request path; an array is cheaper than an object to write and to read (no key names: 1.3 µs of
 * the 4.8 µs a bench trace took, and half the worker's parse of the columns), and the body last is what
 * lets decodeTrace take the body's text without parsing and re-encoding it.
 */
export function encodeTrace(t: TraceRecord): string {
  return JSON.stringify([
    t.id,
    t.traceId,
    t.ts,
    t.app,
    t.env,
    t.userId,
    t.tenantId,
    t.sessionId,
    t.endpoint,
    t.model,
    t.provider,
    t.release,
    t.deployment,
    t.status,
    t.httpStatus,
    t.errorCode,
    t.stream,
    t.latencyMs,
    t.upstreamMs,
    t.overheadMs,
    t.ttftMs,
    t.promptTokens,
    t.completionTokens,
    t.body,
  ]);
}

/** The columns of an encoded trace (encodeTrace's order) as the record's head. */
function headOf(v: readonly unknown[]): Omit<TraceRecord, 'body'> {
  return {
    id: v[0],
    traceId: v[1],
    ts: v[2],
    app: v[3],
    env: v[4],
    userId: v[5],
    tenantId: v[6],
    sessionId: v[7],
    endpoint: v[8],
    model: v[9],
    provider: v[10],
    release: v[11],
    deployment: v[12],
    status: v[13],
    httpStatus: v[14],
    errorCode: v[15],
    stream: v[16],
    latencyMs: v[17],
    upstreamMs: v[18],
    overheadMs: v[19],
    ttftMs: v[20],
    promptTokens: v[21],
    completionTokens: v[22],
  } as Omit<TraceRecord, 'body'>;
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
 * and inside a JSON string a quote is always escaped (`\"`), so the text `,{"request":` cannot occur
 * before the body. An entry that does not split that way (a body with another first key, or an entry
 * in another form: a trace object) is parsed whole.
 */
export function decodeTrace(entry: string, redact: boolean): DecodedTrace {
  let head: Omit<TraceRecord, 'body'>;
  let bodyText: string | undefined;
  let body: TraceBody;
  const split = splitEntry(entry);
  if (split) {
    head = split.head;
    bodyText = split.bodyText;
    body = JSON.parse(bodyText) as TraceBody;
  } else {
    const whole = JSON.parse(entry) as unknown;
    const trace = Array.isArray(whole)
      ? withFields(headOf(whole), { body: whole[HEAD_COLUMNS] as TraceBody })
      : (whole as TraceRecord);
    head = trace;
    body = trace.body;
  }
  if (redact) {
    const clean = redactDeep(body) as TraceBody;
    if (clean !== body) bodyText = undefined;
    body = clean;
  }
  return { row: rowOf(head, bodyText ?? JSON.stringify(body)), marks: marksOf(head, body) };
}

function splitEntry(entry: string): { head: Omit<TraceRecord, 'body'>; bodyText: string } | undefined {
  if (!entry.startsWith('[') || !entry.endsWith('}]')) return undefined;
  const at = entry.indexOf(BODY_START);
  if (at < 0) return undefined;
  try {
    const values = JSON.parse(`${entry.slice(0, at)}]`) as unknown[];
    return values.length === HEAD_COLUMNS
      ? { head: headOf(values), bodyText: entry.slice(at + 1, -1) }
      : undefined;
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
