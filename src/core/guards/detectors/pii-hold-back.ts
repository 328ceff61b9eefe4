import { isLocalChar } from './pii-email.js';
import { IBAN_LENGTH } from './pii-financial-ids.js';
import { isDigit } from './pii-match.js';
import { DNI_LABEL, NINO_FIRST, NINO_LABEL, labelled, validNinoPrefix } from './pii-national-ids.js';
import { findPii } from './pii.js';

/**
 * Streaming hold-back for the `pii` and `financial-id` detectors: where a match at the end of streamed
 * output may still be in progress.
 */

/**
 * Where a trailing run of digits and the separators the caller names starts, limited to the last
 * `maxDigits` digits on group boundaries (19 for ids: no card is longer), or `text.length` when the text
 * does not end in one.
 */
function trailingDigitRun(text: string, maxDigits: number, isSeparator: (c: number) => boolean): number {
  let i = text.length;
  let digits = 0;
  let from = text.length;
  while (i > 0 && text.length - i < 64) {
    const c = text.charCodeAt(i - 1);
    if (isDigit(c)) {
      if (++digits > maxDigits) break;
      i--;
      if (!isDigit(text.charCodeAt(i - 1))) from = i;
    } else if (isSeparator(c)) i--;
    else break;
  }
  // A digit group glued to a letter (`w0`, `v2`) cannot start a number (they need a word boundary):
  // hold from the next group, if any, so streamed words with digits are not held.
  const before = text.charCodeAt(from - 1);
  if (from < text.length && from > 0 && (before | 32) >= 97 && (before | 32) <= 122) {
    let j = from;
    while (j < text.length && isDigit(text.charCodeAt(j))) j++;
    while (j < text.length && isSeparator(text.charCodeAt(j))) j++;
    from = j;
  }
  return from;
}

const IBAN_START = /(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}/g;
const IBAN_REST = /^[A-Za-z]{2}\d{2}(?:[A-Za-z0-9]{0,30}|(?: [A-Z0-9]{4}){0,8}(?: [A-Z0-9]{1,4})? ?)$/;
const COUNTRY_AT_END = /(?<![A-Za-z0-9])(?:[A-Z]{2}|[A-Za-z]{2}\d)$/;
/**
 * A NINO being written after its label (unlabelled ones do not act): one capital, two, or two followed
 * by its digits and the spaces between them (`AB 12 34 5`); the suffix letter ends it. Never a
 * capitalised word (`Paris`).
 */
const NINO_IN_PROGRESS = /(?<![\w-])[A-Z](?:[A-Z][ \d]{0,10})?$/;
/**
 * A NIE being written after a DNI or NIE label (unlabelled ones do not act): its X, Y or Z, alone or
 * followed by its digits (trailingDigitRun leaves digits glued to a letter alone) or a dash.
 */
const NIE_IN_PROGRESS = /(?<![\w-])[XYZ](?:-?\d{1,7}-?|-)?$/;
/** Dots separate a DNI's (`12.345.678-Z`) and a BSN's (`1234.56.782`) digit groups too. */
const isIdSeparator = (c: number): boolean => c === 32 || c === 45 || c === 46;

/** Where a NINO in progress starts at the end of `text`, or -1 (`tail` is the end of `text`). */
function ninoInProgress(text: string, tail: string): number {
  const m = NINO_IN_PROGRESS.exec(tail);
  if (!m) return -1;
  const s = m[0];
  const at = text.length - tail.length + m.index;
  // Only after its label: an unlabelled NINO scores under the threshold (pii-national-ids.ts), so `OK`
  // or `AB` opening an answer is sent at once.
  if (!labelled(text, at, NINO_LABEL)) return -1;
  if (s.length === 1) return NINO_FIRST.test(s) ? at : -1;
  const rest = s.slice(2);
  const digits = rest.replace(/ /g, '').length;
  return validNinoPrefix(s.slice(0, 2)) && digits <= 6 && !rest.includes('  ') ? at : -1;
}

/**
 * Where in the trailing digit run from `from` an id could start: the first group that is still being
 * written (the last one, with no separator after it yet), or a complete group that can begin a grouped
 * id. Cards, Aadhaar and dotted BSNs begin with four digits, SSNs, SINs and BSNs with three, a dotted
 * DNI with one or two before a dot (`12.345.678-Z`), a DNI with eight before the dash of its control
 * letter (`12345678-Z`); no grouped id begins `12 `, so an answer opening
 * "12 of your orders" is sent at once rather than one chunk later. `text.length` when none can.
 */
function groupedIdStart(text: string, from: number): number {
  let g = from;
  while (g < text.length) {
    let e = g;
    while (e < text.length && isDigit(text.charCodeAt(e))) e++;
    if (e === text.length) return g;
    const len = e - g;
    const sep = text.charCodeAt(e);
    if (len === 3 || len === 4 || (len <= 2 && sep === 46) || (len === 8 && sep === 45)) return g;
    g = e;
    while (g < text.length && isIdSeparator(text.charCodeAt(g))) g++;
  }
  return text.length;
}

/**
 * For streamed output, the `financial-id` hold-back: a trailing digit run (with spaces, dashes or dots
 * between its groups) that could still become a card number or a national id, with a DNI's control
 * letter still to come; a trailing IBAN in progress (an IBAN country code, alone in capitals or followed
 * by digits, and what follows it); a NINO's or NIE's letters and digits so far. Words are never held; a
 * lone lower-case `de` or `it` is a word, and a capitalised one is released with its second letter.
 */
