import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { toolBlockOf } from '../core/call-plan.js';
import { FirebreakError } from '../core/errors.js';
import { resolveFlags } from '../core/flags.js';
import { taintSources } from '../core/policy/tool-context.js';
import { releaseName, releaseTools, toolName, type Release } from '../core/release.js';
import { hasControlCharacters, parseWith } from '../core/validation.js';
import type { GatewayPrincipal } from '../auth/credential-index.js';
import type { GatewayContext } from './gateway-context.js';
import { identify } from './request-identity.js';
import type { ToolVerdict } from './tool-policy.js';

/**
 * `POST /v1/tools/authorize`: for agents that run tools themselves. The same judgement a tool call in
 * a model's answer gets — the app's kill switches, user and tenant blocks, safe mode, the release's
 * catalogue, then the release's policy (with approvals) — for one call the agent is about to make.
 * Not recorded as a trace; a held call is recorded as an approval.
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

interface Refusal {
  readonly engine: string;
  readonly reason: string;
}

/** The rules that deny before any policy is asked (the pipeline's tool judge applies the same ones). */
function refusal(
  ctx: GatewayContext,
  principal: GatewayPrincipal,
  release: Release | undefined,
  tool: string,
  user: string | null,
  tenant: string | null,
): Refusal | undefined {
  const flags = resolveFlags(
    ctx.control.current().flags,
    { app: principal.app, env: principal.env, user, tenant },
    ctx.now(),
  );
  if (flags.blocked)
    return { engine: 'flag', reason: `blocked by flag ${flags.blocked.by}: ${flags.blocked.reason}` };
  if (flags.safeMode === 'handoff' || flags.safeMode === 'retrieval-only')
    return { engine: 'flag', reason: `the app is in safe mode ${flags.safeMode}: no tool runs` };
  const block = toolBlockOf(flags);
  if (block?.blocks(tool)) return { engine: 'flag', reason: block.why(tool) };
  const spec = release?.spec;
  if (spec && spec.toolPolicy.unknownTools === 'deny' && !releaseTools(spec).some((t) => t.name === tool))
    return { engine: 'catalogue', reason: `"${tool}" is not in the release's tool catalogue` };
  return undefined;
}

export async function runToolAuthorize(
  ctx: GatewayContext,
  req: FastifyRequest,
  reply: FastifyReply,
  principal: GatewayPrincipal,
): Promise<void> {
  const body = parseBody(req.body);
  const identity = identify(req.headers);
  // The body names who the call is for; the X-Firebreak-User/-Tenant headers are the fallback.
  const user = body.user ?? identity.userId;
  const tenant = body.tenant ?? identity.tenantId;
  const release = ctx.control.current().releases.get(`${principal.app}/${principal.env}`)?.release;
  const sources = body.taint?.sources ?? [];
  const detectors = body.taint?.detectors ?? [];
  const call = {
    id: 'authorize',
    name: body.tool,
    arguments: typeof body.arguments === 'string' ? body.arguments : JSON.stringify(body.arguments),
  };
  const refused = refusal(ctx, principal, release, body.tool, user, tenant);
  let verdict: ToolVerdict;
  if (refused)
    verdict = { call, decision: 'deny', enforced: 'deny', reasons: [refused.reason], engine: refused.engine };
  else if (!ctx.toolPolicy)
    verdict = { call, decision: 'allow', enforced: 'allow', reasons: [], engine: 'none' };
  else {
    const [decided] = await ctx.toolPolicy.decide({
      calls: [call],
      release,
      app: principal.app,
      env: principal.env,
      traceId: identity.traceId,
      userId: user,
      tenantId: tenant,
      // Naming where untrusted content came from, or what fired on it, is saying there was some.
      taint: {
        untrusted: body.taint?.untrusted === true || sources.length > 0 || detectors.length > 0,
        sources,
        detectors,
      },
    });
    verdict = decided ?? {
      call,
      decision: 'deny',
      enforced: 'deny',
      reasons: ['the policy engine gave no decision'],
      engine: 'gateway',
    };
  }
  void reply
    .code(200)
    .headers({
      'x-ai-trace-id': identity.traceId,
      'x-firebreak-release': release ? releaseName(release.app, release.version) : `${principal.app}@0`,
    })
    .send({
      decision: verdict.decision,
      enforced: verdict.enforced,
      reasons: verdict.reasons,
      engine: verdict.engine,
      ...(verdict.approvalId !== undefined ? { approval_id: verdict.approvalId } : {}),
      ...(verdict.error !== undefined ? { error: verdict.error } : {}),
    });
}
