import { z } from 'zod';
import type { ChatMessage, ChatRequest, ContentPart, RetrievedDocument, ToolChoice } from '../chat.js';
import { messageText } from '../chat.js';
import { FirebreakError } from '../errors.js';
import { parseWith } from '../validation.js';
import { firebreakExtensionSchema, retrievedOf } from './retrieved.js';

/** Anthropic Messages API request ↔ canonical request. */
const textBlock = z.looseObject({ type: z.literal('text'), text: z.string() });
const toolUseBlock = z.looseObject({
  type: z.literal('tool_use'),
  id: z.string().min(1),
  name: z.string().min(1),
  input: z.unknown(),
});
const toolResultBlock = z.looseObject({
  type: z.literal('tool_result'),
  tool_use_id: z.string().min(1),
  content: z.union([z.string(), z.array(z.looseObject({ type: z.string() }))]).optional(),
  is_error: z.boolean().optional(),
});
const otherBlock = z.looseObject({ type: z.enum(['image', 'document', 'thinking', 'redacted_thinking']) });
const block = z.discriminatedUnion('type', [textBlock, toolUseBlock, toolResultBlock, otherBlock]);

export const anthropicRequestSchema = z.looseObject({
  model: z.string().min(1).max(256),
  max_tokens: z.number().int().min(1),
  messages: z
    .array(
      z.looseObject({ role: z.enum(['user', 'assistant']), content: z.union([z.string(), z.array(block)]) }),
    )
    .min(1, 'at least one message is required'),
  system: z.union([z.string(), z.array(textBlock)]).optional(),
  stream: z.boolean().optional(),
  temperature: z.number().min(0).max(1).optional(),
  top_p: z.number().min(0).max(1).optional(),
  top_k: z.number().int().min(0).optional(),
  stop_sequences: z.array(z.string()).optional(),
  tools: z
    .array(
      z.looseObject({
        name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'tool names are 1-64 letters, digits, _ or -'),
        description: z.string().optional(),
        input_schema: z.record(z.string(), z.unknown()),
      }),
    )
    .max(128)
    .optional(),
  tool_choice: z
    .looseObject({ type: z.enum(['auto', 'any', 'tool', 'none']), name: z.string().optional() })
    .optional(),
  metadata: z.looseObject({ user_id: z.string().max(256).optional() }).optional(),
  firebreak: firebreakExtensionSchema,
});

export interface ParsedAnthropic {
  readonly request: ChatRequest;
  readonly retrieved: RetrievedDocument[];
  /** `metadata.user_id`. */
  readonly endUser: string | undefined;
}

export function parseAnthropic(body: unknown): ParsedAnthropic {
  const b = parseWith(anthropicRequestSchema, body, 'invalid request');
  const messages: ChatMessage[] = [];
  if (b.system !== undefined)
    messages.push({
      role: 'system',
      content: typeof b.system === 'string' ? b.system : b.system.map((t) => t.text).join('\n'),
    });
  for (const m of b.messages) {
    if (typeof m.content === 'string') {
      messages.push({ role: m.role, content: m.content });
      continue;
    }
    const parts: ContentPart[] = [];
    const toolCalls: { id: string; name: string; arguments: string }[] = [];
    for (const blk of m.content) {
      if (blk.type === 'text') parts.push({ type: 'text', text: blk.text });
      else if (blk.type === 'tool_use')
        toolCalls.push({ id: blk.id, name: blk.name, arguments: JSON.stringify(blk.input ?? {}) });
      else if (blk.type === 'tool_result') {
        const content =
          blk.content === undefined
            ? ''
            : typeof blk.content === 'string'
              ? blk.content
              : blocksText(blk.content);
        messages.push({ role: 'tool', content, toolCallId: blk.tool_use_id });
      } else parts.push(blk);
    }
    if (parts.length > 0 || toolCalls.length > 0 || m.role === 'assistant')
      messages.push({ role: m.role, content: parts, ...(toolCalls.length > 0 ? { toolCalls } : {}) });
  }
  const choice: ToolChoice | undefined = !b.tool_choice
    ? undefined
    : b.tool_choice.type === 'any'
      ? 'required'
      : b.tool_choice.type === 'tool'
        ? { name: b.tool_choice.name ?? '' }
        : b.tool_choice.type;
  const request: ChatRequest = {
    model: b.model,
    messages,
    n: 1,
    stream: b.stream ?? false,
    maxTokens: b.max_tokens,
    extra: b.top_k !== undefined ? { top_k: b.top_k } : {},
    ...(b.temperature !== undefined ? { temperature: b.temperature } : {}),
    ...(b.top_p !== undefined ? { topP: b.top_p } : {}),
    ...(b.stop_sequences ? { stop: b.stop_sequences } : {}),
    ...(b.tools
      ? {
          tools: b.tools.map((t) => ({
            name: t.name,
            parameters: t.input_schema,
            ...(t.description !== undefined ? { description: t.description } : {}),
          })),
        }
      : {}),
    ...(choice !== undefined ? { toolChoice: choice } : {}),
    ...(b.metadata?.user_id !== undefined ? { user: b.metadata.user_id } : {}),
  };
  return { request, retrieved: retrievedOf(b.firebreak), endUser: b.metadata?.user_id };
}

