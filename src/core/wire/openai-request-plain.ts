import type { z } from 'zod';
import type { openAiChatRequestSchema } from './openai-request.js';

type OpenAiChatBody = z.infer<typeof openAiChatRequestSchema>;

/**
 * The common OpenAI chat request recognised without Zod: messages with string contents, no tools, no
 * tool calls, no `firebreak` extension. Returns the body itself when it is certainly valid under
 * `openAiChatRequestSchema` *and* that schema would return an equal value (no default or transform
 * applies to such a body); otherwise undefined, and the caller parses with the schema, which also words
 * the error. So this check may refuse what the schema accepts, never the reverse: every rule below is
 * the schema's, or stricter. (Zod's parse of this body was 2–3% of the gateway's event loop per call;
 * test/unit/openai-request-plain.test.ts compares the two on generated bodies.)
 */
export function plainChatRequest(body: unknown): OpenAiChatBody | undefined {
  if (!isRecord(body)) return undefined;
  let model = false;
  let messages = false;
  for (const key in body) {
    const v = body[key];
    switch (key) {
      case 'model':
        if (typeof v !== 'string' || v.length < 1 || v.length > 256) return undefined;
        model = true;
        break;
      case 'messages':
        if (!Array.isArray(v) || v.length === 0 || !v.every(plainMessage)) return undefined;
        messages = true;
        break;
      case 'stream':
        if (typeof v !== 'boolean') return undefined;
        break;
      case 'n':
        if (!integerIn(v, 1, 16)) return undefined;
        break;
      case 'max_tokens':
      case 'max_completion_tokens':
        if (v !== null && !integerIn(v, 1, Number.MAX_SAFE_INTEGER)) return undefined;
        break;
      case 'temperature':
        if (v !== null && !numberIn(v, 0, 2)) return undefined;
        break;
      case 'top_p':
        if (v !== null && !numberIn(v, 0, 1)) return undefined;
        break;
      case 'stop':
        if (v !== null && typeof v !== 'string' && !(stringArray(v) && v.length <= 4)) return undefined;
        break;
      case 'user':
      case 'safety_identifier':
        if (typeof v !== 'string' || v.length > 256) return undefined;
        break;
      // Defaults, nested schemas or the extension: left to the schema.
      case 'stream_options':
      case 'tools':
      case 'tool_choice':
      case 'firebreak':
        return undefined;
      default:
        // Passed through to the upstream as the client sent it, as the schema's loose object does.
        break;
    }
  }
  return model && messages ? (body as OpenAiChatBody) : undefined;
}

function plainMessage(m: unknown): boolean {
  if (!isRecord(m)) return false;
  if (m['name'] !== undefined && typeof m['name'] !== 'string') return false;
  switch (m['role']) {
    case 'system':
    case 'developer':
    case 'user':
      return typeof m['content'] === 'string';
    case 'assistant':
      // tool_calls get a default (`type: 'function'`) from the schema: not plain.
      return (
        (m['content'] === undefined || m['content'] === null || typeof m['content'] === 'string') &&
        !('tool_calls' in m)
      );
    case 'tool':
      return (
        typeof m['content'] === 'string' &&
        typeof m['tool_call_id'] === 'string' &&
        m['tool_call_id'].length > 0
      );
    default:
      return false;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function integerIn(v: unknown, min: number, max: number): boolean {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max;
}

function numberIn(v: unknown, min: number, max: number): boolean {
  return typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max;
}

function stringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((s) => typeof s === 'string');
}
