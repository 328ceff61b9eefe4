import type { ChatRequest, StreamEvent } from '../core/chat.js';
import type { ProviderConfig } from '../core/config.js';
import { fromOpenAiEmbedding, toOpenAiEmbeddingBody } from '../core/wire/openai-embeddings.js';
import { toOpenAiChatBody } from '../core/wire/openai-request.js';
import { fromOpenAiChunk, fromOpenAiResponse } from '../core/wire/openai-response.js';
import { withFields } from '../core/with-fields.js';
import type { CallContext, Provider } from './provider.js';
import { exchangeJson, postJson, readSse, type UpstreamCall } from './upstream-http.js';

type Config = Extract<ProviderConfig, { type: 'openai-compatible' }>;

/** Any server speaking the OpenAI API: OpenAI itself, Azure-style proxies, Ollama, vLLM, LM Studio… */
export function openAiCompatibleProvider(name: string, config: Config): Provider {
  const base = config.baseUrl.endsWith('/') ? config.baseUrl : `${config.baseUrl}/`;
  const label = `provider "${name}"`;
  // Built once, not per call: URL parsing and the header spread showed up in the request-path profile.
  const urls = {
    'chat/completions': new URL('chat/completions', base),
    embeddings: new URL('embeddings', base),
  };
  const fixedHeaders: Record<string, string> = {
    ...config.headers,
    ...(config.apiKey ? { authorization: `Bearer ${config.apiKey}` } : {}),
  };
  const call = (path: keyof typeof urls, body: unknown, ctx: CallContext): UpstreamCall => ({
    url: urls[path],
    headers: withFields(fixedHeaders, { traceparent: ctx.traceparent }),
    body,
    signal: ctx.signal,
    timeoutMs: config.timeoutMs ?? ctx.timeoutMs,
    label,
  });

  return {
    name,
    type: 'openai-compatible',
    knownModels: [],
    async chat(req, ctx) {
      const c = call('chat/completions', toOpenAiChatBody(req), ctx);
      return fromOpenAiResponse(await exchangeJson(c));
    },
    async stream(req: ChatRequest, ctx) {
      const c = call('chat/completions', toOpenAiChatBody(req), ctx);
      const res = await postJson(c);
      return (async function* (): AsyncGenerator<StreamEvent> {
        for await (const { data } of readSse(res, c)) yield* fromOpenAiChunk(data);
      })();
    },
    async embed(req, ctx) {
      const c = call('embeddings', toOpenAiEmbeddingBody(req), ctx);
      return fromOpenAiEmbedding(await exchangeJson(c));
    },
  };
}
