import { withFields } from '../core/with-fields.js';
import { z } from 'zod';
import type { ToolCall } from '../core/chat.js';
import { FirebreakError } from '../core/errors.js';
import type { EffectiveFlags } from '../core/flags.js';
import type { Finding } from '../core/guards/types.js';
import { taintSources } from '../core/policy/tool-context.js';
import { toolName } from '../core/release.js';
import { hasControlCharacters, parseWith } from '../core/validation.js';
import type { GatewayPrincipal } from '../auth/credential-index.js';
import { CallTrace } from './call-trace.js';
import { callState, guardsFor } from './call-state.js';
import type { GatewayContext } from './gateway-context.js';
import { identify, type RequestIdentity } from './request-identity.js';
import { noteGuards, type ToolJudgement } from './tool-gate.js';
import { makeToolJudge } from './tool-judge.js';
import { sendJson, type Exchange } from './exchange.js';

/**
 * `POST /v1/tools/authorize`: for agents that run tools themselves. The same judgement a tool call in
 * a model's answer gets (tool-judge.ts, the same function) — user and tenant blocks and safe mode, the
 * app's kill switches, the release's catalogue, the guards on the arguments, then the release's policy
 * with the taint the agent declares (and approvals) — for one call the agent is about to make. Recorded
 * as a trace (endpoint `tools.authorize`) with its decision and findings, which are offered to
 * detection like a chat call's; a held call is also recorded as an approval.
 */
const identifier = z
  .string()
  .min(1)
  .max(256)
  .refine((t) => !hasControlCharacters(t), 'must not contain control characters');

const authorizeBody = z.strictObject({
  tool: toolName,
  /** A JSON object, or the JSON text of one as a model produced it. */
  arguments: z.union([z.record(z.string(), z.unknown()), z.string().max(1_000_000)]),
  user: identifier.optional(),
  tenant: identifier.optional(),
  taint: z
    .strictObject({
      untrusted: z.boolean().optional(),
      sources: z.array(z.enum(taintSources)).max(8).optional(),
      detectors: z.array(z.string().min(1).max(64)).max(64).optional(),
    })
    .optional(),
});

type AuthorizeBody = z.infer<typeof authorizeBody>;

function parseBody(body: unknown): AuthorizeBody {
  // A misspelt field is named as that (not as a missing required one), like the rest of the API.
  if (body !== null && typeof body === 'object' && !Array.isArray(body)) {
    const allowed = Object.keys(authorizeBody.shape);
    const unknown = Object.keys(body).find((k) => !allowed.includes(k));
    if (unknown !== undefined)
      throw new FirebreakError(
        'validation_failed',
        `invalid tool authorization: unknown field "${unknown}" (allowed: ${allowed.join(', ')})`,
        { path: unknown },
      );
  }
  return parseWith(authorizeBody, body, 'invalid tool authorization');
}

/**
 * What the chat path refuses before the model is asked at all (a blocked user or tenant, safe mode that
 * answers without a model): with no model call there is no tool call, so none may run here either.
 */
function refusal(flags: EffectiveFlags): string | undefined {
  if (flags.blocked) return `blocked by flag ${flags.blocked.by}: ${flags.blocked.reason}`;
  if (flags.safeMode === 'handoff' || flags.safeMode === 'retrieval-only')
    return `the app is in safe mode ${flags.safeMode}: no tool runs`;
  return undefined;
}

/** A finding as the agent reads it: what fired and what it did, never the text it fired on. */
const findingView = (f: Finding) => ({
  detector: f.detector,
  ...(f.kind !== undefined ? { kind: f.kind } : {}),
  class: f.class,
  action: f.action,
  score: f.score,
  ...(f.severity !== undefined ? { severity: f.severity } : {}),
  ...(f.owasp !== undefined ? { owasp: f.owasp } : {}),
  message: f.message,
});

export async function runToolAuthorize(
  ctx: GatewayContext,
  ex: Exchange,
  principal: GatewayPrincipal,
): Promise<void> {
  const body = parseBody(ex.body);
  const fromHeaders = identify(ex.headers);
  // The body names who the call is for; the X-Firebreak-User/-Tenant headers are the fallback.
  const identity: RequestIdentity = withFields(fromHeaders, {
    userId: body.user ?? fromHeaders.userId,
    tenantId: body.tenant ?? fromHeaders.tenantId,
  });
  const trace = new CallTrace('tools.authorize', principal, identity, `${principal.app}@0`);
  const { release, flags } = callState(ctx, principal, identity, trace);
  const guards = guardsFor(ctx, principal.app, release, release?.spec.prompt.system ?? '', identity);
  if (body.taint) guards.declareTaint(body.taint);
  const call: ToolCall = {
    id: 'authorize',
    name: body.tool,
    arguments: typeof body.arguments === 'string' ? body.arguments : JSON.stringify(body.arguments),
  };

  if (flags.safeMode !== 'off') trace.notes.safeMode = { mode: flags.safeMode, flag: flags.safeModeFlag };

  const refused = refusal(flags);
  let verdict: ToolJudgement;
  if (refused !== undefined)
    verdict = { call, decision: 'deny', enforced: 'deny', reasons: [refused], engine: 'flag' };
  else {
    // The very judge a tool call in a model's answer gets: no name, kill switches and limited safe
    // mode, the catalogue, the argument guards (stage tool_call), then the release's policy with taint.
    const judge = makeToolJudge(
      flags,
      release,
      guards,
      ctx.toolPolicy?.decider(release, principal, identity, guards),
    );
    const [judged] = await judge([call]);
    verdict = judged ?? {
      call,
      decision: 'deny',
      enforced: 'deny',
      reasons: ['the tool-call judge gave no decision'],
      engine: 'gateway',
    };
  }

  const answer = {
    decision: verdict.decision,
    enforced: verdict.enforced,
    reasons: verdict.reasons,
    engine: verdict.engine,
    ...(verdict.approvalId !== undefined ? { approval_id: verdict.approvalId } : {}),
    ...(verdict.error !== undefined ? { error: verdict.error } : {}),
    ...(verdict.failure !== undefined ? { failure: verdict.failure } : {}),
    ...(guards.findings.length > 0 ? { findings: guards.findings.map(findingView) } : {}),
  };
  const overheadMs = trace.overheadMs();
  sendJson(
    ex.res,
    200,
    {
      'x-ai-trace-id': identity.traceId,
      'x-firebreak-release': trace.release,
      'x-firebreak-overhead-ms': overheadMs.toFixed(3),
    },
    answer,
  );

  // Recorded like a chat call's tool decisions, so agents' tool calls show in traces, blast radius and
  // detection: an allowed call is the call made (body.toolCalls), a refused or held one is blocked.
  noteGuards(trace, guards, [verdict]);
  const allowed = verdict.enforced === 'allow';
  const finished = trace.finish(
    {
      status: allowed ? 'ok' : 'blocked',
      httpStatus: 200,
      stream: false,
      response: answer,
      choices: allowed ? [{ index: 0, text: null, toolCalls: [call], finishReason: 'tool_calls' }] : [],
      overheadMs,
    },
    body,
  );
  ctx.recorder.record(finished);
  ctx.signals?.offer(finished, guards.findings);
}
