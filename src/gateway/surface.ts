import type { ChatResponse, StreamEvent } from '../core/chat.js';
import type { FirebreakError } from '../core/errors.js';
import type { Endpoint } from '../core/trace.js';
import {
  AnthropicStreamRenderer,
  renderAnthropicError,
  renderAnthropicResponse,
} from '../core/wire/anthropic-response.js';
import {
  OpenAiChunkRenderer,
  renderOpenAiError,
  renderOpenAiResponse,
} from '../core/wire/openai-response.js';

/** A wire format the gateway answers in: how it renders answers, stream events and errors. */
export interface Surface {
  readonly endpoint: Endpoint;
  renderResponse(resp: ChatResponse, clientModel: string): unknown;
  renderError(err: FirebreakError): unknown;
  streamWriter(id: string, clientModel: string, includeUsage: boolean): StreamTextRenderer;
}

/** Turns canonical events into SSE text. */
export interface StreamTextRenderer {
  event(e: StreamEvent): string;
  end(): string;
  /** An error after the stream has started, in the format's own in-stream error form. */
  error(err: FirebreakError): string;
}

const data = (obj: unknown) => `data: ${JSON.stringify(obj)}\n\n`;

export const openAiSurface: Surface = {
  endpoint: 'chat.completions',
  renderResponse: renderOpenAiResponse,
  renderError: renderOpenAiError,
  streamWriter(id, model, includeUsage) {
    const r = new OpenAiChunkRenderer(id, Math.floor(Date.now() / 1000), model, includeUsage);
    return {
      event: (e) => r.render(e).map(data).join(''),
      end: () => 'data: [DONE]\n\n',
      // The OpenAI SDKs raise an APIError for a data line carrying `error`.
      error: (err) => data(renderOpenAiError(err)),
    };
  },
};

export const anthropicSurface: Surface = {
  endpoint: 'messages',
  renderResponse: renderAnthropicResponse,
  renderError: renderAnthropicError,
  streamWriter(id, model) {
    const r = new AnthropicStreamRenderer(id, model);
    const sse = (events: { event: string; data: unknown }[]) =>
      events.map((e) => `event: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`).join('');
    return {
      event: (e) => sse(r.render(e)),
      end: () => sse(r.end()),
      error: (err) => `event: error\ndata: ${JSON.stringify(renderAnthropicError(err))}\n\n`,
    };
  },
};

/** The surface a /v1 path answers in: Anthropic's for /v1/messages, OpenAI's for the rest. */
export function surfaceForPath(path: string): Surface {
  return path.startsWith('/v1/messages') ? anthropicSurface : openAiSurface;
}
