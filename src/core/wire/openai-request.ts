import { z } from 'zod';
import type { ChatMessage, ChatRequest, RetrievedDocument, ToolChoice, ToolDefinition } from '../chat.js';
import { parseWith } from '../validation.js';
import { withFields } from '../with-fields.js';
import { firebreakExtensionSchema, retrievedOf } from './retrieved.js';
import { plainChatRequest } from './openai-request-plain.js';

/**
 * OpenAI Chat Completions request, validated strictly where we read a field and loosely elsewhere:
 * unknown parameters are passed through to OpenAI-compatible upstreams, as the client meant them.
 */
const contentPart = z.looseObject({ type: z.string().min(1) });
const content = z.union([z.string(), z.array(contentPart)]);
const toolCall = z.looseObject({
  id: z.string().min(1),
  type: z.literal('function').default('function'),
  function: z.looseObject({ name: z.string().min(1), arguments: z.string() }),
});

const message = z.discriminatedUnion('role', [
  z.looseObject({ role: z.literal('system'), content, name: z.string().optional() }),
  z.looseObject({ role: z.literal('developer'), content, name: z.string().optional() }),
  z.looseObject({ role: z.literal('user'), content, name: z.string().optional() }),
  z.looseObject({
    role: z.literal('assistant'),
    content: content.nullable().optional(),
    name: z.string().optional(),
    tool_calls: z.array(toolCall).optional(),
  }),
  z.looseObject({ role: z.literal('tool'), content, tool_call_id: z.string().min(1) }),
]);

const tool = z.looseObject({
  type: z.literal('function'),
  function: z.looseObject({
    name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'tool names are 1-64 letters, digits, _ or -'),
    description: z.string().optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
  }),
});

const toolChoice = z.union([
  z.enum(['auto', 'none', 'required']),
  z.looseObject({ type: z.literal('function'), function: z.looseObject({ name: z.string().min(1) }) }),
]);

