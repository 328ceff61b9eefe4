import { withFields } from '../core/with-fields.js';
import { randomBytes } from 'node:crypto';
import type { ToolCall } from '../core/chat.js';
import type { PolicyFailure } from '../core/policy/policy-failure.js';
import type { ToolDecision } from '../core/policy/policy-settings.js';
import { toolCallContext, type Taint, type ToolCallContext } from '../core/policy/tool-context.js';
import { redactDeep, redactText } from '../core/redact.js';
import type { Release } from '../core/release.js';
import type { GatewayPrincipal } from '../auth/credential-index.js';
import { argumentsHash, compilePolicy, failedPolicy, type ToolPolicyEngine } from '../policy/engine.js';
import type { PolicyVerdict } from '../core/policy/tool-context.js';
import type { ApprovalStore } from '../store/port.js';
import type { CallGuards } from './call-guards.js';
import { PolicyFailureReporter } from './policy-failures.js';
import type { RequestIdentity } from './request-identity.js';
import type { PolicyDecider, ToolPolicyPort } from './tool-judge.js';

/** How one tool call was decided by the release's policy, and what is done about it. */
export interface ToolVerdict {
  readonly call: ToolCall;
  /** What the policy decided (`allow` for a call an approval let through). */
  readonly decision: ToolDecision;
  /** What is done: `allow` in shadow mode; `deny` when a held call could not be recorded. */
  readonly enforced: ToolDecision;
  readonly reasons: readonly string[];
  /** `none`, `cedar` or `opa`. */
  readonly engine: string;
  /** The approval holding the call (pending), or the one that let it through. */
  readonly approvalId?: string;
  readonly error?: string;
  /** Why the policy could not decide (then `error` says how): the call is denied, with a finding. */
  readonly failure?: PolicyFailure;
  /** A deny the untrusted content decided: the same call without it would not have been denied. */
  readonly becauseOfTaint?: true;
}

export interface ToolPolicyInput {
  readonly calls: readonly ToolCall[];
  readonly release: Release | undefined;
  readonly app: string;
  readonly env: string;
  readonly traceId: string;
  readonly userId: string | null;
  readonly tenantId: string | null;
  readonly taint: Taint;
}

interface Log {
  warn(obj: object, msg: string): void;
}

/** Compiled engines kept per release hash; far more than the releases one replica serves at once. */
const MAX_ENGINES = 64;

/** The taint of a conversation no untrusted content entered (the counterfactual for a tainted deny). */
const CLEAN = { untrusted: false, sources: [], detectors: [] } as const;

/**
 * The tool-call policy at the gateway: compiles each release's policy once (cached by release hash),
 * decides every call, and for `require-approval` either lets an identical call an operator approved go
 * through (once: the approval is consumed), refuses one an operator denied (for the approval's TTL from
 * the denial), or records a pending approval (an identical call already waiting shares it, also when
 * they race). Never throws: a store failure while holding a call denies it (fail closed).
 */
export class ToolPolicyGate implements ToolPolicyPort {
  private readonly engines = new Map<string, ToolPolicyEngine>();
  private readonly failures: PolicyFailureReporter;

  constructor(
    private readonly deps: {
      readonly approvals: ApprovalStore;
      readonly now: () => number;
      readonly log?: Log;
    },
  ) {
    this.failures = new PolicyFailureReporter(deps);
  }

  async decide(input: ToolPolicyInput): Promise<ToolVerdict[]> {
    const engine = this.engineFor(input.release);
    return Promise.all(input.calls.map((call) => this.decideOne(engine, input, call)));
  }

  /** The pipeline's port: a decider bound to the call's release and caller; none when nothing to ask. */
  decider(
    release: Release | undefined,
    principal: GatewayPrincipal,
    identity: RequestIdentity,
    guards: CallGuards,
  ): PolicyDecider | undefined {
    if (!release || release.spec.policy.engine === 'none') return undefined;
    const where = { release: `${release.app}@${release.version}`, traceId: identity.traceId };
    return async (calls) => {
      const verdicts = await this.decide({
        calls,
        release,
        app: principal.app,
        env: principal.env,
        traceId: identity.traceId,
        userId: identity.userId,
        tenantId: identity.tenantId,
        // Read when the calls come back: the conversation's taint is complete by then.
        taint: guards.taint(),
      });
      // A deny because the policy could not decide is a finding too, so it reaches detection.
      for (const v of verdicts) this.failures.report(v, guards, where);
      return verdicts;
    };
  }

