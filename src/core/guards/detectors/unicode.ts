import { isAsciiLetter } from '../classifier.js';
import type { Detection, Detector } from '../types.js';

/**
 * Invisible and confusable Unicode (OWASP LLM01): text a person reviewing a prompt, document or tool
 * result does not see but a model reads.
 *
 * - Tag characters (U+E0000–E007F) spell ASCII invisibly ("ASCII smuggling"): hidden instructions,
 *   score 1.
 * - Variation selectors U+E0100–E01EF in runs, and runs of U+FE00–FE0F, hide bytes behind an emoji.
 * - Bidirectional overrides and isolates reorder what is displayed (Trojan Source).
 * - Zero-width characters inside a Latin word split it for filters (`ig\u200Bnore`), and long runs of
 *   them encode data. Joiners in emoji sequences and in scripts that use them (Persian, Indic) are not
 *   findings, nor is a byte-order mark at the start.
 * - Words mixing Latin letters with Cyrillic or Greek look-alikes (`pаypal` with a Cyrillic а).
 *
 * Default action `log`: most of this is a signal for an investigation, not proof; a release that wants
 * hidden text stopped sets threshold 0.95 and action block (tag characters only) or lower.
 */

const MAX_DETECTIONS = 32;
const NON_ASCII = /[^\0-\x7f]/;
/** The same, searched from `lastIndex` (`test` moves it past the character found). */
const NEXT_NON_ASCII = /[^\0-\x7f]/g;
/**
 * After this many ASCII characters in a row the scan searches for the next character outside ASCII
 * (the regex engine's loop is several times faster than this one's) rather than reading on: a text
 * with one typographic quote or accented name is otherwise read character by character from there to
 * its end. Not sooner: each search costs about as much as reading a few dozen characters, and text in
 * a script with spaces between words (Korean) has ASCII runs of one.
 */
const ASCII_RUN_BEFORE_SEARCH = 16;

/** Cyrillic and Greek letters that look like Latin ones (both cases). */
const confusables = new Set([
  // Cyrillic: а в е к м н о р с т у х і ј ѕ ԁ ӏ ԛ ԝ and capitals А В Е К М Н О Р С Т Х І Ј Ѕ
  0x0430, 0x0432, 0x0435, 0x043a, 0x043c, 0x043d, 0x043e, 0x0440, 0x0441, 0x0442, 0x0443, 0x0445, 0x0456,
  0x0458, 0x0455, 0x0501, 0x04cf, 0x051b, 0x051d, 0x0410, 0x0412, 0x0415, 0x041a, 0x041c, 0x041d, 0x041e,
  0x0420, 0x0421, 0x0422, 0x0425, 0x0406, 0x0408, 0x0405,
  // Greek: ο α ι κ ν ρ τ υ χ and capitals Α Β Ε Ζ Η Ι Κ Μ Ν Ο Ρ Τ Υ Χ
  0x03bf, 0x03b1, 0x03b9, 0x03ba, 0x03bd, 0x03c1, 0x03c4, 0x03c5, 0x03c7, 0x0391, 0x0392, 0x0395, 0x0396,
  0x0397, 0x0399, 0x039a, 0x039c, 0x039d, 0x039f, 0x03a1, 0x03a4, 0x03a5, 0x03a7,
]);

const isAsciiAlnum = (c: number): boolean => isAsciiLetter(c) || (c >= 48 && c <= 57);
/** Letters for word boundaries: ASCII, Latin-1 and extended Latin, Greek, Cyrillic. */
const isWordLetter = (c: number): boolean =>
  isAsciiLetter(c) || (c >= 0xc0 && c <= 0x52f && c !== 0xd7 && c !== 0xf7);

function isZeroWidth(c: number): boolean {
  return (
    c === 0x200b ||
    c === 0x200c ||
    c === 0x200d ||
    c === 0x2060 ||
    c === 0x2061 ||
    c === 0x2062 ||
    c === 0x2063 ||
    c === 0x2064 ||
    c === 0xfeff ||
    c === 0x180e ||
    c === 0xad
  );
}

const isBidiOverride = (c: number): boolean => c === 0x202d || c === 0x202e;
const isBidiOther = (c: number): boolean => (c >= 0x202a && c <= 0x202c) || (c >= 0x2066 && c <= 0x2069);

type Kind = 'tag_characters' | 'variation_selectors' | 'bidi_control' | 'zero_width' | 'mixed_script';

const messages: Record<Kind, string> = {
  tag_characters: 'invisible Unicode tag characters spell hidden text',
  variation_selectors: 'a run of variation selectors can hide data behind a visible character',
  bidi_control: 'bidirectional control characters change the order text is displayed in',
  zero_width: 'zero-width characters hidden inside words or in a long run',
  mixed_script: 'a word mixes Latin letters with Cyrillic or Greek look-alikes',
};

