import type { Detection, Detector } from '../types.js';
import { perSettings } from './per-settings.js';
import { FAMILIES, type AdviceRule, type Family } from './regulated-advice-rules.js';
import { matchesOf } from '../regex-matches.js';

/**
 * Regulated advice (product.md §3): medical, legal or financial advice an app is not allowed to give, on
 * the user's input (someone asking a support bot for a dosage) and on the answer (the model giving one).
 */

interface CompiledAdvice {
  /** Every family in one regex; each rule is a capture group, numbered in `rules` order. */
  readonly regex: RegExp | undefined;
  readonly rules: readonly { readonly rule: AdviceRule; readonly family: Family['name'] }[];
}

/**
 * One regex for the families, with the release's allowed topics left out (an app allowed medical advice
 * never scans for it). One pass over the text; where two families could match at the same place the
 * earlier one wins, and scanning resumes after a match, so `You should take 400 mg` is reported once (as
 * advised) and not again from `take`.
 */
const adviceOf = perSettings((s): CompiledAdvice => {
  const rules: { rule: AdviceRule; family: Family['name'] }[] = [];
  const alternatives: string[] = [];
  for (const family of FAMILIES) {
    const kept = family.rules.filter((r) => !s.topics.allowed.includes(r.topic));
    if (kept.length === 0) continue;
    for (const rule of kept) rules.push({ rule, family: family.name });
    alternatives.push(`${family.prefix}(?:${kept.map((r) => `(${r.body})`).join('|')})`);
  }
  if (alternatives.length === 0) return { regex: undefined, rules };
  // Typographic apostrophes are as common as straight ones in model output (`you’d`, `don’t`).
  const source = `\\b(?:${alternatives.join('|')})\\b`.replaceAll("'", "['’]");
  return { regex: new RegExp(source, 'gi'), rules };
});

/** Before an action: the start of a sentence or list item, maybe with a softener (`1. Just take…`). */
const IMPERATIVE_BEFORE =
  /(?:^|[.!?:;\n•*-]|\d[.)])\s*(?:(?:just|simply|then|so|now|and|also|please|ok|okay|first|instead),?\s+)*$/i;
/** A negated action (`do not stop taking your medication`) is a warning, not the advice it names. */
const NEGATED_BEFORE = /(?:\bnot|n['’]t|\bnever)\s+$/i;

const MAX_ADVICE_FINDINGS = 20;

/** The number of the first capture group that took part in the match (its rule), 0 when none did. */
function firstGroup(m: RegExpExecArray): number {
  for (let i = 1; i < m.length; i++) if (m[i] !== undefined) return i;
  return 0;
}

export const regulatedAdvice: Detector = {
  id: 'regulated-advice',
  class: 'compliance',
  stages: ['input', 'output'],
  defaultAction: 'log',
  defaultThreshold: 0.5,
  description:
    'medical, legal or financial advice (or a request for it) outside the topics the release allows (guards.topics)',
  detect(text, ctx) {
    const { regex, rules } = adviceOf(ctx.settings);
    if (!regex) return [];
    const out: Detection[] = [];
    for (const m of matchesOf(regex, text)) {
      const found = rules[firstGroup(m) - 1];
      if (!found) continue;
      const { rule, family } = found;
      const span = { start: m.index, end: m.index + m[0].length };
      let score = rule.score;
      if (family === 'plain') {
        const before = text.slice(Math.max(0, span.start - 40), span.start);
        if (NEGATED_BEFORE.test(before)) continue;
        if (!IMPERATIVE_BEFORE.test(before)) score = rule.informational ?? score;
      }
      out.push({
        kind: rule.topic,
        score,
        span,
        message:
          rule.mode === 'gives'
            ? `${rule.topic} advice (${rule.what}) outside the app's allowed topics`
            : `asks for ${rule.topic} advice (${rule.what}) outside the app's allowed topics`,
      });
      if (out.length >= MAX_ADVICE_FINDINGS) break;
    }
    return out;
  },
};
