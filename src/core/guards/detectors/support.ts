/**
 * The `support` integrity detector (OWASP LLM09): an answer with little lexical support in the
 * retrieved documents. Holds the lexical support score (contentWords, the hashed vocabulary and pair
 * tables, lexicalSupport and its one-pass fastSupport).
 */
import type { Detector } from '../types.js';
import type { Retrieved } from './citation.js';

/*
 * Lexical support: how much of the answer's wording is found in the retrieved documents. The score is
 * the mean of two shares over the answer's content words (stop words dropped, a plural `s` folded):
 * the share of its words that occur anywhere in the retrieved text, and the share of its adjacent word
 * pairs that occur as adjacent pairs there. 0 means nothing in common, 1 means every word and pair is
 * found.
 *
 * What it measures: whether the answer is worded from the documents. A fluent answer about something
 * the documents never mention scores near 0; a close paraphrase scores high.
 * What it does not measure: truth or entailment. A copied sentence with a negation added or a number
 * changed still scores high (the facts detector covers configured values); a correct answer in very
 * different words, or one drawing on general knowledge on purpose, scores low. So it is a review signal
 * named for what it is, not a hallucination probability.
 */
const STOP_WORDS = new Set(
  (
    'a about above after again against all also am an and any are aren as at be because been before being below ' +
    'between both but by can cannot could couldn did didn do does doesn doing don down during each either else ' +
    'etc even ever every few for from further get gets got had hadn has hasn have haven having he her here hers ' +
    'herself him himself his how however i if in into is isn it its itself just let like ll may me might more ' +
    'most much must my myself neither no nor not now of off often on once one only or other our ours ourselves ' +
    'out over own per please re same shall she should so some still such than that the their theirs them ' +
    'themselves then there these they this those through thus to too under until up upon us use used using ve ' +
    'very via was wasn we were weren what when where whether which while who whom whose why will with within ' +
    'without won would wouldn yes yet you your yours yourself yourselves'
  ).split(' '),
);
/** Fewer content words than this and the answer is too short to judge ("I don't know."). */
const MIN_CONTENT_WORDS = 10;
/**
 * Letters and digits of the Latin, Greek and Cyrillic scripts, after lower-casing. Not `\p{L}`: the
 * Unicode-aware regex is several times slower and this runs over every answer. Scripts written without
 * spaces (Chinese, Japanese, Thai) would need character n-grams and are not scored (too few words).
 */
const WORD = /[a-z0-9\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u0370-\u03ff\u0400-\u04ff]+/g;

/** Content words: stop words and one- or two-letter words dropped, a plural `s` folded. */
function contentWords(text: string): string[] {
  const out: string[] = [];
  // `match` (strings only) rather than `matchAll` (a match object per word): this is the hot loop.
  for (let w of text.toLowerCase().match(WORD) ?? []) {
    if (STOP_WORDS.has(w) || (w.length < 3 && !/\d/.test(w))) continue;
    if (w.length > 3 && w.endsWith('s') && !w.endsWith('ss')) w = w.slice(0, -1);
    out.push(w);
  }
  return out;
}

interface Vocabulary {
  /** Word → a small number, so a word pair is a pair of numbers (no string built per pair of the answer). */
  readonly words: ReadonlyMap<string, number>;
  /** Adjacent word pairs, by number. */
  readonly pairs: PairTable;
  /** The same words by wordHash, for answers read without building a string per word (fastSupport). */
  readonly byHash: HashedWords;
}

/*
 * fastSupport looks up every word of the answer (among the stop words, then in the vocabulary) and every
 * adjacent pair: open-addressing tables in typed arrays, because a Map or Set lookup per word (and a
 * double boxed per pair key) was most of its cost. Built once per retrieved array; a load of at most half.
 */

/** A table size: a power of two at least twice `n`. */
function tableSize(n: number): number {
  let size = 16;
  while (size < n * 2) size *= 2;
  return size;
}

/** Mixes two int32 into a table index (the low bits of a multiplicative hash). */
function slotOf(a: number, b: number, mask: number): number {
  const h = Math.imul(a ^ Math.imul(b, 0x85ebca6b), 0x9e3779b1);
  return (h ^ (h >>> 15)) & mask;
}

/** Words by their wordHash; a hash may be shared, so each candidate is checked against the text. */
interface HashedWords {
  readonly mask: number;
  /** The word's hash per slot. */
  readonly hashes: Int32Array;
  /** 1 + the word's index in `words` per slot, 0 for an empty slot. */
  readonly slots: Int32Array;
  readonly words: readonly string[];
  readonly ids: readonly number[];
}

