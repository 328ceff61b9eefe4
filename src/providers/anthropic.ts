import { withFields } from '../core/with-fields.js';
import type { ChatResponse, StreamEvent } from '../core/chat.js';
import type { ProviderConfig } from '../core/config.js';
import { FirebreakError } from '../core/errors.js';
import { toAnthropicBody } from '../core/wire/anthropic-request.js';
import { AnthropicStreamParser, fromAnthropicResponse } from '../core/wire/anthropic-response.js';
import type { CallContext, Provider } from './provider.js';
import { exchangeJson, postJson, readSse, type UpstreamCall } from './upstream-http.js';

type Config = Extract<ProviderConfig, { type: 'anthropic' }>;

/** Anthropic's Messages API. `n > 1` is served by parallel calls (Anthropic has no `n`). */
export function anthropicProvider(name: string, config: Config): Provider {
  const base = config.baseUrl.endsWith('/') ? config.baseUrl : `${config.baseUrl}/`;
  const label = `provider "${name}"`;
  const call = (body: unknown, ctx: CallContext): UpstreamCall => ({
    url: new URL('v1/messages', base),
    headers: {
      'anthropic-version': config.version,
      ...(config.apiKey ? { 'x-api-key': config.apiKey } : {}),
      traceparent: ctx.traceparent,
    },
    body,
    signal: ctx.signal,
    timeoutMs: config.timeoutMs ?? ctx.timeoutMs,
    label,
  });

  const one = async (body: Record<string, unknown>, ctx: CallContext): Promise<ChatResponse> => {
    const c = call(body, ctx);
    return fromAnthropicResponse(await exchangeJson(c));
  };

  return {
    name,
    type: 'anthropic',
    knownModels: [],
    async chat(req, ctx) {
      const body = toAnthropicBody(req, config.defaultMaxTokens);
      if (req.n === 1) return one(body, ctx);
      const all = await Promise.all(Array.from({ length: req.n }, () => one(body, ctx)));
      const first = all[0] as ChatResponse;
      return withFields(first, {
        choices: all.map((r, index) =>
          withFields(r.choices[0] as ChatResponse['choices'][number], { index }),
        ),
        usage: {
          promptTokens: first.usage.promptTokens,
          completionTokens: all.reduce((s, r) => s + r.usage.completionTokens, 0),
        },
      });
    },
    async stream(req, ctx) {
      if (req.n !== 1)
        throw new FirebreakError(
          'not_supported',
          `${label} (Anthropic) cannot stream more than one choice: use n=1`,
          {
            path: 'n',
          },
        );
      const c = call(toAnthropicBody(req, config.defaultMaxTokens), ctx);
      const res = await postJson(c);
      const parser = new AnthropicStreamParser();
      return (async function* (): AsyncGenerator<StreamEvent> {
        for await (const { data } of readSse(res, c)) yield* parser.parse(data);
      })();
    },
    embed() {
      return Promise.reject(
        new FirebreakError(
          'not_supported',
          `${label} is an Anthropic provider, which offers no embeddings API`,
        ),
      );
    },
  };
}
