import { createParser } from 'eventsource-parser';
import { errors, Pool, type Dispatcher } from 'undici';
import { FirebreakError } from '../core/errors.js';

/**
 * Upstream HTTP: pooled keep-alive connections (undici), timeouts, and the translation of every way an
 * upstream can fail into one FirebreakError with a clear message.
 */
const pools = new Map<string, Pool>();
/** Origin and path per URL object: providers reuse theirs, and URL getters cost on every call. */
const targets = new WeakMap<URL, { readonly origin: string; readonly path: string }>();

function targetOf(url: URL): { readonly origin: string; readonly path: string } {
  let t = targets.get(url);
  if (!t) {
    t = { origin: url.origin, path: url.pathname + url.search };
    targets.set(url, t);
  }
  return t;
}

function poolFor(origin: string): Pool {
  let pool = pools.get(origin);
  if (!pool) {
    pool = new Pool(origin, { connections: 128, pipelining: 1, keepAliveTimeout: 30_000 });
    pools.set(origin, pool);
  }
  return pool;
}

export async function closeUpstreamPools(): Promise<void> {
  const all = [...pools.values()];
  pools.clear();
  await Promise.allSettled(all.map((p) => p.close()));
}

export interface UpstreamCall {
  readonly url: URL;
  readonly headers: Record<string, string>;
  readonly body: unknown;
  readonly signal: AbortSignal | undefined;
  readonly timeoutMs: number;
  /** Label used in error messages, e.g. `provider "openai"`. */
  readonly label: string;
}

export interface UpstreamResponse {
  readonly status: number;
  readonly body: Dispatcher.ResponseData['body'];
}

/**
 * Sends a JSON POST for a streamed answer; resolves with a 2xx response whose body is read as it comes,
 * throws a FirebreakError for anything else.
 */
export async function postJson(call: UpstreamCall): Promise<UpstreamResponse> {
  // headersTimeout bounds the wait for the answer to start; bodyTimeout then bounds each pause in the
  // body, so a long stream that keeps flowing is never cut. (No per-call AbortSignal.any/timer: they
  // cost about a sixth of the gateway's throughput on Node 20.)
  let res: Dispatcher.ResponseData;
  const target = targetOf(call.url);
  try {
    res = await poolFor(target.origin).request({
      method: 'POST',
      path: target.path,
      headers: { 'content-type': 'application/json', accept: 'application/json', ...call.headers },
      body: JSON.stringify(call.body),
      signal: call.signal ?? null,
      headersTimeout: call.timeoutMs,
      bodyTimeout: call.timeoutMs,
    });
  } catch (error) {
    throw transportError(error, call);
  }
  if (res.statusCode >= 200 && res.statusCode < 300) return { status: res.statusCode, body: res.body };
  const text = await res.body.text().catch(() => '');
  throw statusError(res.statusCode, text, res.headers['retry-after'], call.label);
}

/**
 * A whole JSON exchange (non-streaming calls): sends the POST and resolves with the parsed 2xx body, or
 * throws a FirebreakError. It collects the body through undici's `dispatch` with a handler instead of
 * `request`, which builds a Readable stream, an async resource and a promise chain per response just to
 * be read to the end at once: on the gateway's hot path that machinery cost more than the exchange.
 */
export function exchangeJson(call: UpstreamCall): Promise<unknown> {
  const target = targetOf(call.url);
  let body: string;
  try {
    body = JSON.stringify(call.body);
  } catch (error) {
    return Promise.reject(transportError(error, call));
  }
  return new Promise((resolve, reject) => {
    poolFor(target.origin).dispatch(
      {
        method: 'POST',
        path: target.path,
        headers: { 'content-type': 'application/json', accept: 'application/json', ...call.headers },
        body,
        headersTimeout: call.timeoutMs,
        bodyTimeout: call.timeoutMs,
      },
      new JsonExchange(call, resolve, reject),
    );
  });
}

class JsonExchange implements Dispatcher.DispatchHandler {
  private status = 0;
  private retryAfter: string | string[] | undefined;
  private chunks: Buffer[] = [];
  private unlisten: (() => void) | undefined;

  constructor(
    private readonly call: UpstreamCall,
    private readonly resolve: (value: unknown) => void,
    private readonly reject: (error: FirebreakError) => void,
  ) {}

  onRequestStart(controller: Dispatcher.DispatchController): void {
    const signal = this.call.signal;
    if (!signal) return;
    // The signal's reason goes on: a timeout signal's TimeoutError is an upstream timeout (504), any
    // other abort a cancelled call.
    if (signal.aborted) {
      controller.abort(abortReason(signal));
      return;
    }
    const onAbort = () => controller.abort(abortReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    this.unlisten = () => signal.removeEventListener('abort', onAbort);
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    // undici 7 does not hand 1xx interim answers to the handler; the reset only makes a second start
    // (never seen) begin from nothing.
    this.status = statusCode;
    this.retryAfter = headers['retry-after'];
    this.chunks = [];
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.chunks.push(chunk);
  }

  onResponseEnd(): void {
    this.unlisten?.();
    const { chunks } = this;
    const text = (chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)).toString('utf8');
    if (this.status < 200 || this.status >= 300) {
      this.reject(statusError(this.status, text, this.retryAfter, this.call.label));
      return;
    }
    try {
      this.resolve(parseUpstreamJson(text, this.call));
    } catch (error) {
      this.reject(error as FirebreakError);
    }
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.unlisten?.();
    this.reject(transportError(error, this.call));
  }
}

