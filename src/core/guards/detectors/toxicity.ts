import {
  englishDataset,
  englishRecommendedBlacklistMatcherTransformers,
  englishRecommendedTransformers,
  englishRecommendedWhitelistMatcherTransformers,
  RegExpMatcher,
  SyntaxKind,
  type MatchPayload,
  type Node,
} from 'obscenity';
import type { Detection, Detector } from '../types.js';
import { matchesOf } from '../regex-matches.js';

/**
 * Reputation: profanity, slurs, insults and threats, in what users send and what the model answers.
 *
 * Two sources, each reporting spans:
 * - the `obscenity` library's English word list and transformers (leet speak, look-alike Unicode,
 *   repeated letters: `sh1t`, `ƒuck`, `fuuuck`), with a score per word: slurs highest, clinical words
 *   (`penis`, `rape`, `sex`, which a health or legal answer uses properly) below the default threshold;
 * - a lexicon of what a word list misses: insults (`moron`, `libtard`), insults aimed at someone
 *   (`you are pathetic`), threats and wishes of harm (`I will kill you`, `should be hanged`), and masked
 *   profanity (`F**K`, `f@!#`).
 *
 * Measured at the default threshold on the development set's 1000 toxicity rows (surge-ai/toxicity,
 * social-media comments; the lexicon was tuned on a 70% split of them): recall 54.7% (274/501), false
 * positives 2.8% (14/499), all of them real profanity used without hostility ("so fucking cool"), which
 * the data labels non-toxic and a brand usually still wants to know about. On the 30% split not looked
 * at: recall 53.4%, false positives 3.9%. A hashed n-gram classifier trained on the 70% was tried and
 * left out: it learned politics rather than toxicity (a neutral news sentence about a politician scored
 * as toxic) and fired on 27 of the 784 other benign rows of the set. What this cannot see: sarcasm, dog
 * whistles, hostility in polite words, and most hostile political rants without insults.
 */

// ---------------------------------------------------------------------------------------------------
// obscenity: one matcher for the process, and a cheap exact pre-check in front of it
// ---------------------------------------------------------------------------------------------------

const dataset = englishDataset.build();
const matcher = new RegExpMatcher({ ...dataset, ...englishRecommendedTransformers });

/*
 * obscenity's matcher costs about 0.3 ms per 2 KB (it walks the text code point by code point through
 * its transformer objects, then runs ~120 regexes and its whitelist): three times the budget of all the
 * content detectors together. Almost no text contains a match, so the matcher runs only when a
 * pre-check says it might. The pre-check transforms the text the way obscenity does (confusable
 * Unicode, leet speak, lower case, then collapsing repeats; the tables are probed from obscenity's own
 * transformers at load, not copied) into a byte buffer, and walks one trie of every pattern over it.
 * It is looser on characters outside ASCII, so it can say "maybe" more often than the matcher, never
 * less: no match is lost. About 10-20 µs per 2 KB, linear in the text.
 */
type Transformer = (typeof englishRecommendedBlacklistMatcherTransformers)[number];
type CharTransform = (c: number) => number | undefined;

const simpleTransforms: CharTransform[] = [];
const statefulTransforms: Exclude<Transformer, { transform: CharTransform }>[] = [];
for (const t of englishRecommendedBlacklistMatcherTransformers)
  if ('transform' in t) simpleTransforms.push(t.transform);
  else statefulTransforms.push(t);

/** A code point through every simple transformer, in order (confusables, leet speak, lower case). */
function transformCodePoint(c: number): number | undefined {
  let x: number | undefined = c;
  for (const f of simpleTransforms) if (x !== undefined) x = f(x);
  return x;
}

/** Stands for every code point the transformers leave outside ASCII: never one of a pattern's letters. */
const OTHER = 1;
/** ASCII code → transformed code; also ensures the transformers map ASCII to ASCII (else no pre-check). */
const asciiTable = new Uint8Array(128);
/** How many repeats of a transformed character survive the collapsing transformer. */
const keepRepeats = new Uint8Array(128);

function probeTables(): boolean {
  // The collapsing transformer must come last, as the pre-check applies it after the others.
  const order = englishRecommendedBlacklistMatcherTransformers.map((t) => 'transform' in t);
  if (order.indexOf(false) !== order.length - 1 || order.lastIndexOf(false) !== order.length - 1)
    return false;
  for (let c = 0; c < 128; c++) {
    const x = transformCodePoint(c);
    if (x === undefined || x >= 128 || (x === OTHER && c !== OTHER)) return false;
    asciiTable[c] = x;
  }
  const [collapse, ...others] = statefulTransforms;
  if (collapse === undefined || others.length > 0) return false;
  // The pre-check's buffer holds ASCII only, so every pattern must be written in ASCII.
  const literal = (n: Node): boolean =>
    n.kind === SyntaxKind.Literal
      ? n.chars.every((c) => c < 128 && c !== OTHER)
      : n.kind === SyntaxKind.Optional
        ? literal(n.childNode)
        : true;
  if (!dataset.blacklistedTerms.every((t) => t.pattern.nodes.every(literal))) return false;
  for (let c = 0; c < 128; c++) {
    const state = collapse.factory();
    let kept = 0;
    for (let i = 0; i < 8; i++) if (state.transform(c) !== undefined) kept++;
    if (kept < 1 || kept > 7) return false;
    keepRepeats[c] = kept;
  }
  return true;
}
const precheckReady = probeTables();

