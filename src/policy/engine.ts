import { createHash } from 'node:crypto';
import { FirebreakError } from '../core/errors.js';
import type { PolicyEngineName, PolicySettings, ToolDecision } from '../core/policy/policy-settings.js';
import {
  argumentsIdentity,
  type PolicyDecision,
  type PolicyVerdict,
  type ToolCallContext,
} from '../core/policy/tool-context.js';
import { CedarPolicyError, compileCedar } from './cedar.js';
import { opaEngine } from './opa.js';

/**
 * A release's tool-call policy, compiled once: `decide` never throws (an engine failure is a deny with
 * the error recorded) and applies the mode (shadow: decided and recorded, enforced as allow).
 */
export interface ToolPolicyEngine {
  readonly engine: PolicyEngineName;
  readonly mode: 'enforce' | 'shadow';
  decide(ctx: ToolCallContext): Promise<PolicyVerdict>;
}

/**
 * Compiles the `policy:` block. Cedar text is parsed and validated against the schema here, so a release
 * whose policy does not compile is refused when it is created (`validation_failed` at `policy.cedar`).
 * OPA is only checked for its settings: the server need not be up when the release is created.
 */
export function compilePolicy(settings: PolicySettings): ToolPolicyEngine {
  const mode = settings.mode;
  let decide: (ctx: ToolCallContext) => PolicyDecision | Promise<PolicyDecision>;
  switch (settings.engine) {
    case 'none':
      decide = () => ({ decision: 'allow', reasons: [], engine: 'none' });
      break;
    case 'cedar': {
      if (settings.cedar === undefined)
        throw new FirebreakError('validation_failed', 'policy.cedar: engine cedar needs the policy text', {
          path: 'policy.cedar',
        });
      try {
        const cedar = compileCedar(settings.cedar, settings.arguments ?? {});
        decide = (ctx) => cedar.decide(ctx);
      } catch (error) {
        if (!(error instanceof CedarPolicyError)) throw error;
        throw new FirebreakError('validation_failed', `policy.cedar: ${error.message}`, {
          path: 'policy.cedar',
        });
      }
      break;
    }
    case 'opa': {
      if (settings.opa === undefined)
        throw new FirebreakError('validation_failed', 'policy.opa: engine opa needs url and path', {
          path: 'policy.opa',
        });
      const opa = opaEngine(settings.opa);
      decide = (ctx) => opa.decide(ctx);
      break;
    }
  }
  const engine = settings.engine;
  return {
    engine,
    mode,
    async decide(ctx) {
      let d: PolicyDecision;
      try {
        d = await decide(ctx);
      } catch (error) {
        d = {
          decision: 'deny',
          reasons: ['the policy engine failed'],
          engine,
          error: error instanceof Error ? error.message : String(error),
          failure: 'engine_error',
        };
      }
      const enforced: ToolDecision = mode === 'shadow' ? 'allow' : d.decision;
      return { ...d, enforced, mode };
    },
  };
}

/**
 * What a release gets when its policy cannot be compiled on a replica (it compiled when the release was
 * created, so this is a bug or a changed engine): every call is denied, or recorded as such in shadow mode.
 */
export function failedPolicy(
  engine: PolicyEngineName,
  mode: 'enforce' | 'shadow',
  error: string,
): ToolPolicyEngine {
  return {
    engine,
    mode,
    decide: () =>
      Promise.resolve({
        decision: 'deny',
        enforced: mode === 'shadow' ? 'allow' : 'deny',
        mode,
        reasons: ['the release’s policy could not be compiled'],
        engine,
        error,
        failure: 'policy_not_compiled',
      }),
  };
}

/** SHA-256 of the arguments' canonical form: what an approval and a later identical call share. */
export function argumentsHash(ctx: Pick<ToolCallContext, 'arguments' | 'argumentsParsed'>): string {
  return createHash('sha256').update(argumentsIdentity(ctx), 'utf8').digest('hex');
}
