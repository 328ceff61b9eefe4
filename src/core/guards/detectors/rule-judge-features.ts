import { isWordChar, lower, type Tokens } from '../classifier.js';
import { PromptMemo } from './prompt-memo.js';

/**
 * The rule judge's features (rule-judge.ts), shared by the scorer and its training script
 * (scripts/train-rule-judge.mjs reads this module from dist/, so the two cannot drift), hashed into
 * 2^RULE_JUDGE_BITS buckets:
 * - each word token of the injection classifier's scan, and each pair of adjacent ones;
 * - each run of 3 and of 4 characters (lower-cased, white space as one space): they carry a word's
 *   other forms, misspellings, and scripts written without spaces, which whole words miss;
 * - how the turn's words meet the system prompt's: how many of its word stems are in the prompt's rule
 *   sentences ("never", "do not", "only", "confidential"…) and how many in its other sentences. An
 *   attack talks about what the rules guard; an honest turn about what the app is for. These few
 *   buckets are the only features that read the prompt, and they carry to prompts no set held;
 * - the turn's length in words, alone and with the relation.
 * Each bucket counts at most twice per turn.
 */

export const RULE_JUDGE_BITS = 16;

/** The generated model file's shape. */
export interface RuleJudgeSpec {
  readonly bits: number;
  /** int8 weight × scale = the weight. */
  readonly scale: number;
  /** The threshold is folded in: logit 0 is the operating point. */
  readonly bias: number;
  /** int8 weights, one per bucket, base64. */
  readonly weights: string;
  /** Texts and system prompts with their logits as the training script computed them (test/unit checks the scorer agrees). */
  readonly probes: readonly { readonly text: string; readonly system: string; readonly logit: number }[];
}

const MASK = (1 << RULE_JUDGE_BITS) - 1;
const PRIME = 0x01000193;
const OFFSET = 0x811c9dc5;
const WORD_SALT = 0x5bd1e995;
const TRIGRAM_SEED = 0x2f6b3a1d;
const FOURGRAM_SEED = 0x63c1e5a7;
/** Word stems are a word's first STEM characters: "refund", "refunds" and "refunded" meet. */
const STEM = 5;
/** Shorter words (and, the, you…) say nothing about a subject. */
const MIN_WORD = 4;

/** Murmur3's finaliser: spreads a hash's bits before they are masked to a bucket. */
function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) & MASK;
}

function hashOf(s: string): number {
  let h = OFFSET;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), PRIME);
  return h;
}

/** White space of any kind reads as one space; invisible format characters are dropped (-1). */
function normal(code: number): number {
  const c = lower(code);
  if (c <= 32 || c === 0x85 || c === 0xa0 || c === 0x3000 || (c >= 0x2000 && c <= 0x200a)) return 32;
  if (c === 0xad || (c >= 0x200b && c <= 0x200f) || (c >= 0x2060 && c <= 0x2064) || c === 0xfeff) return -1;
  return c;
}

/** Stems no turn is counted for (filled below). */
const STOP = new Set<number>();

/** Calls `visit` with the stem hash of each word of `text` of at least MIN_WORD characters (not a function word). */
function eachStem(text: string, visit: (stem: number) => void): void {
  let stem = OFFSET;
  let length = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? normal(text.charCodeAt(i)) : 32;
    if (c === -1) continue;
    if (isWordChar(c)) {
      if (length < STEM) stem = Math.imul(stem ^ c, PRIME);
      length++;
      continue;
    }
    if (length >= MIN_WORD && !STOP.has(stem)) visit(stem);
    stem = OFFSET;
    length = 0;
  }
}

function stemsOf(text: string): Set<number> {
  const out = new Set<number>();
  eachStem(text, (s) => out.add(s));
  return out;
}

// Long function words, which would make every turn meet every prompt (filled while still empty, so
// eachStem skips none of them).
for (const s of stemsOf(
  'that this with your have from what will just about into them they their there then than when where which does doing were been being would could should some also here please',
))
  STOP.add(s);