interface PatternNode {
  /** Indexed by transformed character code (all below 128): an array, as this is the hot loop. */
  readonly next: (PatternNode | undefined)[];
  /** A wildcard step (`f?ck`). */
  any?: PatternNode;
  /** A pattern ends here; `boundary`: only at a word boundary. */
  end?: 'plain' | 'boundary';
  /** The terms (obscenity's ids) whose patterns end here, and whether each needs a word boundary. */
  terms?: { readonly id: number; readonly boundary: boolean }[];
}

const WILDCARD = -1;
/** A dense array (a sparse one would fall back to slow dictionary elements). */
const slots = (): (PatternNode | undefined)[] => new Array<PatternNode | undefined>(128).fill(undefined);

/** Every spelling of a pattern, optional parts in or out: character codes, WILDCARD for a wildcard. */
function spellings(pattern: (typeof dataset.blacklistedTerms)[number]['pattern']): number[][] {
  const steps = (n: Node): number[][] =>
    n.kind === SyntaxKind.Literal
      ? [n.chars]
      : n.kind === SyntaxKind.Wildcard
        ? [[WILDCARD]]
        : [[], ...steps(n.childNode)];
  let seqs: number[][] = [[]];
  for (const n of pattern.nodes) {
    const variants = steps(n);
    seqs = seqs.flatMap((s) => variants.map((v) => [...s, ...v]));
  }
  return seqs;
}

/** Both tries: patterns that must start at a word boundary, and the rest. */
function buildTries(): { readonly atBoundary: PatternNode; readonly anywhere: PatternNode } {
  const atBoundary: PatternNode = { next: slots() };
  const anywhere: PatternNode = { next: slots() };
  for (const { id, pattern } of dataset.blacklistedTerms) {
    for (const seq of spellings(pattern)) {
      let node = pattern.requireWordBoundaryAtStart ? atBoundary : anywhere;
      for (const c of seq) {
        let child = c === WILDCARD ? node.any : node.next[c];
        if (!child) {
          child = { next: slots() };
          if (c === WILDCARD) node.any = child;
          else node.next[c] = child;
        }
        node = child;
      }
      // A plain end makes a boundary end redundant (only "is there a match" is asked).
      if (node.end !== 'plain') node.end = pattern.requireWordBoundaryAtEnd ? 'boundary' : 'plain';
      (node.terms ??= []).push({ id, boundary: pattern.requireWordBoundaryAtEnd });
    }
  }
  return { atBoundary, anywhere };
}
const tries = buildTries();

/**
 * Which first three characters can start a match (bit 1: a pattern anywhere, bit 2: a pattern that needs
 * a word boundary before it), so the trie walk starts at few positions: `as` starts many English words
 * but `ass` few. Characters are reduced to 28 codes (a-z, space, anything else); a wildcard or a pattern
 * ending early allows any code, so the filter only ever lets more through.
 */
const CODES = 28;
const code = new Uint8Array(128);
for (let c = 97; c <= 122; c++) code[c] = c - 96;
code[32] = 27;

function startTriples(): Uint8Array {
  const triples = new Uint8Array(CODES * CODES * CODES);
  const everyCode = Array.from({ length: CODES }, (_, i) => i);
  const mark = (node: PatternNode, depth: number, index: number, bit: number): void => {
    if (depth === 3 || node.end !== undefined) {
      // Ended early: any remaining characters.
      const span = CODES ** (3 - depth);
      for (let k = 0; k < span; k++) {
        const at = index * span + k;
        triples[at] = (triples[at] ?? 0) | bit;
      }
      if (depth === 3) return;
    }
    if (node.any) for (const c of everyCode) mark(node.any, depth + 1, index * CODES + c, bit);
    node.next.forEach((child, c) => {
      if (child) mark(child, depth + 1, index * CODES + (code[c] ?? 0), bit);
    });
  };
  mark(tries.anywhere, 0, 0, 1);
  mark(tries.atBoundary, 0, 0, 2);
  return triples;
}
const triples = startTriples();

