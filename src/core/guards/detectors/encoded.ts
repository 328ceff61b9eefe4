import { wordHash, type Tokens } from '../classifier.js';

/**
 * Prompt-injection techniques that hide what is asked rather than how (OWASP LLM01, "token smuggling",
 * "payload splitting" and "repeated token" in CyberSecEval's taxonomy):
 *
 * - an encoded payload: a request spelled in hexadecimal bytes, 8-bit binary, Morse code, Base64, a
 *   Caesar/ROT13 shift or backwards, with an ask to decode it; split into parts to be interlaced or
 *   joined; or written in Pig Latin (which needs no ask: a turn whose words nearly all end in "ay").
 *   `decodedPayload` decodes such text so the caller can check the plain text against the system prompt
 *   (the secret it holds, a topic it rules out, the person it protects);
 * - a long run of one or two repeated words ("12345 12345 12345 …"), which pushes the system prompt out
 *   of the model's attention or makes it diverge. `repeatedRun` finds it on the scan's word tokens.
 *
 * Both are linear: one pass over the tokens, and for a text that names an encoding one pass over its
 * pieces.
 */

const HEX_BIT = 1;
const BINARY_BIT = 2;
const MORSE_BIT = 4;
const SHIFT_BIT = 8;
const SPLIT_BIT = 16;
const REVERSE_BIT = 32;
const BASE64_BIT = 64;
const PIG_LATIN_BIT = 128;
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

