import {
  englishDataset,
  englishRecommendedBlacklistMatcherTransformers,
  englishRecommendedTransformers,
  RegExpMatcher,
  SyntaxKind,
  type Node,
} from 'obscenity';

// ---------------------------------------------------------------------------------------------------
// obscenity: one matcher for the process, and the tables and pattern trie of a cheap exact pre-check in
// front of it (the pre-check itself: toxicity-precheck.ts)
// ---------------------------------------------------------------------------------------------------

export const dataset = englishDataset.build();
export const matcher = new RegExpMatcher({ ...dataset, ...englishRecommendedTransformers });

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
export type Transformer = (typeof englishRecommendedBlacklistMatcherTransformers)[number];
export type CharTransform = (c: number) => number | undefined;

const simpleTransforms: CharTransform[] = [];
const statefulTransforms: Exclude<Transformer, { transform: CharTransform }>[] = [];
for (const t of englishRecommendedBlacklistMatcherTransformers)
  if ('transform' in t) simpleTransforms.push(t.transform);
  else statefulTransforms.push(t);

/**
 * The result of transformCodePoint for each code point of the Basic Multilingual Plane, kept as code
 * points are met: 0 not yet known, -1 dropped, else the code point plus one. The simple transformers
 * are functions of the code point alone, and going through their three objects costs about 30 ns a
 * character: a text in Cyrillic or Chinese took four times as long as one in English.
 */
const transformedBmp = new Int32Array(0x10000);

/** A code point through every simple transformer, in order (confusables, leet speak, lower case). */
export function transformCodePoint(c: number): number | undefined {
  const known = c <= 0xffff ? (transformedBmp[c] ?? 0) : 0;
  if (known !== 0) return known > 0 ? known - 1 : undefined;
  let x: number | undefined = c;
  for (const f of simpleTransforms) if (x !== undefined) x = f(x);
  if (c <= 0xffff) transformedBmp[c] = x === undefined ? -1 : x + 1;
  return x;
}

/** Stands for every code point the transformers leave outside ASCII: never one of a pattern's letters. */
export const OTHER = 1;
/** ASCII code → transformed code; also ensures the transformers map ASCII to ASCII (else no pre-check). */
export const asciiTable = new Uint8Array(128);
/** How many repeats of a transformed character survive the collapsing transformer. */
export const keepRepeats = new Uint8Array(128);

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
export const precheckReady = probeTables();

export interface PatternNode {
  /** Indexed by transformed character code (all below 128): an array, as this is the hot loop. */
  readonly next: (PatternNode | undefined)[];
  /** A wildcard step (`f?ck`). */
  any?: PatternNode;
  /** A pattern ends here; `boundary`: only at a word boundary. */
  end?: 'plain' | 'boundary';
  /** The terms (obscenity's ids) whose patterns end here, and whether each needs a word boundary. */
  terms?: { readonly id: number; readonly boundary: boolean }[];
}

export const WILDCARD = -1;
/** A dense array (a sparse one would fall back to slow dictionary elements). */
const slots = (): (PatternNode | undefined)[] => new Array<PatternNode | undefined>(128).fill(undefined);

/** Every spelling of a pattern, optional parts in or out: character codes, WILDCARD for a wildcard. */
export function spellings(pattern: (typeof dataset.blacklistedTerms)[number]['pattern']): number[][] {
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
export const tries = buildTries();

/**
 * Which first three characters can start a match (bit 1: a pattern anywhere, bit 2: a pattern that needs
 * a word boundary before it), so the trie walk starts at few positions: `as` starts many English words
 * but `ass` few. Characters are reduced to 28 codes (a-z, space, anything else); a wildcard or a pattern
 * ending early allows any code, so the filter only ever lets more through.
 */
export const CODES = 28;
export const code = new Uint8Array(128);
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
export const triples = startTriples();

/** A word character for JavaScript's `\b` (what obscenity's compiled patterns use). */
export function isWordByte(c: number | undefined): boolean {
  return (
    c !== undefined && ((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95 || (c >= 65 && c <= 90))
  );
}

/**
 * Every end (exclusive, in the buffer) of a pattern that matches from `j`, into `ends`, and the trie node
 * it ends at into `nodes`.
 */
export function collectEnds(
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
