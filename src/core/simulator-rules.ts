import { z } from 'zod';
import { messageText, type ChatRequest, type FinishReason } from './chat.js';

/**
 * The simulator: a deterministic, scriptable upstream model. Rules are tried in order; the first whose
 * `when` matches the conversation decides what happens (`then`). Pure: deciding is separate from
 * performing, so the same script drives the in-process provider and the HTTP simulator server.
 */
const toolCallSchema = z.strictObject({
  name: z.string().min(1),
  arguments: z.union([z.string(), z.record(z.string(), z.unknown())]).default({}),
  id: z.string().optional(),
});

export const simulatorActionSchema = z.strictObject({
  /**
   * Answer text. `{{lastUser}}`, `{{model}}`, `{{toolResult}}` and `{{system}}` (every system message,
   * as a model that leaks its instructions would repeat them) are replaced.
   */
  reply: z.string().optional(),
  /** Stream exactly these chunks (their concatenation is the answer). */
  chunks: z.array(z.string()).optional(),
  toolCalls: z.array(toolCallSchema).optional(),
  finishReason: z.enum(['stop', 'length', 'tool_calls', 'content_filter']).optional(),
  /** Wait before answering (before the first byte when streaming). */
  delayMs: z.number().int().min(0).max(600_000).default(0),
  /** Wait between streamed chunks. */
  chunkDelayMs: z.number().int().min(0).max(60_000).default(0),
  usage: z.strictObject({ prompt: z.number().int().min(0), completion: z.number().int().min(0) }).optional(),
  /** Answer with an HTTP error in the provider's wire format. */
  error: z
    .strictObject({
      status: z.number().int().min(400).max(599),
      message: z.string().default('simulated upstream error'),
      type: z.string().optional(),
      retryAfter: z.number().int().min(0).optional(),
    })
    .optional(),
  /**
   * Misbehave at the transport level: `malformed-json` (a 200 with a body that is not JSON),
   * `cut-stream` (close the connection after `cutAfterChunks` chunks), `hang` (never answer).
   */
  fail: z.enum(['malformed-json', 'cut-stream', 'hang']).optional(),
  cutAfterChunks: z.number().int().min(0).default(1),
});

export const simulatorMatchSchema = z.strictObject({
  /** Case-insensitive substring. */
  contains: z.string().optional(),
  /** Regular expression (JavaScript syntax, case-insensitive). */
  matches: z.string().optional(),
  /** Which text is matched: the last user message (default), any message, or the system prompt. */
  in: z.enum(['last-user', 'any', 'system']).default('last-user'),
  model: z.string().optional(),
  /** Matches only when the request offers tools (true) or offers none (false). */
  hasTools: z.boolean().optional(),
  /** Matches only when the last message is a tool result (true) or is not (false). */
  afterToolResult: z.boolean().optional(),
});

export const simulatorRuleSchema = z.strictObject({
  name: z.string().optional(),
  when: simulatorMatchSchema.default({ in: 'last-user' }),
  then: simulatorActionSchema,
});

export const simulatorConfigSchema = z.strictObject({
  type: z.literal('simulator'),
  rules: z.array(simulatorRuleSchema).default([]),
  /** What to do when no rule matches. */
  default: simulatorActionSchema.default({
    reply: 'Simulated answer to: {{lastUser}}',
    delayMs: 0,
    chunkDelayMs: 0,
    cutAfterChunks: 1,
  }),
  /** Models this simulator answers to (listed by /v1/models). */
  models: z.array(z.string().min(1)).default(['sim-1']),
  /** Words per streamed chunk when `chunks` is not given. */
  wordsPerChunk: z.number().int().min(1).default(2),
});

export type SimulatorConfig = z.infer<typeof simulatorConfigSchema>;
export type SimulatorAction = z.infer<typeof simulatorActionSchema>;
type SimulatorMatch = z.infer<typeof simulatorMatchSchema>;

/** What the simulator will do for one request, fully decided. */
export type SimulatorScript =
  | {
      readonly kind: 'answer';
      readonly rule: string;
      readonly choices: readonly SimulatedChoice[];
      readonly delayMs: number;
      readonly chunkDelayMs: number;
      readonly usage: { readonly promptTokens: number; readonly completionTokens: number };
      readonly cut?: { readonly afterChunks: number };
      readonly malformed?: boolean;
    }
  | {
      readonly kind: 'error';
      readonly rule: string;
      readonly status: number;
      readonly message: string;
      readonly type: string | undefined;
      readonly retryAfter: number | undefined;
      readonly delayMs: number;
    }
  | { readonly kind: 'hang'; readonly rule: string };

export interface SimulatedChoice {
  readonly chunks: readonly string[];
  readonly toolCalls: readonly { readonly id: string; readonly name: string; readonly arguments: string }[];
  readonly finishReason: FinishReason;
}

/** Compiled once per configuration so regexes are not rebuilt per request. */
export interface CompiledSimulator {
  readonly config: SimulatorConfig;
  readonly rules: readonly {
    readonly name: string;
    readonly test: (req: ChatRequest) => boolean;
    readonly then: SimulatorAction;
  }[];
}