function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new errors.RequestAbortedError();
}

function parseUpstreamJson(text: string, call: Pick<UpstreamCall, 'label'>): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new FirebreakError(
      'upstream_bad_response',
      `${call.label} answered with a body that is not JSON (${text.length} bytes, starting ${JSON.stringify(text.slice(0, 40))})`,
    );
  }
}

/** Server-sent events from the upstream body, parsed as JSON; `[DONE]` ends the stream. */
export async function* readSse(
  res: UpstreamResponse,
  call: Pick<UpstreamCall, 'label'>,
): AsyncGenerator<{ event: string | undefined; data: unknown }> {
  const queue: { event: string | undefined; data: string }[] = [];
  const parser = createParser({ onEvent: (e) => queue.push({ event: e.event, data: e.data }) });
  let done = false;
  try {
    for await (const chunk of res.body) {
      parser.feed(typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8'));
      while (queue.length > 0) {
        const e = queue.shift();
        if (!e) break;
        if (e.data === '[DONE]') {
          done = true;
          return;
        }
        let data: unknown;
        try {
          data = JSON.parse(e.data);
        } catch {
          throw new FirebreakError(
            'upstream_bad_response',
            `${call.label} sent a stream event that is not JSON: ${JSON.stringify(e.data.slice(0, 40))}`,
          );
        }
        yield { event: e.event, data };
      }
    }
  } catch (error) {
    if (error instanceof FirebreakError) throw error;
    if (error instanceof errors.BodyTimeoutError)
      throw new FirebreakError(
        'upstream_timeout',
        `${call.label} stopped sending midway through the stream: ${describe(error)}`,
      );
    throw new FirebreakError('upstream_error', `${call.label} stream broke midway: ${describe(error)}`);
  } finally {
    if (!done) res.body.destroy();
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? `${error.message} (${code})` : error.message;
  }
  return String(error);
}

export function transportError(
  error: unknown,
  call: Pick<UpstreamCall, 'label'> & Partial<UpstreamCall>,
): FirebreakError {
  if (error instanceof FirebreakError) return error;
  const name = error instanceof Error ? error.name : '';
  if (
    error instanceof errors.HeadersTimeoutError ||
    error instanceof errors.BodyTimeoutError ||
    name === 'TimeoutError'
  )
    return new FirebreakError(
      'upstream_timeout',
      `${call.label} did not answer within ${call.timeoutMs ?? '?'} ms`,
    );
  if (name === 'AbortError' || error instanceof errors.RequestAbortedError)
    return new FirebreakError(
      'upstream_error',
      `the call to ${call.label} was cancelled (client disconnected)`,
    );
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EHOSTUNREACH')
    return new FirebreakError(
      'upstream_unavailable',
      `${call.label} is unreachable at ${call.url?.origin ?? 'its base URL'}: ${describe(error)}`,
    );
  return new FirebreakError('upstream_error', `${call.label} failed: ${describe(error)}`);
}

function upstreamMessage(text: string): { message: string; type?: string } {
  try {
    const j = JSON.parse(text) as {
      error?: { message?: unknown; type?: unknown } | string;
      message?: unknown;
    };
    const e = j.error;
    if (typeof e === 'string') return { message: e };
    if (e && typeof e.message === 'string')
      return { message: e.message, ...(typeof e.type === 'string' ? { type: e.type } : {}) };
    if (typeof j.message === 'string') return { message: j.message };
  } catch {
    // not JSON: fall through to the raw text
  }
  return { message: text.slice(0, 200) || 'no body' };
}

export function statusError(
  status: number,
  text: string,
  retryAfterHeader: string | string[] | undefined,
  label: string,
): FirebreakError {
  const { message, type } = upstreamMessage(text);
  const retryAfter = Array.isArray(retryAfterHeader) ? retryAfterHeader[0] : retryAfterHeader;
  const base = {
    upstreamStatus: status,
    ...(retryAfter !== undefined ? { retryAfter } : {}),
    ...(type !== undefined ? { upstreamType: type } : {}),
  };
  if (status === 429)
    return new FirebreakError('upstream_rate_limited', `${label} is rate limiting: ${message}`, base);
  if (status === 401 || status === 403)
    // Not the client's key: ours for the upstream was refused. Never answer 401 for that.
    return new FirebreakError(
      'upstream_error',
      `${label} refused the gateway's provider credentials (${status}): ${message}`,
      base,
    );
  if (status >= 400 && status < 500)
    // The upstream judged the request itself invalid: the client should see that, with its status.
    return new FirebreakError(
      'upstream_error',
      `${label} rejected the request (${status}): ${message}`,
      base,
      status,
    );
  if (status === 503 || status === 529)
    return new FirebreakError(
      'upstream_unavailable',
      `${label} is overloaded or unavailable (${status}): ${message}`,
      base,
    );
  return new FirebreakError('upstream_error', `${label} failed with HTTP ${status}: ${message}`, base);
}
