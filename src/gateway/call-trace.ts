import { performance } from 'node:perf_hooks';
import type { ChatMessage, ChatResponse, Choice, RetrievedDocument, ToolCall } from '../core/chat.js';
import { messageText } from '../core/chat.js';
import type { FirebreakError } from '../core/errors.js';
import type { Endpoint, TraceNotes, TraceRecord, TraceStatus } from '../core/trace.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
import type { GatewayPrincipal } from '../auth/credential-index.js';
import type { RequestIdentity } from './request-identity.js';
import { newTraceRowId } from './request-identity.js';

/** How a call ended; the request side is passed to `finish` separately. */
export interface FinishArgs {
  readonly status: TraceStatus;
  readonly httpStatus: number;
  readonly stream: boolean;
  readonly response?: unknown;
  readonly choices?: readonly Choice[];
  readonly usage?: ChatResponse['usage'];
  readonly error?: FirebreakError;
  readonly overheadMs: number;
}

/**
 * Collects what one gateway call did, then hands a finished TraceRecord to the recorder. Timing: the
 * upstream share is measured around the provider call, everything else is gateway overhead.
 */
export class CallTrace {
  readonly id = newTraceRowId();
  readonly ts = Date.now();
  private readonly t0 = performance.now();
  private upstreamStart = 0;
  upstreamMs: number | null = null;
  ttftMs: number | null = null;
  model: string | null = null;
  provider: string | null = null;
  deployment: string | null = null;
  /** What the release and flags did to this call (safe mode, blocked tools, dropped documents, …). */
  readonly notes: Mutable<TraceNotes> = {};

  constructor(
    readonly endpoint: Endpoint,
    readonly principal: GatewayPrincipal,
    readonly identity: RequestIdentity,
    public release: string,
  ) {}

  elapsed(): number {
    return performance.now() - this.t0;
  }

  upstreamStarted(): void {
    this.upstreamStart = performance.now();
  }

  /** Time from sending upstream until it accepted (non-streaming: until the whole answer). */
  upstreamAnswered(): void {
    this.upstreamMs = performance.now() - this.upstreamStart;
  }

  firstToken(): void {
    this.ttftMs ??= this.elapsed();
  }

  overheadMs(): number {
    return Math.max(0, this.elapsed() - (this.upstreamMs ?? 0));
  }

  finish(
    args: FinishArgs,
    request: unknown,
    retrieved: readonly RetrievedDocument[] = [],
    messages: readonly ChatMessage[] = [],
  ): TraceRecord {
    // Plain loops: this runs once per call on the event loop (filter/map/flatMap showed in the profile).
    const toolResults: { toolCallId: string; content: string }[] = [];
    for (const m of messages)
      if (m.role === 'tool') toolResults.push({ toolCallId: m.toolCallId ?? '', content: messageText(m) });
    const toolCalls: ToolCall[] = [];
    for (const c of args.choices ?? []) for (const t of c.toolCalls) toolCalls.push(t);
    return {
      id: this.id,
      traceId: this.identity.traceId,
      ts: this.ts,
      app: this.principal.app,
      env: this.principal.env,
      userId: this.identity.userId,
      tenantId: this.identity.tenantId,
      sessionId: this.identity.sessionId,
      endpoint: this.endpoint,
      model: this.model,
      provider: this.provider,
      release: this.release,
      deployment: this.deployment,
      status: args.status,
      httpStatus: args.httpStatus,
      errorCode: args.error?.code ?? null,
      stream: args.stream,
      latencyMs: round(this.elapsed()),
      upstreamMs: this.upstreamMs === null ? null : round(this.upstreamMs),
      overheadMs: round(args.overheadMs),
      ttftMs: this.ttftMs === null ? null : round(this.ttftMs),
      promptTokens: args.usage?.promptTokens ?? null,
      completionTokens: args.usage?.completionTokens ?? null,
      body: {
        request,
        retrieved,
        response: args.response ?? null,
        toolCalls,
        toolResults,
        ...(args.error ? { error: { code: args.error.code, message: args.error.message } } : {}),
        ...(this.identity.w3cTraceId !== this.identity.traceId
          ? { w3cTraceId: this.identity.w3cTraceId }
          : {}),
        ...this.notes,
      },
    };
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
