import { isLocalChar } from './pii-email.js';
import { IBAN_LENGTH } from './pii-financial-ids.js';
import { isDigit } from './pii-match.js';

/**
 * Streaming hold-back for the `pii` and `financial-id` detectors: where a match at the end of streamed
 * output may still be in progress.
 */

/**
 * Where a trailing run of digits, spaces and dashes starts, limited to the last 19 digits on group
 * boundaries (no card is longer), or `text.length` when the text does not end in one.
 */
function trailingDigitRun(text: string, maxDigits: number): number {
  let i = text.length;
  let digits = 0;
  let from = text.length;
  while (i > 0 && text.length - i < 64) {
    const c = text.charCodeAt(i - 1);
    if (isDigit(c)) {
      if (++digits > maxDigits) break;
      i--;
      if (!isDigit(text.charCodeAt(i - 1))) from = i;
    } else if (c === 32 || c === 45) i--;
    else break;
  }
  // A digit group glued to a letter (`w0`, `v2`) cannot start a number (they need a word boundary):
  // hold from the next group, if any, so streamed words with digits are not held.
  const before = text.charCodeAt(from - 1);
  if (from < text.length && from > 0 && (before | 32) >= 97 && (before | 32) <= 122) {
    let j = from;
    while (j < text.length && isDigit(text.charCodeAt(j))) j++;
    while (j < text.length && (text.charCodeAt(j) === 32 || text.charCodeAt(j) === 45)) j++;
    from = j;
  }
  return from;
}

const IBAN_START = /(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}/g;
const IBAN_REST = /^[A-Za-z]{2}\d{2}(?:[A-Za-z0-9]{0,30}|(?: [A-Z0-9]{4}){0,8}(?: [A-Z0-9]{1,4})? ?)$/;
const COUNTRY_AT_END = /(?<![A-Za-z0-9])(?:[A-Z]{2}|[A-Za-z]{2}\d)$/;

/**
 * For streamed output, the `financial-id` hold-back: a trailing digit run that could still become a card
 * number or SSN, and a trailing IBAN in progress (an IBAN country code, alone in capitals or followed by
 * digits, and what follows it). Words are never held; a lone lower-case `de` or `it` is a word.
 */
export function financialPendingFrom(text: string): number {
  let from = trailingDigitRun(text, 19);
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
  return from;
}

const IPV6_IN_PROGRESS = /(?<![\w:])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){1,7}$/;
const STREET_IN_PROGRESS = /(?:^|[\s,>])\d{1,6}[A-Za-z]?(?:[ \t]+\p{Lu}[\p{L}\p{M}.'’-]{0,30}){0,4}[ \t]?$/u;

/**
 * For streamed output, the `pii` hold-back (only used when a release makes `pii` redact or block): a
 * trailing phone-like digit run (with `+` and `(`), an e-mail address from its `@` on (the local part
 * before it is released: holding every word that could become one would hold all text), an IPv6 address
 * in progress, and a house number followed by up to four capitalised words (`90 Whitchurch` may become
 * `90 Whitchurch Road`; `2019 people` is not held).
 */
export function piiPendingFrom(text: string): number {
  const tail = text.slice(Math.max(0, text.length - 300));
  const offset = text.length - tail.length;
  let from = trailingDigitRun(text, 15);
  if (from < text.length) {
    let i = from;
    while (i > 0 && /[+(]/.test(text[i - 1] ?? '') && from - i < 2) i--;
    from = i;
  }
  const at = tail.lastIndexOf('@');
  if (at > 0 && isLocalChar(tail.charCodeAt(at - 1)) && /^[A-Za-z0-9.-]*$/.test(tail.slice(at + 1)))
    from = Math.min(from, offset + at);
  const v6 = tail.includes(':') ? IPV6_IN_PROGRESS.exec(tail) : null;
  if (v6) from = Math.min(from, offset + v6.index);
  const street = STREET_IN_PROGRESS.exec(tail.slice(Math.max(0, tail.length - 120)));
  if (street) {
    const at = offset + Math.max(0, tail.length - 120) + street.index;
    from = Math.min(from, at + (/^[\s,>]/.test(street[0]) ? 1 : 0));
  }
  return from;
}
