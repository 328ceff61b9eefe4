import { withFields } from '../core/with-fields.js';
import { policyFailureFinding } from '../core/policy/policy-failure.js';
import { toolBlockOf, type CallPlan } from '../core/call-plan.js';
import type { ToolCall } from '../core/chat.js';
import { releaseTools, type Release } from '../core/release.js';
import { findingReason, type CallGuards } from './call-guards.js';
import type { ToolJudge, ToolJudgement } from './tool-gate.js';
import type { GatewayPrincipal } from '../auth/credential-index.js';
import type { RequestIdentity } from './request-identity.js';

/** The tool-call policy for the calls rules here let through (tool-policy.ts; absent: allow). */
export type PolicyDecider = (calls: readonly ToolCall[]) => Promise<readonly ToolJudgement[]>;

/** How the pipeline reaches the policy engine: one decider per call, bound to its release and caller. */
export interface ToolPolicyPort {
  decider(
    release: Release | undefined,
    principal: GatewayPrincipal,
    identity: RequestIdentity,
    guards: CallGuards,
  ): PolicyDecider | undefined;
}

/**
 * The order calls are judged in, cheapest and most certain first: a call with no name, a kill switch or
 * limited safe mode, a tool outside the release's catalogue, a blocking guard finding on the arguments
 * (exfiltration, a canary, a secret) — each denies without asking the policy. Whatever is left goes to
 * the release's policy engine in one batch.
 */
export function makeToolJudge(
  plan: Pick<CallPlan, 'disabledTools' | 'safeMode'>,
  release: Release | undefined,
  guards: CallGuards,
  policy: PolicyDecider | undefined,
): ToolJudge {
  const block = toolBlockOf(plan);
  const spec = release?.spec;
  const catalogue = spec ? new Set(releaseTools(spec).map((t) => t.name)) : undefined;
  const deny = (call: ToolCall, engine: string, reason: string): ToolJudgement => ({
    call,
    decision: 'deny',
    enforced: 'deny',
    reasons: [reason],
    engine,
  });
  return async (calls) => {
    const out: (ToolJudgement | undefined)[] = [];
    const ask: { at: number; call: ToolCall }[] = [];
    for (const call of calls) {
      const guard = call.name ? guards.screenToolCall(call.name, call.arguments) : undefined;
      if (!call.name) out.push(deny(call, 'gateway', 'the tool call has no name, so it cannot be judged'));
      else if (block?.blocks(call.name)) out.push(deny(call, 'flag', block.why(call.name)));
      else if (catalogue && !catalogue.has(call.name) && spec?.toolPolicy.unknownTools === 'deny')
        out.push(deny(call, 'catalogue', `"${call.name}" is not in the release's tool catalogue`));
      else if (guard) out.push(deny(call, 'guard', `guard ${findingReason(guard)}`));
      else {
        ask.push({ at: out.length, call });
        out.push(undefined);
      }
    }
    if (ask.length > 0) {
      const decided = policy
        ? await policy(ask.map((a) => a.call))
        : ask.map((a): ToolJudgement => ({
            call: a.call,
            decision: 'allow',
            enforced: 'allow',
            reasons: [],
            engine: 'none',
          }));
      ask.forEach((a, i) => {
        const verdict = decided[i];
        if (verdict !== undefined) {
          out[a.at] = verdict;
          return;
        }
        // A policy that answers for fewer calls than asked fails closed for the rest, and like any
        // policy that could not decide, says so with a finding.
        out[a.at] = withFields(deny(a.call, 'policy', 'the policy engine gave no decision for this call'), {
          failure: 'engine_error' as const,
        });
        guards.addFindings([
          policyFailureFinding({
            failure: 'engine_error',
            engine: 'policy',
            tool: a.call.name,
            enforced: 'deny',
          }),
        ]);
      });
    }
    return out as ToolJudgement[];
  };
}