/** A sentence that states a rule: what the app must not do, may only do, or must keep. */
const RULE_SENTENCE =
  /\b(?:never|not|don'?t|mustn'?t|cannot|can'?t|only|refuse|decline|forbidden|prohibited|off[- ]limits|confidential|secret|private|avoid|no)\b/i;

/** What the relation features read of a system prompt: the word stems of its rules and of the rest. */
export interface PromptTerms {
  readonly rule: ReadonlySet<number>;
  readonly scope: ReadonlySet<number>;
  /**
   * A bit per (stem mod 2^16) of every stem in `rule` or `scope`: a turn's stems are mostly in neither,
   * and one bit test turns them away before the set lookups.
   */
  readonly either: Uint8Array;
}

/** Where a stem's bit is in `either`: its byte and its bit in the byte. */
const stemByte = (stem: number): number => (stem >>> 3) & 0x1fff;
const stemBit = (stem: number): number => 1 << (stem & 7);

const terms = new PromptMemo<PromptTerms>(64, (head) => {
  const rule = new Set<number>();
  const scope = new Set<number>();
  for (const sentence of head.split(/(?<=[.!?])\s+|\n+/)) {
    // Once per sentence, not per word: a long prompt without sentence breaks stays linear.
    const into = RULE_SENTENCE.test(sentence) ? rule : scope;
    eachStem(sentence, (s) => into.add(s));
  }
  for (const s of rule) scope.delete(s);
  const either = new Uint8Array(1 << 13);
  for (const s of [...rule, ...scope]) either[stemByte(s)] = (either[stemByte(s)] ?? 0) | stemBit(s);
  return { rule, scope, either };
});

/** The system prompt's reading, memoised per prompt. */
export const promptTerms = (system: string): PromptTerms => terms.get(system);

/**
 * The relation buckets: counts of the turn's distinct stems in the rules and in the rest, each read as
 * 0, 1, 2 or 3 and more, alone, together, and together with the turn's length (in words: under 4, 8,
 * 16, 32, and more): two stems of a rule in a four-word turn say more than in a pasted page. The length
 * alone has its own buckets too (under 4 … 128 words, and more), so short and long turns each get their
 * own baseline. Each is set in REPEAT buckets: the training step per bucket shrinks with a turn's
 * length (the script's 1/√n), and three say as much as a few words do.
 */
const REPEAT = 3;
const relationBuckets = (name: string): number[] =>
  Array.from({ length: REPEAT }, (_, i) => mix(hashOf(`${name}:${i}`)));
const COUNTS = [0, 1, 2, 3];
const RULE_COUNT = COUNTS.map((k) => relationBuckets(`rule${k}`));
const SCOPE_COUNT = COUNTS.map((k) => relationBuckets(`scope${k}`));
const BOTH = COUNTS.map((r) => COUNTS.map((s) => relationBuckets(`rule${r}scope${s}`)));
const LENGTH = [4, 8, 16, 32, 64, 128, Infinity].map((w) => relationBuckets(`words<${w}`));
const BOTH_BY_LENGTH = COUNTS.map((r) =>
  COUNTS.map((s) => [0, 1, 2, 3, 4].map((b) => relationBuckets(`rule${r}scope${s}length${b}`))),
);
/** The LENGTH bucket of a turn of `words` words. */
const lengthBin = (words: number): number =>
  words < 4 ? 0 : words < 8 ? 1 : words < 16 ? 2 : words < 32 ? 3 : words < 64 ? 4 : words < 128 ? 5 : 6;

/** Scratch space for the buckets, grown as needed: one turn is featurised at a time. */
let scratch = new Int32Array(4096);

/**
 * Character n-grams are read over at most NGRAM_SPAN characters at each end of a long turn (all of a
 * turn up to twice that): what a turn asks is at its start or its end, and the words and pairs still
 * cover the middle. Keeps a 2 KB turn's cost near the classifier scan's.
 */
const NGRAM_SPAN = 200;

/**
 * The buckets of a turn: `text`, its tokens from the classifier's scan (views into the scanner's buffers:
 * read before the next scan), and the system prompt it is sent under (none: no stem meets it). A view
 * into scratch space, valid until the next call.
 */
export function judgeFeatures(text: string, tokens: Tokens, system: string | undefined): Int32Array {
  const n = tokens.count;
  // Words and pairs, two n-grams per character read (and the closing spaces), the relation buckets.
  const size = 2 * n + 2 * (Math.min(text.length, 2 * NGRAM_SPAN) + 4) + 5 * REPEAT;
  if (scratch.length < size) scratch = new Int32Array(size * 2);
  const out = scratch;
  let k = 0;
  let previous = 0;
  for (let i = 0; i < n; i++) {
    const h = tokens.hashes[i] ?? 0;
    out[k++] = mix(h ^ WORD_SALT);
    if (i > 0) out[k++] = mix(Math.imul(previous, PRIME) ^ h);
    previous = h;
  }
  if (text.length <= 2 * NGRAM_SPAN) k = ngrams(text, 0, text.length, out, k);
  else {
    k = ngrams(text, 0, NGRAM_SPAN, out, k);
    k = ngrams(text, text.length - NGRAM_SPAN, text.length, out, k);
  }

  const [r, s] = system === undefined ? [0, 0] : meetings(text, tokens, promptTerms(system));
  const length = lengthBin(n);
  const near = BOTH_BY_LENGTH[r]?.[s]?.[Math.min(length, 4)];
  for (const b of [RULE_COUNT[r], SCOPE_COUNT[s], BOTH[r]?.[s], LENGTH[length], near])
    for (const x of b ?? []) out[k++] = x;
  return out.subarray(0, atMostTwice(out, k));
}

/** Per-bucket counts while a turn is capped (all zero between calls). */
const counts = new Uint8Array(1 << RULE_JUDGE_BITS);

/**
 * Keeps each bucket's first two occurrences in `out[0, k)`, in order; returns the new length. A word or
 * a run of characters said twenty times says no more than said twice ("ok ok ok …" or a long binary
 * string would otherwise add up to a verdict by repetition alone).
 */
function atMostTwice(out: Int32Array, k: number): number {
  let m = 0;
  for (let i = 0; i < k; i++) {
    const b = out[i] ?? 0;
    const c = counts[b] ?? 0;
    if (c < 2) {
      counts[b] = c + 1;
      out[m++] = b;
    }
  }
  for (let i = 0; i < m; i++) counts[out[i] ?? 0] = 0;
  return m;
}

/**
 * How many distinct stems of `text` are in the prompt's rules and how many in the rest, each up to 3.
 * Only stems that meet the prompt are remembered (a few), so nothing is allocated per word.
 */
function meetings(text: string, tokens: Tokens, prompt: PromptTerms): [number, number] {
  const met: number[] = [];
  let rule = 0;
  let scope = 0;
  // The scan's word tokens are the words eachStem would find: their stems are read from the text at
  // their spans (at most STEM characters each) instead of a second pass over every character.
  for (let i = 0; i < tokens.count && (rule < 3 || scope < 3); i++) {
    const start = tokens.starts[i] ?? 0;
    const end = tokens.ends[i] ?? 0;
    let stem = OFFSET;
    let length = 0;
    for (let j = start; j < end; j++) {
      const c = normal(text.charCodeAt(j));
      if (c === -1) continue;
      if (length < STEM) stem = Math.imul(stem ^ c, PRIME);
      length++;
      if (length >= MIN_WORD && length >= STEM) {
        length = end - start;
        break;
      }
    }
    // Neither in the rules nor in the rest (the prompt's stems leave out STOP): as the checks below end.
    if (length < MIN_WORD || ((prompt.either[stemByte(stem)] ?? 0) & stemBit(stem)) === 0) continue;
    if (STOP.has(stem) || met.includes(stem)) continue;
    if (prompt.rule.has(stem)) rule++;
    else if (prompt.scope.has(stem)) scope++;
    else continue;
    met.push(stem);
  }
  return [Math.min(rule, 3), Math.min(scope, 3)];
}

/**
 * The 3- and 4-character runs of " text[from, to) ", white space collapsed, written to `out` from `k`;
 * returns the new end. c1 is the character before c, and so on.
 */
function ngrams(text: string, from: number, to: number, out: Int32Array, k: number): number {
  let c1 = 32;
  let c2 = -1;
  let c3 = -1;
  for (let i = from; i <= to; i++) {
    const c = i < to ? normal(text.charCodeAt(i)) : 32;
    if (c === -1 || (c === 32 && c1 === 32)) continue;
    if (c2 !== -1) {
      const tri = Math.imul(Math.imul(Math.imul(TRIGRAM_SEED ^ c2, PRIME) ^ c1, PRIME) ^ c, PRIME);
      out[k++] = mix(tri);
      if (c3 !== -1) out[k++] = mix(Math.imul(tri ^ FOURGRAM_SEED ^ c3, PRIME));
    }
    c3 = c2;
    c2 = c1;
    c1 = c;
  }
  return k;
}
