import type { TraceRecord } from '../../src/core/trace.js';

/** What a seeded trace's body may carry (findings as the gateway records them). */
export interface SeedBody {
  readonly toolCalls?: readonly { readonly id: string; readonly name: string; readonly arguments: string }[];
  readonly findings?: readonly {
    readonly detector: string;
    readonly class: string;
    readonly stage: string;
    readonly action: string;
    readonly score: number;
    readonly message: string;
  }[];
}

/**
 * A trace row for seeding a store directly (blast radius, trace marks): an ok chat completion of app
 * `support-bot` in `prod` by default, with `fields` over it and `body` (tool calls, findings) in its body.
 */
export function seedTrace(
  fields: Partial<TraceRecord> & Pick<TraceRecord, 'id' | 'traceId' | 'ts'>,
  body: SeedBody = {},
): TraceRecord {
  const app = fields.app ?? 'support-bot';
  return {
    app,
    env: 'prod',
    userId: null,
    tenantId: null,
    sessionId: null,
    endpoint: 'chat.completions',
    model: 'sim-1',
    provider: 'sim',
    release: `${app}@0`,
    deployment: null,
    status: 'ok',
    httpStatus: 200,
    errorCode: null,
    stream: false,
    latencyMs: 1,
    upstreamMs: 1,
    overheadMs: 0.1,
    ttftMs: null,
    promptTokens: 1,
    completionTokens: 1,
    ...fields,
    body: {
      request: {},
      retrieved: [],
      response: null,
      toolCalls: body.toolCalls ?? [],
      toolResults: [],
      ...(body.findings ? { findings: body.findings } : {}),
    } as TraceRecord['body'],
  };
}

/** One finding as a trace body records it. */
export const seedFinding = (detector: string, cls: string, stage = 'output', action = 'log') => ({
  detector,
  class: cls,
  stage,
  action,
  score: 1,
  message: 'm',
});
