import { toFirebreakError } from '../core/error-mapping.js';
import { withFields } from '../core/with-fields.js';
import { parseOpenAiEmbedding, renderOpenAiEmbedding } from '../core/wire/openai-embeddings.js';
import { renderOpenAiError } from '../core/wire/openai-response.js';
import type { GatewayPrincipal } from '../auth/credential-index.js';
import { CallTrace } from './call-trace.js';
import type { GatewayContext } from './gateway-context.js';
import { identify } from './request-identity.js';
import { sendJson, type Exchange } from './exchange.js';

export async function runEmbeddings(
  ctx: GatewayContext,
  ex: Exchange,
  principal: GatewayPrincipal,
): Promise<void> {
  const parsed = parseOpenAiEmbedding(ex.body);
  const identity = identify(ex.headers);
  const release = `${principal.app}@0`;
  const trace = new CallTrace('embeddings', principal, identity, release);
  const headers: Record<string, string> = {
    'x-ai-trace-id': identity.traceId,
    'x-firebreak-release': release,
  };
  try {
    const route = ctx.router.resolve(parsed.request.model, principal.app);
    trace.model = parsed.request.model;
    trace.provider = route.provider.name;
    trace.upstreamStarted();
    const resp = await route.provider.embed(withFields(parsed.request, { model: route.upstreamModel }), {
      traceparent: identity.upstreamTraceparent,
      signal: AbortSignal.timeout(ctx.config.server.upstreamTimeoutMs),
      timeoutMs: ctx.config.server.upstreamTimeoutMs,
    });
    trace.upstreamAnswered();
    const overhead = trace.overheadMs();
    headers['x-firebreak-overhead-ms'] = overhead.toFixed(3);
    sendJson(ex.res, 200, headers, renderOpenAiEmbedding(resp, parsed.request.model, parsed.encoding));
    // Vectors are not stored: only their count and size, which is what an investigation needs.
    const response = { vectors: resp.vectors.length, dimensions: resp.vectors[0]?.length ?? 0 };
    ctx.recorder.record(
      trace.finish(
        {
          stream: false,
          status: 'ok',
          httpStatus: 200,
          response,
          usage: { promptTokens: resp.usage.promptTokens, completionTokens: 0 },
          overheadMs: overhead,
        },
        ex.body,
      ),
    );
  } catch (error) {
    const err = toFirebreakError(error);
    ctx.recorder.record(
      trace.finish(
        {
          stream: false,
          status: 'error',
          httpStatus: err.status,
          error: err,
          overheadMs: trace.overheadMs(),
        },
        ex.body,
      ),
    );
    sendJson(ex.res, err.status, headers, renderOpenAiError(err));
  }
}
