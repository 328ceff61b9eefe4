/**
 * The canonical chat model every surface (OpenAI, Anthropic wire formats) and every provider translates
 * to and from. Kept close to the OpenAI shape because most upstreams speak it, so the common path
 * (OpenAI client → OpenAI-compatible upstream) is a near-identity mapping.
 */
export type Role = 'system' | 'user' | 'assistant' | 'tool';

export interface ToolCall {
  readonly id: string;
  readonly name: string;
  /** JSON text exactly as the model produced it (it may not be valid JSON: models make mistakes). */
  readonly arguments: string;
}

/** OpenAI-style content parts (text, image_url, …) are kept as they are for upstreams that accept them. */
export type ContentPart =
  { readonly type: 'text'; readonly text: string } | Readonly<Record<string, unknown>>;

export interface ChatMessage {
  readonly role: Role;
  readonly content: string | readonly ContentPart[] | null;
  readonly name?: string;
  readonly toolCalls?: readonly ToolCall[];
  /** For role `tool`: the call this message answers. */
  readonly toolCallId?: string;
}

export interface ToolDefinition {
  readonly name: string;
  readonly description?: string;
  /** JSON Schema of the arguments. */
  readonly parameters?: Readonly<Record<string, unknown>>;
}

export type ToolChoice = 'auto' | 'none' | 'required' | { readonly name: string };

export interface RetrievedDocument {
  readonly id: string;
  readonly source: string;
  readonly text: string;
  readonly labels: readonly string[];
}

export interface ChatRequest {
  /** The upstream model name (already resolved from the client's model alias). */
  readonly model: string;
  readonly messages: readonly ChatMessage[];
  readonly tools?: readonly ToolDefinition[];
  readonly toolChoice?: ToolChoice;
  readonly maxTokens?: number;
  readonly temperature?: number;
  readonly topP?: number;
  readonly stop?: readonly string[];
  readonly n: number;
  readonly stream: boolean;
  readonly user?: string;
  /** Other OpenAI parameters (seed, response_format, …) passed through to OpenAI-compatible upstreams. */
  readonly extra: Readonly<Record<string, unknown>>;
}

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter';

export interface Choice {
  readonly index: number;
  readonly text: string | null;
  readonly toolCalls: readonly ToolCall[];
  readonly finishReason: FinishReason;
  /** Tool calls the gateway took out of this choice (tool-gate.ts); absent when none. */
  readonly withheld?: readonly WithheldCall[];
}

/**
 * A tool call the gateway took out of an answer, denied or held for approval. The client reads a notice
 * in the text instead of the call; this is the same in a form a program can act on (poll the approval,
 * retry once it is approved), rendered as `firebreak.withheld_tool_calls` on the wire.
 */
export interface WithheldCall {
  readonly id: string;
  readonly name: string;
  readonly decision: 'deny' | 'require-approval';
  /** The approval holding the call (`require-approval`), or the one an operator denied. */
  readonly approvalId?: string;
  readonly reasons: readonly string[];
}

export interface Usage {
  readonly promptTokens: number;
  readonly completionTokens: number;
}

export interface ChatResponse {
  readonly id: string;
  readonly model: string;
  readonly created: number;
  readonly choices: readonly Choice[];
  readonly usage: Usage;
}

/** Streaming events, provider-neutral. Tool-call argument text arrives in pieces, like on the wire. */
export type StreamEvent =
  | { readonly type: 'text'; readonly index: number; readonly delta: string }
  | {
      readonly type: 'tool_call';
      readonly index: number;
      readonly callIndex: number;
      readonly id?: string;
      readonly name?: string;
      readonly argumentsDelta: string;
    }
  | {
      readonly type: 'finish';
      readonly index: number;
      readonly reason: FinishReason;
      /** Tool calls of this choice the gateway took out (the stream's tool gate sets it). */
      readonly withheld?: readonly WithheldCall[];
    }
  | { readonly type: 'usage'; readonly usage: Usage };

export interface EmbeddingRequest {
  readonly model: string;
  readonly input: readonly string[];
  readonly dimensions?: number;
  readonly user?: string;
}

export interface EmbeddingResponse {
  readonly model: string;
  readonly vectors: readonly (readonly number[])[];
  readonly usage: { readonly promptTokens: number };
}

/** Plain text of a message, for matching and recording: text parts joined, other parts ignored. */
export function messageText(message: Pick<ChatMessage, 'content'>): string {
  const { content } = message;
  if (content === null) return '';
  if (typeof content === 'string') return content;
  let out = '';
  for (const part of content) {
    if (part['type'] === 'text' && typeof part['text'] === 'string') out += (out ? '\n' : '') + part['text'];
  }
  return out;
}

/** Accumulates stream events into the choices a non-streaming call would have returned. */
export class StreamAccumulator {
  private readonly texts = new Map<number, string>();
  private readonly calls = new Map<number, Map<number, { id: string; name: string; arguments: string }>>();
  private readonly finish = new Map<number, FinishReason>();
  private readonly withheld = new Map<number, readonly WithheldCall[]>();
  usage: Usage = { promptTokens: 0, completionTokens: 0 };

  add(event: StreamEvent): void {
    switch (event.type) {
      case 'text':
        this.texts.set(event.index, (this.texts.get(event.index) ?? '') + event.delta);
        break;
      case 'tool_call': {
        let byIndex = this.calls.get(event.index);
        if (!byIndex) {
          byIndex = new Map<number, { id: string; name: string; arguments: string }>();
          this.calls.set(event.index, byIndex);
        }
        const call = byIndex.get(event.callIndex) ?? { id: '', name: '', arguments: '' };
        if (event.id) call.id = event.id;
        if (event.name) call.name = event.name;
        call.arguments += event.argumentsDelta;
        byIndex.set(event.callIndex, call);
        break;
      }
      case 'finish':
        this.finish.set(event.index, event.reason);
        if (event.withheld) this.withheld.set(event.index, event.withheld);
        break;
      case 'usage':
        this.usage = event.usage;
        break;
    }
  }

  choices(): Choice[] {
    const indexes = new Set([...this.texts.keys(), ...this.calls.keys(), ...this.finish.keys()]);
    return [...indexes]
      .sort((a, b) => a - b)
      .map((index) => {
        const withheld = this.withheld.get(index);
        return {
          index,
          text: this.texts.get(index) ?? null,
          toolCalls: [...(this.calls.get(index)?.entries() ?? [])]
            .sort(([a], [b]) => a - b)
            .map(([, c]) => c),
          finishReason: this.finish.get(index) ?? 'stop',
          ...(withheld ? { withheld } : {}),
        };
      });
  }
}
