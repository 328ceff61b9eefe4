import { matchesOf } from '../regex-matches.js';
import { luhn } from './pii-financial-ids.js';
import type { PiiKind, PiiMatch } from './pii-match.js';

/**
 * National identifiers beyond the US SSN (pii-financial-ids.ts), for the `financial-id` detector: UK
 * National Insurance numbers, Canadian social insurance numbers, Indian Aadhaar numbers, Spanish DNI and
 * NIE numbers, Dutch BSNs. The detector blocks by default, so each is held to its checksum or exact
 * format and must have its label within 40 characters before it (`NI number`, `SIN`, `Aadhaar`, `DNI`,
 * `BSN`). Without one it scores UNLABELLED, under the default threshold, so it neither blocks nor is
 * redacted: part numbers (`HP123456A`), build ids (`20240115-T`), serials (`X1234567L`) and AWS account
 * ids as the console prints them (`2345-6789-0125`) have these shapes, and the checksums (Verhoeff and
 * Luhn one in ten, the 11-test one in eleven, the DNI's letter one in 23) do not tell them apart. Every
 * regular expression here is linear: bounded single-class repetitions and fixed separators, nothing
 * quantified inside a quantifier.
 */

/** The kinds found here, in the order the `financial-id` detector lists them. */
export const NATIONAL_ID_KINDS = [
  'nino',
  'sin',
  'aadhaar',
  'dni',
  'nie',
  'bsn',
] as const satisfies readonly PiiKind[];

/** How far before a number its label may stand (the SSN's label window). */
const LABEL_WINDOW = 40;

/** The score of an id without its label: a release that lowers the threshold under it can still act. */
const UNLABELLED = 0.4;

/**
 * The text a label of the number at `at` may stand in: the 40 characters before it, from the start of
 * the word the window falls in (cut inside "Alumni", "ni no" would read as a label).
 */
function labelWindow(text: string, at: number): string {
  let from = Math.max(0, at - LABEL_WINDOW);
  while (from > 0 && from > at - LABEL_WINDOW - 40 && /\w/.test(text.charAt(from - 1))) from--;
  return text.slice(from, at);
}

export function labelled(text: string, at: number, label: RegExp): boolean {
  return label.test(labelWindow(text, at));
}

// ---------------------------------------------------------------------------------------------------
// UK National Insurance number: two prefix letters, six digits, a suffix A-D

/**
 * HMRC's allocation rules: D, F, I, Q, U and V are never either prefix letter, O never the second, and
 * BG, GB, KN, NK, NT, TN and ZZ are not allocated (QQ, HMRC's own specimen prefix, falls under Q).
 */
export const NINO_FIRST = /^[A-CEGHJ-PR-TW-Z]$/;
const NINO_SECOND = /^[A-CEGHJ-NPR-TW-Z]$/;
const NINO_UNALLOCATED = new Set(['BG', 'GB', 'KN', 'NK', 'NT', 'TN', 'ZZ']);

export function validNinoPrefix(prefix: string): boolean {
  return (
    NINO_FIRST.test(prefix.charAt(0)) && NINO_SECOND.test(prefix.charAt(1)) && !NINO_UNALLOCATED.has(prefix)
  );
}

/**
 * Capitals only (lower-case `ab123456c` is as likely a hex token as a NINO), written whole (`AB123456C`),
 * in pairs (`AB 12 34 56 C`) or with the digits together (`AB 123456 C`).
 */
const NINO = /(?<![\w-])([A-Z]{2}) ?(\d{2})( ?)(\d{2})\3(\d{2}) ?[A-D](?![\w-])/g;
export const NINO_LABEL = /\bnino\b|national insurance|\bni (?:number|no\b)/i;

