import {
  asciiTable,
  code,
  CODES,
  collectEnds,
  isWordByte,
  keepRepeats,
  OTHER,
  precheckReady,
  transformCodePoint,
  tries,
  triples,
  type PatternNode,
} from './toxicity-pattern-trie.js';
import { whitelisted, type WhitelistCache } from './toxicity-whitelist.js';

/**
 * The pre-check in front of obscenity's matcher (why it exists: toxicity-pattern-trie.ts): the text
 * transformed into a byte buffer and walked through the pattern trie, in one linear pass.
 */

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
export interface Hit {
  readonly start: number;
  readonly end: number;
  /** The trie node the patterns end at, and whether a word boundary follows (for the terms that need one). */
  readonly node: PatternNode | undefined;
  readonly boundary: boolean;
  readonly live: boolean;
}

/** The terms (obscenity's ids) whose patterns match at a hit. */
export function termsOf(hit: Hit): number[] {
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
/**
 * A transformed ASCII character with what the walk needs of it in one int32: the character (bits 0-7),
 * its filter code (bits 8-15) and how many repeats of it survive (bits 16-23). `byTransformed` is indexed
 * by the transformed character, `byAscii` by the text's own ASCII character (transformed first): one
 * load per character instead of three dependent ones.
 */
const byTransformed = new Int32Array(128);
for (let t = 0; t < 128; t++) byTransformed[t] = t | ((code[t] ?? 0) << 8) | ((keepRepeats[t] ?? 1) << 16);
const byAscii = new Int32Array(128);
for (let c = 0; c < 128; c++) byAscii[c] = byTransformed[asciiTable[c] ?? OTHER] ?? 0;

function transformInto(text: string): number {
  if (scratch.length < text.length) {
    scratch = new Uint8Array(text.length * 2);
    origins = new Int32Array(text.length * 2);
    candidates = new Int32Array(text.length * 2);
  }
  const buf = scratch;
  const from = origins;
  const found = candidates;
  // The tables as locals: an imported or module-level binding read in the loop is a load (and a hole
  // check) per character.
  const ascii = byAscii;
  const transformed = byTransformed;
  const tri = triples;
  let count = 0;
  let n = 0;
  let last = -1;
  let run = 0;
  // The filter codes of the two characters before the one being written.
  let k0 = 0;
  let k1 = 0;
  for (let i = 0; i < text.length; i++) {
    const at = i;
    const raw = text.charCodeAt(i);
    let info: number;
    if (raw < 128) info = ascii[raw] ?? 0;
    else {
      const cp = text.codePointAt(i) ?? raw;
      // A character outside the BMP takes two units. Added rather than `if (…) i++`: an operation that
      // has never run when the optimising compiler first sees the loop (few texts hold an emoji) is
      // compiled as a deoptimisation, and after it V8 often keeps running this function in its slower
      // on-stack-replacement code (measured: the pre-check at 25 µs per 2 KB instead of 18).
      i += cp > 0xffff ? 1 : 0;
      const x = transformCodePoint(cp);
      // A character a transformer drops never reaches the collapsing step (as in obscenity).
      if (x === undefined) continue;
      info = transformed[x < 128 ? x : OTHER] ?? 0;
    }
    const c = info & 0xff;
    if (c === last) {
      if (++run > info >>> 16) continue;
    } else {
      last = c;
      run = 1;
    }
    from[n] = at;
    buf[n] = c;
    const k2 = (info >> 8) & 0xff;
    if (n >= 2) {
      const bits = tri[(k0 * CODES + k1) * CODES + k2] ?? 0;
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
export function precheckHits(text: string, all: boolean): Hit[] {
  const n = transformInto(text);
  // Most texts have no candidate at all: nothing below is allocated for them.
  if (candidateCount === 0) return [];
  const buf = scratch;
  const from = origins;
  const hits: Hit[] = [];
  let anyLive = false;
  let whitelist: WhitelistCache | undefined;
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
      const live: boolean = anyLive || !whitelisted(text, start, end, (whitelist ??= { found: new Map() }));
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
