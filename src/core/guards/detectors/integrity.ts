import { matchesOf } from '../regex-matches.js';
import type { Detection, Detector, GuardContext, GuardSettings } from '../types.js';
import { perSettings } from './per-settings.js';

/**
 * Integrity (OWASP LLM09, misinformation): answers that cite documents nobody retrieved, state values
 * that contradict the release's source of truth, or have little lexical support in what was retrieved.
 * All three judge the answer (stage output) and only log by default: they are signals for review, not
 * proof, and a release raises them to `block` once it trusts them.
 */

type Retrieved = GuardContext['retrieved'];

// ---------------------------------------------------------------------------------------------------
// citation
// ---------------------------------------------------------------------------------------------------

/*
 * Citation syntaxes recognised (the gateway puts documents into the prompt as `[source:id] text`, see
 * core/call-plan.ts, so models cite them the same way):
 *   [kb:doc-9]                 source and id, exactly as the prompt showed it
 *   [source:doc-9] [doc:doc-9] a generic prefix (source, doc, document, ref, id, citation) and an id
 *   [doc-9]                    a bare id: only when documents were retrieved, and only ids with a letter
 *                              and a digit, so `[x]`, `[TODO]`, `[in-progress]`, `[v1.2.0]` are not taken
 *                              for citations
 *   [kb:doc-9, kb:doc-12]      several, separated by `,` or `;`
 *   (source: doc-9) (sources: kb:doc-9; doc-12) (ref: …) (doc: …)
 * Not taken for citations: markdown links `[text](url)` and reference definitions `[id]: url`, footnotes
 * `[^1]`, indexing `items[0]` / `a[i]` and addresses `user@[host:port]` (a bracket right after a word, a
 * closing bracket or one of `@/:=`), anything with spaces inside, and numeric footnotes `[1]` (they
 * name a position in some list, not a document id).
 */
const BRACKET = /(?<![\p{L}\p{N}_\])@/:=])\[([^[\]\n]{1,200})\](?![([:])/gu;
const PAREN = /\((?:sources?|refs?|references?|citations?|docs?|documents?)\s*:\s*([^()\n]{1,200})\)/giu;
/** One cited reference: an optional `prefix:` and an id without spaces. */
const TOKEN = /^(?:([A-Za-z][\w.-]{0,63}):)?(\w[\w./#:-]{0,127})$/u;
const GENERIC_PREFIXES = new Set(['source', 'src', 'doc', 'document', 'ref', 'id', 'citation', 'cite']);
const MAX_CITATION_FINDINGS = 20;

interface RetrievedIndex {
  /** `source:id`, lower case. */
  readonly full: ReadonlySet<string>;
  /** `id`, lower case. */
  readonly ids: ReadonlySet<string>;
}

/** The gateway builds one retrieved array per call and passes it to every scan of that call. */
const retrievedIndexes = new WeakMap<Retrieved, RetrievedIndex>();

function indexOf(retrieved: Retrieved): RetrievedIndex {
  let index = retrievedIndexes.get(retrieved);
  if (!index) {
    index = {
      full: new Set(retrieved.map((d) => `${d.source}:${d.id}`.toLowerCase())),
      ids: new Set(retrieved.map((d) => d.id.toLowerCase())),
    };
    retrievedIndexes.set(retrieved, index);
  }
  return index;
}

/**
 * Whether a cited token names a retrieved document; undefined when the token is not read as a citation.
 * `bare`: how an unprefixed token is read: `never`, `id-like` (has a letter and a digit) or `always`
 * (inside an explicit `(source: …)`).
 */
function citesRetrieved(
  token: string,
  index: RetrievedIndex,
  bare: 'never' | 'id-like' | 'always',
): boolean | undefined {
  const whole = token.trim().toLowerCase();
  const m = TOKEN.exec(whole);
  if (!m) return undefined;
  if (index.full.has(whole) || index.ids.has(whole)) return true;
  const prefix = m[1];
  const id = m[2] ?? '';
  if (prefix === undefined) {
    if (bare === 'never' || (bare === 'id-like' && !idLike(id))) return undefined;
    return false;
  }
  if (GENERIC_PREFIXES.has(prefix)) return index.ids.has(id) || index.full.has(id);
  return false;
}

/** A letter and a digit, and not a version number (`v1.2.0`). */
function idLike(id: string): boolean {
  return /\p{L}/u.test(id) && /\p{N}/u.test(id) && !/^v?\d+(?:\.\d+)+$/i.test(id);
}

function citationDetections(
  text: string,
  re: RegExp,
  retrieved: Retrieved,
  explicit: boolean,
  out: Detection[],
): void {
  const index = indexOf(retrieved);
  for (const m of matchesOf(re, text)) {
    const tokens = (m[1] ?? '').split(/[,;]/);
    const bare = explicit ? 'always' : retrieved.length > 0 ? 'id-like' : 'never';
    const verdicts = tokens.map((t) => citesRetrieved(t, index, bare));
    // A bracket is a citation only if every part of it reads as one (`[see note 3]` is prose).
    if (verdicts.some((v) => v === undefined)) continue;
    const prefixed = tokens.some((t) => t.includes(':'));
    const missing = verdicts.filter((v) => v === false).length;
    if (missing === 0) continue;
    out.push({
      kind: retrieved.length === 0 ? 'nothing-retrieved' : 'not-retrieved',
      score: explicit || prefixed ? 1 : 0.7,
      span: { start: m.index, end: m.index + m[0].length },
      message:
        retrieved.length === 0
          ? 'the answer cites a document, but no documents were retrieved for this call'
          : `the answer cites ${missing === 1 ? 'a document' : `${missing} documents`} not among those retrieved for this call`,
    });
    if (out.length >= MAX_CITATION_FINDINGS) return;
  }
}

export const citation: Detector = {
  id: 'citation',
  class: 'integrity',
  owasp: 'LLM09',
  stages: ['output'],
  defaultAction: 'log',
  defaultThreshold: 0.5,
  description: 'the answer cites a document id ([source:id], [doc-id], (source: id)) that was not retrieved',
  detect(text, ctx) {
    // Cheap exits: most answers contain no bracket or parenthesis at all.
    if (!text.includes('[') && !text.includes('(')) return [];
    const out: Detection[] = [];
    if (text.includes('[')) citationDetections(text, BRACKET, ctx.retrieved, false, out);
    if (out.length < MAX_CITATION_FINDINGS && text.includes('('))
      citationDetections(text, PAREN, ctx.retrieved, true, out);
    return out;
  },
};

// ---------------------------------------------------------------------------------------------------
// facts
// ---------------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------------
// support
// ---------------------------------------------------------------------------------------------------

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

export const integrityDetectors: readonly Detector[] = [citation, facts, support];
