import type {
  ChatRequest,
  ChatResponse,
  EmbeddingRequest,
  EmbeddingResponse,
  StreamEvent,
} from '../core/chat.js';

/** Per-call context the gateway gives a provider. */
export interface CallContext {
  /** W3C traceparent to forward upstream. */
  readonly traceparent: string;
  /**
   * Aborted when the client goes away, so the upstream call is cancelled too. Only streams carry one:
   * an AbortController per call cost about 2% of the gateway's throughput, and a non-streaming answer
   * is over soon anyway.
   */
  readonly signal: AbortSignal | undefined;
  readonly timeoutMs: number;
}

/**
 * An upstream model. `stream` resolves once the upstream has accepted the call (status 200), so an
 * upstream refusal becomes a normal HTTP error for the client instead of a broken stream.
 */
export interface Provider {
  readonly name: string;
  readonly type: 'openai-compatible' | 'anthropic' | 'simulator';
  chat(req: ChatRequest, ctx: CallContext): Promise<ChatResponse>;
  stream(req: ChatRequest, ctx: CallContext): Promise<AsyncIterable<StreamEvent>>;
  embed(req: EmbeddingRequest, ctx: CallContext): Promise<EmbeddingResponse>;
  /** Models the provider itself knows about (the simulator's); others rely on firebreak.yaml `models`. */
  readonly knownModels: readonly string[];
}
