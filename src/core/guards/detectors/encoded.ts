import { wordHash, type Tokens } from '../classifier.js';

/**
 * Two prompt-injection techniques that hide what is asked rather than how (OWASP LLM01, "token
 * smuggling" and "repeated token" in CyberSecEval's taxonomy):
 *
 * - an encoded payload: a request spelled in hexadecimal bytes, 8-bit binary or Morse code, with an ask
 *   to decode it. `decodedPayload` decodes such runs so the caller can check the plain text
 *   against the system prompt (the secret it holds, a topic it rules out);
 * - a long run of one or two repeated words ("12345 12345 12345 …"), which pushes the system prompt out
 *   of the model's attention or makes it diverge. `repeatedRun` finds it on the scan's word tokens.
 *
 * Both are linear: one pass over the tokens, and for a text that names an encoding one pass over its
 * pieces.
 */

const HEX_BIT = 1;
const BINARY_BIT = 2;
const MORSE_BIT = 4;
/** How far past the word that names the encoding a payload is looked for. */
const PAYLOAD_REACH = 2048;

/** Longest run of tokens repeating with period 1 or 2 ("x x x", "a b a b") that counts. */
export const REPEAT_RUN = 32;

/** The span of the longest run of tokens that repeat with period 1 or 2, if it is at least REPEAT_RUN long. */
export function repeatedRun(tokens: Tokens): { start: number; end: number } | undefined {
  const h = tokens.hashes;
  let best = 0;
  let bestEnd = 0;
  for (let period = 1; period <= 2; period++) {
    let run = 0;
    for (let i = period; i < tokens.count; i++) {
      if (h[i] === h[i - period]) {
        run++;
        if (run > best) {
          best = run;
          bestEnd = i;
        }
      } else run = 0;
    }
  }
  if (best + 1 < REPEAT_RUN) return undefined;
  return { start: tokens.starts[bestEnd - best] ?? 0, end: tokens.ends[bestEnd] ?? 0 };
}

/** Word tokens that name an encoding (as the scanner hashes them, cut to 30 bits). */
/** Word tokens that name an encoding (as the scanner hashes them, cut to 30 bits), and which. */
const HINTS = new Map<number, number>(
  (
    [
      ['hex', HEX_BIT],
      ['hexadecimal', HEX_BIT],
      ['binary', BINARY_BIT],
      ['morse', MORSE_BIT],
    ] as const
  ).map(([w, bit]) => [wordHash(w) & 0x3fffffff, bit]),
);
/** A bit per (key mod 4096) of the hint words: most tokens are turned away without a map lookup. */
const HINT_BITS = new Uint8Array(4096);
for (const k of HINTS.keys()) HINT_BITS[k & 4095] = 1;

/** Which encodings a text names, and from where on a payload can follow (its first naming word). */
export interface EncodingHint {
  readonly kinds: number;
  readonly from: number;
}

/**
 * Whether a text may hold an encoded request: one of its tokens names an encoding. The cheap gate before
 * `decodedPayload` (one bit test per token).
 */
export function mayBeEncoded(tokens: Tokens): EncodingHint | undefined {
  const h = tokens.hashes;
  let kinds = 0;
  let from = -1;
  for (let i = 0; i < tokens.count; i++) {
    const k = (h[i] ?? 0) & 0x3fffffff;
    if (HINT_BITS[k & 4095] === 0) continue;
    const bit = HINTS.get(k);
    if (bit === undefined) continue;
    kinds |= bit;
    if (from < 0) from = tokens.starts[i] ?? 0;
  }
  return kinds === 0 ? undefined : { kinds, from };
}

const MORSE: Readonly<Record<string, string>> = {
  '.-': 'a',
  '-...': 'b',
  '-.-.': 'c',
  '-..': 'd',
  '.': 'e',
  '..-.': 'f',
  '--.': 'g',
  '....': 'h',
  '..': 'i',
  '.---': 'j',
  '-.-': 'k',
  '.-..': 'l',
  '--': 'm',
  '-.': 'n',
  '---': 'o',
  '.--.': 'p',
  '--.-': 'q',
  '.-.': 'r',
  '...': 's',
  '-': 't',
  '..-': 'u',
  '...-': 'v',
  '.--': 'w',
  '-..-': 'x',
  '-.--': 'y',
  '--..': 'z',
  '.----': '1',
  '..---': '2',
  '...--': '3',
  '....-': '4',
  '.....': '5',
  '-....': '6',
  '--...': '7',
  '---..': '8',
  '----.': '9',
  '-----': '0',
};

