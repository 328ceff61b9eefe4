/**
 * When to try a failed delivery again. Exponential backoff with a cap and a maximum number of attempts,
 * counted from the first attempt so the schedule does not drift with how long each attempt took, and
 * jittered so that many deliveries failing together (a receiver down) do not retry in lockstep. The
 * jitter is derived from the delivery id, not Math.random: the schedule is the same on every replica
 * and after a restart, and tests can state it exactly.
 */
export interface RetryPolicy {
  /** Wait before the second attempt. */
  readonly baseMs: number;
  readonly factor: number;
  /** No single wait is longer than this. */
  readonly capMs: number;
  /** Attempts in all, the first included. */
  readonly maxAttempts: number;
  /** 0..1: each wait is shortened by up to this fraction (0 = no jitter). */
  readonly jitter: number;
}

/**
 * 5 s, 10 s, 20 s … capped at 5 min, 8 attempts: about 10 minutes in all, less than one escalation step,
 * so a receiver that is down for a minute or two still gets the page before the next level is paged.
 */
export const defaultRetryPolicy: RetryPolicy = {
  baseMs: 5_000,
  factor: 2,
  capMs: 300_000,
  maxAttempts: 8,
  jitter: 0.2,
};

/** FNV-1a (32 bit) of the text, as a fraction in [0, 1): a stable, well-spread stand-in for a random number. */
export function unitHash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h / 0x1_0000_0000;
}

/** The wait after attempt `attempt` (1-based) fails, jitter applied; the cap bounds it before jitter. */
export function retryDelay(attempt: number, id: string, policy: RetryPolicy = defaultRetryPolicy): number {
  const raw = Math.min(policy.capMs, policy.baseMs * policy.factor ** (attempt - 1));
  return Math.round(raw * (1 - policy.jitter * unitHash(`${id}:${attempt}`)));
}

/**
 * When attempt `attempt + 1` is due, given that attempt `attempt` (1-based) failed and the first was made
 * at `firstAt`; null when `attempt` was the last one allowed.
 */
export function nextAttemptAt(
  attempt: number,
  firstAt: number,
  id: string,
  policy: RetryPolicy = defaultRetryPolicy,
): number | null {
  if (!Number.isInteger(attempt) || attempt < 1 || attempt >= policy.maxAttempts) return null;
  let at = firstAt;
  for (let n = 1; n <= attempt; n++) at += retryDelay(n, id, policy);
  return at;
}

/** The whole schedule: when each attempt is made, first included. */
export function attemptSchedule(
  firstAt: number,
  id: string,
  policy: RetryPolicy = defaultRetryPolicy,
): number[] {
  const out = [firstAt];
  for (let n = 1; n < policy.maxAttempts; n++) {
    const next = nextAttemptAt(n, firstAt, id, policy);
    if (next !== null) out.push(next);
  }
  return out;
}

/**
 * Whether a failure is worth retrying: no answer at all (null: network error, timeout), 408, 429 and
 * 5xx. Any other 4xx means the request itself is wrong (PagerDuty's 400, Slack's `invalid_blocks`),
 * and sending it again would fail the same way.
 */
export function retryable(status: number | null): boolean {
  return status === null || status === 408 || status === 429 || status >= 500;
}

export type RetryDecision =
  | { readonly retry: true; readonly at: number }
  | { readonly retry: false; readonly reason: 'not_retryable' | 'attempts_exhausted' };

export interface FailedAttempt {
  readonly id: string;
  /** The attempt that failed, 1-based. */
  readonly attempt: number;
  readonly firstAt: number;
  readonly failedAt: number;
  /** HTTP status, or null when no response came. */
  readonly status: number | null;
  /** From the receiver's Retry-After header, in milliseconds, when it sent one. */
  readonly retryAfterMs?: number;
}

/**
 * What to do after a failed attempt: retry at the scheduled time, but never before the failure itself
 * nor before the receiver's Retry-After (Slack and PagerDuty send one with 429).
 */
export function retryDecision(
  failure: FailedAttempt,
  policy: RetryPolicy = defaultRetryPolicy,
): RetryDecision {
  if (!retryable(failure.status)) return { retry: false, reason: 'not_retryable' };
  const scheduled = nextAttemptAt(failure.attempt, failure.firstAt, failure.id, policy);
  if (scheduled === null) return { retry: false, reason: 'attempts_exhausted' };
  return { retry: true, at: Math.max(scheduled, failure.failedAt + (failure.retryAfterMs ?? 0)) };
}
