import { englishRecommendedWhitelistMatcherTransformers } from 'obscenity';
import { dataset, type CharTransform, type Transformer } from './toxicity-pattern-trie.js';

/*
 * obscenity drops a match that lies inside an occurrence of one of its whitelisted terms (`assert`,
 * `assess` and `asset` hold `ass`). Ordinary text is full of those, so the pre-check honours the
 * whitelist too, the way the matcher does: terms are searched (each left to right, occurrences not
 * overlapping) in the text as the whitelist transformers leave it, which a probe at load confirms is
 * ASCII lower case with runs of spaces collapsed. Only the terms that could hold the candidate are
 * searched, and only for texts that have a candidate.
 */
export const whitelistedTerms = dataset.whitelistedTerms ?? [];

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
export const whitelistReady = probeWhitelistTransformers();

/** The text as the whitelist transformers leave it, and the way back to indices in the original. */
interface WhitelistView {
  readonly text: string;
  origin(i: number): number;
}

const NON_ASCII = /[^\0-\x7f]/;

/** Only ASCII letters lowered (toLowerCase does the same, faster, when there is nothing else). */
function lowerAscii(text: string): string {
  return NON_ASCII.test(text) ? text.replace(/[A-Z]+/g, (run) => run.toLowerCase()) : text.toLowerCase();
}

/** whitelistView(text).text without the way back (for a hit's few characters). */
function viewText(text: string): string {
  const lower = lowerAscii(text);
  return lower.includes('  ') ? lower.replace(/ {2,}/g, ' ') : lower;
}

function whitelistView(text: string): WhitelistView {
  const lower = lowerAscii(text);
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

/** What `whitelisted` works out once per text: the whitelist's view, and each term's occurrences. */
export interface WhitelistCache {
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
/** Whether obscenity's whitelist covers the original range [start, end] (inclusive). */
export function whitelisted(text: string, start: number, end: number, cache: WhitelistCache): boolean {
  if (!whitelistReady) return false;
  const inner = viewText(text.slice(start, end + 1));
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
export function whitelistSpans(text: string, k: number): boolean {
  const pairs = termsByPair.get(lowerCode(text.charCodeAt(k - 1)) * 0x10000 + lowerCode(text.charCodeAt(k)));
  if (!pairs) return false;
  for (const { term, at } of pairs)
    if (viewSpells(text, k, term, at, 1) && viewSpells(text, k - 1, term, at - 1, -1)) return true;
  return false;
}
