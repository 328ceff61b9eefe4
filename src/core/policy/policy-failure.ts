import type { Finding, Taint } from '../guards/types.js';
import type { ToolDecision } from './policy-settings.js';

/**
 * When the tool-call policy cannot decide, the call is denied (fail closed). A deny alone would leave
 * a broken policy invisible: every tool call refused, and nothing reaching detection. So each such
 * denial is also a finding of the `tool-policy` detector on the call (stage `tool_call`), which goes to
 * the trace, the signal outbox and blast radius like any guard finding. Pure: the gateway adds it.
 */
export const TOOL_POLICY_DETECTOR = 'tool-policy';

/**
 * How `firebreak guards` lists it beside the guards' detectors. It has no settings: a policy that cannot
 * decide always denies (its `log` in shadow mode follows the policy's mode, not a detector setting).
 */
export const toolPolicyDetector = listed(
  TOOL_POLICY_DETECTOR,
  'LLM06',
  'a tool-call policy that could not decide (OPA down or undefined, a Cedar error…): the call is denied; always on, no settings',
);

/** Why a policy could not decide: the finding's kind, and what a detection rule can match on. */
export const policyFailures = [
  'opa_unreachable',
  'opa_timeout',
  'opa_http_error',
  'opa_undefined',
  'opa_malformed',
  'cedar_evaluation_error',
  'engine_error',
  'policy_not_compiled',
  'approval_store_failed',
] as const;
export type PolicyFailure = (typeof policyFailures)[number];

/**
 * What failed, in words. Fixed per kind on purpose: the engine's own error (OPA's answer, a Cedar
 * message, the server's address) stays on the tool decision, since a finding's message travels on to
 * signals, incident titles and pages.
 */
const what: Record<PolicyFailure, string> = {
  opa_unreachable: 'the OPA server could not be reached',
  opa_timeout: 'the OPA server did not answer in time',
  opa_http_error: 'the OPA server answered with an HTTP error',
  opa_undefined: 'the OPA policy gave no result for this call (undefined decision)',
  opa_malformed: 'the OPA policy answered something that is not a decision',
  cedar_evaluation_error: 'the Cedar policy failed to evaluate for this call',
  engine_error: 'the policy engine failed',
  policy_not_compiled: 'the release’s policy could not be compiled on this replica',
  approval_store_failed: 'the call could not be held for approval (the approval store failed)',
};

export function policyFailureFinding(args: {
  readonly failure: PolicyFailure;
  /** `cedar` or `opa`. */
  readonly engine: string;
  readonly tool: string;
  /** What was done with the call: `deny` normally, `allow` when the policy runs in shadow mode. */
  readonly enforced: ToolDecision;
}): Finding {
  // The control over what tools a model may use (excessive agency) is the thing that failed.
  return callFinding(
    TOOL_POLICY_DETECTOR,
    args.failure,
    'LLM06',
    args,
    (denied) =>
      `tool-call policy (${args.engine}) failed: ${what[args.failure]}; ${
        denied ? 'the call was denied (fail closed)' : 'shadow mode, so the call was let through'
      }`,
  );
}

/**
 * A call the policy denied because untrusted content (a retrieved document, a tool result) had entered
 * the conversation: the same call without that taint would not have been denied (the gateway asks the
 * policy again to know). The detectors may have missed the injection that steered the model into the
 * call; the deny is then the only trace of the attempt, so it is a finding that reaches detection like
 * theirs. A detector id of its own, not `tool-policy`: rules written for a failing policy must not page
 * on a policy doing its job, and a deny the taint did not decide (a tool that is never allowed) is none.
 */
export const TAINTED_CALL_DETECTOR = 'tainted-tool-call';

/** How `firebreak guards` lists it (always on, no settings, like `tool-policy`). */
export const taintedCallDetector = listed(
  TAINTED_CALL_DETECTOR,
  'LLM01',
  'a tool call the policy denied because untrusted content (retrieved documents, tool results) had entered the conversation: a sign of an injection the detectors may have missed; always on, no settings',
);

export function untrustedCallDeniedFinding(args: {
  readonly engine: string;
  readonly tool: string;
  readonly taint: Taint;
  readonly enforced: ToolDecision;
}): Finding {
  // Detector ids only: an agent declares them (/v1/tools/authorize), and this message goes to pages.
  const fired = args.taint.detectors.filter((d) => /^[a-z][a-z0-9-]{0,40}$/.test(d));
  const what = [
    ...(args.taint.sources.length > 0 ? [args.taint.sources.join(', ')] : []),
    ...(fired.length > 0 ? [`detectors that fired on it: ${fired.join(', ')}`] : []),
  ].join('; ');
  // What is suspected is an indirect prompt injection steering the model into the call.
  return callFinding(
    TAINTED_CALL_DETECTOR,
    'denied',
    'LLM01',
    args,
    (denied) =>
      `tool-call policy (${args.engine}) denied a call because untrusted content had entered the conversation${what ? ` (${what})` : ''}; ${
        denied ? 'the call was denied' : 'shadow mode, so the call was let through'
      }`,
  );
}

/** A finding on one tool call; `enforced` is what was done with it (`allow` in shadow mode: recorded). */
function callFinding(
  detector: string,
  kind: string,
  owasp: 'LLM01' | 'LLM06',
  call: { readonly tool: string; readonly enforced: ToolDecision },
  message: (denied: boolean) => string,
): Finding {
  const denied = call.enforced !== 'allow';
  return {
    detector,
    kind,
    class: 'security',
    stage: 'tool_call',
    action: denied ? 'block' : 'log',
    score: 1,
    owasp,
    // The same location argument guards use, so a signal names the tool (containment can switch it off).
    location: `tool_call[${call.tool}]`,
    message: message(denied),
  };
}

/** How `firebreak guards` lists a policy finding's detector beside the guards' (no settings). */
function listed<Id extends string, O extends 'LLM01' | 'LLM06'>(id: Id, owasp: O, description: string) {
  return {
    id,
    class: 'security',
    stages: ['tool_call'],
    action: 'block',
    threshold: 1,
    owasp,
    description,
  } as const;
}
