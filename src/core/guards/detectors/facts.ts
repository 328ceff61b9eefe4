/**
 * The `facts` integrity detector (OWASP LLM09): a value in the answer that contradicts the release's
 * source of truth (guards.facts). Holds fact-pattern validation (factPatternProblem), compilation and
 * value comparison.
 */
import type { Detection, Detector, GuardSettings } from '../types.js';
import { perSettings } from './per-settings.js';

interface CompiledFact {
  readonly id: string;
  readonly regex: RegExp;
  readonly expected: string;
  readonly expectedNumber: number | undefined;
}

/**
 * A quantified group that itself contains a quantifier (`(a+)+`, `(\w*x)*`): the classic shape of
 * catastrophic backtracking. Patterns are validated when the release is created; this is a second,
 * heuristic line so one bad pattern cannot stall the request path (it then yields nothing).
 */
const NESTED_QUANTIFIER = /\((?:[^()\\]|\\.)*(?:[*+]|\{\d+,\d*\})(?:[^()\\]|\\.)*\)(?:[*+]|\{\d+,\d*\})/;
const MAX_FACT_MATCHES = 20;

/** Why a fact pattern cannot be used (checked when a release is created), or undefined when it can. */
export function factPatternProblem(pattern: string): string | undefined {
  if (NESTED_QUANTIFIER.test(pattern))
    return 'a quantified group containing a quantifier (like (a+)+) can take exponential time';
  try {
    new RegExp(pattern, 'gid');
    // Number of capture groups: an alternation with the empty string always matches, every group unset.
    const groups = (new RegExp(`${pattern}|`).exec('')?.length ?? 1) - 1;
    return groups < 1 ? 'needs one capture group: the value the answer states' : undefined;
  } catch (e) {
    return `not a regular expression: ${(e as Error).message}`;
  }
}

function compileFact(f: GuardSettings['facts'][number]): CompiledFact | undefined {
  if (factPatternProblem(f.pattern) !== undefined) return undefined;
  // `d` gives the capture group's own span; `i` because a fact reads the same in any case.
  const regex = new RegExp(f.pattern, 'gid');
  return { id: f.id, regex, expected: normaliseValue(f.expected), expectedNumber: asNumber(f.expected) };
}

const factsOf = perSettings((s) => s.facts.map(compileFact).filter((f) => f !== undefined));

/** Case, whitespace runs and trailing punctuation do not make a value different. */
function normaliseValue(s: string): string {
  return s
    .trim()
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .replace(/[.,;:!?]+$/, '');
}

/** `$1,299.00`, `1299`, `€ 1 299` → 1299; undefined when the value is not a plain number. */
function asNumber(s: string): number | undefined {
  const t = s
    .trim()
    .replace(/[.,;:!?]+$/, '')
    .replace(/^([-+]?)\s*[$€£]\s*/, '$1')
    .replace(/[,\s]/g, '');
  return /^[-+]?(?:\d+\.?\d*|\.\d+)$/.test(t) ? Number(t) : undefined;
}

function sameValue(found: string, fact: CompiledFact): boolean {
  if (fact.expectedNumber !== undefined) {
    const n = asNumber(found);
    if (n !== undefined) return n === fact.expectedNumber;
  }
  return normaliseValue(found) === fact.expected;
}

export const facts: Detector = {
  id: 'facts',
  class: 'integrity',
  owasp: 'LLM09',
  stages: ['output'],
  defaultAction: 'log',
  defaultThreshold: 0.5,
  description: "a value in the answer contradicts the release's source of truth (guards.facts)",
  detect(text, ctx) {
    if (ctx.settings.facts.length === 0) return [];
    const out: Detection[] = [];
    for (const fact of factsOf(ctx.settings)) {
      let seen = 0;
      for (const m of text.matchAll(fact.regex)) {
        if (++seen > MAX_FACT_MATCHES) break;
        const value = m[1];
        const at = m.indices?.[1];
        if (value === undefined || at === undefined || sameValue(value, fact)) continue;
        out.push({
          kind: fact.id,
          score: 1,
          span: { start: at[0], end: at[1] },
          message: `the answer contradicts fact ${fact.id} (the source of truth says ${fact.expected})`,
        });
      }
    }
    return out;
  },
};
