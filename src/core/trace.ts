import type { ErrorCode } from './errors.js';
import type { RetrievedDocument, ToolCall } from './chat.js';
import type { Finding, Taint } from './guards/types.js';
import type { PolicyFailure } from './policy/policy-failure.js';
import type { ToolDecision } from './policy/policy-settings.js';

/** One request through the gateway, as recorded. Content lives in `body`; the columns are what we filter by. */
export type TraceStatus = 'ok' | 'blocked' | 'safe_mode' | 'error';
export const traceStatuses: readonly TraceStatus[] = ['ok', 'blocked', 'safe_mode', 'error'];

export type Endpoint = 'chat.completions' | 'messages' | 'embeddings' | 'tools.authorize';

export interface TraceBody extends TraceNotes {
  /** The request as the client sent it, minus `firebreak` and transport fields, redacted. */
  readonly request: unknown;
  readonly retrieved: readonly RetrievedDocument[];
  /** The canonical response (text and tool calls per choice), redacted. */
  readonly response: unknown;
  readonly toolCalls: readonly ToolCall[];
  readonly toolResults: readonly { readonly toolCallId: string; readonly content: string }[];
  readonly error?: { readonly code: ErrorCode; readonly message: string };
  /** The W3C trace id forwarded upstream in `traceparent`, when it differs from `traceId`. */
  readonly w3cTraceId?: string;
}

/** What the deployed release and the flags did to a call; present only when they did something. */
export interface TraceNotes {
  /** The control-state version (releases + flags) the replica enforced for this call. */
  readonly stateVersion?: number;
  readonly safeMode?: { readonly mode: string; readonly flag: string | null };
  /** Handoffs and other events other parts of Firebreak react to. */
  readonly events?: readonly { readonly type: 'handoff'; readonly at: number }[];
  readonly blockedToolCalls?: readonly ToolCall[];
  readonly removedTools?: readonly { readonly name: string; readonly reason: string }[];
  readonly retrievalDropped?: readonly {
    readonly id: string;
    readonly source: string;
    readonly reason: string;
  }[];
  /**
   * The retrieved documents that passed the gate (given to the model with `retrieval.useInPrompt`, and
   * to the output checks); `redacted` when a guard redacted part of one.
   */
  readonly retrievalKept?: readonly {
    readonly id: string;
    readonly source: string;
    readonly redacted?: true;
  }[];
  /** What the guards found, at every stage (messages never quote the sensitive text). */
  readonly findings?: readonly Finding[];
  /** How each tool call the model made was judged (tool-judge.ts). */
  readonly toolDecisions?: readonly {
    readonly callId: string;
    readonly name: string;
    readonly decision: ToolDecision;
    readonly enforced: ToolDecision;
    readonly engine: string;
    readonly reasons: readonly string[];
    readonly approvalId?: string;
    readonly error?: string;
    /** Why the policy could not decide (the `tool-policy` finding's kind), with `error`. */
    readonly failure?: PolicyFailure;
  }[];
  /** Untrusted content in the conversation (retrieved documents, tool results) and what fired on it. */
  readonly taint?: Taint;
  /** When a kill switch moved the call off the release's first model. */
  readonly modelFallback?: { readonly wanted: string; readonly used: string };
}

export interface TraceRecord {
  readonly id: string;
  readonly traceId: string;
  /** Epoch milliseconds when the request arrived. */
  readonly ts: number;
  readonly app: string;
  readonly env: string;
  readonly userId: string | null;
  readonly tenantId: string | null;
  readonly sessionId: string | null;
  readonly endpoint: Endpoint;
  readonly model: string | null;
  readonly provider: string | null;
  readonly release: string;
  readonly deployment: string | null;
  readonly status: TraceStatus;
  readonly httpStatus: number;
  readonly errorCode: ErrorCode | null;
  readonly stream: boolean;
  readonly latencyMs: number;
  readonly upstreamMs: number | null;
  readonly overheadMs: number;
  readonly ttftMs: number | null;
  readonly promptTokens: number | null;
  readonly completionTokens: number | null;
  readonly body: TraceBody;
}

export interface TraceFilter {
  readonly app?: string;
  readonly env?: string;
  readonly userId?: string;
  readonly tenantId?: string;
  readonly status?: TraceStatus;
  readonly model?: string;
  readonly traceId?: string;
  /** Epoch ms, inclusive. */
  readonly since?: number;
  /** Epoch ms, exclusive. */
  readonly until?: number;
}

export interface TracePageRequest extends TraceFilter {
  readonly limit: number;
  readonly cursor?: TraceCursor;
}

export interface TraceCursor {
  readonly ts: number;
  readonly id: string;
}

export function encodeCursor(c: TraceCursor): string {
  return Buffer.from(`${c.ts}:${c.id}`, 'utf8').toString('base64url');
}

/** Returns undefined for anything that is not a cursor we issued. */
export function decodeCursor(text: string): TraceCursor | undefined {
  const raw = Buffer.from(text, 'base64url').toString('utf8');
  const m = /^(\d{1,16}):([A-Za-z0-9_-]{1,64})$/.exec(raw);
  if (!m?.[1] || !m[2]) return undefined;
  return { ts: Number(m[1]), id: m[2] };
}