  engineFor(release: Release | undefined): ToolPolicyEngine | undefined {
    if (!release) return undefined;
    let engine = this.engines.get(release.hash);
    if (engine) return engine;
    try {
      engine = compilePolicy(release.spec.policy);
    } catch (error) {
      // It compiled when the release was created; failing here is a bug, so deny rather than allow.
      const message = error instanceof Error ? error.message : String(error);
      this.deps.log?.warn(
        { release: `${release.app}@${release.version}`, err: message },
        'policy did not compile',
      );
      engine = failedPolicy(release.spec.policy.engine, release.spec.policy.mode, message);
    }
    if (this.engines.size >= MAX_ENGINES) {
      const oldest = this.engines.keys().next().value;
      if (oldest !== undefined) this.engines.delete(oldest);
    }
    this.engines.set(release.hash, engine);
    return engine;
  }

  private async decideOne(
    engine: ToolPolicyEngine | undefined,
    input: ToolPolicyInput,
    call: ToolCall,
  ): Promise<ToolVerdict> {
    if (!engine) return { call, decision: 'allow', enforced: 'allow', reasons: [], engine: 'none' };
    const ctx = toolCallContext({
      app: input.app,
      env: input.env,
      release: input.release,
      tool: call.name,
      arguments: call.arguments,
      user: input.userId,
      tenant: input.tenantId,
      taint: input.taint,
    });
    const v = await engine.decide(ctx);
    // A deny in a conversation untrusted content entered: asked again without the taint, so that what
    // is recorded as denied because of it was (only such denies, which are rare, cost a second decision).
    const becauseOfTaint =
      v.decision === 'deny' &&
      v.failure === undefined &&
      ctx.taint.untrusted &&
      (await engine.decide(withFields(ctx, { taint: CLEAN }))).decision !== 'deny';
    const verdict = (over: Partial<ToolVerdict> = {}): ToolVerdict => ({
      call,
      decision: v.decision,
      enforced: v.enforced,
      reasons: v.reasons,
      engine: v.engine,
      ...(v.error !== undefined ? { error: v.error } : {}),
      ...(v.failure !== undefined ? { failure: v.failure } : {}),
      ...(becauseOfTaint ? { becauseOfTaint: true as const } : {}),
      ...over,
    });
    // Shadow mode records the decision only: nobody is asked to approve a call that runs anyway.
    if (v.decision !== 'require-approval' || v.enforced !== 'require-approval') return verdict();
    return this.hold(ctx, input, v, verdict);
  }

  private async hold(
    ctx: ToolCallContext,
    input: ToolPolicyInput,
    v: PolicyVerdict,
    verdict: (over?: Partial<ToolVerdict>) => ToolVerdict,
  ): Promise<ToolVerdict> {
    const { approvals, now } = this.deps;
    const hash = argumentsHash(ctx);
    const match = { app: ctx.app, env: ctx.env, tool: ctx.tool.name, argumentsHash: hash, user: ctx.user };
    try {
      const approved = await approvals.consume(withFields(match, { now: now(), traceId: input.traceId }));
      if (approved)
        return verdict({
          decision: 'allow',
          enforced: 'allow',
          reasons: [
            `approved by ${approved.decidedBy ?? '?'}: ${approved.decisionReason ?? ''}`,
            ...v.reasons,
          ],
          approvalId: approved.id,
        });
      // A person's denial sticks: the identical call is refused, not held again, for the approval's
      // own TTL from the decision (a retry loop must not turn one "no" into a queue of requests).
      const refused = await approvals.denied(withFields(match, { now: now() }));
      if (refused)
        return verdict({
          decision: 'deny',
          enforced: 'deny',
          reasons: [`denied by ${refused.decidedBy ?? '?'}: ${refused.decisionReason ?? ''}`, ...v.reasons],
          approvalId: refused.id,
        });
      const waiting = await approvals.pending(withFields(match, { now: now() }));
      if (waiting) return verdict({ approvalId: waiting.id });
      const at = now();
      // Insert or get: identical calls racing here share one pending approval.
      const created = await approvals.create({
        id: `apr_${randomBytes(9).toString('hex')}`,
        app: ctx.app,
        env: ctx.env,
        release: ctx.release,
        traceId: input.traceId,
        tool: ctx.tool.name,
        arguments: ctx.argumentsParsed ? redactDeep(ctx.arguments) : redactText(String(ctx.arguments)),
        argumentsHash: hash,
        user: ctx.user,
        tenant: ctx.tenant,
        reasons: v.reasons,
        createdAt: at,
        expiresAt: at + (input.release?.spec.policy.approvalTtlSeconds ?? 3600) * 1000,
      });
      return verdict({ approvalId: created.id });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.deps.log?.warn({ tool: ctx.tool.name, err: message }, 'could not record a tool-call approval');
      return verdict({
        enforced: 'deny',
        reasons: [...v.reasons, 'the call could not be held for approval, so it is denied'],
        error: `approval store: ${message}`,
        failure: 'approval_store_failed',
      });
    }
  }
}