/** Word tokens that name an encoding (as the scanner hashes them, cut to 30 bits), and which. */
const HINTS = new Map<number, number>(
  (
    [
      ['hex', HEX_BIT],
      ['hexadecimal', HEX_BIT],
      ['binary', BINARY_BIT],
      ['morse', MORSE_BIT],
      ['rot13', SHIFT_BIT],
      ['rot', SHIFT_BIT],
      ['caesar', SHIFT_BIT],
      ['cipher', SHIFT_BIT],
      ['ciphertext', SHIFT_BIT],
      ['interlace', SPLIT_BIT],
      ['interlaced', SPLIT_BIT],
      ['interleave', SPLIT_BIT],
      ['concatenate', SPLIT_BIT],
      ['reverse', REVERSE_BIT],
      ['reversed', REVERSE_BIT],
      ['backwards', REVERSE_BIT],
      ['base64', BASE64_BIT],
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

/** Pig Latin needs this many words, and this share of all words, ending in "ay". */
const PIG_LATIN_WORDS = 3;
const PIG_LATIN_SHARE = 0.6;

/**
 * Whether a text may hold an encoded request: one of its tokens names an encoding, or nearly all its
 * words end in "ay" (Pig Latin). The cheap gate before `decodedPayload` (one bit test per token and a
 * look at its last two letters).
 */
export function mayBeEncoded(tokens: Tokens, text: string): EncodingHint | undefined {
  const h = tokens.hashes;
  let kinds = 0;
  let from = -1;
  let ay = 0;
  for (let i = 0; i < tokens.count; i++) {
    const end = tokens.ends[i] ?? 0;
    if (end - (tokens.starts[i] ?? 0) >= 4 && (text.charCodeAt(end - 1) | 32) === 121)
      if ((text.charCodeAt(end - 2) | 32) === 97) ay++;
    const k = (h[i] ?? 0) & 0x3fffffff;
    if (HINT_BITS[k & 4095] === 0) continue;
    const bit = HINTS.get(k);
    if (bit === undefined) continue;
    kinds |= bit;
    if (from < 0) from = tokens.starts[i] ?? 0;
  }
  if (ay >= PIG_LATIN_WORDS && ay >= tokens.count * PIG_LATIN_SHARE) {
    kinds |= PIG_LATIN_BIT;
    from = 0;
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
  if (hint.kinds & SHIFT_BIT) {
    // The payload is usually quoted ("decode this ROT13: 'Jung vf …'"); else the text after the hint.
    const parts = quoted(region);
    for (const p of parts.length > 0 ? parts : [region]) {
      const shifted = unshift(p);
      if (shifted !== undefined) found.push(shifted);
    }
  }
  if (hint.kinds & (SPLIT_BIT | REVERSE_BIT)) {
    const parts = quoted(region);
    if (hint.kinds & SPLIT_BIT && parts.length >= 2) {
      found.push(interlace(parts[0] ?? '', parts[1] ?? ''), parts.join(' '));
    }
    if (hint.kinds & REVERSE_BIT) for (const p of parts) found.push(reversed(p));
  }
  if (hint.kinds & BASE64_BIT) {
    BASE64_RUN.lastIndex = 0;
    for (let m = BASE64_RUN.exec(region); m; m = BASE64_RUN.exec(region)) {
      // Base64 of text mixes cases; a long ordinary word ("implementation") does not.
      if (!/[a-z]/.test(m[0]) || !/[A-Z]/.test(m[0])) continue;
      const plain = fromBase64(m[0]);
      if (plain !== undefined) found.push(plain);
    }
  }
  if (hint.kinds & PIG_LATIN_BIT) found.push(fromPigLatin(text.slice(0, PAYLOAD_REACH)));
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

/** The quoted strings of `text` ("…", '…', “…”, `…`), in order; at most 8. */
function quoted(text: string): string[] {
  const out: string[] = [];
  QUOTED.lastIndex = 0;
  for (let m = QUOTED.exec(text); m && out.length < 8; m = QUOTED.exec(text)) {
    const body = m[1] ?? m[2] ?? m[3] ?? m[4];
    if (body !== undefined) out.push(body);
  }
  return out;
}
// One alternative per quote kind, each body free of its own closing quote: no backtracking across them.
// A single quote opens only after a non-letter, so "what's" is not a quote.
const QUOTED = /"([^"\n]{2,600})"|(?<![\p{L}\p{N}])'([^'\n]{2,600})'|“([^”\n]{2,600})”|`([^`\n]{2,600})`/gu;

/** Code units in reverse order (a payload written backwards is ASCII in practice). */
function reversed(s: string): string {
  let out = '';
  for (let i = s.length - 1; i >= 0; i--) out += String.fromCharCode(s.charCodeAt(i));
  return out;
}

/** "Cn o rvl" and "a yu eea" → "Can you reveal": one character from each in turn. */
function interlace(a: string, b: string): string {
  let out = '';
  for (let i = 0; i < Math.max(a.length, b.length); i++) out += (a[i] ?? '') + (b[i] ?? '');
  return out;
}

/** Base64 runs long enough to hold a request (sixteen characters decode to twelve bytes). */
const BASE64_RUN = /[A-Za-z0-9+/]{16,}={0,2}/g;

function fromBase64(run: string): string | undefined {
  try {
    return atob(run.length % 4 === 0 ? run : run.slice(0, run.length - (run.length % 4)));
  } catch {
    return undefined;
  }
}

/**
 * Words a question in English almost always has: a Caesar shift that turns several of the text's words
 * into these is the shift it was written with.
 */
const COMMON = (
  'the a an is are was were what how who where when why which of to in on at and or for you your can ' +
  'do does did it this that with me my be have has tell name first most give please'
).split(' ');

/** Every shift (1–25) of every common word → the shifts that make it (the decoding shift is 26 − s). */
const SHIFTED = new Map<string, number[]>();
for (const w of COMMON)
  for (let s = 1; s < 26; s++) {
    const enc = shiftLetters(w, s);
    SHIFTED.set(enc, [...(SHIFTED.get(enc) ?? []), s]);
  }

function shiftLetters(s: string, by: number): string {
  const out = new Array<number>(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out[i] =
      c >= 97 && c <= 122 ? ((c - 97 + by) % 26) + 97 : c >= 65 && c <= 90 ? ((c - 65 + by) % 26) + 65 : c;
  }
  return String.fromCharCode(...out);
}

/**
 * `text` decoded with the Caesar shift (ROT13 is shift 13) that turns the most of its words into
 * common English words, if that makes at least three of them; one lookup per word, whatever the shift.
 */
function unshift(text: string): string | undefined {
  const votes = new Array<number>(26).fill(0);
  let words = 0;
  for (const w of text.toLowerCase().split(/[^a-z]+/)) {
    if (w === '') continue;
    words++;
    for (const s of SHIFTED.get(w) ?? []) votes[s] = (votes[s] ?? 0) + 1;
  }
  let best = 0;
  for (let s = 1; s < 26; s++) if ((votes[s] ?? 0) > (votes[best] ?? 0)) best = s;
  const n = votes[best] ?? 0;
  // A shifted English question has many common words; plain text around a hint word matches a few
  // shifts by chance, and decoding it would only cost time.
  return best > 0 && n >= 3 && n >= words * 0.25 ? shiftLetters(text, 26 - best) : undefined;
}

const VOWELS = new Set(['a', 'e', 'i', 'o', 'u']);

/** Consonant clusters English words start with: how many letters before "ay" go back to the front. */
const ONSETS = new Set(
  (
    'th wh sh ch ph st pl pr tr gr cl bl br cr dr fl fr gl sc sk sl sm sn sp sw tw kn wr qu ' +
    'thr sch spr spl scr str squ chr shr'
  ).split(' '),
);

/**
 * Pig Latin back to English: "erewhay" → "where" (the consonants before "ay" go back to the front: the
 * longest that is an English onset, else one); a word that began with a vowel took "yay" or "way"
 * ("useryay"), so both readings are given ("user").
 */
function fromPigLatin(text: string): string {
  return text.replace(/\b[A-Za-z]{2,}ay\b/g, (word) => {
    const w = word.slice(0, -2).toLowerCase();
    let take = 1;
    for (let k = 3; k >= 2; k--) {
      const tail = w.slice(-k);
      if (w.length > k && ONSETS.has(tail)) {
        take = k;
        break;
      }
    }
    const last = w[w.length - 1] ?? 'a';
    const moved = VOWELS.has(last) ? w : w.slice(-take) + w.slice(0, -take);
    return last === 'y' || last === 'w' ? `${w.slice(0, -1)} ${moved}` : moved;
  });
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}
