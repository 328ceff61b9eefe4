import { createHmac } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import { Agent, errors, request } from 'undici';
import type { ChannelConfig, FirebreakConfig } from '../core/config.js';
import { retryDecision, defaultRetryPolicy, type RetryPolicy } from '../core/channels/retry.js';
import { webhookRequest, type HmacSha256Hex, type WebhookEnvelope } from '../core/channels/webhook.js';
import type { DeliveryTimerPayload } from '../store/delivery-queries.js';
import type { Delivery, DeliveryAttempt, DeliveryStore } from '../store/port.js';
import type { DueTimer, TimerOutcome, TimerHandlerOptions } from './timers.js';

/**
 * The channel sender (issue 5 item 8): the handler of `delivery` timers. One attempt per run: POST the
 * delivery's payload to its channel (undici, with the channel's timeout), record the attempt, and tell
 * the scheduler what next:
 *   2xx → sent;
 *   no answer (network error, timeout), 408, 429 (honouring Retry-After) or 5xx → retried on the
 *   schedule of core/channels/retry.ts (5 s, 10 s, 20 s … capped at 5 min, 8 attempts);
 *   any other status, or a channel no longer configured → failed at once.
 * Every attempt is kept (delivery_attempts), so failures stay visible on the incident.
 *
 * It runs in the control replicas' scheduler, never on the gateway's request path. After a crash
 * mid-attempt a message may be sent twice: webhook receivers can drop duplicates by the
 * X-Firebreak-Delivery id, PagerDuty by dedup_key; a Slack message would show twice.
 */

/** The HMAC the webhook core needs (core/channels/webhook.ts keeps node:crypto out of core). */
export const hmacSha256Hex: HmacSha256Hex = (key, data) =>
  createHmac('sha256', key).update(data).digest('hex');

/** What a handler that throws (the store down while recording) gets: patient, like the schedule above. */
export const deliveryTimerOptions: TimerHandlerOptions = {
  retry: { baseMs: 5_000, factor: 2, capMs: 300_000, maxAttempts: 20, jitter: 0.2 },
};

/** Receiver answers kept in an attempt's error, at most. */
const MAX_ERROR_BODY = 512;

export interface DeliverySenderDeps {
  readonly config: FirebreakConfig;
  readonly deliveries: DeliveryStore;
  readonly now: () => number;
  readonly log: FastifyBaseLogger;
  readonly retry?: RetryPolicy;
  /**
   * Called after each attempt is recorded, e.g. to put a `delivery_failed` event on the incident's
   * timeline (core/incidents/timeline.ts has the shape). Errors are logged, never fail the delivery.
   */
  readonly onAttempt?: (delivery: Delivery, attempt: DeliveryAttempt) => Promise<void> | void;
}

interface HttpRequest {
  readonly url: string;
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
}

interface HttpResult {
  readonly status: number | null;
  readonly error: string | null;
  readonly retryAfterMs?: number;
}

