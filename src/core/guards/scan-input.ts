import { z } from 'zod';
import type { TraceRecord } from '../trace.js';
import type { GuardSet } from './engine.js';
import { stages, type Finding, type GuardContext, type Stage } from './types.js';

/**
 * `firebreak scan`'s formats: what one input line may hold, what one output line says, and which texts of
 * a stored trace are scanned at which stage. Pure, so the CLI, a future API and the tests share it.
 */
export const MAX_SCAN_LINE = 1_000_000;

const scanLineSchema = z.strictObject({
  text: z.string(),
  stage: z.enum(stages).optional(),
  system: z.string().optional(),
  canary: z.union([z.string().min(1), z.array(z.string().min(1)).max(64)]).optional(),
  /** Free-form fields a dataset carries (id, label…) are allowed and ignored. */
  id: z.unknown().optional(),
  label: z.unknown().optional(),
  kind: z.unknown().optional(),
  source: z.unknown().optional(),
  license: z.unknown().optional(),
  category: z.unknown().optional(),
});

export interface ScanItem {
  readonly text: string;
  readonly stage: Stage;
  readonly system?: string;
  readonly canaries: readonly string[];
}

export type ScanFormat = 'auto' | 'jsonl' | 'text';

const BOM = '\uFEFF';
const LEADING_SPACE = /^[\p{Zs}\t\v\f\u2028\u2029]+/u;
const TRAILING_SPACE = /[\p{Zs}\t\v\f\u2028\u2029]+$/u;

/**
 * The input's first line without a byte order mark. Windows editors and tools (Notepad, PowerShell,
 * Excel's "CSV UTF-8") start UTF-8 files with one; it marks the encoding, is no part of the text, and
 * would otherwise break the line's JSON or shift its spans by one. Only the input's first character is
 * one: a U+FEFF anywhere else is a zero-width no-break space, text like any other.
 */
export function withoutBom(firstLine: string): string {
  return firstLine.startsWith(BOM) ? firstLine.slice(1) : firstLine;
}

/**
 * One input line. `auto` reads a line that starts with `{` as JSON and anything else as plain text, so a
 * text file and a JSONL file both work without a flag. Throws a message (not a FirebreakError: the
 * caller writes it as that line's `error`) when the line cannot be read.
 */
export function parseScanLine(raw: string, format: ScanFormat, defaultStage: Stage): ScanItem {
  if (raw.length > MAX_SCAN_LINE) throw new Error(`line is longer than ${MAX_SCAN_LINE} characters`);
  const json = format === 'jsonl' || (format === 'auto' && raw.trimStart().startsWith('{'));
  if (!json) return { text: raw, stage: defaultStage, canaries: [] };
  if (raw.trim() === '') return { text: '', stage: defaultStage, canaries: [] };
  let value: unknown;
  try {
    // JSON's own white space is only space, tab and line ends; a line led or ended by a no-break or
    // other Unicode space (a copy from a web page or a word processor) is still the JSON it looks like.
    // U+FEFF is not a space: it keeps its own message below.
    value = JSON.parse(raw.replace(LEADING_SPACE, '').replace(TRAILING_SPACE, ''));
  } catch (e) {
    // JSON.parse names the mark it stumbled on, and a byte order mark is invisible: say what it is. One
    // starts a line inside the input when BOM-marked files are concatenated (`cat a.jsonl b.jsonl`).
    if (/^[ \t]*\uFEFF/.test(raw))
      throw new Error(
        'not JSON: the line starts with a byte order mark (U+FEFF), dropped only at the start of the input',
      );
    throw new Error(`not JSON: ${(e as Error).message}`);
  }
  const r = scanLineSchema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0];
    const path = issue?.path.join('.') ?? '';
    throw new Error(`${path ? `${path}: ` : ''}${issue?.message ?? 'invalid line'}`);
  }
  const { text, stage, system, canary } = r.data;
  return {
    text,
    stage: stage ?? defaultStage,
    ...(system !== undefined ? { system } : {}),
    canaries: canary === undefined ? [] : typeof canary === 'string' ? [canary] : canary,
  };
}

/** A finding as `firebreak scan` prints it. */
export function findingOut(f: Finding): Record<string, unknown> {
  return {
    detector: f.detector,
    ...(f.kind !== undefined ? { kind: f.kind } : {}),
    class: f.class,
    score: Math.round(f.score * 1000) / 1000,
    action: f.action,
    stage: f.stage,
    ...(f.span ? { span: [f.span.start, f.span.end] } : {}),
    ...(f.owasp ? { owasp: f.owasp } : {}),
    ...(f.severity ? { severity: f.severity } : {}),
    ...(f.location !== undefined ? { location: f.location } : {}),
    message: f.message,
  };
}

