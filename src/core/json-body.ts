import sjson from 'secure-json-parse';
import { FirebreakError } from './errors.js';

/** Nesting allowed in a request body: far beyond any real request (tool JSON schemas included). */
export const MAX_JSON_DEPTH = 128;

/**
 * Whether arrays/objects in `json` (a text JSON.parse accepted) nest deeper than `max`: one pass over
 * the characters, brackets inside strings skipped. Walking the parsed value instead allocated an entry
 * per value of every request body.
 */
function nestedDeeperThan(json: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > max) return true;
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) depth--;
  }
  return false;
}

/**
 * A request body → its JSON value, whatever the content type said (curl -d sends form-encoded). Throws
 * an `invalid_json` FirebreakError for an empty body, a syntax error (JSON.parse's own message says
 * where), prototype-poisoning keys, or nesting deep enough to overflow the recursive walks done later
 * (redaction, serialisation) and crash the process.
 */
export function parseJsonBody(text: string): unknown {
  if (text === '')
    throw new FirebreakError('invalid_json', 'request body is empty; a JSON object is required');
  let value: unknown;
  try {
    value = sjson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new FirebreakError('invalid_json', `request body is not valid JSON: ${reason}`);
  }
  if (nestedDeeperThan(text, MAX_JSON_DEPTH))
    throw new FirebreakError(
      'invalid_json',
      `request body nests arrays/objects deeper than ${MAX_JSON_DEPTH} levels`,
    );
  return value;
}