/** `Retry-After` in seconds or as an HTTP date, as milliseconds from `now`. */
export function parseRetryAfter(value: string | string[] | undefined, now: number): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || text.trim() === '') return undefined;
  if (/^\d+$/.test(text.trim())) return Number(text.trim()) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function transportError(error: unknown, timeoutMs: number): string {
  if (
    error instanceof errors.HeadersTimeoutError ||
    error instanceof errors.BodyTimeoutError ||
    error instanceof errors.ConnectTimeoutError ||
    (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError'))
  )
    return `no answer within ${timeoutMs} ms`;
  if (error instanceof Error) {
    const code = (error as Error & { code?: unknown }).code;
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
    return `${typeof code === 'string' ? `${code} ` : ''}${error.message}${cause}`;
  }
  return String(error);
}

export class DeliverySender {
  /** Own connection pool: receivers are few and slow ones must not hold the upstream pools. */
  private readonly agent = new Agent({ connections: 8, keepAliveTimeout: 10_000 });
  private readonly policy: RetryPolicy;
  private closing: Promise<void> | undefined;

  constructor(private readonly deps: DeliverySenderDeps) {
    this.policy = deps.retry ?? defaultRetryPolicy;
  }

  /** The `delivery` timer handler. */
  readonly handle = async (timer: DueTimer): Promise<TimerOutcome> => {
    const id = (timer.payload as Partial<DeliveryTimerPayload> | null)?.delivery;
    if (typeof id !== 'string') return { status: 'failed', error: 'delivery timer without a delivery id' };
    const d = await this.deps.deliveries.get(id);
    if (!d) return { status: 'failed', error: `delivery ${id} not found` };
    // Already sent or failed (a run taken over after the first one recorded it): nothing to do.
    if (d.status !== 'pending') return this.outcomeOf(d);

    // In order per channel and incident: wait while an earlier message is still pending (in flight or
    // waiting for its retry), then go; one that ended failed no longer holds the others back.
    const before = await this.deps.deliveries.pendingBefore(d);
    if (before) return { status: 'later', at: Math.max(before.nextAttemptAt ?? 0, this.deps.now()) };

    const attempt = d.attempts + 1;
    const at = this.deps.now();
    const channel = this.deps.config.channels[d.channel];
    let result: HttpResult;
    let durationMs = 0;
    if (!channel) {
      result = { status: null, error: `channel "${d.channel}" is not configured` };
    } else if (channel.type !== d.channelType) {
      result = {
        status: null,
        error: `channel "${d.channel}" is now of type ${channel.type}; this delivery was built for ${d.channelType}`,
      };
    } else {
      const started = performance.now();
      result = await this.post(this.requestFor(channel, d, at));
      durationMs = performance.now() - started;
    }

    const failedAt = this.deps.now();
    let record: DeliveryAttempt;
    if (result.status !== null && result.status >= 200 && result.status < 300) {
      record = {
        attempt,
        at,
        durationMs,
        httpStatus: result.status,
        outcome: 'sent',
        error: null,
        nextAttemptAt: null,
      };
    } else {
      const error = result.error ?? `HTTP ${String(result.status)}`;
      const decision = channel
        ? retryDecision(
            {
              id: d.id,
              attempt,
              firstAt: d.firstAttemptAt ?? at,
              failedAt,
              status: result.status,
              ...(result.retryAfterMs === undefined ? {} : { retryAfterMs: result.retryAfterMs }),
            },
            this.policy,
          )
        : ({ retry: false, reason: 'not_retryable' } as const);
      record = decision.retry
        ? {
            attempt,
            at,
            durationMs,
            httpStatus: result.status,
            outcome: 'retry',
            error,
            nextAttemptAt: decision.at,
          }
        : {
            attempt,
            at,
            durationMs,
            httpStatus: result.status,
            outcome: 'failed',
            error:
              decision.reason === 'attempts_exhausted'
                ? `${error} (gave up after ${attempt} attempts)`
                : error,
            nextAttemptAt: null,
          };
    }

    if (!(await this.deps.deliveries.recordAttempt(d.id, record))) {
      // Another run recorded this attempt first (a takeover after a lost lease): follow what it wrote.
      const now = await this.deps.deliveries.get(d.id);
      return now ? this.outcomeOf(now) : { status: 'failed', error: `delivery ${id} not found` };
    }
    if (record.outcome !== 'sent')
      this.deps.log.warn(
        { delivery: d.id, channel: d.channel, attempt, status: record.httpStatus, err: record.error },
        record.outcome === 'retry' ? 'delivery attempt failed; will retry' : 'delivery failed',
      );
    if (this.deps.onAttempt) {
      try {
        await this.deps.onAttempt(d, record);
      } catch (error) {
        this.deps.log.warn(
          { delivery: d.id, err: error instanceof Error ? error.message : String(error) },
          'delivery attempt hook failed',
        );
      }
    }
    if (record.outcome === 'sent') return { status: 'done' };
    if (record.outcome === 'retry')
      return { status: 'retry', at: record.nextAttemptAt ?? failedAt, error: record.error ?? '' };
    return { status: 'failed', error: record.error ?? 'failed' };
  };

  /** Idempotent: the app may be closed twice (a test's afterAll after a test closed it). */
  close(): Promise<void> {
    this.closing ??= this.agent.close();
    return this.closing;
  }

  private outcomeOf(d: Delivery): TimerOutcome {
    if (d.status === 'sent') return { status: 'done' };
    if (d.status === 'failed') return { status: 'failed', error: d.lastError ?? 'failed' };
    return { status: 'retry', at: d.nextAttemptAt ?? this.deps.now(), error: d.lastError ?? '' };
  }

  /** Body and headers of this attempt, from the payload built at enqueue time and the channel's settings. */
  private requestFor(channel: ChannelConfig, d: Delivery, now: number): HttpRequest {
    switch (channel.type) {
      case 'webhook': {
        // Signed per attempt (a fresh `t`), so a receiver's replay window applies to each retry.
        const req = webhookRequest(d.payload as WebhookEnvelope, {
          secret: channel.secret,
          now,
          hmac: hmacSha256Hex,
        });
        return { url: channel.url, body: req.body, headers: req.headers, timeoutMs: channel.timeoutMs };
      }
      case 'slack':
        return {
          url: channel.url,
          body: JSON.stringify(d.payload),
          headers: { 'content-type': 'application/json' },
          timeoutMs: channel.timeoutMs,
        };
      case 'pagerduty':
        // The routing key is not stored with the delivery; it comes from the configuration.
        return {
          url: channel.url,
          body: JSON.stringify({
            routing_key: channel.routingKey,
            ...(d.payload as Record<string, unknown>),
          }),
          headers: { 'content-type': 'application/json' },
          timeoutMs: channel.timeoutMs,
        };
    }
  }

  private async post(req: HttpRequest): Promise<HttpResult> {
    try {
      const res = await request(req.url, {
        method: 'POST',
        body: req.body,
        headers: { 'user-agent': 'Firebreak', ...req.headers },
        dispatcher: this.agent,
        headersTimeout: req.timeoutMs,
        bodyTimeout: req.timeoutMs,
        // Bounds the whole attempt, connecting included.
        signal: AbortSignal.timeout(req.timeoutMs),
      });
      const text = await readCapped(res.body, MAX_ERROR_BODY);
      if (res.statusCode >= 200 && res.statusCode < 300) return { status: res.statusCode, error: null };
      const retryAfterMs = parseRetryAfter(res.headers['retry-after'], this.deps.now());
      return {
        status: res.statusCode,
        error: `HTTP ${res.statusCode}${text.trim() ? `: ${text.trim()}` : ''}`,
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      };
    } catch (error) {
      return { status: null, error: transportError(error, req.timeoutMs) };
    }
  }
}

/** The start of a response body (for the error message); the rest is discarded, not buffered. */
async function readCapped(
  body: AsyncIterable<Buffer> & { destroy(): unknown },
  max: number,
): Promise<string> {
  let out = '';
  try {
    for await (const chunk of body) {
      out += chunk.toString('utf8');
      if (out.length >= max) {
        body.destroy();
        return `${out.slice(0, max)}…`;
      }
    }
  } catch {
    // A body cut off mid-way still tells us the status; the text is best effort.
  }
  return out;
}
