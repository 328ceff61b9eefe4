import { z } from 'zod';
import type { ChatResponse, Choice, FinishReason, StreamEvent, Usage } from '../chat.js';
import { FirebreakError, type ErrorCode } from '../errors.js';
import { withFields } from '../with-fields.js';
import { withheldExtension } from './withheld.js';

/** Upstream OpenAI responses, validated just enough that a malformed one is an error, not a crash. */
const upstreamToolCall = z.looseObject({
  id: z.string().optional(),
  index: z.number().int().optional(),
  function: z.looseObject({ name: z.string().optional(), arguments: z.string().optional() }).optional(),
});
const usageSchema = z
  .looseObject({ prompt_tokens: z.number().optional(), completion_tokens: z.number().optional() })
  .nullable()
  .optional();
const finish = z.string().nullable().optional();

const upstreamChunk = z.looseObject({
  choices: z
    .array(
      z.looseObject({
        index: z.number().int().default(0),
        delta: z
          .looseObject({
            content: z.string().nullable().optional(),
            tool_calls: z.array(upstreamToolCall).nullable().optional(),
          })
          .default({}),
        finish_reason: finish,
      }),
    )
    .default([]),
  usage: usageSchema,
});

function toFinish(reason: string | null | undefined): FinishReason {
  switch (reason) {
    case 'length':
    case 'tool_calls':
    case 'content_filter':
      return reason;
    case 'function_call':
      return 'tool_calls';
    default:
      return 'stop';
  }
}

function toUsage(u: z.infer<typeof usageSchema>): Usage {
  return { promptTokens: u?.prompt_tokens ?? 0, completionTokens: u?.completion_tokens ?? 0 };
}