/** A polynomial hash of a lower-case ASCII word (the one fastSupport computes as it reads the text). */
function wordHash(word: string): number {
  let h = 0;
  for (let i = 0; i < word.length; i++) h = (Math.imul(h, 31) + word.charCodeAt(i)) | 0;
  return h;
}

function hashWords(entries: Iterable<readonly [string, number]>): HashedWords {
  const words: string[] = [];
  const ids: number[] = [];
  for (const [word, id] of entries) {
    words.push(word);
    ids.push(id);
  }
  const size = tableSize(words.length);
  const mask = size - 1;
  const hashes = new Int32Array(size);
  const slots = new Int32Array(size);
  words.forEach((word, k) => {
    const h = wordHash(word);
    let at = slotOf(h, 0, mask);
    while (slots[at] !== 0) at = (at + 1) & mask;
    hashes[at] = h;
    slots[at] = k + 1;
  });
  return { mask, hashes, slots, words, ids };
}

/** Adjacent word pairs (a, b) by the words' numbers. */
interface PairTable {
  readonly mask: number;
  /** a + 1 per slot (0 for an empty slot), and b. */
  readonly first: Int32Array;
  readonly second: Int32Array;
}

function pairTable(pairs: readonly number[]): PairTable {
  const size = tableSize(pairs.length / 2);
  const mask = size - 1;
  const first = new Int32Array(size);
  const second = new Int32Array(size);
  for (let k = 0; k < pairs.length; k += 2) {
    const a = pairs[k] ?? 0;
    const b = pairs[k + 1] ?? 0;
    let at = slotOf(a, b, mask);
    for (; first[at] !== 0; at = (at + 1) & mask) if (first[at] === a + 1 && second[at] === b) break;
    first[at] = a + 1;
    second[at] = b;
  }
  return { mask, first, second };
}

function hasPair(table: PairTable, a: number, b: number): boolean {
  const { mask, first, second } = table;
  for (let at = slotOf(a, b, mask); first[at] !== 0; at = (at + 1) & mask)
    if (first[at] === a + 1 && second[at] === b) return true;
  return false;
}

const STOP_HASHED = hashWords([...STOP_WORDS].map((w) => [w, 0] as const));

const CITATION_MARKER = /\[[^[\]\n]{1,200}\]/g;

/** Built once per call's retrieved array (the output may be scanned more than once while it streams). */
const vocabularies = new WeakMap<Retrieved, Vocabulary>();

function vocabularyOf(retrieved: Retrieved): Vocabulary {
  let v = vocabularies.get(retrieved);
  if (!v) {
    const words = new Map<string, number>();
    const pairs: number[] = [];
    for (const d of retrieved) {
      let previous = -1;
      for (const w of contentWords(d.text)) {
        let id = words.get(w);
        if (id === undefined) {
          id = words.size;
          words.set(w, id);
        }
        if (previous >= 0) pairs.push(previous, id);
        previous = id;
      }
    }
    v = { words, pairs: pairTable(pairs), byHash: hashWords(words) };
    vocabularies.set(retrieved, v);
  }
  return v;
}

/** The lexical support score in [0, 1], or undefined when the answer is too short to judge. */
export function lexicalSupport(answer: string, retrieved: Retrieved): number | undefined {
  // Citation markers (`[kb:doc-9]`) are not claims: their ids would count as unsupported words.
  const text = answer.includes('[') ? answer.replace(CITATION_MARKER, ' ') : answer;
  const v = vocabularyOf(retrieved);
  const fast = fastSupport(text, v);
  if (fast !== SLOW) return fast;
  const ws = contentWords(text);
  if (ws.length < MIN_CONTENT_WORDS) return undefined;
  let words = 0;
  let pairs = 0;
  let previous: number | undefined;
  for (const w of ws) {
    const id = v.words.get(w);
    if (id !== undefined) {
      words++;
      if (previous !== undefined && hasPair(v.pairs, previous, id)) pairs++;
    }
    previous = id;
  }
  return (words / ws.length + pairs / (ws.length - 1)) / 2;
}

/** Whether text[s, e) lower-cased is `word`. */
function spells(text: string, s: number, e: number, word: string): boolean {
  if (word.length !== e - s) return false;
  for (let i = 0; i < word.length; i++) {
    let c = text.charCodeAt(s + i);
    if (c >= 65 && c <= 90) c += 32;
    if (c !== word.charCodeAt(i)) return false;
  }
  return true;
}

