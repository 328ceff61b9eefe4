import { FirebreakError } from './errors.js';

/**
 * Anything thrown while serving a request → one FirebreakError. Fastify's own errors (body parsing,
 * limits, media types) are recognised by their stable `code`s so every interface can answer precisely.
 */
export function toFirebreakError(error: unknown, bodyLimit?: number): FirebreakError {
  if (error instanceof FirebreakError) return error;
  const e = (error ?? {}) as { code?: unknown; statusCode?: unknown; message?: unknown; name?: unknown };
  const message = typeof e.message === 'string' ? e.message : String(error);
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new FirebreakError(
        'payload_too_large',
        `request body is larger than the limit of ${bodyLimit ?? '?'} bytes (server.bodyLimitBytes)`,
      );
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new FirebreakError('invalid_json', 'request body is empty; a JSON object is required');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new FirebreakError('unsupported_media_type', `unsupported content type: ${message}`);
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new FirebreakError('bad_request', 'the Content-Length header does not match the body');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new FirebreakError('invalid_json', `request body is not valid JSON: ${message}`);
  }
  if (e.name === 'SyntaxError' || (typeof e.code === 'string' && e.code.startsWith('FST_ERR_CTP')))
    return new FirebreakError('invalid_json', `request body is not valid JSON: ${message}`);
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500)
    return new FirebreakError('bad_request', message);
  return new FirebreakError('internal', 'internal error (it is in the server log)');
}