function badResponse(what: string): FirebreakError {
  return new FirebreakError('upstream_bad_response', `the upstream answered with ${what}`);
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const optional = (v: unknown, type: 'string' | 'number') => v === undefined || typeof v === type;
const nullable = (v: unknown, type: 'string' | 'number') => v === null || optional(v, type);
const optionalInt = (v: unknown) => v === undefined || Number.isSafeInteger(v);

function isToolCall(t: unknown): boolean {
  if (!isObject(t) || !optional(t['id'], 'string') || !optionalInt(t['index'])) return false;
  const f = t['function'];
  return (
    f === undefined || (isObject(f) && optional(f['name'], 'string') && optional(f['arguments'], 'string'))
  );
}

function isChoice(c: unknown): boolean {
  if (!isObject(c) || !optionalInt(c['index']) || !nullable(c['finish_reason'], 'string')) return false;
  const m = c['message'];
  if (!isObject(m) || !nullable(m['content'], 'string')) return false;
  const calls = m['tool_calls'];
  return calls === undefined || calls === null || (Array.isArray(calls) && calls.every(isToolCall));
}

function isUsage(u: unknown): boolean {
  return (
    u === undefined ||
    u === null ||
    (isObject(u) && optional(u['prompt_tokens'], 'number') && optional(u['completion_tokens'], 'number'))
  );
}

/**
 * The upstream's chat completion, checked by hand rather than by a Zod schema: the same rules (extra
 * fields allowed; what is read must have the right type), at a fraction of the cost on every call.
 */
function isChatCompletion(r: unknown): r is UpstreamResponse {
  return (
    isObject(r) &&
    optional(r['id'], 'string') &&
    optional(r['model'], 'string') &&
    optional(r['created'], 'number') &&
    Array.isArray(r['choices']) &&
    r['choices'].every(isChoice) &&
    isUsage(r['usage'])
  );
}

interface UpstreamResponse {
  readonly id?: string;
  readonly model?: string;
  readonly created?: number;
  readonly choices: readonly {
    readonly index?: number;
    readonly message: {
      readonly content?: string | null;
      readonly tool_calls?: readonly z.infer<typeof upstreamToolCall>[] | null;
    };
    readonly finish_reason?: string | null;
  }[];
  readonly usage?: z.infer<typeof usageSchema>;
}

export function fromOpenAiResponse(json: unknown): ChatResponse {
  if (!isChatCompletion(json)) throw badResponse('a body that is not a chat completion');
  const choices: Choice[] = json.choices.map((c) => ({
    index: c.index ?? 0,
    text: c.message.content ?? null,
    toolCalls: (c.message.tool_calls ?? []).map((t, i) => ({
      id: t.id ?? `call_${i}`,
      name: t.function?.name ?? '',
      arguments: t.function?.arguments ?? '',
    })),
    finishReason: toFinish(c.finish_reason),
  }));
  return {
    id: json.id ?? 'chatcmpl-upstream',
    model: json.model ?? '',
    created: json.created ?? 0,
    choices,
    usage: toUsage(json.usage),
  };
}

export function fromOpenAiChunk(json: unknown): StreamEvent[] {
  const r = upstreamChunk.safeParse(json);
  if (!r.success) throw badResponse('a stream chunk that is not a chat completion chunk');
  const events: StreamEvent[] = [];
  for (const c of r.data.choices) {
    if (c.delta.content) events.push({ type: 'text', index: c.index, delta: c.delta.content });
    for (const [i, t] of (c.delta.tool_calls ?? []).entries()) {
      events.push({
        type: 'tool_call',
        index: c.index,
        callIndex: t.index ?? i,
        ...(t.id ? { id: t.id } : {}),
        ...(t.function?.name ? { name: t.function.name } : {}),
        argumentsDelta: t.function?.arguments ?? '',
      });
    }
    if (c.finish_reason) events.push({ type: 'finish', index: c.index, reason: toFinish(c.finish_reason) });
  }
  if (r.data.usage) events.push({ type: 'usage', usage: toUsage(r.data.usage) });
  return events;
}

export function renderOpenAiResponse(resp: ChatResponse, model: string): Record<string, unknown> {
  return {
    id: resp.id,
    object: 'chat.completion',
    created: resp.created,
    model,
    choices: resp.choices.map((c) => ({
      index: c.index,
      message: {
        role: 'assistant',
        content: c.text,
        refusal: null,
        ...(c.toolCalls.length > 0
          ? {
              tool_calls: c.toolCalls.map((t) => ({
                id: t.id,
                type: 'function',
                function: { name: t.name, arguments: t.arguments },
              })),
            }
          : {}),
      },
      logprobs: null,
      finish_reason: c.finishReason,
      ...withheldExtension(c.withheld),
    })),
    usage: {
      prompt_tokens: resp.usage.promptTokens,
      completion_tokens: resp.usage.completionTokens,
      total_tokens: resp.usage.promptTokens + resp.usage.completionTokens,
    },
  };
}

/** Renders canonical stream events as OpenAI `chat.completion.chunk` objects. */
export class OpenAiChunkRenderer {
  private readonly started = new Set<number>();

  constructor(
    private readonly id: string,
    private readonly created: number,
    private readonly model: string,
    private readonly includeUsage: boolean,
  ) {}

  render(event: StreamEvent): Record<string, unknown>[] {
    const out: Record<string, unknown>[] = [];
    if (event.type === 'usage') {
      if (this.includeUsage)
        out.push(
          this.chunk([], {
            prompt_tokens: event.usage.promptTokens,
            completion_tokens: event.usage.completionTokens,
            total_tokens: event.usage.promptTokens + event.usage.completionTokens,
          }),
        );
      return out;
    }
    const first = !this.started.has(event.index);
    this.started.add(event.index);
    const role = first ? { role: 'assistant' } : {};
    switch (event.type) {
      case 'text':
        out.push(this.choice(event.index, withFields(role, { content: event.delta }), null));
        break;
      case 'tool_call':
        out.push(
          this.choice(
            event.index,
            withFields(role, {
              tool_calls: [
                {
                  index: event.callIndex,
                  ...(event.id ? { id: event.id, type: 'function' } : {}),
                  function: event.name
                    ? { name: event.name, arguments: event.argumentsDelta }
                    : { arguments: event.argumentsDelta },
                },
              ],
            }),
            null,
          ),
        );
        break;
      case 'finish':
        out.push(
          this.choice(
            event.index,
            first ? { role: 'assistant', content: '' } : {},
            event.reason,
            withheldExtension(event.withheld),
          ),
        );
        break;
    }
    return out;
  }

  private choice(
    index: number,
    delta: Record<string, unknown>,
    finishReason: FinishReason | null,
    extension: Record<string, unknown> = {},
  ) {
    return this.chunk([{ index, delta, logprobs: null, finish_reason: finishReason, ...extension }]);
  }

  private chunk(choices: unknown[], usage?: Record<string, number>): Record<string, unknown> {
    return {
      id: this.id,
      object: 'chat.completion.chunk',
      created: this.created,
      model: this.model,
      choices,
      ...(usage ? { usage } : this.includeUsage ? { usage: null } : {}),
    };
  }
}

const openAiErrorType: Record<ErrorCode, string> = {
  invalid_json: 'invalid_request_error',
  validation_failed: 'invalid_request_error',
  bad_request: 'invalid_request_error',
  unauthenticated: 'authentication_error',
  forbidden: 'permission_error',
  not_found: 'invalid_request_error',
  model_not_found: 'invalid_request_error',
  method_not_allowed: 'invalid_request_error',
  conflict: 'invalid_request_error',
  payload_too_large: 'invalid_request_error',
  unsupported_media_type: 'invalid_request_error',
  not_supported: 'invalid_request_error',
  input_blocked: 'invalid_request_error',
  output_blocked: 'invalid_request_error',
  upstream_rate_limited: 'rate_limit_error',
  upstream_error: 'api_error',
  upstream_bad_response: 'api_error',
  upstream_unavailable: 'api_error',
  upstream_timeout: 'api_error',
  unavailable: 'api_error',
  internal: 'api_error',
};

/** OpenAI's error body: `{"error": {"message", "type", "param", "code"}}` with our stable code. */
export function renderOpenAiError(err: FirebreakError): Record<string, unknown> {
  return {
    error: {
      message: err.message,
      // An upstream's 4xx is about the client's request, whatever code carried it here.
      type:
        err.code === 'upstream_error' && err.status < 500
          ? 'invalid_request_error'
          : openAiErrorType[err.code],
      param: err.details.path ?? null,
      code: err.code,
    },
  };
}
