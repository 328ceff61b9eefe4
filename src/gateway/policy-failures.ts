import {
  policyFailureFinding,
  untrustedCallDeniedFinding,
  type PolicyFailure,
} from '../core/policy/policy-failure.js';
import type { ToolDecision } from '../core/policy/policy-settings.js';
import type { CallGuards } from './call-guards.js';

interface Log {
  warn(obj: object, msg: string): void;
}

/** What the reporter reads of a verdict (tool-policy.ts ToolVerdict). */
interface Verdict {
  readonly call: { readonly name: string };
  readonly engine: string;
  readonly decision: ToolDecision;
  readonly enforced: ToolDecision;
  /** Denied because of the untrusted content (tool-policy.ts asked again without it). */
  readonly becauseOfTaint?: true;
  /** Set when the policy could not decide; a verdict without it is not reported. */
  readonly failure?: PolicyFailure;
  readonly error?: string;
}

/** One log line per release and failure kind in this window; the calls in between are counted. */
const LOG_EVERY_MS = 10_000;
/** Releases × kinds are few; the bound only keeps a long-lived replica's map from growing unchecked. */
const MAX_KEYS = 256;

/**
 * A tool-call policy that could not decide denies the call (fail closed); this makes that seen. Each
 * failed call gets a `tool-policy` finding on its call's guards, so it is on the trace and goes to the
 * signal outbox with the call's other findings (a detection rule can open an incident on it). It is
 * also logged, throttled: an OPA outage fails every call, and one line per call would bury the log.
 * A policy that decided to deny a call after untrusted content came in gets a finding too (not logged:
 * it is the policy working), since the detectors may have missed what steered the model into the call.
 */
export class PolicyFailureReporter {
  private readonly logged = new Map<string, { at: number; suppressed: number }>();

  constructor(private readonly deps: { readonly log?: Log; readonly now: () => number }) {}

  report(v: Verdict, guards: CallGuards, where: { release: string; traceId: string }): void {
    const failure = v.failure;
    if (failure === undefined) {
      // A policy that decided: a deny the untrusted content decided is a finding of its own.
      if (v.becauseOfTaint)
        guards.addFindings([
          untrustedCallDeniedFinding({
            engine: v.engine,
            tool: v.call.name,
            taint: guards.taint(),
            enforced: v.enforced,
          }),
        ]);
      return;
    }
    guards.addFindings([
      policyFailureFinding({
        failure,
        engine: v.engine,
        tool: v.call.name,
        enforced: v.enforced,
      }),
    ]);
    const { log, now } = this.deps;
    if (!log) return;
    const key = `${where.release}|${failure}`;
    const at = now();
    const last = this.logged.get(key);
    if (last && at - last.at < LOG_EVERY_MS) {
      last.suppressed += 1;
      return;
    }
    if (!last && this.logged.size >= MAX_KEYS) this.logged.clear();
    this.logged.set(key, { at, suppressed: 0 });
    log.warn(
      {
        release: where.release,
        traceId: where.traceId,
        tool: v.call.name,
        engine: v.engine,
        failure,
        enforced: v.enforced,
        err: v.error,
        ...(last ? { notLoggedSince: last.suppressed } : {}),
      },
      v.enforced === 'allow'
        ? 'tool-call policy failed (shadow mode: the call went through)'
        : 'tool-call policy failed: the call was denied (fail closed)',
    );
  }
}
