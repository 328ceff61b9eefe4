import { z } from 'zod';
import type { ChatResponse, FinishReason, StreamEvent, ToolCall, WithheldCall } from '../chat.js';
import { FirebreakError, type ErrorCode } from '../errors.js';
import { withheldExtension } from './withheld.js';

/** Anthropic Messages responses and stream events ↔ canonical. */
const stopToFinish: Record<string, FinishReason> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  tool_use: 'tool_calls',
  refusal: 'content_filter',
};
const finishToStop: Record<FinishReason, string> = {
  stop: 'end_turn',
  length: 'max_tokens',
  tool_calls: 'tool_use',
  content_filter: 'refusal',
};

const upstreamMessage = z.looseObject({
  id: z.string().default('msg_upstream'),
  model: z.string().default(''),
  content: z.array(
    z.looseObject({
      type: z.string(),
      text: z.string().optional(),
      id: z.string().optional(),
      name: z.string().optional(),
      input: z.unknown().optional(),
    }),
  ),
  stop_reason: z.string().nullable().optional(),
  usage: z
    .looseObject({ input_tokens: z.number().default(0), output_tokens: z.number().default(0) })
    .optional(),
});

function bad(what: string): FirebreakError {
  return new FirebreakError('upstream_bad_response', `the upstream answered with ${what}`);
}

export function fromAnthropicResponse(json: unknown): ChatResponse {
  const r = upstreamMessage.safeParse(json);
  if (!r.success) throw bad('a body that is not an Anthropic message');
  let text: string | null = null;
  const toolCalls: ToolCall[] = [];
  for (const b of r.data.content) {
    if (b.type === 'text') text = (text ?? '') + (b.text ?? '');
    else if (b.type === 'tool_use')
      toolCalls.push({
        id: b.id ?? `toolu_${toolCalls.length}`,
        name: b.name ?? '',
        arguments: JSON.stringify(b.input ?? {}),
      });
  }
  return {
    id: r.data.id,
    model: r.data.model,
    created: Math.floor(Date.now() / 1000),
    choices: [{ index: 0, text, toolCalls, finishReason: stopToFinish[r.data.stop_reason ?? ''] ?? 'stop' }],
    usage: {
      promptTokens: r.data.usage?.input_tokens ?? 0,
      completionTokens: r.data.usage?.output_tokens ?? 0,
    },
  };
}

const streamEvent = z.looseObject({
  type: z.string(),
  index: z.number().int().optional(),
  message: z
    .looseObject({ usage: z.looseObject({ input_tokens: z.number().optional() }).optional() })
    .optional(),
  content_block: z
    .looseObject({
      type: z.string(),
      id: z.string().optional(),
      name: z.string().optional(),
      text: z.string().optional(),
    })
    .optional(),
  delta: z
    .looseObject({
      type: z.string().optional(),
      text: z.string().optional(),
      partial_json: z.string().optional(),
      stop_reason: z.string().nullable().optional(),
    })
    .optional(),
  usage: z.looseObject({ output_tokens: z.number().optional() }).optional(),
  error: z.looseObject({ type: z.string().optional(), message: z.string().optional() }).optional(),
});

/** Stateful: Anthropic numbers content blocks, we number tool calls. */
export class AnthropicStreamParser {
  private readonly callIndexOfBlock = new Map<number, number>();
  private inputTokens = 0;

  parse(json: unknown): StreamEvent[] {
    const r = streamEvent.safeParse(json);
    if (!r.success) throw bad('a stream event that is not an Anthropic event');
    const e = r.data;
    switch (e.type) {
      case 'message_start':
        this.inputTokens = e.message?.usage?.input_tokens ?? 0;
        return [];
      case 'content_block_start': {
        const blk = e.content_block;
        if (blk?.type === 'tool_use') {
          const callIndex = this.callIndexOfBlock.size;
          this.callIndexOfBlock.set(e.index ?? 0, callIndex);
          return [
            {
              type: 'tool_call',
              index: 0,
              callIndex,
              ...(blk.id ? { id: blk.id } : {}),
              ...(blk.name ? { name: blk.name } : {}),
              argumentsDelta: '',
            },
          ];
        }
        return blk?.type === 'text' && blk.text ? [{ type: 'text', index: 0, delta: blk.text }] : [];
      }
      case 'content_block_delta': {
        if (e.delta?.type === 'text_delta') return [{ type: 'text', index: 0, delta: e.delta.text ?? '' }];
        if (e.delta?.type === 'input_json_delta') {
          const callIndex = this.callIndexOfBlock.get(e.index ?? 0) ?? 0;
          return [{ type: 'tool_call', index: 0, callIndex, argumentsDelta: e.delta.partial_json ?? '' }];
        }
        return [];
      }
      case 'message_delta':
        return [
          { type: 'finish', index: 0, reason: stopToFinish[e.delta?.stop_reason ?? ''] ?? 'stop' },
          {
            type: 'usage',
            usage: { promptTokens: this.inputTokens, completionTokens: e.usage?.output_tokens ?? 0 },
          },
        ];
      case 'error':
        throw new FirebreakError(
          e.error?.type === 'overloaded_error' ? 'upstream_unavailable' : 'upstream_error',
          `the upstream stream failed: ${e.error?.message ?? 'unknown error'}`,
        );
      default:
        return [];
    }
  }
}

function parseArguments(args: string): unknown {
  try {
    return JSON.parse(args);
  } catch {
    return {};
  }
}

