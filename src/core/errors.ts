/**
 * The one error type of Firebreak, with a closed set of codes and an exhaustive code → HTTP status map
 * (tRPC's `Record<code, status>` idea). Every interface renders these in its own format: OpenAI-style on
 * /v1/chat|embeddings|models, Anthropic-style on /v1/messages, the `{error:{code,message}}` envelope on /api.
 * docs/errors.md lists every code; a test keeps the two in step.
 */
export const errorStatus = {
  invalid_json: 400,
  validation_failed: 400,
  bad_request: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  model_not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  not_supported: 400,
  input_blocked: 400,
  output_blocked: 422,
  upstream_rate_limited: 429,
  upstream_error: 502,
  upstream_bad_response: 502,
  upstream_unavailable: 502,
  upstream_timeout: 504,
  unavailable: 503,
  internal: 500,
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof errorStatus;

export const errorCodes = Object.keys(errorStatus) as ErrorCode[];

export interface ErrorDetails {
  /** Where in the input the problem is, e.g. `messages[0].role`. */
  readonly path?: string;
  /** For upstream errors: the status the upstream answered with. */
  readonly upstreamStatus?: number;
  /** Seconds the client should wait, when known (from the upstream's Retry-After). */
  readonly retryAfter?: string;
  /** For upstream_error: the upstream's own error type/code, passed through for the client. */
  readonly upstreamType?: string;
}

export class FirebreakError extends Error {
  override readonly name = 'FirebreakError';
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: ErrorDetails = {},
    /** Overrides the catalogue status, only for upstream 4xx passed through to the client as they are. */
    status?: number,
  ) {
    super(message);
    this.status = status ?? errorStatus[code];
  }
}

export function isFirebreakError(value: unknown): value is FirebreakError {
  return value instanceof FirebreakError;
}
