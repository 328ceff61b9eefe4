/**
 * Trace identity. A client may send `X-AI-Trace-Id` (any short opaque id) or a W3C `traceparent`;
 * otherwise we generate a W3C-compatible 32-hex trace id so the same id can be forwarded upstream.
 */
const TRACE_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const HEX32 = /^[0-9a-f]{32}$/;

export function isValidTraceId(id: string): boolean {
  return TRACE_ID.test(id);
}

export interface ParsedTraceparent {
  readonly traceId: string;
  readonly parentId: string;
  readonly flags: string;
}

/** Parses a W3C traceparent; returns undefined for anything invalid (the spec says: start a new trace). */
export function parseTraceparent(header: string | undefined): ParsedTraceparent | undefined {
  if (header === undefined) return undefined;
  const m = TRACEPARENT.exec(header.trim().toLowerCase());
  if (!m) return undefined;
  const [, version, traceId, parentId, flags] = m as unknown as [string, string, string, string, string];
  if (version === 'ff' || /^0+$/.test(traceId) || /^0+$/.test(parentId)) return undefined;
  return { traceId, parentId, flags };
}

/**
 * The trace id to forward upstream in `traceparent`: the Firebreak trace id when it already is a W3C id,
 * else a fresh one (the mapping is recorded on the trace as `w3cTraceId`).
 */
export function w3cTraceIdFor(traceId: string, fresh: () => string): string {
  const lower = traceId.toLowerCase();
  return HEX32.test(lower) && !/^0+$/.test(lower) ? lower : fresh();
}

export function formatTraceparent(traceId: string, spanId: string, flags = '01'): string {
  return `00-${traceId}-${spanId}-${flags}`;
}