export function renderAnthropicResponse(resp: ChatResponse, model: string): Record<string, unknown> {
  const choice = resp.choices[0];
  const content: Record<string, unknown>[] = [];
  if (choice?.text) content.push({ type: 'text', text: choice.text });
  for (const c of choice?.toolCalls ?? [])
    content.push({ type: 'tool_use', id: c.id, name: c.name, input: parseArguments(c.arguments) });
  return {
    id: resp.id.startsWith('msg_') ? resp.id : `msg_${resp.id}`,
    type: 'message',
    role: 'assistant',
    model,
    content,
    stop_reason: finishToStop[choice?.finishReason ?? 'stop'],
    stop_sequence: null,
    usage: { input_tokens: resp.usage.promptTokens, output_tokens: resp.usage.completionTokens },
    ...withheldExtension(choice?.withheld),
  };
}

export interface SseEvent {
  readonly event: string;
  readonly data: Record<string, unknown>;
}

/** Renders canonical stream events as Anthropic SSE events (message_start … message_stop). */
export class AnthropicStreamRenderer {
  private block = -1;
  private blockKind: 'text' | 'tool' | undefined;
  private toolCall = -1;
  private stopReason = 'end_turn';
  private withheld: readonly WithheldCall[] | undefined;
  private outputTokens = 0;
  private started = false;

  constructor(
    private readonly id: string,
    private readonly model: string,
  ) {}

  render(event: StreamEvent): SseEvent[] {
    const out = this.start();
    switch (event.type) {
      case 'text':
        if (event.delta === '') break;
        if (this.blockKind !== 'text') out.push(...this.open('text', { type: 'text', text: '' }));
        out.push({
          event: 'content_block_delta',
          data: {
            type: 'content_block_delta',
            index: this.block,
            delta: { type: 'text_delta', text: event.delta },
          },
        });
        break;
      case 'tool_call':
        if (this.blockKind !== 'tool' || event.callIndex !== this.toolCall) {
          this.toolCall = event.callIndex;
          out.push(
            ...this.open('tool', {
              type: 'tool_use',
              id: event.id ?? `toolu_${event.callIndex}`,
              name: event.name ?? '',
              input: {},
            }),
          );
        }
        if (event.argumentsDelta)
          out.push({
            event: 'content_block_delta',
            data: {
              type: 'content_block_delta',
              index: this.block,
              delta: { type: 'input_json_delta', partial_json: event.argumentsDelta },
            },
          });
        break;
      case 'finish':
        this.stopReason = finishToStop[event.reason];
        this.withheld = event.withheld;
        break;
      case 'usage':
        this.outputTokens = event.usage.completionTokens;
        break;
    }
    return out;
  }

  /** The closing events; call once after the last canonical event. */
  end(): SseEvent[] {
    const out = [...this.start(), ...this.close()];
    out.push({
      event: 'message_delta',
      data: {
        type: 'message_delta',
        delta: { stop_reason: this.stopReason, stop_sequence: null },
        usage: { output_tokens: this.outputTokens },
        ...withheldExtension(this.withheld),
      },
    });
    out.push({ event: 'message_stop', data: { type: 'message_stop' } });
    return out;
  }

  private start(): SseEvent[] {
    if (this.started) return [];
    this.started = true;
    return [
      {
        event: 'message_start',
        data: {
          type: 'message_start',
          message: {
            id: this.id,
            type: 'message',
            role: 'assistant',
            model: this.model,
            content: [],
            stop_reason: null,
            stop_sequence: null,
            usage: { input_tokens: 0, output_tokens: 0 },
          },
        },
      },
    ];
  }

  private open(kind: 'text' | 'tool', contentBlock: Record<string, unknown>): SseEvent[] {
    const out = this.close();
    this.block += 1;
    this.blockKind = kind;
    out.push({
      event: 'content_block_start',
      data: { type: 'content_block_start', index: this.block, content_block: contentBlock },
    });
    return out;
  }

  private close(): SseEvent[] {
    if (this.blockKind === undefined) return [];
    this.blockKind = undefined;
    return [{ event: 'content_block_stop', data: { type: 'content_block_stop', index: this.block } }];
  }
}

const anthropicErrorType: Record<ErrorCode, string> = {
  invalid_json: 'invalid_request_error',
  validation_failed: 'invalid_request_error',
  bad_request: 'invalid_request_error',
  unauthenticated: 'authentication_error',
  forbidden: 'permission_error',
  not_found: 'not_found_error',
  model_not_found: 'not_found_error',
  method_not_allowed: 'invalid_request_error',
  conflict: 'invalid_request_error',
  payload_too_large: 'request_too_large',
  unsupported_media_type: 'invalid_request_error',
  not_supported: 'invalid_request_error',
  input_blocked: 'invalid_request_error',
  output_blocked: 'invalid_request_error',
  upstream_rate_limited: 'rate_limit_error',
  upstream_error: 'api_error',
  upstream_bad_response: 'api_error',
  upstream_unavailable: 'overloaded_error',
  upstream_timeout: 'api_error',
  unavailable: 'api_error',
  internal: 'api_error',
};

/** Anthropic's error body, with our stable code alongside the type. */
export function renderAnthropicError(err: FirebreakError): Record<string, unknown> {
  // An upstream's 4xx is about the client's request, whatever code carried it here.
  const type =
    err.code === 'upstream_error' && err.status < 500
      ? 'invalid_request_error'
      : anthropicErrorType[err.code];
  return { type: 'error', error: { type, message: err.message, code: err.code } };
}
