import type { IncomingHttpHeaders, ServerResponse } from 'node:http';

/** One /v1 call as its handler sees it: the request's headers and parsed body, and the response to write. */
export interface Exchange {
  readonly headers: IncomingHttpHeaders;
  /** The parsed JSON body (undefined for GET and HEAD). */
  readonly body: unknown;
  readonly res: ServerResponse;
}

/**
 * Answers with `body` as JSON, in one write (status line, headers and body together). A response that has
 * already started (a stream cut midway) is left alone: its handler ends it in its own format. Node itself
 * leaves the body out for HEAD requests.
 *
 * The headers go to `writeHead` as one flat [name, value, …] list: without earlier `setHeader` calls Node
 * then writes them straight into the head instead of keeping a header map per response (a setHeader per
 * header was 3–5% of the gateway's throughput in interleaved overhead-bench runs). Headers set earlier
 * with `setHeader` are still merged by Node.
 */
export function sendJson(
  res: ServerResponse,
  status: number,
  headers: Readonly<Record<string, string>>,
  body: unknown,
): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  const head: string[] = [];
  for (const name in headers)
    // The body's own type and length are set below; a caller's copy would be sent twice.
    if (name !== 'content-type' && name !== 'content-length') head.push(name, headers[name] as string);
  head.push(
    'content-type',
    'application/json; charset=utf-8',
    'content-length',
    String(Buffer.byteLength(text)),
  );
  res.writeHead(status, head);
  res.end(text);
}
