import { isWordChar, lower } from '../classifier.js';

/**
 * Finds many word stems in a text in one pass: a character trie over the stems, walked from each word
 * start of the text (and, for stems in scripts written without spaces or with attached particles, from
 * any character of that script). Built once per system prompt (system-constraints.ts caches it with the
 * prompt's constraints; a concept's terms are one trie built once and shared by every prompt that rules
 * the concept out), so a user turn costs one pass over its characters plus a few trie steps per
 * word, however many stems the prompt's forbidden topics expand to.
 *
 * Letters are compared case- and accent-folded ("Música" matches the stem "music", "μουσακά" the stem
 * "μουσακα"), one character for one, so spans stay valid indices into the original text.
 */

/** A stem to look for (ending in "=": a whole word only), and which slot of which group it fills. */
export interface TermEntry {
  readonly stem: string;
  readonly group: number;
  readonly slot: number;
}

interface Node {
  readonly next: Map<number, Node>;
  /** Entries ending here that may end anywhere (prefix of a longer word). */
  readonly prefix: TermEntry[];
  /** Entries ending here that must end at a word boundary (short stems: "ai", "nba"). */
  readonly whole: TermEntry[];
}

const newNode = (): Node => ({ next: new Map(), prefix: [], whole: [] });

let foldTable: Uint16Array | undefined;

/** Lower-cased, accents dropped (Latin and Greek), final sigma as sigma; one code unit for one. */
export function fold(c: number): number {
  if (c < 0x80) return c >= 65 && c <= 90 ? c + 32 : c;
  const l = lower(c);
  if (l < 0xc0 || l >= 0x0400) return l;
  if (!foldTable) {
    const t = new Uint16Array(0x0400 - 0xc0);
    for (let i = 0xc0; i < 0x0400; i++) {
      const d = String.fromCharCode(i).normalize('NFD');
      // Lower-cased again: "İ" has no one-unit lower case, so it arrives here as itself and folds to "i".
      t[i - 0xc0] = d.length > 1 && d.charCodeAt(0) < 0x0400 ? lower(d.charCodeAt(0)) : i;
    }
    t[0x03c2 - 0xc0] = 0x03c3; // ς → σ
    foldTable = t;
  }
  return foldTable[l - 0xc0] ?? l;
}

/** Folds a whole stem the way the text is folded while matching. */
export function foldString(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) out += String.fromCharCode(fold(s.charCodeAt(i)));
  return out;
}

/**
 * Scripts whose words take attached particles or are written without spaces (Arabic, Hebrew, Indic,
 * Thai, CJK, kana, Hangul): a stem in them may start anywhere, not only at a word start.
 */
const anywhere = (c: number): boolean => c >= 0x0590 && !(c >= 0x1e00 && c <= 0x2bff);

const isWord = (c: number): boolean => isWordChar(fold(c));

/**
 * A character trie over some stems, with the pair filter that turns most words away before any trie
 * step. Immutable once built: a concept's terms (topic-concepts.ts) are built into one trie once and
 * shared by every system prompt that rules the concept out.
 */
export class TermTrie {
  readonly root = newNode();
  /** First characters of stems that may start anywhere (most texts have none of them). */
  readonly anywhereStarts = new Set<number>();
  /**
   * The first two (folded, ASCII) characters of every stem, as bits: most words of a text start with a
   * pair no stem starts with and are turned away before any trie step. A stem whose second character is
   * not ASCII marks its first character in `anyNext` instead.
   */
  readonly pairs = new Uint8Array(128 * 128);
  readonly anyNext = new Uint8Array(128);
  readonly size: number;

  constructor(entries: readonly TermEntry[]) {
    for (const e of entries) {
      // "cook=": the whole word only (not "cookie").
      const exact = e.stem.endsWith('=');
      const s = foldString(exact ? e.stem.slice(0, -1) : e.stem);
      if (s === '') continue;
      let node = this.root;
      for (let i = 0; i < s.length; i++) {
        const c = s.charCodeAt(i);
        let child = node.next.get(c);
        if (!child) {
          child = newNode();
          node.next.set(c, child);
        }
        node = child;
      }
      const first = s.charCodeAt(0);
      if (anywhere(first)) this.anywhereStarts.add(first);
      if (first < 0x80) {
        const second = s.length > 1 ? s.charCodeAt(1) : 0x80;
        if (second < 0x80) this.pairs[first * 128 + second] = 1;
        else this.anyNext[first] = 1;
      }
      // Short Latin stems would match inside unrelated words ("ai" in "aim"): whole words only.
      ((exact || s.length < 4) && !anywhere(first) ? node.whole : node.prefix).push(e);
    }
    this.size = entries.length;
  }
}

