import { FirebreakError } from '../errors.js';
import type { IncidentClass } from '../guards/types.js';
import type { Severity } from '../incidents/incident.js';
import { buildSignal, type Signal } from './signal.js';

/**
 * Evaluation failures as signals (issue 5 item 1): a suite run against a release (a CI job, a nightly
 * regression, a game day) reports its cases; each failed case is a signal of source `evaluation`, kind =
 * the suite, alert = the case, so rules can match a suite and group by release. The identity is app,
 * release, suite and case: the same case failing again on the same release is one signal, and a case
 * that fails on the next release is a new one.
 */
export interface EvaluationCaseResult {
  readonly case: string;
  readonly passed: boolean;
  readonly score?: number | undefined;
  readonly threshold?: number | undefined;
  /** Why it failed, in words; never the model's full answer (it may quote sensitive text). */
  readonly message?: string | undefined;
  /** A trace the case produced through the gateway, if it did. */
  readonly traceId?: string | undefined;
  /** The incident class a failure of this case indicates (default: integrity, a wrong answer). */
  readonly class?: IncidentClass | undefined;
  readonly severity?: Severity | undefined;
}

export interface EvaluationRun {
  readonly app: string;
  readonly env?: string | undefined;
  /** `<app>@<version>` as traces record it. */
  readonly release?: string | undefined;
  readonly suite: string;
  readonly results: readonly EvaluationCaseResult[];
  /** When the run happened (default: when it was received). */
  readonly ranAt?: number | undefined;
  readonly receivedAt: number;
}

/** The signals of a run's failed cases, in order. */
export function signalsFromEvaluation(run: EvaluationRun): Signal[] {
  if (run.release !== undefined && !run.release.startsWith(`${run.app}@`))
    throw new FirebreakError(
      'validation_failed',
      `release "${run.release}" is not a release of app "${run.app}" (releases look like ${run.app}@4)`,
      { path: 'release' },
    );
  const seen = new Set<string>();
  for (const [i, r] of run.results.entries()) {
    if (seen.has(r.case))
      throw new FirebreakError('validation_failed', `results[${i}].case: "${r.case}" is listed twice`, {
        path: `results.${i}.case`,
      });
    seen.add(r.case);
  }
  const observedAt = run.ranAt ?? run.receivedAt;
  return run.results
    .filter((r) => !r.passed)
    .map((r) => {
      const scored =
        r.score === undefined
          ? ''
          : ` (score ${r.score}${r.threshold === undefined ? '' : `, needs ${r.threshold}`})`;
      return buildSignal({
        source: 'evaluation',
        app: run.app,
        env: run.env,
        release: run.release,
        traceId: r.traceId,
        class: r.class ?? 'integrity',
        severity: r.severity,
        kind: run.suite,
        alert: r.case,
        title: `evaluation ${run.suite}/${r.case} failed${scored}${run.release ? ` on ${run.release}` : ''}`,
        details: {
          suite: run.suite,
          case: r.case,
          ...(r.score === undefined ? {} : { score: r.score }),
          ...(r.threshold === undefined ? {} : { threshold: r.threshold }),
          ...(r.message === undefined ? {} : { message: r.message }),
        },
        observedAt,
        receivedAt: run.receivedAt,
        identity: [run.app, run.release ?? null, run.suite, r.case],
      });
    });
}
