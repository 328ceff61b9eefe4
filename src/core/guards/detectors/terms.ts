import { matchesOf } from '../regex-matches.js';

/**
 * Configured terms (prohibited uses, brand competitors and banned claims): case-insensitive
 * whole-word/phrase matching in one pass, and how far a stream must be held back for a term that may
 * still be completing.
 */

/** A letter, digit or underscore: the characters that make a word (and so a word boundary). */
const WORD_CHAR = /[\p{L}\p{N}_]/u;
const NOT_AFTER_WORD = '(?<![\\p{L}\\p{N}_])';
const NOT_BEFORE_WORD = '(?![\\p{L}\\p{N}_])';

interface TrieNode {
  readonly next: Map<string, TrieNode>;
  /** The normalised term that ends here, if one does. */
  term?: string;
}

export interface TermMatcher {
  /** One regex for every term (global, case-insensitive); undefined when there are no terms. */
  readonly regex: RegExp | undefined;
  /** Normalised term → the owners (rule ids, kinds) it was configured for. */
  readonly owners: ReadonlyMap<string, readonly string[]>;
  /** The same terms as a trie of code points, for `pendingTerm`. */
  readonly trie: TrieNode;
  /** Longest normalised term, in UTF-16 units: bounds how far back `pendingTerm` looks. */
  readonly maxLength: number;
}

/**
 * Lower case, trimmed, any run of whitespace and hyphens as one space: the key a term and a matched text
 * share (`bump stock` is also `Bump-Stock` and `bump\nstock`).
 */
export function normaliseTerm(s: string): string {
  return s
    .toLowerCase()
    .replace(/[\s-]+/g, ' ')
    .trim();
}

/**
 * Builds one regex from every term, factored as a trie (`acme(?:\s+cloud)?|…`) so each position costs
 * about one character comparison instead of one per term; linear in the text (no nested quantifier, and
 * sibling branches start with different characters). A term is matched as a whole word where it starts
 * or ends with a word character (so `Acme` does not match in `Acmetric`), a space or hyphen inside a
 * term matches any run of whitespace and hyphens, and case is ignored.
 */
export function compileTerms(
  entries: readonly { readonly term: string; readonly owner: string }[],
): TermMatcher {
  const root: TrieNode = { next: new Map() };
  const owners = new Map<string, string[]>();
  let maxLength = 0;
  for (const { term, owner } of entries) {
    const key = normaliseTerm(term);
    if (key === '') continue;
    const list = owners.get(key) ?? [];
    if (!list.includes(owner)) list.push(owner);
    owners.set(key, list);
    maxLength = Math.max(maxLength, key.length);
    let node = root;
    for (const ch of key) {
      let child = node.next.get(ch);
      if (!child) {
        child = { next: new Map() };
        node.next.set(ch, child);
      }
      node = child;
    }
    node.term = key;
  }
  const source = root.next.size === 0 ? undefined : branches(root, true);
  return {
    regex: source === undefined ? undefined : new RegExp(source, 'giu'),
    owners,
    trie: root,
    maxLength,
  };
}

function branches(node: TrieNode, atStart: boolean): string {
  const alts: string[] = [];
  for (const [ch, child] of node.next) {
    const head = ch === ' ' ? '[\\s-]+' : ch.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
    const guard = atStart && WORD_CHAR.test(ch) ? NOT_AFTER_WORD : '';
    const tail = child.next.size > 0 ? branches(child, false) : '';
    const end = child.term !== undefined ? (WORD_CHAR.test(ch) ? NOT_BEFORE_WORD : '') : undefined;
    // A node that ends a term and also continues (`acme` and `acme cloud`) tries the longer term first.
    const rest = tail === '' ? (end ?? '') : end === undefined ? tail : `(?:${tail}|${end})`;
    alts.push(guard + head + rest);
  }
  return alts.length === 1 ? (alts[0] ?? '') : `(?:${alts.join('|')})`;
}

export interface TermHit {
  readonly start: number;
  readonly end: number;
  readonly owners: readonly string[];
}

/** Every configured term in `text`, left to right, each with the owners it was configured for. */
export function findTerms(text: string, matcher: TermMatcher): TermHit[] {
  const { regex } = matcher;
  if (!regex) return [];
  const hits: TermHit[] = [];
  for (const m of matchesOf(regex, text)) {
    const owners = ownersOf(m[0], matcher);
    if (owners.length > 0) hits.push({ start: m.index, end: m.index + m[0].length, owners });
  }
  return hits;
}

function ownersOf(matched: string, matcher: TermMatcher): readonly string[] {
  const key = normaliseTerm(matched);
  const direct = matcher.owners.get(key);
  if (direct) return direct;
  // The regex folds case the Unicode way (`ſ` matches `s`); toLowerCase does not always agree, so fall
  // back to a case-insensitive comparison. Rare, so the linear walk does not matter.
  for (const [term, owners] of matcher.owners)
    if (term.localeCompare(key, 'en', { sensitivity: 'accent' }) === 0) return owners;
  return [];
}

/**
 * For streamed output: where a configured term could still be completing at the end of `text`. Only a
 * trailing run that starts at a word boundary and is a prefix of some term (whitespace runs counting as
 * one space) is held back, complete terms included (`Acme` may still become `Acmetric`, which is no
 * match). Ordinary words are never held, so a stream without configured terms is not delayed at all.
 */
export function pendingTerm(text: string, matcher: TermMatcher): number {
  if (matcher.regex === undefined || text.length === 0) return text.length;
  // A pending prefix is at most maxLength characters plus whatever extra whitespace it contains; a
  // generous window keeps this bounded on long streams (a prefix with more padding than that is let go).
  const from = Math.max(0, text.length - (matcher.maxLength * 4 + 64));
  for (let s = from; s < text.length; s++) {
    const ch = text[s] ?? '';
    if (/\s/.test(ch)) continue;
    if (WORD_CHAR.test(ch) && s > 0 && WORD_CHAR.test(text[s - 1] ?? '')) continue;
    if (walks(text, s, matcher.trie)) return s;
  }
  return text.length;
}

/** What a space in a term stands for. */
const SEPARATOR = /[\s-]/;

/** Whether text[s..] (to its end) follows a path of the trie. */
function walks(text: string, s: number, root: TrieNode): boolean {
  let node: TrieNode | undefined = root;
  let i = s;
  while (i < text.length) {
    const cp = text.codePointAt(i) ?? 0;
    let ch = String.fromCodePoint(cp);
    let width = ch.length;
    if (SEPARATOR.test(ch)) {
      while (i + width < text.length && SEPARATOR.test(text[i + width] ?? '')) width++;
      ch = ' ';
    } else ch = ch.toLowerCase();
    node = node.next.get(ch);
    if (!node) return false;
    i += width;
  }
  return true;
}