export const openAiChatRequestSchema = z.looseObject({
  model: z.string().min(1).max(256),
  messages: z.array(message).min(1, 'at least one message is required'),
  stream: z.boolean().optional(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullable().optional(),
  n: z.number().int().min(1).max(16).optional(),
  max_tokens: z.number().int().min(1).nullable().optional(),
  max_completion_tokens: z.number().int().min(1).nullable().optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
  top_p: z.number().min(0).max(1).nullable().optional(),
  stop: z
    .union([z.string(), z.array(z.string()).max(4)])
    .nullable()
    .optional(),
  tools: z.array(tool).max(128).optional(),
  tool_choice: toolChoice.optional(),
  user: z.string().max(256).optional(),
  safety_identifier: z.string().max(256).optional(),
  firebreak: firebreakExtensionSchema,
});

/** Fields we translate; everything else is passed through in `extra`. */
const READ = new Set([
  'model',
  'messages',
  'stream',
  'n',
  'max_tokens',
  'max_completion_tokens',
  'temperature',
  'top_p',
  'stop',
  'tools',
  'tool_choice',
  'user',
  'firebreak',
]);

export interface ParsedOpenAiChat {
  readonly request: ChatRequest;
  readonly retrieved: RetrievedDocument[];
  readonly includeUsage: boolean;
  /** The end user named in the body: OpenAI's newer `safety_identifier`, else `user`. */
  readonly endUser: string | undefined;
}

export function parseOpenAiChat(body: unknown): ParsedOpenAiChat {
  const b = plainChatRequest(body) ?? parseWith(openAiChatRequestSchema, body, 'invalid request');
  const messages: ChatMessage[] = b.messages.map((m): ChatMessage => {
    switch (m.role) {
      case 'assistant':
        return {
          role: 'assistant',
          content: m.content ?? null,
          ...(m.name !== undefined ? { name: m.name } : {}),
          ...(m.tool_calls
            ? {
                toolCalls: m.tool_calls.map((c) => ({
                  id: c.id,
                  name: c.function.name,
                  arguments: c.function.arguments,
                })),
              }
            : {}),
        };
      case 'tool':
        return { role: 'tool', content: m.content, toolCallId: m.tool_call_id };
      case 'developer':
        return { role: 'system', content: m.content };
      default:
        return { role: m.role, content: m.content, ...(m.name !== undefined ? { name: m.name } : {}) };
    }
  });
  const extra: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(b)) if (!READ.has(k)) extra[k] = v;
  const tools: ToolDefinition[] | undefined = b.tools?.map((t) => ({
    name: t.function.name,
    ...(t.function.description !== undefined ? { description: t.function.description } : {}),
    ...(t.function.parameters !== undefined ? { parameters: t.function.parameters } : {}),
  }));
  const choice: ToolChoice | undefined =
    b.tool_choice === undefined
      ? undefined
      : typeof b.tool_choice === 'string'
        ? b.tool_choice
        : { name: b.tool_choice.function.name };
  const maxTokens = b.max_completion_tokens ?? b.max_tokens ?? undefined;
  const stop =
    b.stop === null || b.stop === undefined ? undefined : typeof b.stop === 'string' ? [b.stop] : b.stop;
  const request: ChatRequest = {
    model: b.model,
    messages,
    n: b.n ?? 1,
    stream: b.stream ?? false,
    extra,
    ...(tools ? { tools } : {}),
    ...(choice !== undefined ? { toolChoice: choice } : {}),
    ...(maxTokens !== undefined ? { maxTokens } : {}),
    ...(b.temperature !== null && b.temperature !== undefined ? { temperature: b.temperature } : {}),
    ...(b.top_p !== null && b.top_p !== undefined ? { topP: b.top_p } : {}),
    ...(stop ? { stop } : {}),
    ...(b.user !== undefined ? { user: b.user } : {}),
  };
  return {
    request,
    retrieved: retrievedOf(b.firebreak),
    includeUsage: b.stream_options?.include_usage === true,
    endUser: b.safety_identifier ?? b.user,
  };
}

/** The canonical request as an OpenAI request body (for OpenAI-compatible upstreams). */
export function toOpenAiChatBody(req: ChatRequest): Record<string, unknown> {
  const body: Record<string, unknown> = withFields(req.extra, {
    model: req.model,
    messages: req.messages.map((m) => {
      const out: Record<string, unknown> = { role: m.role, content: m.content };
      if (m.name !== undefined) out['name'] = m.name;
      if (m.toolCallId !== undefined) out['tool_call_id'] = m.toolCallId;
      if (m.toolCalls && m.toolCalls.length > 0)
        out['tool_calls'] = m.toolCalls.map((c) => ({
          id: c.id,
          type: 'function',
          function: { name: c.name, arguments: c.arguments },
        }));
      return out;
    }),
  });
  if (req.n !== 1) body['n'] = req.n;
  if (req.stream) {
    body['stream'] = true;
    // Ask for usage on streams so traces have token counts; the client only sees it if it asked.
    body['stream_options'] = { include_usage: true };
  }
  if (req.maxTokens !== undefined) body['max_tokens'] = req.maxTokens;
  if (req.temperature !== undefined) body['temperature'] = req.temperature;
  if (req.topP !== undefined) body['top_p'] = req.topP;
  if (req.stop) body['stop'] = req.stop;
  if (req.user !== undefined) body['user'] = req.user;
  if (req.tools)
    body['tools'] = req.tools.map((t) => ({
      type: 'function',
      function: {
        name: t.name,
        ...(t.description !== undefined ? { description: t.description } : {}),
        ...(t.parameters !== undefined ? { parameters: t.parameters } : {}),
      },
    }));
  if (req.toolChoice !== undefined)
    body['tool_choice'] =
      typeof req.toolChoice === 'string'
        ? req.toolChoice
        : { type: 'function', function: { name: req.toolChoice.name } };
  return body;
}
