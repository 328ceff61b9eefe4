import { planCall, type CallPlan } from '../core/call-plan.js';
import {
  messageText,
  StreamAccumulator,
  type ChatRequest,
  type RetrievedDocument,
  type StreamEvent,
} from '../core/chat.js';
import type { Release } from '../core/release.js';
import { FirebreakError } from '../core/errors.js';
import type { GatewayPrincipal } from '../auth/credential-index.js';
import { CallTrace, type FinishArgs } from './call-trace.js';
import { callState, guardsFor } from './call-state.js';
import type { GatewayContext } from './gateway-context.js';
import { identify, type RequestIdentity } from './request-identity.js';
import { limitedRequest, localAnswerText, localEvents, localResponse } from './safe-mode.js';
import { CallGuards, outputBlocked } from './call-guards.js';
import type { OutputStreamGuard } from '../core/guards/stream-guard.js';
import { gateStreamedToolCalls, gateToolCalls, noteGuards, type ToolJudgement } from './tool-gate.js';
import { makeToolJudge } from './tool-judge.js';
import { toFirebreakError } from '../core/error-mapping.js';
import { withFields } from '../core/with-fields.js';
import type { StreamTextRenderer, Surface } from './surface.js';
import type { ServerResponse } from 'node:http';
import { sendJson, type Exchange } from './exchange.js';

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
  ex: Exchange,
  principal: GatewayPrincipal,
  parsed: ParsedChat,
): Promise<void> {
  const res = ex.res;
  const identity = identify(ex.headers, parsed.endUser);
  const trace = new CallTrace(surface.endpoint, principal, identity, `${principal.app}@0`);
  const requestBody = storedRequest(ex.body as Record<string, unknown>);
  let guards: CallGuards | undefined;
  const judgements: ToolJudgement[] = [];
  const record = (args: FinishArgs) => {
    noteGuards(trace, guards, judgements);
    const finished = trace.finish(args, requestBody, parsed.retrieved, parsed.request.messages);
    ctx.recorder.record(finished);
    if (guards) ctx.signals?.offer(finished, guards.findings);
  };

  const abort = parsed.request.stream ? new AbortController() : undefined;
  const onClose = () => {
    if (!res.writableFinished) abort?.abort();
  };
  if (abort) res.on('close', onClose);
  const headers: Record<string, string> = { 'x-ai-trace-id': identity.traceId };

  try {
    const planned = planFor(ctx, principal, identity, parsed, trace);
    const { plan } = planned;
    guards = planned.guards;
    headers['x-firebreak-release'] = plan.release;
    // Every user turn and tool result is screened, whatever mode answers (an input block is a 400).
    const offset = plan.request.messages.length - parsed.request.messages.length;
    const screened: ChatRequest = withFields(plan.request, {
      messages: guards.screenMessages(plan.request.messages, offset),
    });

    if (plan.safeMode === 'handoff' || plan.safeMode === 'retrieval-only') {
      const model = plan.models[0] ?? parsed.request.model;
      const local = localResponse(
        trace.id,
        model,
        localAnswerText(plan),
        parsed.request.messages.map(messageText).join(' '),
      );
      // retrieval-only quotes documents: they pass the output guards like any answer.
      const resp = withFields(local, { choices: guards.screenChoices(local.choices) });
      trace.model = model;
      if (plan.safeMode === 'handoff') trace.notes.events = [{ type: 'handoff', at: ctx.now() }];
      const overhead = trace.overheadMs();
      headers['x-firebreak-overhead-ms'] = overhead.toFixed(3);
      if (!parsed.request.stream) sendJson(res, 200, headers, surface.renderResponse(resp, model));
      else
        await writeStream(
          res,
          headers,
          surface.streamWriter(trace.id, model, parsed.includeUsage),
          localEvents(resp),
          trace,
          abort,
        );
      record({
        status: 'safe_mode',
        httpStatus: 200,
        stream: parsed.request.stream,
        response: resp,
        choices: resp.choices,
        usage: resp.usage,
        overheadMs: overhead,
      });
      return;
    }

    const model = plan.models[0] ?? parsed.request.model;
    const route = ctx.router.resolve(model, principal.app);
    trace.model = model;
    trace.provider = route.provider.name;
    const base = plan.safeMode === 'limited' ? limitedRequest(plan, screened) : screened;
    const upstreamReq: ChatRequest = withFields(base, { model: route.upstreamModel });
    const status = plan.safeMode === 'limited' ? 'safe_mode' : 'ok';
    const callCtx = {
      traceparent: identity.upstreamTraceparent,
      signal: abort?.signal,
      timeoutMs: ctx.config.server.upstreamTimeoutMs,
    };

    if (!parsed.request.stream) {
      trace.upstreamStarted();
      const upstream = await route.provider.chat(upstreamReq, callCtx);
      trace.upstreamAnswered();
      const checked = withFields(upstream, { choices: guards.screenChoices(upstream.choices) });
      const { response: resp, judgements: js } = await gateToolCalls(checked, planned.judge);
      judgements.push(...js);
      const blocked = js.filter((j) => j.enforced !== 'allow');
      const body = surface.renderResponse(resp, model);
      const overhead = trace.overheadMs();
      headers['x-firebreak-overhead-ms'] = overhead.toFixed(3);
      sendJson(res, 200, headers, body);
      record({
        status: blocked.length > 0 && status === 'ok' ? 'blocked' : status,
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
    const upstream = await route.provider.stream(upstreamReq, callCtx);
    trace.upstreamAnswered();
    const streamGuard = guards.streamGuard();
    const events = guardStreamedText(
      gateStreamedToolCalls(upstream, planned.judge, (js) => judgements.push(...js)),
      streamGuard,
    );
    const overhead = trace.overheadMs();
    headers['x-firebreak-overhead-ms'] = overhead.toFixed(3);
    const { acc, failure } = await writeStream(
      res,
      headers,
      surface.streamWriter(trace.id, model, parsed.includeUsage),
      events,
      trace,
      abort,
    );
    if (streamGuard) guards.addFindings(streamGuard.findings);
    const blocked = judgements.filter((j) => j.enforced !== 'allow');
    const choices = acc.choices();
    record({
      status:
        failure?.code === 'output_blocked'
          ? 'blocked'
          : failure
            ? 'error'
            : blocked.length > 0 && status === 'ok'
              ? 'blocked'
              : status,
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
      status: blockingCodes.has(err.code) ? 'blocked' : 'error',
      httpStatus: err.status,
      stream: parsed.request.stream,
      error: err,
      overheadMs: trace.overheadMs(),
    });
    headers['x-firebreak-release'] = trace.release;
    headers['x-firebreak-overhead-ms'] = trace.overheadMs().toFixed(3);
    if (err.details.retryAfter !== undefined) headers['retry-after'] = err.details.retryAfter;
    sendJson(res, err.status, headers, surface.renderError(err));
  } finally {
    res.off('close', onClose);
  }
}

/**
 * The request as stored: as the client sent it, minus our extension (the recorder redacts it off the
 * request path). Copied only when the extension is there: a rest-destructuring copy of every body was a
 * visible cost on the request path.
 */
function storedRequest(body: Record<string, unknown>): Record<string, unknown> {
  if (!Object.hasOwn(body, 'firebreak')) return body;
  const { firebreak: _ext, ...rest } = body;
  return rest;
}

const blockingCodes = new Set(['forbidden', 'input_blocked', 'output_blocked']);

interface Planned {
  readonly plan: CallPlan;
  readonly guards: CallGuards;
  readonly judge: ReturnType<typeof makeToolJudge>;
}

/** Release + flags in force for this call (from memory: the request path never reads the database). */
function planFor(
  ctx: GatewayContext,
  principal: GatewayPrincipal,
  identity: RequestIdentity,
  parsed: ParsedChat,
  trace: CallTrace,
): Planned {
  const { enforced, key, active, release, flags } = callState(ctx, principal, identity, trace);
  const guards = guardsFor(
    ctx,
    principal.app,
    release,
    systemText(release, parsed.request.messages),
    identity,
  );
  const plan = planCall({
    config: ctx.config,
    app: principal.app,
    active: active && { release: active.release, deploymentId: active.deployment.id },
    knownGood: enforced.knownGood.get(key),
    flags,
    request: parsed.request,
    retrieved: parsed.retrieved,
    screen: guards.screenDocument,
  });
  guards.setRetrieved(plan.kept);
  if (plan.safeMode !== 'off') trace.notes.safeMode = { mode: plan.safeMode, flag: plan.safeModeFlag };
  if (plan.removedTools.length > 0) trace.notes.removedTools = plan.removedTools;
  if (plan.dropped.length > 0) trace.notes.retrievalDropped = plan.dropped;
  if (plan.kept.length > 0) {
    // The gate returns a document it did not change as the same object.
    const asSent = new Set(parsed.retrieved);
    trace.notes.retrievalKept = plan.kept.map((d) => ({
      id: d.id,
      source: d.source,
      ...(asSent.has(d) ? {} : { redacted: true as const }),
    }));
  }
  const wanted = active?.release.spec.model.name;
  if (wanted !== undefined && plan.models[0] !== wanted)
    trace.notes.modelFallback = { wanted, used: plan.models[0] ?? '' };
  return {
    plan,
    guards,
    judge: makeToolJudge(
      plan,
      release,
      guards,
      ctx.toolPolicy?.decider(release, principal, identity, guards),
    ),
  };
}

/** The system prompt in force (the release's and the client's), for the leak checks. */
function systemText(release: Release | undefined, messages: ParsedChat['request']['messages']): string {
  let out = release?.spec.prompt.system ?? '';
  for (const m of messages) if (m.role === 'system') out += `\n${messageText(m)}`;
  return out;
}

/**
 * Streamed text through the output guards: only what can no longer become a violation is sent; a
 * violation ends the stream (with output_blocked, in the surface's in-stream error form) before the
 * violating text goes out.
 */
async function* guardStreamedText(
  events: AsyncIterable<StreamEvent>,
  guard: OutputStreamGuard | undefined,
): AsyncGenerator<StreamEvent> {
  if (!guard) {
    yield* events;
    return;
  }
  for await (const e of events) {
    if (e.type !== 'text' && e.type !== 'finish') {
      yield e;
      continue;
    }
    const step = e.type === 'text' ? guard.push(e.index, e.delta) : guard.end(e.index);
    if (step.emit) yield { type: 'text', index: e.index, delta: step.emit };
    if (step.blocked) throw outputBlocked(step.blocked);
    if (e.type === 'finish') yield e;
  }
  for (const index of guard.unfinished()) {
    const step = guard.end(index);
    if (step.emit) yield { type: 'text', index, delta: step.emit };
    if (step.blocked) throw outputBlocked(step.blocked);
  }
}

/** Sends a stream in the surface's SSE format; a failure midway ends it with an in-stream error event. */
async function writeStream(
  raw: ServerResponse,
  headers: Record<string, string>,
  writer: StreamTextRenderer,
  events: AsyncIterable<StreamEvent> | Iterable<StreamEvent>,
  trace: CallTrace,
  abort: AbortController | undefined,
): Promise<{ acc: StreamAccumulator; failure: FirebreakError | undefined }> {
  const signal = (abort as AbortController).signal; // streams always have one
  raw.writeHead(
    200,
    withFields(headers, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    }),
  );
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
  return { acc, failure };
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