/** A word character for JavaScript's `\b` (what obscenity's compiled patterns use). */
function isWordByte(c: number | undefined): boolean {
  return (
    c !== undefined && ((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95 || (c >= 65 && c <= 90))
  );
}

/**
 * Every end (exclusive, in the buffer) of a pattern that matches from `j`, into `ends`, and the trie node
 * it ends at into `nodes`.
 */
function collectEnds(
  node: PatternNode,
  buf: Uint8Array,
  j: number,
  n: number,
  ends: number[],
  nodes: PatternNode[],
): void {
  for (;;) {
    if (node.end === 'plain' || (node.end === 'boundary' && !isWordByte(j < n ? buf[j] : undefined))) {
      ends.push(j);
      nodes.push(node);
    }
    if (j >= n) return;
    if (node.any) collectEnds(node.any, buf, j + 1, n, ends, nodes);
    const child = node.next[buf[j] ?? 0];
    if (!child) return;
    node = child;
    j++;
  }
}

/*
 * obscenity drops a match that lies inside an occurrence of one of its whitelisted terms (`assert`,
 * `assess` and `asset` hold `ass`). Ordinary text is full of those, so the pre-check honours the
 * whitelist too, the way the matcher does: terms are searched (each left to right, occurrences not
 * overlapping) in the text as the whitelist transformers leave it, which a probe at load confirms is
 * ASCII lower case with runs of spaces collapsed. Only the terms that could hold the candidate are
 * searched, and only for texts that have a candidate.
 */
const whitelistedTerms = dataset.whitelistedTerms ?? [];

function probeWhitelistTransformers(): boolean {
  const simple: CharTransform[] = [];
  const stateful: Exclude<Transformer, { transform: CharTransform }>[] = [];
  for (const t of englishRecommendedWhitelistMatcherTransformers)
    if ('transform' in t) simple.push(t.transform);
    else stateful.push(t);
  for (let c = 0; c < 0x3000; c++) {
    let x: number | undefined = c;
    for (const f of simple) if (x !== undefined) x = f(x);
    if (x !== (c >= 65 && c <= 90 ? c + 32 : c)) return false;
  }
  for (const t of stateful)
    for (const c of [32, 97, 122, 48, 46, 0xe9]) {
      const state = t.factory();
      let kept = 0;
      for (let i = 0; i < 8; i++) if (state.transform(c) !== undefined) kept++;
      if (kept !== (c === 32 ? 1 : 8)) return false;
    }
  return stateful.length <= 1;
}
const whitelistReady = probeWhitelistTransformers();

/** The text as the whitelist transformers leave it, and the way back to indices in the original. */
interface WhitelistView {
  readonly text: string;
  origin(i: number): number;
}

const NON_ASCII = /[^\0-\x7f]/;

function whitelistView(text: string): WhitelistView {
  // Only ASCII letters are lowered (toLowerCase does the same, faster, when there is nothing else).
  const lower = NON_ASCII.test(text)
    ? text.replace(/[A-Z]+/g, (run) => run.toLowerCase())
    : text.toLowerCase();
  if (!lower.includes('  ')) return { text: lower, origin: (i) => i };
  // After a collapsed run, transformed index t is original index t + (spaces removed so far).
  const shifts: [number, number][] = [];
  let removed = 0;
  const collapsed = lower.replace(/ {2,}/g, (run: string, at: number) => {
    const before = removed;
    removed += run.length - 1;
    shifts.push([at - before + 1, removed]);
    return ' ';
  });
  return {
    text: collapsed,
    origin: (i) => {
      const at = lastAtOrBefore(shifts, i);
      return i + (at < 0 ? 0 : (shifts[at]?.[1] ?? 0));
    },
  };
}

/**
 * The index of the last pair whose first number is at most `x`, -1 when none is; the pairs sorted by
 * their first number. A binary search, so the pre-check stays linear however many candidates a text has.
 */
function lastAtOrBefore(pairs: readonly (readonly [number, number])[], x: number): number {
  let lo = 0;
  let hi = pairs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((pairs[mid]?.[0] ?? 0) <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/** Whether obscenity's whitelist covers the original range [start, end] (inclusive). */
/** What `whitelisted` works out once per text: the whitelist's view, and each term's occurrences. */
interface WhitelistCache {
  view?: WhitelistView;
  readonly found: Map<string, [number, number][]>;
}

/** The whitelisted terms holding a hit's text (`ass` → `assert`, `assess`, …), in list order, by that text. */
const termsHolding = new Map<string, readonly string[]>();
const MAX_HOLDING_ENTRIES = 4096;

function termsContaining(inner: string): readonly string[] {
  let terms = termsHolding.get(inner);
  if (!terms) {
    terms = whitelistedTerms.filter((term) => term.includes(inner));
    if (termsHolding.size < MAX_HOLDING_ENTRIES) termsHolding.set(inner, terms);
  }
  return terms;
}

function whitelisted(text: string, start: number, end: number, cache: WhitelistCache): boolean {
  if (!whitelistReady) return false;
  const inner = whitelistView(text.slice(start, end + 1)).text;
  for (const term of termsContaining(inner)) {
    let intervals = cache.found.get(term);
    if (!intervals) {
      const view = (cache.view ??= whitelistView(text));
      intervals = [];
      for (let at = view.text.indexOf(term); at !== -1; at = view.text.indexOf(term, at + term.length))
        intervals.push([view.origin(at), view.origin(at + term.length - 1)]);
      cache.found.set(term, intervals);
    }
    // Occurrences of one term do not overlap: only the last one starting at or before `start` can hold it.
    const at = lastAtOrBefore(intervals, start);
    if (at >= 0 && end <= (intervals[at]?.[1] ?? -1)) return true;
  }
  return false;
}

let scratch = new Uint8Array(4096);
/** Where each buffer character came from in the text (its first UTF-16 unit). */
let origins = new Int32Array(4096);
/**
 * The buffer positions where a pattern may start (the start-triple filter let them through), in order,
 * each as `position * 4 + bits` (the filter's bits); transformInto fills the first `candidateCount`.
 */
let candidates = new Int32Array(4096);
let candidateCount = 0;

/**
 * A place in the text where a pattern may match: `start` and `end` (inclusive, as obscenity counts) in the
 * text, where in the trie the patterns that may match there end, and `live` unless obscenity's
 * whitelist covers it (hits after the first live one are counted live unchecked).
 */
interface Hit {
  readonly start: number;
  readonly end: number;
  /** The trie node the patterns end at, and whether a word boundary follows (for the terms that need one). */
  readonly node: PatternNode | undefined;
  readonly boundary: boolean;
  readonly live: boolean;
}

/** The terms (obscenity's ids) whose patterns match at a hit. */
function termsOf(hit: Hit): number[] {
  const out: number[] = [];
  for (const t of hit.node?.terms ?? []) if (hit.boundary || !t.boundary) out.push(t.id);
  return out;
}

/**
 * The text as obscenity's transformers leave it, into `scratch` (and `origins`); returns its length. In
 * the same pass, the start-triple filter (`triples`) is applied to each position as soon as the two
 * characters after it are known, so the pre-check walks the text once: the positions it lets through go
 * to `candidates`.
 */
function transformInto(text: string): number {
  if (scratch.length < text.length) {
    scratch = new Uint8Array(text.length * 2);
    origins = new Int32Array(text.length * 2);
    candidates = new Int32Array(text.length * 2);
  }
  const buf = scratch;
  const from = origins;
  const found = candidates;
  let count = 0;
  let n = 0;
  let last = -1;
  let run = 0;
  // The filter codes of the two characters before the one being written.
  let k0 = 0;
  let k1 = 0;
  for (let i = 0; i < text.length; i++) {
    const at = i;
    let c = text.charCodeAt(i);
    if (c < 128) c = asciiTable[c] ?? OTHER;
    else {
      const cp = text.codePointAt(i) ?? c;
      if (cp > 0xffff) i++;
      const x = transformCodePoint(cp);
      // A character a transformer drops never reaches the collapsing step (as in obscenity).
      if (x === undefined) continue;
      c = x < 128 ? x : OTHER;
    }
    if (c === last) {
      if (++run > (keepRepeats[c] ?? 1)) continue;
    } else {
      last = c;
      run = 1;
    }
    from[n] = at;
    buf[n] = c;
    const k2 = code[c] ?? 0;
    if (n >= 2) {
      const bits = triples[(k0 * CODES + k1) * CODES + k2] ?? 0;
      if (bits !== 0) found[count++] = (n - 2) * 4 + bits;
    }
    k0 = k1;
    k1 = k2;
    n++;
  }
  // The last two positions, with nothing (code 0) after the end. A one-character buffer is read with
  // whatever the buffer held after it, as the two-pass pre-check did.
  if (n >= 2) {
    const bits = triples[(k0 * CODES + k1) * CODES] ?? 0;
    if (bits !== 0) found[count++] = (n - 2) * 4 + bits;
  }
  if (n >= 1) {
    const next = n === 1 ? (code[buf[1] ?? 0] ?? 0) : 0;
    const bits = triples[(k1 * CODES + next) * CODES] ?? 0;
    if (bits !== 0) found[count++] = (n - 1) * 4 + bits;
  }
  candidateCount = count;
  return n;
}

/**
 * The pre-check's hits in `text`, in order of start. Every match obscenity can find (whitelisted or not)
 * is one of them, for the same term, with the same start and end: the buffer keeps every ASCII character
 * obscenity keeps, at the same index, and every pattern starts and ends with an ASCII literal (probeJoin
 * checks the ends; windows are not used without it). With `all`
 * false, only the first live hit (or none); with `all`, every hit, live or not.
 */
function precheckHits(text: string, all: boolean): Hit[] {
  const n = transformInto(text);
  const buf = scratch;
  const from = origins;
  const hits: Hit[] = [];
  let anyLive = false;
  const whitelist: WhitelistCache = { found: new Map() };
  const ends: number[] = [];
  const nodes: PatternNode[] = [];
  const found = candidates;
  for (let f = 0; f < candidateCount; f++) {
    const candidate = found[f] ?? 0;
    const i = candidate >> 2;
    const pair = candidate & 3;
    // The ends found from here are appended (resetting the arrays costs more than letting them grow).
    const first = ends.length;
    if (pair & 1) collectEnds(tries.anywhere, buf, i, n, ends, nodes);
    if (pair & 2 && !isWordByte(i > 0 ? buf[i - 1] : undefined))
      collectEnds(tries.atBoundary, buf, i, n, ends, nodes);
    for (let k = first; k < ends.length; k++) {
      const e = ends[k] ?? 0;
      const start = from[i] ?? 0;
      const lastAt = from[e - 1] ?? 0;
      // Inclusive end, on the low surrogate when the last character is outside the BMP (as obscenity).
      const end = lastAt + ((text.codePointAt(lastAt) ?? 0) > 0xffff ? 1 : 0);
      // After the first live hit the whitelist is not consulted: a window around a whitelisted hit costs
      // less than the check (and a text full of profanity has hundreds of hits).
      const live: boolean = anyLive || !whitelisted(text, start, end, whitelist);
      const hit = { start, end, node: nodes[k], boundary: !isWordByte(e < n ? buf[e] : undefined), live };
      if (!all) {
        if (live) return [hit];
        continue;
      }
      anyLive ||= live;
      hits.push(hit);
    }
  }
  return hits;
}

/** False only when obscenity certainly finds nothing in `text`. */
export function mayContainProfanity(text: string): boolean {
  return !precheckReady || precheckHits(text, false).length > 0;
}

/*
 * When the pre-check says "maybe", obscenity's matcher runs on windows around the live hits only, not on
 * the whole text: most of a 2 KB message is far from any hit, and the matcher costs about 0.15 µs a
 * character on top of about 15 µs a call. A window is cut where cutting changes nothing obscenity sees:
 * - it starts at a word character (after obscenity's transformers) after a non-word one, and ends at a
 *   word character before a non-word one, both ASCII: the word boundaries its patterns test are the same,
 *   and its repeat-collapsing starts afresh on both sides;
 * - no hit (live or whitelisted) spans the cut: every possible match is a hit, so no match is split,
 *   and each pattern's left-to-right scan, which skips past every match, resumes in step;
 * - no occurrence of a whitelisted term spans it either (only a term holding the characters at the cut
 *   can: `pen is`, `kung-fu`), so the whitelist finds the same occurrences.
 * The windows are joined with two separator characters no pattern or whitelisted term contains, checked at
 * load along with that no pattern starts or ends with a wildcard or has two in a row (so no match can take
 * in a separator), and the matcher runs once over the join. Windows are found in one pass: linear.
 */
const SEPARATOR = '\n\t';

function probeJoin(): boolean {
  const seps = [SEPARATOR.charCodeAt(0), SEPARATOR.charCodeAt(1)];
  if (SEPARATOR.length !== 2 || seps[0] === seps[1]) return false;
  for (const s of seps) {
    if (asciiTable[s] !== s || isWordByte(s)) return false;
    if (whitelistedTerms.some((t) => t.includes(String.fromCharCode(s)))) return false;
  }
  // A match could take in a separator only by a literal naming it or a wildcard: one at either end of
  // a spelling, or two in a row, could reach across the pair from a window.
  return dataset.blacklistedTerms.every(({ pattern }) =>
    spellings(pattern).every(
      (seq) =>
        seq[0] !== WILDCARD &&
        seq[seq.length - 1] !== WILDCARD &&
        seq.every((c, i) => !seps.includes(c) && !(c === WILDCARD && seq[i + 1] === WILDCARD)),
    ),
  );
}
const joinReady = precheckReady && whitelistReady && probeJoin();

/** The whitelisted terms by each pair of adjacent characters in them (`n `, ` i` for `pen is`). */
const termsByPair = new Map<number, { readonly term: string; readonly at: number }[]>();
for (const term of whitelistedTerms)
  for (let at = 1; at < term.length; at++) {
    const key = term.charCodeAt(at - 1) * 0x10000 + term.charCodeAt(at);
    const list = termsByPair.get(key) ?? [];
    list.push({ term, at });
    termsByPair.set(key, list);
  }

/** The whitelist's view of one character (ASCII lower case). */
function lowerCode(c: number): number {
  return c >= 65 && c <= 90 ? c + 32 : c;
}

/**
 * Whether the whitelist's view of the text (lower case, runs of spaces collapsed), read from index `j`
 * in direction `step`, spells `term` from its index `t` on in the same direction, to the term's end.
 */
function viewSpells(text: string, j: number, term: string, t: number, step: 1 | -1): boolean {
  let last = -1;
  for (; t >= 0 && t < term.length; t += step) {
    let c: number;
    do {
      if (j < 0 || j >= text.length) return false;
      c = lowerCode(text.charCodeAt(j));
      j += step;
    } while (c === 32 && last === 32);
    if (c !== term.charCodeAt(t)) return false;
    last = c;
  }
  return true;
}

/**
 * Whether an occurrence of a whitelisted term spans the cut before `k`, where text[k - 1] and text[k]
 * are ASCII and one of them is a word character (so the whitelist keeps both, side by side). Only the
 * terms holding that pair of characters are tried, at that pair.
 */
function whitelistSpans(text: string, k: number): boolean {
  const pairs = termsByPair.get(lowerCode(text.charCodeAt(k - 1)) * 0x10000 + lowerCode(text.charCodeAt(k)));
  if (!pairs) return false;
  for (const { term, at } of pairs)
    if (viewSpells(text, k, term, at, 1) && viewSpells(text, k - 1, term, at - 1, -1)) return true;
  return false;
}

/** The word class of an ASCII code after obscenity's transformers; undefined outside ASCII. */
function wordClass(c: number): boolean | undefined {
  return c < 128 ? isWordByte(asciiTable[c]) : undefined;
}

let blockedScratch = new Int32Array(4096);

/**
 * Windows around the live hits, as [start, end) pairs in order, disjoint, every cut as described above;
 * the whole text as one window when no cut fits.
 */
function windowsAround(text: string, hits: readonly Hit[]): number[] {
  const n = text.length;
  if (blockedScratch.length < n + 2) blockedScratch = new Int32Array((n + 2) * 2);
  // blocked[k] > 0: a hit spans the cut before k (start < k <= end).
  const blocked = blockedScratch;
  blocked.fill(0, 0, n + 2);
  for (const h of hits) {
    blocked[h.start + 1] = (blocked[h.start + 1] ?? 0) + 1;
    blocked[h.end + 1] = (blocked[h.end + 1] ?? 0) - 1;
  }
  for (let k = 1; k <= n; k++) blocked[k] = (blocked[k] ?? 0) + (blocked[k - 1] ?? 0);
  const startsAt = (k: number): boolean =>
    wordClass(text.charCodeAt(k - 1)) === false &&
    wordClass(text.charCodeAt(k)) === true &&
    blocked[k] === 0 &&
    !whitelistSpans(text, k);
  const endsAt = (k: number): boolean =>
    k >= n ||
    (wordClass(text.charCodeAt(k - 1)) === true &&
      wordClass(text.charCodeAt(k)) === false &&
      blocked[k] === 0 &&
      !whitelistSpans(text, k));
  const endFrom = (k: number): number => {
    while (!endsAt(k)) k++;
    return k;
  };
  const out: number[] = [];
  for (const h of hits) {
    if (!h.live) continue;
    const end = out.length > 0 ? (out[out.length - 1] ?? 0) : -1;
    if (h.start < end) {
      // Starts inside the current window: maybe it reaches past it.
      if (h.end >= end) out[out.length - 1] = endFrom(h.end + 1);
      continue;
    }
    // Back from the hit to a start cut; none before the previous window's end means one window for both.
    let k = h.start;
    while (k > Math.max(end, 0) && !startsAt(k)) k--;
    if (end >= 0 && k <= end) out[out.length - 1] = endFrom(h.end + 1);
    else out.push(k, endFrom(h.end + 1));
  }
  return out;
}

/*
 * obscenity's matcher runs each of its ~120 patterns over the text it is given, which costs more than the
 * windows themselves: only the patterns of the hits in the windows are run, by a matcher built for just
 * those terms (the same whitelist and transformers; a few dozen term sets are kept). Each pattern finds
 * the same matches whatever else the matcher holds, and the matches are sorted the same way, so the
 * result is the same; a pattern with no hit in the windows has no match there.
 */
const termsById = new Map(dataset.blacklistedTerms.map((t) => [t.id, t]));
const matchersByTerms = new Map<string, RegExpMatcher>();
const MAX_KEPT_MATCHERS = 64;
/** Above this many terms, the matcher with all of them runs rather than another one being built. */
const MAX_SUBSET_TERMS = 16;

function matcherFor(ids: ReadonlySet<number>): RegExpMatcher {
  if (ids.size > MAX_SUBSET_TERMS) return matcher;
  const sorted = [...ids].sort((a, b) => a - b);
  const key = sorted.join(',');
  let m = matchersByTerms.get(key);
  if (!m) {
    const terms = sorted.map((id) => termsById.get(id));
    if (!terms.every((t) => t !== undefined)) return matcher;
    if (matchersByTerms.size >= MAX_KEPT_MATCHERS) {
      const oldest = matchersByTerms.keys().next().value;
      if (oldest !== undefined) matchersByTerms.delete(oldest);
    }
    m = new RegExpMatcher({
      ...englishRecommendedTransformers,
      blacklistedTerms: terms,
      whitelistedTerms: [...whitelistedTerms],
    });
    matchersByTerms.set(key, m);
  }
  return m;
}

/** Every match obscenity's matcher finds in `text`, sorted, as `matcher.getAllMatches(text, true)` does. */
export function obscenityMatches(text: string): MatchPayload[] {
  if (!precheckReady) return matcher.getAllMatches(text, true);
  const hits = precheckHits(text, true);
  if (!hits.some((h) => h.live)) return [];
  const windows = joinReady ? windowsAround(text, hits) : [0, text.length];
  // The terms of every hit in a window (a hit lies wholly inside a window or wholly outside all).
  const ids = new Set<number>();
  let w = 0;
  for (const h of hits) {
    while (w < windows.length && (windows[w + 1] ?? 0) <= h.start) w += 2;
    if (w >= windows.length) break;
    if ((windows[w] ?? 0) <= h.start) for (const id of termsOf(h)) ids.add(id);
  }
  const m = matcherFor(ids);
  if (windows.length === 2 && windows[0] === 0 && windows[1] === text.length)
    return m.getAllMatches(text, true);
  // Where each window starts in the joined text and in `text`.
  const at: number[] = [];
  const parts: string[] = [];
  let length = 0;
  for (let i = 0; i < windows.length; i += 2) {
    const start = windows[i] ?? 0;
    const part = text.slice(start, windows[i + 1]);
    at.push(length, start);
    parts.push(part);
    length += part.length + SEPARATOR.length;
  }
  let i = 0;
  return m.getAllMatches(parts.join(SEPARATOR), true).map((match) => {
    // Sorted by start, so the window only ever moves forward.
    while (i + 2 < at.length && (at[i + 2] ?? 0) <= match.startIndex) i += 2;
    const shift = (at[i + 1] ?? 0) - (at[i] ?? 0);
    return { ...match, startIndex: match.startIndex + shift, endIndex: match.endIndex + shift };
  });
}

interface WordClass {
  readonly kind: 'slur' | 'profanity' | 'sexual';
  readonly score: number;
}

const SLUR: WordClass = { kind: 'slur', score: 1 };
const SLUR_AMBIGUOUS: WordClass = { kind: 'slur', score: 0.8 };
const PROFANITY: WordClass = { kind: 'profanity', score: 0.8 };
const MILD: WordClass = { kind: 'profanity', score: 0.6 };
const SEXUAL: WordClass = { kind: 'sexual', score: 0.7 };
/** Below the default threshold: words with a common innocent or clinical reading. */
const AMBIGUOUS: WordClass = { kind: 'profanity', score: 0.4 };
const CLINICAL: WordClass = { kind: 'sexual', score: 0.3 };

/** By obscenity's `originalWord`; a word missing here (a newer obscenity) counts as profanity. */
const WORD_CLASSES: Readonly<Record<string, WordClass>> = {
  abeed: SLUR,
  africoon: SLUR,
  arabush: SLUR,
  boonga: SLUR,
  chingchong: SLUR,
  chink: SLUR,
  kike: SLUR,
  nigger: SLUR,
  fag: SLUR,
  tranny: SLUR,
  dyke: SLUR_AMBIGUOUS,
  retard: SLUR_AMBIGUOUS,
  spastic: SLUR_AMBIGUOUS,
  // `ABO blood group`, and the historical usage quoted in history answers.
  abo: { kind: 'slur', score: 0.4 },
  negro: { kind: 'slur', score: 0.4 },
  fuck: PROFANITY,
  cunt: PROFANITY,
  shit: PROFANITY,
  bitch: PROFANITY,
  bastard: PROFANITY,
  twat: PROFANITY,
  wank: PROFANITY,
  whore: PROFANITY,
  slut: PROFANITY,
  cuck: PROFANITY,
  jizz: PROFANITY,
  ass: MILD,
  arse: MILD,
  bollocks: MILD,
  piss: MILD,
  turd: MILD,
  // Names, birds, cats and roosters: Moby Dick, blue tit, pussycat, the cock crowed, Hooker.
  dick: AMBIGUOUS,
  cock: AMBIGUOUS,
  pussy: AMBIGUOUS,
  tit: AMBIGUOUS,
  prick: AMBIGUOUS,
  boob: AMBIGUOUS,
  hooker: AMBIGUOUS,
  cum: AMBIGUOUS,
  blowjob: SEXUAL,
  handjob: SEXUAL,
  gangbang: SEXUAL,
  deepthroat: SEXUAL,
  buttplug: SEXUAL,
  'finger bang': SEXUAL,
  felch: SEXUAL,
  lubejob: SEXUAL,
  hentai: SEXUAL,
  dildo: SEXUAL,
  doggystyle: SEXUAL,
  fisting: SEXUAL,
  'double penetration': SEXUAL,
  'jerk off': SEXUAL,
  orgy: SEXUAL,
  bestiality: SEXUAL,
  fellatio: SEXUAL,
  anal: CLINICAL,
  anus: CLINICAL,
  penis: CLINICAL,
  vagina: CLINICAL,
  sex: CLINICAL,
  semen: CLINICAL,
  orgasm: CLINICAL,
  ejaculate: CLINICAL,
  masturbate: CLINICAL,
  incest: CLINICAL,
  rape: CLINICAL,
  porn: CLINICAL,
  scat: CLINICAL,
};

/** The class of the word a match is for, by obscenity's `originalWord` (looked up once per term). */
const classByTerm = new Map<number, WordClass>();
function classOfTerm(m: MatchPayload): WordClass {
  let c = classByTerm.get(m.termId);
  if (!c) {
    const original = englishDataset.getPayloadWithPhraseMetadata(m).phraseMetadata?.originalWord ?? '';
    c = WORD_CLASSES[original] ?? PROFANITY;
    classByTerm.set(m.termId, c);
  }
  return c;
}

/**
 * Words obscenity flags that are innocent (found by probing, not in its whitelist): a match inside the
 * first letters of one of these words is dropped. Only inside that prefix, so `cockpitfuck` still counts.
 */
const INNOCENT_PREFIXES = [
  'assn',
  'assonan',
  'asst',
  'assyria',
  'assort',
  'booboo',
  'chinked',
  'chinking',
  'cockpit',
  'cuckold',
  'cummings',
  'cumin',
  'dickinson',
  'fagan',
  'fagged',
  'fagging',
  'fagin',
  'fagot',
  'fagus',
  'feckless',
  'fukuoka',
  'fukushima',
  'fukuyama',
  'georg',
  'niggard',
  'peniston',
  'pissar',
  'rapeseed',
  'retardant',
  'retardation',
  'retarding',
  'semenya',
  'shiitake',
  'traffick',
  'vandyke',
  'wankel',
];
const LETTER_OR_DIGIT = /[\p{L}\p{N}]/u;

function innocent(text: string, start: number, end: number): boolean {
  // `science/analytics`: obscenity reads `/` as leet for `l` even between two words.
  const first = text[start] ?? '';
  if ((first === '/' || first === '|') && LETTER_OR_DIGIT.test(text[start - 1] ?? '')) return true;
  let from = start;
  while (from > 0 && LETTER_OR_DIGIT.test(text[from - 1] ?? '')) from--;
  const word = text.slice(from, from + 16).toLowerCase();
  for (const p of INNOCENT_PREFIXES) if (word.startsWith(p) && end <= from + p.length) return true;
  const matched = text.slice(start, end);
  const after = text.slice(end, end + 24);
  // The surname Fu (`FU` and `fu` still count); magna cum laude; a chink in the armour.
  if (matched === 'Fu' && !LETTER_OR_DIGIT.test(after[0] ?? '')) return true;
  if (/^cum$/i.test(matched) && /^\s+laude\b/i.test(after)) return true;
  return /^chinks?$/i.test(matched) && /^\s+in\s+(?:\w+\s+)?armou?r/i.test(after);
}

// ---------------------------------------------------------------------------------------------------
// The lexicon
// ---------------------------------------------------------------------------------------------------

interface LexiconRule {
  readonly kind: 'insult' | 'threat' | 'profanity';
  readonly score: number;
  /** Alternatives of whole words or phrases; may not contain capturing groups. */
  readonly source: string;
}

/*
 * Every entry was checked against innocent readings an assistant produces: `degenerate` (a degenerate
 * case), `loonie` (Canadian dollar), `fruitcake`, `douche` (medical), `vermin` and `exterminate` (pest
 * control), `should be beaten` (eggs), `must be hung` (a painting), `drop dead gorgeous`, `s*t` and `a**2`
 * (formulas), `your trash` (a folder): those are left out or only count when aimed at someone.
 */
const LEXICON: readonly LexiconRule[] = [
  {
    kind: 'insult',
    score: 0.8,
    source: String.raw`idiot(?:s|ic)?|moron(?:s|ic)?|imbeciles?|cretins?|nitwit[s$]?|dimwits?|halfwits?|dumb-?ass(?:es)?|dumba\$\$(?:es)?|jackass(?:es)?|scumbags?|dirtbags?|douchebags?|sleaze(?:bag|ball)s?|lowlifes?|numbskulls?|boneheads?|buffoons?|nut-?cases?|a-holes?|a\*\*(?:hole|hat)s?|subhumans?|scum|s\.o\.b\.?|piece of (?:shit|sh\*t|garbage|trash|crap|filth|dung)|pedos?|pedo (?:island|joe)|excuse (?:for|of) a (?:human(?: being)?|man|woman|person)|waste of (?:space|oxygen|skin|air)`,
  },
  {
    kind: 'insult',
    score: 0.9,
    source: String.raw`lib(?:tard|turd|fuk)(?:s|ed|ism)?|trumptards?|repub(?:li)?tards?|demtards?|conservatards?|retardicans?|demon[- ]?rats?|democraps?|repukes?|repuklicans?|rethuglicans?|magats?`,
  },
  {
    // Aimed at someone: `you are pathetic`, `what an idiot`, `she's a lying disgusting fraud`.
    kind: 'insult',
    score: 0.9,
    source: String.raw`(?:you|you're|youre|you are|u r|you guys are|what an?|such an?|bunch of|he's|she's|he is|she is|they're|they are)(?:\s+(?:a|an|such|so|the|one|total|complete|absolute|fucking|stupid|dumb|ignorant|lying|little|big|fat|old|pathetic|miserable|worthless|disgusting|useless|special kind of)){0,3}\s+(?:idiots?|morons?|imbeciles?|stupid|dumb|losers?|clowns?|fools?|jerks?|liars?|freaks?|pathetic|worthless|disgusting|traitors?|hypocrites?|maggots?|degenerates?|lunatics?|fruitcakes?|douche|dick|prick|pussy|twat|bitch|cunt|whore|slut|vermin|filth|trash|garbage|scum|brain-?dead|ugly|fat|frauds?)`,
  },
  {
    kind: 'threat',
    score: 0.95,
    source: String.raw`(?:i|we)(?:'ll| will| am going to|'m going to|'m gonna| are going to| gonna)\s+(?:kill|k+e+l+|hurt|murder|shoot|stab|rape|beat|strangle)\s+(?:you|u|y'all|him|her|them)|kill (?:yo)?urself|kill yourselves|kys|hang (?:yo)?urself|hang yourselves`,
  },
  {
    kind: 'threat',
    score: 0.85,
    source: String.raw`(?:should|deserves? to|needs? to|ought to) be (?:shot|hanged|lynched|gassed)|(?:hope|wish) (?:you|he|she|they|u) (?:all |both )?(?:die|dies|rot|burn|suffer|get cancer|choke)|(?:rot|burn|roast) in hell|drop dead(?! gorgeous)|get sick and die|needs? the gallows|death to`,
  },
  {
    kind: 'profanity',
    score: 0.7,
    source: String.raw`f[*@#&%!$]+(?:c?k|ck|ing|in|ed|er|ers)|f[*@#&%!$]{2,}|sh[*#%!|@]+t(?:ty|s)?|s[#%@!|][#*%@!|]?t|b[*!]+tch(?:es|y)?|pu\*\*y|p\*\*\*y|p u s s y|let'?s go brandon|fjb|stfu|sdstfu|gtfo|gfy|foff|effing|bullshite`,
  },
];

/**
 * The lexicon as one regex, each rule a capture group, so the text is scanned once. ASCII word boundaries
 * (`\b`, no `u` flag) because V8 scans those several times faster than Unicode look-arounds; the cost
 * is that a letter outside ASCII next to a word (`éidiot`) does not stop a match. Typographic
 * apostrophes count as apostrophes (`you’re`).
 */
const lexiconRegex = new RegExp(
  `\\b(?:${LEXICON.map((r) => `(${r.source.replaceAll("'", "['’]")})`).join('|')})(?!\\w)`,
  'gi',
);

function messageFor(kind: string): string {
  switch (kind) {
    case 'slur':
      return 'a slur';
    case 'sexual':
      return 'sexual language';
    case 'insult':
      return 'an insult';
    case 'threat':
      return 'a threat or wish of harm';
    default:
      return 'profanity';
  }
}

const MAX_TOXICITY_FINDINGS = 50;

/** The number of the first capture group that took part in the match (its rule), 0 when none did. */
function firstGroup(m: RegExpMatchArray): number {
  for (let i = 1; i < m.length; i++) if (m[i] !== undefined) return i;
  return 0;
}

export const toxicity: Detector = {
  id: 'toxicity',
  class: 'reputation',
  stages: ['input', 'output'],
  defaultAction: 'log',
  defaultThreshold: 0.5,
  description:
    'profanity, slurs, insults and threats (obscenity word list plus an insult and threat lexicon)',
  detect(text) {
    const out: Detection[] = [];
    // obscenity reports a word once per pattern that matches it (`sh1t` twice): one detection per span,
    // obscenity's first, and no more looking once the list is full.
    const seen = new Set<string>();
    const add = (kind: string, score: number, start: number, end: number): boolean => {
      const key = `${start}:${end}`;
      if (!seen.has(key)) {
        seen.add(key);
        out.push({ kind, score, span: { start, end }, message: messageFor(kind) });
      }
      return out.length < MAX_TOXICITY_FINDINGS;
    };
    for (const m of obscenityMatches(text)) {
      const end = m.endIndex + 1;
      if (innocent(text, m.startIndex, end)) continue;
      const c = classOfTerm(m);
      if (!add(c.kind, c.score, m.startIndex, end)) return out;
    }
    for (const m of matchesOf(lexiconRegex, text)) {
      const r = LEXICON[firstGroup(m) - 1];
      if (r && !add(r.kind, r.score, m.index, m.index + m[0].length)) return out;
    }
    return out;
  },
};
