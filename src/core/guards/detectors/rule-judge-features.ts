import type { Tokens } from '../classifier.js';

/**
 * The rule judge's features (rule-judge.ts), shared by the scorer and its training script
 * (scripts/train-rule-judge.mjs reads this module from dist/, so the two cannot drift): each word token of
 * the injection classifier's scan and each pair of adjacent ones, hashed into 2^RULE_JUDGE_BITS buckets.
 */

export const RULE_JUDGE_BITS = 15;

/** The generated model file's shape. */
export interface RuleJudgeSpec {
  readonly bits: number;
  /** int8 weight × scale = the weight. */
  readonly scale: number;
  /** The threshold is folded in: logit 0 is the operating point. */
  readonly bias: number;
  /** int8 weights, one per bucket, base64. */
  readonly weights: string;
  /** Texts with their logits as the training script computed them (test/unit checks the scorer agrees). */
  readonly probes: readonly { readonly text: string; readonly logit: number }[];
}

const MASK = (1 << RULE_JUDGE_BITS) - 1;
const PAIR_PRIME = 0x01000193;
const WORD_SALT = 0x5bd1e995;

/** Murmur3's finaliser: spreads a word hash's bits before they are masked to a bucket. */
function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) & MASK;
}

/** The buckets of `tokens` (views into the scanner's buffers: read before the next scan). */
export function judgeFeatures(tokens: Tokens): Int32Array {
  const n = tokens.count;
  const out = new Int32Array(n === 0 ? 0 : 2 * n - 1);
  let previous = 0;
  for (let i = 0; i < n; i++) {
    const h = tokens.hashes[i] ?? 0;
    out[2 * i] = mix(h ^ WORD_SALT);
    if (i > 0) out[2 * i - 1] = mix(Math.imul(previous, PAIR_PRIME) ^ h);
    previous = h;
  }
  return out;
}
