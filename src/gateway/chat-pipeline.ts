import type { FastifyReply, FastifyRequest } from 'fastify';
import { StreamAccumulator, type ChatRequest, type RetrievedDocument } from '../core/chat.js';
import { FirebreakError } from '../core/errors.js';
import type { GatewayPrincipal } from '../auth/credential-index.js';
import { CallTrace } from './call-trace.js';
import type { GatewayContext } from './gateway-context.js';
import { identify } from './request-identity.js';
import { toFirebreakError } from '../core/error-mapping.js';
import type { Surface } from './surface.js';

export interface ParsedChat {
  readonly request: ChatRequest;
  readonly retrieved: readonly RetrievedDocument[];
  readonly includeUsage: boolean;
  readonly endUser: string | undefined;
}

/**
 * One chat call, whatever the wire format: resolve the model, call the provider (streaming or not),
 * answer in the surface's format, and record the trace. Errors after the call has been accepted are
 * recorded as `error` traces and answered in the surface's error format; nothing here throws past it.
 */
export async function runChat(
  ctx: GatewayContext,
  surface: Surface,
  req: FastifyRequest,
  reply: FastifyReply,
  principal: GatewayPrincipal,
  parsed: ParsedChat,
): Promise<void> {
  const identity = identify(req.headers, parsed.endUser);
  const release = `${principal.app}@0`;
  const trace = new CallTrace(surface.endpoint, principal, identity, release);
  const clientModel = parsed.request.model;
  // Stored as the client sent it, minus our extension (the recorder redacts it off the request path).
  const { firebreak: _ext, ...requestBody } = req.body as Record<string, unknown>;
  const record = (args: Omit<Parameters<CallTrace['finish']>[0], 'request' | 'retrieved' | 'messages'>) =>
    ctx.recorder.record(
      trace.finish({
        ...args,
        request: requestBody,
        retrieved: parsed.retrieved,
        messages: parsed.request.messages,
      }),
    );

  const abort = parsed.request.stream ? new AbortController() : undefined;
  const onClose = () => {
    if (!reply.raw.writableFinished) abort?.abort();
  };
  if (abort) reply.raw.on('close', onClose);
  const headers: Record<string, string> = {
    'x-ai-trace-id': identity.traceId,
    'x-firebreak-release': release,
  };

  try {
    const route = ctx.router.resolve(clientModel, principal.app);
    trace.model = clientModel;
    trace.provider = route.provider.name;
    // The body goes upstream as the client wrote it (its `user`, if any); X-Firebreak-* headers stay here.
    const upstreamReq: ChatRequest = { ...parsed.request, model: route.upstreamModel };
    const callCtx = {
      traceparent: identity.upstreamTraceparent,
      signal: abort?.signal,
      timeoutMs: ctx.config.server.upstreamTimeoutMs,
    };

    if (!parsed.request.stream) {
      trace.upstreamStarted();
      const resp = await route.provider.chat(upstreamReq, callCtx);
      trace.upstreamAnswered();
      const body = surface.renderResponse(resp, clientModel);
      const overhead = trace.overheadMs();
      headers['x-firebreak-overhead-ms'] = overhead.toFixed(3);
      void reply.code(200).headers(headers).send(body);
      record({
        status: 'ok',
        httpStatus: 200,
        stream: false,
        response: resp,
        choices: resp.choices,
        usage: resp.usage,
        overheadMs: overhead,
      });
      return;
    }

    trace.upstreamStarted();
    const events = await route.provider.stream(upstreamReq, callCtx);
    trace.upstreamAnswered();
    const overhead = trace.overheadMs();
    headers['x-firebreak-overhead-ms'] = overhead.toFixed(3);
    const signal = (abort as AbortController).signal; // streams always have one
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      ...headers,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    const writer = surface.streamWriter(trace.id, clientModel, parsed.includeUsage);
    const acc = new StreamAccumulator();
    let failure: FirebreakError | undefined;
    try {
      for await (const event of events) {
        if (event.type !== 'usage') trace.firstToken();
        acc.add(event);
        const text = writer.event(event);
        if (text && !raw.write(text)) await waitForDrain(raw, signal);
        if (signal.aborted)
          throw new FirebreakError('upstream_error', 'the client disconnected before the stream ended');
      }
      raw.end(writer.end());
    } catch (error) {
      failure = toFirebreakError(error);
      if (!raw.destroyed) raw.end(writer.error(failure));
    }
    const choices = acc.choices();
    record({
      status: failure ? 'error' : 'ok',
      httpStatus: 200,
      stream: true,
      response: { choices, usage: acc.usage },
      choices,
      usage: acc.usage,
      overheadMs: overhead,
      ...(failure ? { error: failure } : {}),
    });
  } catch (error) {
    const err = toFirebreakError(error);
    if (trace.upstreamMs === null && err.code.startsWith('upstream_')) trace.upstreamAnswered();
    record({
      status: 'error',
      httpStatus: err.status,
      stream: parsed.request.stream,
      error: err,
      overheadMs: trace.overheadMs(),
    });
    headers['x-firebreak-overhead-ms'] = trace.overheadMs().toFixed(3);
    if (err.details.retryAfter !== undefined) headers['retry-after'] = err.details.retryAfter;
    if (!reply.sent && !reply.raw.headersSent)
      void reply.code(err.status).headers(headers).send(surface.renderError(err));
  } finally {
    reply.raw.off('close', onClose);
  }
}

function waitForDrain(raw: NodeJS.WritableStream, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      raw.off('drain', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    raw.once('drain', done);
    signal.addEventListener('abort', done, { once: true });
  });
}
