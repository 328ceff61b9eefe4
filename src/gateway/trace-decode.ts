import { redactDeep } from '../core/redact.js';
import type { TraceBody, TraceRecord } from '../core/trace.js';
import { withFields } from '../core/with-fields.js';

/**
 * A recorded trace back from the JSON text the recorder keeps it as, redacted when recording redacts:
 * the trace worker's first step, and the in-thread path's. Its own module so the worker thread loads
 * only this, not the recorder.
 */
export function decodeTrace(json: string, redact: boolean): TraceRecord {
  const t = JSON.parse(json) as TraceRecord;
  return redact ? withFields(t, { body: redactDeep(t.body) as TraceBody }) : t;
}