export function compileSimulator(config: SimulatorConfig): CompiledSimulator {
  return {
    config,
    rules: config.rules.map((rule, i) => ({
      name: rule.name ?? `rule-${i + 1}`,
      test: compileMatch(rule.when),
      then: rule.then,
    })),
  };
}

function compileMatch(when: SimulatorMatch): (req: ChatRequest) => boolean {
  const needle = when.contains?.toLowerCase();
  const regex = when.matches === undefined ? undefined : new RegExp(when.matches, 'i');
  return (req) => {
    if (when.model !== undefined && when.model !== req.model) return false;
    if (when.hasTools !== undefined && (req.tools?.length ?? 0) > 0 !== when.hasTools) return false;
    if (when.afterToolResult !== undefined && (req.messages.at(-1)?.role === 'tool') !== when.afterToolResult)
      return false;
    if (needle === undefined && regex === undefined) return true;
    const text = selectText(req, when.in);
    if (needle !== undefined && !text.toLowerCase().includes(needle)) return false;
    return regex === undefined || regex.test(text);
  };
}

function selectText(req: ChatRequest, where: SimulatorMatch['in']): string {
  switch (where) {
    case 'last-user':
      return lastOfRole(req, 'user');
    case 'system':
      return req.messages
        .filter((m) => m.role === 'system')
        .map(messageText)
        .join('\n');
    case 'any':
      return req.messages.map(messageText).join('\n');
  }
}

function lastOfRole(req: ChatRequest, role: 'user' | 'tool'): string {
  for (let i = req.messages.length - 1; i >= 0; i--) {
    const m = req.messages[i];
    if (m?.role === role) return messageText(m);
  }
  return '';
}

export function decide(sim: CompiledSimulator, req: ChatRequest): SimulatorScript {
  const hit = sim.rules.find((r) => r.test(req));
  const action = hit?.then ?? sim.config.default;
  const rule = hit?.name ?? 'default';
  if (action.fail === 'hang') return { kind: 'hang', rule };
  if (action.error) {
    return {
      kind: 'error',
      rule,
      status: action.error.status,
      message: action.error.message,
      type: action.error.type,
      retryAfter: action.error.retryAfter,
      delayMs: action.delayMs,
    };
  }
  const text = fill(action.reply ?? (action.chunks ? action.chunks.join('') : ''), req);
  const baseChunks = action.chunks
    ? action.chunks.map((c) => fill(c, req))
    : split(text, sim.config.wordsPerChunk);
  const choices: SimulatedChoice[] = [];
  for (let i = 0; i < req.n; i++) {
    const toolCalls = (action.toolCalls ?? []).map((call, j) => ({
      id: call.id ?? `call_sim_${i}_${j}`,
      name: call.name,
      arguments: typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments),
    }));
    choices.push({
      // Each extra choice is marked so n>1 answers are distinguishable yet deterministic.
      chunks: i === 0 || baseChunks.length === 0 ? baseChunks : [...baseChunks, ` (variant ${i + 1})`],
      toolCalls,
      finishReason: action.finishReason ?? (toolCalls.length > 0 ? 'tool_calls' : 'stop'),
    });
  }
  const completion = choices.reduce((sum, c) => sum + countTokens(c.chunks.join('')), 0);
  return {
    kind: 'answer',
    rule,
    choices,
    delayMs: action.delayMs,
    chunkDelayMs: action.chunkDelayMs,
    usage: {
      promptTokens: action.usage?.prompt ?? countTokens(req.messages.map(messageText).join(' ')),
      completionTokens: action.usage?.completion ?? completion,
    },
    ...(action.fail === 'cut-stream' ? { cut: { afterChunks: action.cutAfterChunks } } : {}),
    ...(action.fail === 'malformed-json' ? { malformed: true } : {}),
  };
}

function fill(template: string, req: ChatRequest): string {
  if (!template.includes('{{')) return template;
  return template
    .replaceAll('{{lastUser}}', lastOfRole(req, 'user'))
    .replaceAll('{{toolResult}}', lastOfRole(req, 'tool'))
    .replaceAll('{{system}}', selectText(req, 'system'))
    .replaceAll('{{model}}', req.model);
}

function split(text: string, wordsPerChunk: number): string[] {
  if (text === '') return [];
  const words = text.split(/(?<= )/);
  const chunks: string[] = [];
  for (let i = 0; i < words.length; i += wordsPerChunk)
    chunks.push(words.slice(i, i + wordsPerChunk).join(''));
  return chunks;
}

/** A rough, deterministic token count (about four characters a token), honest enough for a simulator. */
export function countTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/** Deterministic embedding: a unit vector derived from the text's FNV-1a hash stream. */
export function simulatedEmbedding(text: string, dimensions: number): number[] {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  const v: number[] = [];
  for (let i = 0; i < dimensions; i++) {
    h = Math.imul(h ^ (i + 1), 0x01000193) >>> 0;
    v.push(h / 0xffffffff - 0.5);
  }
  const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0)) || 1;
  return v.map((x) => x / norm);
}