export function findNinos(text: string): PiiMatch[] {
  const out: PiiMatch[] = [];
  for (const m of matchesOf(NINO, text)) {
    if (!validNinoPrefix(m[1] ?? '')) continue;
    const score = labelled(text, m.index, NINO_LABEL) ? 1 : UNLABELLED;
    out.push({ kind: 'nino', start: m.index, end: m.index + m[0].length, score });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Numbers whose checksum alone is too weak: a label is required

/**
 * Nine digits, bare or 3-3-3 (one separator throughout). A SIN's Luhn digit accepts one random number in
 * ten, and Polish, Spanish and Portuguese phone numbers are written in exactly this shape, so
 * even the grouped form needs its label; a BSN's 11-test accepts one in eleven.
 */
const NINE_DIGITS = /(?<![\w.,-]|\d[ .-])(\d{3})([ .-]?)(\d{3})\2(\d{3})(?![\w]|[ .-]\d)/g;
/** A BSN is also printed 4-2-3 (`1234.56.782`). */
const BSN_423 = /(?<![\w.,-]|\d[ .-])(\d{4})([ .])(\d{2})\2(\d{3})(?![\w]|[ .-]\d)/g;

/** `SIN` and its French `NAS` in capitals only: `sin` is Spanish for "without", `nas` Portuguese for "in the". */
const SIN_LABEL_CASED = /\b(?:SIN|NAS)\b/;
const SIN_PHRASE = /social insurance|assurance sociale/i;
const BSN_LABEL = /\b(?:bsn|burgerservicenummer|sofi-?nummer)\b/i;

/**
 * SIN: the first digit is the region of issue; 0 is never assigned (CRA's own sample `046 454 286` is
 * one) and 8 marks a business number, not a person.
 */
export function findSins(text: string): PiiMatch[] {
  const out: PiiMatch[] = [];
  for (const m of matchesOf(NINE_DIGITS, text)) {
    const [, a = '', sep = '', b = '', c = ''] = m;
    const digits = a + b + c;
    if (sep === '.' || a.startsWith('0') || a.startsWith('8') || !luhn(digits)) continue;
    const before = labelWindow(text, m.index);
    if (!SIN_LABEL_CASED.test(before) && !SIN_PHRASE.test(before)) continue;
    out.push({ kind: 'sin', start: m.index, end: m.index + m[0].length, score: sep === '' ? 0.9 : 1 });
  }
  return out;
}

/** The Dutch 11-test: 9·d1 + 8·d2 + … + 2·d8 − d9 is a multiple of 11. */
export function bsnChecksum(digits: string): boolean {
  if (!/^\d{9}$/.test(digits) || /^0+$/.test(digits)) return false;
  let sum = -Number(digits[8]);
  for (let i = 0; i < 8; i++) sum += (9 - i) * Number(digits[i]);
  return sum % 11 === 0;
}

export function findBsns(text: string): PiiMatch[] {
  const out: PiiMatch[] = [];
  for (const re of [NINE_DIGITS, BSN_423])
    for (const m of matchesOf(re, text)) {
      const [, a = '', sep = '', b = '', c = ''] = m;
      if (!bsnChecksum(a + b + c) || !labelled(text, m.index, BSN_LABEL)) continue;
      out.push({ kind: 'bsn', start: m.index, end: m.index + m[0].length, score: sep === '' ? 0.9 : 1 });
    }
  return out.sort((x, y) => x.start - y.start);
}

// ---------------------------------------------------------------------------------------------------
// Indian Aadhaar: 12 digits, Verhoeff check digit, first digit 2-9

const VERHOEFF_D = [
  '0123456789',
  '1234067895',
  '2340178956',
  '3401289567',
  '4012395678',
  '5987604321',
  '6598710432',
  '7659821043',
  '8765932104',
  '9876543210',
];
const VERHOEFF_P = [
  '0123456789',
  '1576283094',
  '5803796142',
  '8916043527',
  '9453127068',
  '4286573901',
  '2793806415',
  '7046913258',
];

export function verhoeff(digits: string): boolean {
  let c = 0;
  for (let i = 0; i < digits.length; i++) {
    const d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (d < 0 || d > 9) return false;
    c = Number(VERHOEFF_D[c]?.charAt(Number(VERHOEFF_P[i % 8]?.charAt(d))));
  }
  return c === 0;
}

/**
 * Twelve digits bare or 4-4-4 (the card's own print, one separator throughout), not part of a longer
 * run (a 16-digit card's first or last twelve).
 */
const AADHAAR = /(?<![\w.,+-]|\d[ .-])([2-9]\d{3})([ -]?)(\d{4})\2(\d{4})(?![\w]|[ .-]\d)/g;
/** `आधार` is Hindi for Aadhaar (no `\b`: JavaScript's word boundary is ASCII-only). */
const AADHAAR_LABEL = /aadhaa?r|\buidai\b|आधार/i;
/**
 * Verhoeff accepts one random number in ten, and 12-digit order, tracking (FedEx prints 4-4-4), account
 * and transaction numbers are common in answers: one of them named just before the number rules the
 * grouped shape out as well.
 */
const OTHER_NUMBER_LABEL =
  /\b(?:order|tracking|track|awb|invoice|ref|reference|booking|pnr|account|a\/c|acct|shipment|consignment|fedex|ups|dhl|serial|transaction|txn|utr|imei)\b/i;

export function findAadhaars(text: string): PiiMatch[] {
  const out: PiiMatch[] = [];
  for (const m of matchesOf(AADHAAR, text)) {
    const [, a = '', sep = '', b = '', c = ''] = m;
    const digits = a + b + c;
    if (/^(\d)\1+$/.test(digits) || !verhoeff(digits)) continue;
    const before = labelWindow(text, m.index);
    const label = AADHAAR_LABEL.test(before);
    // Unlabelled, bare twelve digits are nothing; 4-4-4 (the card's print, but also AWS account ids and
    // confirmation codes) scores under the threshold, and not at all after another number's label.
    const score = label
      ? sep === ''
        ? 0.9
        : 1
      : sep !== '' && !OTHER_NUMBER_LABEL.test(before)
        ? UNLABELLED
        : 0;
    if (score > 0) out.push({ kind: 'aadhaar', start: m.index, end: m.index + m[0].length, score });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Spanish DNI (8 digits + control letter) and NIE (X/Y/Z + 7 digits + control letter)

/** The control letter is this string's character at the number mod 23 (I, Ñ, O and U are never used). */
const CONTROL = 'TRWAGMYFPDXBNJZSQVHLCKE';

export function spanishControl(number: string): string {
  return CONTROL.charAt(Number(number) % 23);
}

/**
 * `12345678Z`, `12345678-Z`, `12.345.678-Z`; the letter in capitals, glued or after a dash (after a
 * space, the article `A` of an English sentence would be read as one in 23 numbers' letter).
 */
const DNI = /(?<![\w.,-])(?:(\d{8})|(\d{1,2})\.(\d{3})\.(\d{3}))-?([A-Z])(?![\w-])/g;
const NIE = /(?<![\w-])([XYZ])-?(\d{7})-?([A-Z])(?![\w-])/g;
export const DNI_LABEL = /\b(?:dni|nif|nie|documento nacional|n[úu]mero de identidad)\b/i;

function spanishMatch(kind: PiiKind, text: string, at: number, length: number): PiiMatch {
  return { kind, start: at, end: at + length, score: labelled(text, at, DNI_LABEL) ? 1 : UNLABELLED };
}

export function findDnis(text: string): PiiMatch[] {
  const out: PiiMatch[] = [];
  for (const m of matchesOf(DNI, text)) {
    const [, whole, millions = '', thousands = '', units = '', letter = ''] = m;
    const number = whole ?? millions + thousands + units;
    if (spanishControl(number) === letter) out.push(spanishMatch('dni', text, m.index, m[0].length));
  }
  return out;
}

export function findNies(text: string): PiiMatch[] {
  const out: PiiMatch[] = [];
  for (const m of matchesOf(NIE, text)) {
    const [, prefix = '', digits = '', letter = ''] = m;
    const number = String('XYZ'.indexOf(prefix)) + digits;
    if (spanishControl(number) === letter) out.push(spanishMatch('nie', text, m.index, m[0].length));
  }
  return out;
}