/** Printable ASCII (and whitespace) share of a decoded string: real text is almost all printable. */
function readable(s: string): boolean {
  if (s.length < 4) return false;
  let ok = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c >= 32 && c < 127) || c === 10 || c === 13 || c === 9) ok++;
  }
  return ok >= s.length * 0.9;
}

/**
 * The plain text of the hex, binary and Morse runs in a user turn, lower-cased and joined by newlines;
 * undefined when there is none that decodes to readable text. Each kind is looked for only when the turn
 * names it, and only in the 2 KB after the first naming word ("decode this binary string: 01010111 …").
 */
export function decodedPayload(text: string, hint: EncodingHint): string | undefined {
  const region = text.slice(hint.from, hint.from + PAYLOAD_REACH);
  const found: string[] = [];
  if (hint.kinds & (HEX_BIT | BINARY_BIT))
    pieceRuns(region, (hint.kinds & HEX_BIT) !== 0, (hint.kinds & BINARY_BIT) !== 0, found);
  if (hint.kinds & MORSE_BIT) {
    MORSE_RUN.lastIndex = 0;
    for (let m = MORSE_RUN.exec(region); m; m = MORSE_RUN.exec(region))
      found.push(decodeRun(MORSE_CODE, m[0]));
  }
  const plain = found.filter((s) => readable(s) && /[a-z]{3}/i.test(s));
  return plain.length > 0 ? plain.join('\n').toLowerCase() : undefined;
}

const HEX = 0;
const OCTET = 1;
const MORSE_CODE = 2;
/** Pieces in a row before a run counts: 6 hex bytes, 4 octets. */
const MIN_HEX = 6;
const MIN_OCTETS = 4;
/**
 * 6+ Morse letters with "/" between words. Every piece has an alphabet its separators are not in, so a
 * failed attempt gives up within a few characters (no backtracking blow-up).
 */
const MORSE_RUN = /(?:(?:[.-]{1,6}|\/)[ \t]+){5,}[.-]{1,6}/g;

/**
 * One pass over the whitespace-, comma- and quote-separated pieces of `text`: runs of two-digit hex
 * pieces and of eight-digit binary pieces, decoded into `found`.
 */
function pieceRuns(text: string, hex: boolean, binary: boolean, found: string[]): void {
  let kind = -1;
  let from = 0;
  let to = 0;
  let count = 0;
  let a = 0;
  let allHex = true;
  let allBin = true;
  const flush = (): void => {
    if ((kind === HEX && count >= MIN_HEX) || (kind === OCTET && count >= MIN_OCTETS))
      found.push(decodeRun(kind, text.slice(from, to)));
  };
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 32;
    if (!(
      c <= 32 ||
      c === 44 ||
      c === 59 ||
      c === 58 ||
      c === 39 ||
      c === 34 ||
      c === 96 ||
      c === 40 ||
      c === 41
    )) {
      if (allHex) allHex = hexValue(c) >= 0;
      if (allBin) allBin = c === 48 || c === 49;
      continue;
    }
    if (i > a) {
      const n = i - a;
      const k = hex && n === 2 && allHex ? HEX : binary && n === 8 && allBin ? OCTET : -1;
      if (k >= 0 && k === kind) {
        count++;
        to = i;
      } else {
        flush();
        kind = k;
        from = a;
        to = i;
        count = 1;
      }
    }
    a = i + 1;
    allHex = true;
    allBin = true;
  }
  flush();
}

function decodeRun(kind: number, run: string): string {
  if (kind === MORSE_CODE)
    return run
      .split(/[\s,]+/)
      .map((p) => (p === '/' ? ' ' : (MORSE[p] ?? '')))
      .join('');
  // Hex pairs or octets: digits accumulate until a separator ends the piece.
  const base = kind === HEX ? 16 : 2;
  let out = '';
  let v = 0;
  let digits = 0;
  for (let i = 0; i <= run.length; i++) {
    const d = i < run.length ? hexValue(run.charCodeAt(i)) : -1;
    if (d >= 0) {
      v = v * base + d;
      digits++;
    } else if (digits > 0) {
      out += String.fromCharCode(v);
      v = 0;
      digits = 0;
    }
  }
  return out;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}