/** The id of the word text[s, e) (lower-cased), whose wordHash is `hash`; -1 when it is not in `table`. */
function idIn(table: HashedWords, hash: number, text: string, s: number, e: number): number {
  const { mask, hashes, slots, words, ids } = table;
  for (let at = slotOf(hash, 0, mask); slots[at] !== 0; at = (at + 1) & mask) {
    if (hashes[at] !== hash) continue;
    const k = (slots[at] ?? 0) - 1;
    if (spells(text, s, e, words[k] ?? '')) return ids[k] ?? -1;
  }
  return -1;
}

/** The longest stop word: a longer word is not looked up among them. */
const LONGEST_STOP_WORD = Math.max(...[...STOP_WORDS].map((w) => w.length));

/** fastSupport's answer when the text holds a character only the string path reads right. */
const SLOW = -1;

/**
 * Whether a character outside ASCII only separates words, as contentWords sees it: not in its word
 * ranges, and not lower-cased into them (`K` Kelvin sign, `ẞ`); conservatively, any character with a
 * lower-case form sends the text down the string path.
 */
function separatorOutsideAscii(c: number): boolean {
  if ((c >= 0xc0 && c <= 0x24f && c !== 0xd7 && c !== 0xf7) || (c >= 0x370 && c <= 0x4ff)) return false;
  const ch = String.fromCharCode(c);
  return ch.toLowerCase() === ch;
}

/**
 * lexicalSupport in one pass over the answer's characters: the same words as contentWords (letters and
 * digits, lower-cased; stop words and one- or two-letter words without a digit dropped; a plural `s`
 * folded), looked up by a hash computed while reading them, so no lower-cased copy and no string per
 * word is made (about half the cost). Letters outside ASCII (`café`, Greek, Cyrillic) return SLOW: the
 * string path handles them; punctuation such as `’` or `—` does not.
 */
function fastSupport(text: string, v: Vocabulary): number | undefined {
  let count = 0;
  let words = 0;
  let pairs = 0;
  let previous = -1;
  const n = text.length;
  let i = 0;
  while (i < n) {
    const first = text.charCodeAt(i);
    const folded = first | 32;
    if (!((folded >= 97 && folded <= 122) || (first >= 48 && first <= 57))) {
      if (first >= 128 && !separatorOutsideAscii(first)) return SLOW;
      i++;
      continue;
    }
    const s = i;
    let h = 0;
    let beforeLast = 0;
    let digit = false;
    let last = 0;
    let secondLast = 0;
    for (; i < n; i++) {
      let c = text.charCodeAt(i);
      if (c >= 65 && c <= 90) c += 32;
      else if (c >= 48 && c <= 57) digit = true;
      else if (c < 97 || c > 122) {
        if (c >= 128 && !separatorOutsideAscii(c)) return SLOW;
        break;
      }
      beforeLast = h;
      h = (Math.imul(h, 31) + c) | 0;
      secondLast = last;
      last = c;
    }
    const length = i - s;
    if (length < 3 && !digit) continue;
    if (length <= LONGEST_STOP_WORD && idIn(STOP_HASHED, h, text, s, i) >= 0) continue;
    // A plural `s` folded (not `ss`): the word without its last character, whose hash came just before.
    const fold = length > 3 && last === 115 && secondLast !== 115;
    const id = fold ? idIn(v.byHash, beforeLast, text, s, i - 1) : idIn(v.byHash, h, text, s, i);
    count++;
    if (id >= 0) {
      words++;
      if (previous >= 0 && hasPair(v.pairs, previous, id)) pairs++;
    }
    previous = id;
  }
  if (count < MIN_CONTENT_WORDS) return undefined;
  return (words / count + pairs / (count - 1)) / 2;
}

export const support: Detector = {
  id: 'support',
  class: 'integrity',
  owasp: 'LLM09',
  stages: ['output'],
  defaultAction: 'log',
  defaultThreshold: 0.5,
  wholeText: true,
  description:
    'the answer has little lexical support in the retrieved documents (score below guards.support.minScore)',
  detect(text, ctx) {
    if (ctx.retrieved.length === 0) return [];
    const score = lexicalSupport(text, ctx.retrieved);
    const min = ctx.settings.support.minScore;
    if (score === undefined || score >= min) return [];
    return [
      {
        // guards.support.minScore is the one knob; a score of 1 keeps the detector threshold from
        // second-guessing it (the measured value is in the message).
        score: 1,
        message: `lexical support ${score.toFixed(2)} is below ${min}: few of the answer's words and word pairs appear in the retrieved documents`,
      },
    ];
  },
};