export function financialPendingFrom(text: string): number {
  let from = groupedIdStart(text, trailingDigitRun(text, 19, isIdSeparator));
  const tail = text.slice(Math.max(0, text.length - 45));
  const offset = text.length - tail.length;
  IBAN_START.lastIndex = 0;
  for (const m of tail.matchAll(IBAN_START))
    if (IBAN_LENGTH[m[0].slice(0, 2).toUpperCase()] !== undefined && IBAN_REST.test(tail.slice(m.index))) {
      from = Math.min(from, offset + m.index);
      break;
    }
  const cc = COUNTRY_AT_END.exec(tail);
  if (cc && IBAN_LENGTH[cc[0].slice(0, 2).toUpperCase()] !== undefined)
    from = Math.min(from, offset + cc.index);
  const nino = ninoInProgress(text, tail);
  if (nino >= 0) from = Math.min(from, nino);
  const nie = NIE_IN_PROGRESS.exec(tail);
  if (nie && labelled(text, offset + nie.index, DNI_LABEL)) from = Math.min(from, offset + nie.index);
  return from;
}

const IPV6_IN_PROGRESS = /(?<![\w:])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){1,7}$/;
const STREET_IN_PROGRESS = /(?:^|[\s,>])\d{1,6}[A-Za-z]?(?:[ \t]+\p{Lu}[\p{L}\p{M}.'’-]{0,30}){0,4}[ \t]?$/u;

/** A phone extension being written after the number (`x12`, ` ext. 4`, `#`): the number is held with it. */
const EXTENSION_IN_PROGRESS = /(?<=\d) ?(?:x|e|ex|ext\.?|#) ?\d{0,5}$/i;
/** What may stand between an address's parts: spaces, a comma, up to two line breaks (findAddresses' SEPARATOR). */
const ADDRESS_GAP = /^[ \t]*(?:,[ \t]*)?(?:\r?\n[ \t>?]*(?:\r?\n[ \t>?]*)?)?$/;

/**
 * An address found whole so far, followed only by what separates its parts (`90 Whitchurch Road,`): a
 * place, a unit or a postcode may still be added to it (`, Cardiff CF14 3NB`), so it is held. A part
 * being written is in the match already (findAddresses reads a place at the end of the text as ended).
 */
function addressPendingFrom(text: string): number {
  const found = findPii(text, ['address']);
  const last = found[found.length - 1];
  return last && text.length - last.end <= 8 && ADDRESS_GAP.test(text.slice(last.end))
    ? last.start
    : text.length;
}

/** Parentheses and dots separate a phone's groups too (`(415) 555.2671`). */
const isPhoneSeparator = (c: number): boolean => c === 32 || c === 45 || c === 46 || c === 40 || c === 41;

/** Where the local part of an address whose `@` is at `at` (or is still to come) starts. */
function localPartStart(text: string, at: number): number {
  let s = at;
  while (s > 0 && at - s < 64 && isLocalChar(text.charCodeAt(s - 1))) s--;
  // Leading dots are not part of an address (findEmails skips them).
  while (s < at && text.charCodeAt(s) === 46) s++;
  return s;
}

/**
 * For streamed output, the `pii` hold-back (only used when a release makes `pii` redact or block), so no
 * part of an address or number is sent before it can be redacted whole:
 *  - a trailing run of the characters an e-mail's local part is made of (the last 64 of them): any word
 *    may be followed by `@`, and a chunk may end anywhere in `bob.smith`; held only until the next
 *    character shows it is not, so prose still streams, a word behind;
 *  - an address from its local part on while its `@` and domain are being written;
 *  - a trailing phone-like digit run (digits with spaces, dashes, dots and parentheses, a `+` or `(`
 *    before it, an extension being written after it); a dotted IPv4 address is a local-part run;
 *  - an IPv6 address in progress;
 *  - a house number followed by up to four capitalised words (`90 Whitchurch` may become
 *    `90 Whitchurch Road`; `2019 people` is not held).
 */
export function piiPendingFrom(text: string): number {
  const n = text.length;
  const tail = text.slice(Math.max(0, n - 300));
  const offset = n - tail.length;
  const ext = EXTENSION_IN_PROGRESS.exec(text.slice(Math.max(0, n - 12)));
  const numberEnd = ext ? n - ext[0].length : n;
  let from = trailingDigitRun(text.slice(0, numberEnd), 15, isPhoneSeparator);
  if (from < numberEnd) {
    let i = from;
    while (i > 0 && /[+(]/.test(text[i - 1] ?? '') && from - i < 2) i--;
    from = i;
  } else from = /[+(]$/.test(text) ? n - 1 : n;
  from = Math.min(from, localPartStart(text, n));
  const at = tail.lastIndexOf('@');
  if (at > 0 && isLocalChar(tail.charCodeAt(at - 1)) && /^[A-Za-z0-9.-]*$/.test(tail.slice(at + 1)))
    from = Math.min(from, localPartStart(text, offset + at));
  const v6 = tail.includes(':') ? IPV6_IN_PROGRESS.exec(tail) : null;
  if (v6) from = Math.min(from, offset + v6.index);
  from = Math.min(from, addressPendingFrom(text));
  const street = STREET_IN_PROGRESS.exec(tail.slice(Math.max(0, tail.length - 120)));
  if (street) {
    const at = offset + Math.max(0, tail.length - 120) + street.index;
    from = Math.min(from, at + (/^[\s,>]/.test(street[0]) ? 1 : 0));
  }
  return from;
}