/** A shared trie in a matcher: its entries' groups are numbered from `offset`. */
export interface TriePart {
  readonly trie: TermTrie;
  readonly offset: number;
}

/** Calls back with an entry, where it starts and ends, and the offset of its trie's group numbers. */
export type TermHit = (e: TermEntry, start: number, end: number, offset: number) => boolean;

export class TermMatcher {
  /** Own entries (groups from 0) first, then the shared tries. */
  private readonly parts: readonly TriePart[];
  /** First characters of stems that may start anywhere, over all parts. */
  private readonly anywhereStarts = new Set<number>();
  readonly size: number;

  constructor(entries: readonly TermEntry[], shared: readonly TriePart[] = []) {
    const own = new TermTrie(entries);
    this.parts = own.size > 0 ? [{ trie: own, offset: 0 }, ...shared] : shared;
    let size = 0;
    for (const p of this.parts) {
      size += p.trie.size;
      for (const c of p.trie.anywhereStarts) this.anywhereStarts.add(c);
    }
    this.size = size;
  }

  /**
   * Calls `hit(entry, start, end, offset)` for every stem found in `text`, in text order (at one start,
   * own entries first, then each shared trie's); stops when `hit` returns true. Linear: each start
   * position walks at most the longest stem's length in each part. `words`, when given, are the text's
   * word spans as the classifier's scan cut them (the same word starts): then only those are visited,
   * not every character.
   */
  scan(text: string, hit: TermHit, words?: { readonly starts: Int32Array; readonly ends: Int32Array }): void {
    if (words) {
      for (let k = 0; k < words.starts.length; k++) {
        const from = words.starts[k] ?? 0;
        const c = fold(text.charCodeAt(from));
        if (this.walkParts(text, from, hit)) return;
        // Scripts with attached particles or without spaces: a stem may start inside the word.
        if (c >= 0x0590 && this.anywhereStarts.size > 0)
          for (let i = from + 1; i < (words.ends[k] ?? 0); i++)
            if (this.anywhereStarts.has(fold(text.charCodeAt(i))) && this.walkParts(text, i, hit)) return;
      }
      return;
    }
    const n = text.length;
    const anywhereToo = this.anywhereStarts.size > 0;
    let prevWord = false;
    for (let i = 0; i < n; i++) {
      const raw = text.charCodeAt(i);
      // ASCII inline (most characters of most texts): letters and digits are word characters.
      const c = raw < 0x80 ? (raw >= 65 && raw <= 90 ? raw + 32 : raw) : fold(raw);
      const word = c < 0x80 ? (c >= 97 && c <= 122) || (c >= 48 && c <= 57) : isWordChar(c);
      const start = word && (!prevWord || (anywhereToo && c >= 0x0590 && this.anywhereStarts.has(c)));
      prevWord = word;
      if (start && this.walkParts(text, i, hit)) return;
    }
  }

  private walkParts(text: string, i: number, hit: TermHit): boolean {
    for (const p of this.parts) if (walkFrom(p.trie, p.offset, text, i, hit)) return true;
    return false;
  }
}

/** The stems of `trie` that start at `i`; true when `hit` asked to stop. */
function walkFrom(trie: TermTrie, offset: number, text: string, i: number, hit: TermHit): boolean {
  const n = text.length;
  const c = fold(text.charCodeAt(i));
  if (c < 0x80 && trie.anyNext[c] === 0) {
    // The text's second letter folded ("mú" is "mu"); past the end, no stem of two letters or more.
    const c2 = i + 1 < n ? fold(text.charCodeAt(i + 1)) : 32;
    if (c2 < 0x80 && trie.pairs[c * 128 + c2] === 0) return false;
  }
  let node = trie.root.next.get(c);
  for (let j = i + 1; node; j++) {
    for (const e of node.prefix) if (hit(e, i, j, offset)) return true;
    if (node.whole.length > 0 && (j >= n || !isWord(text.charCodeAt(j))))
      for (const e of node.whole) if (hit(e, i, j, offset)) return true;
    if (j >= n) break;
    node = node.next.get(fold(text.charCodeAt(j)));
  }
  return false;
}
