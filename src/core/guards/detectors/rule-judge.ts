import { decodeBase64 } from '../base64.js';
import type { Tokens } from '../classifier.js';
import { ruleJudgeModel } from '../model/rule-judge-model.js';
import { judgeFeatures, RULE_JUDGE_BITS, type RuleJudgeSpec } from './rule-judge-features.js';

/**
 * The rule judge: a small logistic model of a user turn's words, character runs and how its words meet
 * the system prompt's rules (rule-judge-features.ts), trained by
 * scripts/train-rule-judge.mjs on the team's system-prompt checks, that reads whether a turn sent to an
 * app with rules tries to get the model to break them. It reads the attempt's stance and shape, not the
 * rule's subject, so it carries to rules no list names; how often it is right on a writer's attacks it
 * never saw is in bench/README.md ("The rule judge"). Only consulted when the system prompt has rules
 * (injection-signals.ts). Its finding is recorded, not refused (injection.ts `scopeKinds`), unless the
 * injection classifier also reads the turn as an injection: then it blocks as the classifier alone would.
 */

interface Judge {
  readonly weights: Int8Array;
  readonly scale: number;
  readonly bias: number;
}
let judge: Judge | undefined;
let enabled = true;

/**
 * Turn the judge's finding off and on, for measuring the other checks without it
 * (scripts/train-rule-judge.mjs does, so its table's "rules" column does not depend on the model being
 * replaced). Its score is still computed: the stance cues wait for it (injection-signals.ts).
 */
export function useRuleJudge(on: boolean): void {
  enabled = on;
}
export const ruleJudgeReports = (): boolean => enabled;

/** Decoded on first use, like the injection classifier. */
function load(spec: RuleJudgeSpec): Judge {
  if (spec.bits !== RULE_JUDGE_BITS)
    throw new Error(`rule judge model has 2^${spec.bits} buckets, the features 2^${RULE_JUDGE_BITS}`);
  const weights = decodeBase64(spec.weights);
  if (weights.length !== 1 << spec.bits) throw new Error(`rule judge model: ${weights.length} weights`);
  return { weights, scale: spec.scale, bias: spec.bias };
}

/**
 * The judge's logit for a turn (0 = its threshold): `text`, its tokens from the classifier's scan, and the
 * system prompt it was sent under.
 */
export function ruleJudgeLogit(text: string, tokens: Tokens, system: string | undefined): number {
  judge ??= load(ruleJudgeModel);
  const f = judgeFeatures(text, tokens, system);
  let s = 0;
  for (const k of f) s += judge.weights[k] ?? 0;
  return judge.bias + s * judge.scale;
}