export const unicode: Detector = {
  id: 'unicode',
  class: 'security',
  owasp: 'LLM01',
  stages: ['input', 'retrieved', 'tool_result', 'tool_call'],
  defaultAction: 'log',
  defaultThreshold: 0.5,
  description:
    'invisible or confusable Unicode: tag characters, bidi overrides, zero-width characters, mixed-script words',
  detect(text) {
    const n = text.length;
    // Fast path: pure ASCII holds none of this (a native search finds the first other character).
    let i = text.search(NON_ASCII);
    if (i < 0) return [];

    const out: Detection[] = [];
    const add = (kind: Kind, score: number, start: number, end: number, count: number): void => {
      if (out.length >= MAX_DETECTIONS) return;
      const prev = out[out.length - 1];
      // Adjacent occurrences of the same kind are one finding.
      if (prev?.kind === kind && prev.span && prev.span.end === start) {
        // Written out, not spread: a spread followed by more properties makes a new hidden class per
        // object in Node 20's optimised code (see toxicity-matcher.ts).
        out[out.length - 1] = {
          kind,
          score: Math.max(prev.score, score),
          span: { start: prev.span.start, end },
          message: prev.message,
        };
        return;
      }
      out.push({
        kind,
        score,
        span: { start, end },
        message: count > 1 ? `${messages[kind]} (${count})` : messages[kind],
      });
    };

    // Start at the beginning of the word holding the first non-ASCII character.
    while (i > 0 && isWordLetter(text.charCodeAt(i - 1))) i--;
    let wordStart = -1;
    let latin = false;
    let lookAlike = false;
    const endWord = (end: number): void => {
      if (wordStart >= 0 && latin && lookAlike) add('mixed_script', 0.6, wordStart, end, 1);
      wordStart = -1;
      latin = false;
      lookAlike = false;
    };

    let asciiRun = 0;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c < 0x80) {
        if (isAsciiLetter(c)) {
          if (wordStart < 0) wordStart = i;
          latin = true;
        } else endWord(i);
        i++;
        // Nothing in a run of ASCII is a finding, and with no look-alike in the current word, ending a
        // word in it adds nothing either: jump to the next character outside ASCII with the word state
        // it would have reached there (a word started after the run's last non-letter, if letters
        // follow it; else the current word goes on).
        if (++asciiRun >= ASCII_RUN_BEFORE_SEARCH && !lookAlike) {
          NEXT_NON_ASCII.lastIndex = i;
          const next = NEXT_NON_ASCII.test(text) ? NEXT_NON_ASCII.lastIndex - 1 : n;
          let r = next - 1;
          while (r >= i && isAsciiLetter(text.charCodeAt(r))) r--;
          if (r >= i) {
            wordStart = r + 1 < next ? r + 1 : -1;
            latin = r + 1 < next;
          } else if (next > i) {
            if (wordStart < 0) wordStart = i;
            latin = true;
          }
          i = next;
          asciiRun = 0;
        }
        continue;
      }
      asciiRun = 0;
      if (c === 0xdb40 && i + 1 < n) {
        const lo = text.charCodeAt(i + 1);
        if (lo >= 0xdc00 && lo <= 0xdc7f) {
          const start = i;
          while (i + 1 < n && text.charCodeAt(i) === 0xdb40) {
            const l = text.charCodeAt(i + 1);
            if (l < 0xdc00 || l > 0xdc7f) break;
            i += 2;
          }
          add('tag_characters', 1, start, i, (i - start) / 2);
          continue;
        }
        if (lo >= 0xdd00 && lo <= 0xddef) {
          const start = i;
          while (i + 1 < n && text.charCodeAt(i) === 0xdb40) {
            const l = text.charCodeAt(i + 1);
            if (l < 0xdd00 || l > 0xddef) break;
            i += 2;
          }
          const count = (i - start) / 2;
          // One selector can pick a glyph variant; several in a row carry data.
          if (count >= 2) add('variation_selectors', 0.9, start, i, count);
          continue;
        }
      }
      if (c >= 0xfe00 && c <= 0xfe0f) {
        const start = i;
        while (i < n && text.charCodeAt(i) >= 0xfe00 && text.charCodeAt(i) <= 0xfe0f) i++;
        if (i - start >= 3) add('variation_selectors', 0.8, start, i, i - start);
        continue;
      }
      if (isBidiOverride(c) || isBidiOther(c)) {
        add('bidi_control', isBidiOverride(c) ? 0.8 : 0.7, i, i + 1, 1);
        i++;
        continue;
      }
      if (isZeroWidth(c)) {
        const start = i;
        while (i < n && isZeroWidth(text.charCodeAt(i))) i++;
        const run = i - start;
        if (start === 0 && run === 1 && c === 0xfeff) continue; // byte-order mark
        const before = start > 0 ? text.charCodeAt(start - 1) : 0;
        const after = i < n ? text.charCodeAt(i) : 0;
        // Inside a Latin word (splits a keyword for a filter) or a run long enough to encode data. A
        // soft hyphen inside a word is ordinary hyphenation, so it needs the run.
        const inWord = isAsciiAlnum(before) && isAsciiAlnum(after) && !(run === 1 && c === 0xad);
        if (run >= 3) add('zero_width', 0.8, start, i, run);
        else if (inWord) add('zero_width', 0.6, start, i, run);
        // A word continues across a zero-width character (that is the point of putting it there).
        continue;
      }
      if (isWordLetter(c)) {
        if (wordStart < 0) wordStart = i;
        if (confusables.has(c)) lookAlike = true;
      } else endWord(i);
      i++;
    }
    endWord(n);
    return out;
  },
};