export function scanItem(set: GuardSet, item: ScanItem): Finding[] {
  const ctx: GuardContext = {
    stage: item.stage,
    settings: set.settings,
    ...(item.system !== undefined ? { system: item.system } : {}),
    canaries: [...set.settings.canaries, ...item.canaries],
    retrieved: [],
    ownIdentifiers: [],
  };
  return [...set.scan(item.text, ctx).findings];
}

/**
 * A stored trace, rescanned: user turns (input), tool results, retrieved documents, the answer (output)
 * and tool-call arguments. Stored traces are already redacted, so PII and secrets that were redacted on
 * the way in are not found again; injections, leaks and content rules are.
 */
export function scanTrace(set: GuardSet, trace: TraceRecord, releaseSystem = ''): Finding[] {
  const body = trace.body;
  const retrieved = body.retrieved.map((d) => ({ id: d.id, source: d.source, text: d.text }));
  // The release's system prompt and the client's, as the gateway joins them, so checks against the
  // prompt (prompt-injection's) run as they did at call time.
  const system = [releaseSystem, systemOf(body.request)].filter((s) => s !== '').join('\n');
  const ctx = (stage: Stage): GuardContext => ({
    stage,
    settings: set.settings,
    ...(system !== '' ? { system } : {}),
    canaries: set.settings.canaries,
    retrieved,
    ownIdentifiers: [trace.userId, trace.tenantId].filter((v): v is string => v !== null),
  });
  const out: Finding[] = [];
  const run = (text: string, stage: Stage, location: string) => {
    if (text) out.push(...set.scan(text, ctx(stage), location).findings);
  };
  messagesOf(body.request).forEach((m, i) => {
    if (m.role === 'user') run(m.text, 'input', `messages[${i}]`);
    else if (m.role === 'tool') run(m.text, 'tool_result', `messages[${i}]`);
  });
  for (const d of body.retrieved) run(d.text, 'retrieved', `retrieved[${d.source}:${d.id}]`);
  choicesOf(body.response).forEach((text, i) => run(text, 'output', `choices[${i}]`));
  for (const c of body.toolCalls) run(c.arguments, 'tool_call', `tool_call[${c.name}]`);
  return out;
}

/** Messages of a stored request, in either wire format (OpenAI `messages`, Anthropic `messages` + blocks). */
function messagesOf(request: unknown): { role: string; text: string }[] {
  if (request === null || typeof request !== 'object') return [];
  const messages = (request as { messages?: unknown }).messages;
  if (!Array.isArray(messages)) return [];
  return messages.map((m: unknown) => {
    const r = (m ?? {}) as { role?: unknown; content?: unknown };
    const role = typeof r.role === 'string' ? r.role : '';
    return { role: anthropicToolResult(r.content) ? 'tool' : role, text: textOf(r.content) };
  });
}

/** The system prompt a stored request carried: system (and developer) messages, Anthropic's `system`. */
function systemOf(request: unknown): string {
  if (request === null || typeof request !== 'object') return '';
  const parts = [textOf((request as { system?: unknown }).system)];
  for (const m of messagesOf(request)) if (m.role === 'system' || m.role === 'developer') parts.push(m.text);
  return parts.filter((p) => p !== '').join('\n');
}

function anthropicToolResult(content: unknown): boolean {
  return (
    Array.isArray(content) && content.some((p: unknown) => (p as { type?: unknown }).type === 'tool_result')
  );
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((p: unknown) => {
      const part = (p ?? {}) as { type?: unknown; text?: unknown; content?: unknown };
      if (typeof part.text === 'string') return part.text;
      if (part.type === 'tool_result') return textOf(part.content);
      return '';
    })
    .filter((t) => t)
    .join('\n');
}

/** The canonical response's choice texts (`{choices: [{text}]}`), as the recorder stores it. */
function choicesOf(response: unknown): string[] {
  if (response === null || typeof response !== 'object') return [];
  const choices = (response as { choices?: unknown }).choices;
  if (!Array.isArray(choices)) return [];
  return choices.map((c: unknown) => {
    const t = (c as { text?: unknown } | null)?.text;
    return typeof t === 'string' ? t : '';
  });
}
