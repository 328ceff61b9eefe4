import { withFields } from '../../with-fields.js';
import { englishRecommendedTransformers, RegExpMatcher, type MatchPayload } from 'obscenity';
import {
  asciiTable,
  dataset,
  isWordByte,
  matcher,
  precheckReady,
  spellings,
  WILDCARD,
} from './toxicity-pattern-trie.js';
import { precheckHits, termsOf, type Hit } from './toxicity-precheck.js';
import { whitelistedTerms, whitelistReady, whitelistSpans } from './toxicity-whitelist.js';

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
    m = new RegExpMatcher(
      withFields(englishRecommendedTransformers, {
        blacklistedTerms: terms,
        whitelistedTerms: [...whitelistedTerms],
      }),
    );
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
    // Written out rather than `{ ...match, startIndex, endIndex }`: in Node 20's optimised code a spread
    // followed by more properties makes a new hidden class per object, which costs about a kilobyte and
    // keeps garbage alive through the next scavenge.
    return {
      termId: match.termId,
      startIndex: match.startIndex + shift,
      endIndex: match.endIndex + shift,
      matchLength: match.matchLength,
    };
  });
}
