import { setTimeout as sleep } from 'node:timers/promises';
import type { ChatResponse, StreamEvent } from '../core/chat.js';
import { FirebreakError } from '../core/errors.js';
import {
  compileSimulator,
  countTokens,
  decide,
  simulatedEmbedding,
  type SimulatorConfig,
  type SimulatorScript,
} from '../core/simulator-rules.js';
import type { CallContext, Provider } from './provider.js';
import { statusError } from './upstream-http.js';

type Answer = Extract<SimulatorScript, { kind: 'answer' }>;

/** The canonical events an answer script streams, one step per chunk (a step is what a delay precedes). */
export function scriptSteps(script: Answer): StreamEvent[][] {
  const steps: StreamEvent[][] = [];
  script.choices.forEach((choice, index) => {
    for (const delta of choice.chunks) steps.push([{ type: 'text', index, delta }]);
    choice.toolCalls.forEach((call, callIndex) => {
      // Arguments arrive in two pieces, as real upstreams send them.
      const half = Math.ceil(call.arguments.length / 2);
      steps.push([
        {
          type: 'tool_call',
          index,
          callIndex,
          id: call.id,
          name: call.name,
          argumentsDelta: call.arguments.slice(0, half),
        },
      ]);
      steps.push([{ type: 'tool_call', index, callIndex, argumentsDelta: call.arguments.slice(half) }]);
    });
    steps.push([{ type: 'finish', index, reason: choice.finishReason }]);
  });
  steps.push([{ type: 'usage', usage: script.usage }]);
  return steps;
}

export function scriptResponse(script: Answer, model: string, id: string): ChatResponse {
  return {
    id,
    model,
    created: Math.floor(Date.now() / 1000),
    choices: script.choices.map((c, index) => ({
      index,
      text: c.chunks.length > 0 ? c.chunks.join('') : null,
      toolCalls: c.toolCalls,
      finishReason: c.finishReason,
    })),
    usage: script.usage,
  };
}

/** Waits, honouring the client's cancellation and the upstream timeout like a real upstream call would. */
async function wait(ms: number, ctx: CallContext, started: number, label: string): Promise<void> {
  const remaining = ctx.timeoutMs - (Date.now() - started);
  if (ms > remaining) {
    await sleep(Math.max(0, remaining), undefined, ctx.signal ? { signal: ctx.signal } : {}).catch(
      () => undefined,
    );
    throw new FirebreakError('upstream_timeout', `${label} did not answer within ${ctx.timeoutMs} ms`);
  }
  if (ms > 0)
    await sleep(ms, undefined, ctx.signal ? { signal: ctx.signal } : {}).catch(() => {
      throw new FirebreakError('upstream_error', `the call to ${label} was cancelled (client disconnected)`);
    });
}

let counter = 0;

export function simulatorProvider(name: string, config: SimulatorConfig): Provider {
  const sim = compileSimulator(config);
  const label = `provider "${name}"`;

  const begin = async (script: SimulatorScript, ctx: CallContext, started: number): Promise<Answer> => {
    if (script.kind === 'hang') {
      await wait(Number.POSITIVE_INFINITY, ctx, started, label);
      throw new FirebreakError('upstream_timeout', `${label} did not answer`);
    }
    await wait(script.delayMs, ctx, started, label);
    if (script.kind === 'error')
      throw statusError(
        script.status,
        JSON.stringify({ error: { message: script.message, type: script.type } }),
        script.retryAfter === undefined ? undefined : String(script.retryAfter),
        label,
      );
    if (script.malformed)
      throw new FirebreakError('upstream_bad_response', `${label} answered with a body that is not JSON`);
    return script;
  };

  return {
    name,
    type: 'simulator',
    knownModels: config.models,
    async chat(req, ctx) {
      const script = await begin(decide(sim, req), ctx, Date.now());
      return scriptResponse(script, req.model, `chatcmpl-sim-${++counter}`);
    },
    async stream(req, ctx) {
      const started = Date.now();
      const script = await begin(decide(sim, req), ctx, started);
      const steps = scriptSteps(script);
      return (async function* (): AsyncGenerator<StreamEvent> {
        let sent = 0;
        for (const step of steps) {
          if (script.cut && sent >= script.cut.afterChunks)
            throw new FirebreakError('upstream_error', `${label} stream broke midway: connection closed`);
          if (sent > 0) await wait(script.chunkDelayMs, ctx, Date.now(), label);
          yield* step;
          sent += 1;
        }
      })();
    },
    embed(req) {
      const dims = req.dimensions ?? 16;
      return Promise.resolve({
        model: req.model,
        vectors: req.input.map((t) => simulatedEmbedding(t, dims)),
        usage: { promptTokens: req.input.reduce((s, t) => s + countTokens(t), 0) },
      });
    },
  };
}