function blocksText(blocks: readonly Record<string, unknown>[]): string {
  return blocks
    .filter((x) => x['type'] === 'text' && typeof x['text'] === 'string')
    .map((x) => x['text'] as string)
    .join('\n');
}

function parseArguments(args: string): unknown {
  try {
    return JSON.parse(args);
  } catch {
    return {};
  }
}

/** Canonical request → Anthropic body. System messages are lifted out; tool results become user blocks. */
export function toAnthropicBody(req: ChatRequest, defaultMaxTokens: number): Record<string, unknown> {
  const system = req.messages
    .filter((m) => m.role === 'system')
    .map(messageText)
    .join('\n');
  const messages: { role: 'user' | 'assistant'; content: Record<string, unknown>[] }[] = [];
  const push = (role: 'user' | 'assistant', blocks: Record<string, unknown>[]) => {
    const last = messages.at(-1);
    // Anthropic wants alternating roles: merge consecutive same-role messages (e.g. several tool results).
    if (last?.role === role) last.content.push(...blocks);
    else messages.push({ role, content: blocks });
  };
  for (const m of req.messages) {
    if (m.role === 'system') continue;
    if (m.role === 'tool') {
      push('user', [{ type: 'tool_result', tool_use_id: m.toolCallId ?? '', content: messageText(m) }]);
      continue;
    }
    const blocks = contentBlocks(m.content);
    for (const c of m.toolCalls ?? [])
      blocks.push({ type: 'tool_use', id: c.id, name: c.name, input: parseArguments(c.arguments) });
    push(m.role, blocks);
  }
  const body: Record<string, unknown> = {
    model: req.model,
    max_tokens: req.maxTokens ?? defaultMaxTokens,
    messages,
  };
  if (system) body['system'] = system;
  if (req.stream) body['stream'] = true;
  if (req.temperature !== undefined) body['temperature'] = Math.min(req.temperature, 1);
  if (req.topP !== undefined) body['top_p'] = req.topP;
  if (typeof req.extra['top_k'] === 'number') body['top_k'] = req.extra['top_k'];
  if (req.stop) body['stop_sequences'] = req.stop;
  if (req.user !== undefined) body['metadata'] = { user_id: req.user };
  if (req.tools)
    body['tools'] = req.tools.map((t) => ({
      name: t.name,
      input_schema: t.parameters ?? { type: 'object', properties: {} },
      ...(t.description !== undefined ? { description: t.description } : {}),
    }));
  if (req.toolChoice !== undefined) {
    const c = req.toolChoice;
    body['tool_choice'] =
      typeof c === 'string' ? { type: c === 'required' ? 'any' : c } : { type: 'tool', name: c.name };
  }
  return body;
}

function contentBlocks(content: ChatMessage['content']): Record<string, unknown>[] {
  if (content === null) return [];
  if (typeof content === 'string') return content === '' ? [] : [{ type: 'text', text: content }];
  return content.map((part) => {
    if (part['type'] === 'text') return { type: 'text', text: part['text'] };
    if (part['type'] === 'image' || part['type'] === 'document') return { ...part };
    throw new FirebreakError(
      'not_supported',
      `content part type "${String(part['type'])}" cannot be sent to an Anthropic upstream`,
    );
  });
}
