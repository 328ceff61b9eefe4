import { isWordChar, lower } from '../classifier.js';

/**
 * Finds many word stems in a text in one pass: a character trie over the stems, walked from each word
 * start of the text (and, for stems in scripts written without spaces or with attached particles, from
 * any character of that script). Built once per system prompt (system-constraints.ts caches it with the
 * prompt's constraints), so a user turn costs one pass over its characters plus a few trie steps per
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
  const l = lower(c);
  if (l < 0xc0 || l >= 0x0400) return l;
  if (!foldTable) {
    const t = new Uint16Array(0x0400 - 0xc0);
    for (let i = 0xc0; i < 0x0400; i++) {
      const d = String.fromCharCode(i).normalize('NFD');
      t[i - 0xc0] = d.length > 1 && d.charCodeAt(0) < 0x0400 ? d.charCodeAt(0) : i;
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

export class TermMatcher {
  private readonly root = newNode();
  /** First characters of stems that may start anywhere (most texts have none of them). */
  private readonly anywhereStarts = new Set<number>();
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
      // Short Latin stems would match inside unrelated words ("ai" in "aim"): whole words only.
      ((exact || s.length < 4) && !anywhere(first) ? node.whole : node.prefix).push(e);
    }
    this.size = entries.length;
  }

  /**
   * Calls `hit(entry, start, end)` for every stem found in `text`, in text order; stops when `hit`
   * returns true. Linear: each start position walks at most the longest stem's length.
   */
  scan(text: string, hit: (e: TermEntry, start: number, end: number) => boolean): void {
    const n = text.length;
    let prevWord = false;
    for (let i = 0; i < n; i++) {
      const c = fold(text.charCodeAt(i));
      const word = isWordChar(c);
      const start = word && (!prevWord || (this.anywhereStarts.size > 0 && this.anywhereStarts.has(c)));
      prevWord = word;
      if (!start) continue;
      let node = this.root.next.get(c);
      for (let j = i + 1; node; j++) {
        for (const e of node.prefix) if (hit(e, i, j)) return;
        if (node.whole.length > 0 && (j >= n || !isWord(text.charCodeAt(j))))
          for (const e of node.whole) if (hit(e, i, j)) return;
        if (j >= n) break;
        node = node.next.get(fold(text.charCodeAt(j)));
      }
    }
  }
}
