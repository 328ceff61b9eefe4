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
 */
export function sendJson(
  res: ServerResponse,
  status: number,
  headers: Readonly<Record<string, string>>,
  body: unknown,
): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.statusCode = status;
  for (const name in headers) res.setHeader(name, headers[name] as string);
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('content-length', Buffer.byteLength(text));
  res.end(text);
}
