import { matchesOf } from '../regex-matches.js';
import { isAlpha, isDigit, isWordChar, type PiiMatch } from './pii-match.js';

/**
 * Financial ids in free text: payment cards, IBANs and US social security numbers (see pii.ts for the
 * cost model).
 */

// ---------------------------------------------------------------------------------------------------
// Payment cards (Luhn + issuer prefix)

export function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (d < 0 || d > 9) return false;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/**
 * Issuer identification ranges by number length (public scheme data: Visa, Mastercard incl. 2-series,
 * Amex, Discover, Diners, JCB, UnionPay, Maestro, Mir, RuPay, UATP). A Luhn check alone accepts one random
 * digit string in ten; also requiring a real issuer prefix for that length keeps order numbers and ids
 * out. Maestro is the only scheme with 12-digit cards and is checked on its own prefixes.
 */
function cardIssuer(d: string): boolean {
  const n = d.length;
  const p2 = Number(d.slice(0, 2));
  const p3 = Number(d.slice(0, 3));
  const p4 = Number(d.slice(0, 4));
  const p6 = Number(d.slice(0, 6));
  const maestro = p2 === 50 || (p2 >= 56 && p2 <= 69);
  if (n === 12) return maestro;
  if (d.startsWith('4')) return n === 13 || n === 16 || n === 19;
  if (maestro && n >= 13) return true;
  if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) return n === 16;
  if (p2 === 34 || p2 === 37) return n === 15;
  // JCB: 3528-3589 is assigned, but validators (and card generators) treat the whole 35 block as JCB.
  if (p2 === 35) return n >= 16 && n <= 19;
  if ((p3 >= 300 && p3 <= 305) || p2 === 36 || p2 === 38 || p2 === 39) return n >= 14 && n <= 19;
  if (p4 === 2131 || p4 === 1800 || p4 === 2014 || p4 === 2149) return n === 15;
  if (p4 >= 2200 && p4 <= 2204) return n >= 16 && n <= 19;
  if (d.startsWith('1')) return n === 15;
  if (p6 >= 622126 && p6 <= 622925) return n >= 16 && n <= 19;
  if (p2 === 81 || p2 === 82) return n === 16;
  return false;
}

/**
 * A run of digit groups joined by single separators; a window of it is judged as a card number. Only a
 * run of 12 or more characters can hold one: the lookahead skips the shorter ones (most runs: years,
 * prices) without a match array each. It comes after the first digit: as the first item it would keep
 * the regex engine from skipping ahead to the next digit (five times slower). It changes no run of 12 or more: a run lies inside the stretch
 * of digits, spaces and dashes that starts where it starts, and every later start inside that stretch
 * sees less of it, so where the lookahead fails no long run starts before the stretch ends.
 */
const DIGIT_RUN = /\d(?=[\d -]{11})\d*(?:[ -]\d+)*/g;

function cardWindow(groups: readonly string[], seps: readonly string[], i: number, j: number): boolean {
  // Cards are printed unbroken or in groups of four (Amex and Diners: 4-6-5 and 4-6-4).
  if (i === j) return true;
  const sep = seps[i];
  for (let k = i; k < j; k++) if (seps[k] !== sep) return false;
  const lens = groups.slice(i, j + 1).map((g) => g.length);
  if (lens.length === 3 && lens[0] === 4 && lens[1] === 6 && (lens[2] === 5 || lens[2] === 4)) return true;
  return lens.every((l, k) => (k === lens.length - 1 ? l >= 1 && l <= 4 : l === 4));
}

export function findCards(text: string): PiiMatch[] {
  const out: PiiMatch[] = [];
  for (const m of matchesOf(DIGIT_RUN, text)) {
    const run = m[0];
    if (run.length < 12) continue;
    const at = m.index;
    if (at > 0 && isWordChar(text.charCodeAt(at - 1))) continue;
    if (isWordChar(text.charCodeAt(at + run.length))) continue;
    const groups = run.split(/[ -]/);
    const seps = run.match(/[ -]/g) ?? [];
    const offsets: number[] = [];
    let o = 0;
    for (const g of groups) {
      offsets.push(o);
      o += g.length + 1;
    }
    // Each start group is tried with every end group whose digit count is 12..19; windows start and end
    // on group boundaries, so a card followed by a year (`… 1111 2024`) is still found.
    for (let i = 0; i < groups.length; i++) {
      let digits = '';
      let found = false;
      // Only a group of four starts a grouped card; any other group can only be a card on its own.
      const last = (groups[i]?.length ?? 0) === 4 ? groups.length : i + 1;
      for (let j = i; j < last && !found; j++) {
        digits += groups[j] ?? '';
        if (digits.length > 19) break;
        if (digits.length < 12 || !cardWindow(groups, seps, i, j)) continue;
        if (/^(\d)\1+$/.test(digits) || !luhn(digits) || !cardIssuer(digits)) continue;
        const start = at + (offsets[i] ?? 0);
        out.push({ kind: 'card', start, end: at + (offsets[j] ?? 0) + (groups[j] ?? '').length, score: 1 });
        i = j;
        found = true;
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// IBAN (ISO 13616: country length table + mod-97)

/** IBAN length per country (SWIFT IBAN registry). */
export const IBAN_LENGTH: Readonly<Record<string, number>> = Object.fromEntries(
  (
    'AD24 AE23 AL28 AT20 AZ28 BA20 BE16 BG22 BH22 BI27 BR29 BY28 CH21 CR22 CY28 CZ24 DE22 DJ27 DK18 ' +
    'DO28 EE20 EG29 ES24 FI18 FK18 FO18 FR27 GB22 GE22 GI23 GL18 GR27 GT28 HR21 HU28 IE22 IL23 IQ23 ' +
    'IS26 IT27 JO30 KW30 KZ20 LB28 LC32 LI21 LT20 LU20 LV21 LY25 MC27 MD24 ME22 MK19 MN20 MR27 MT31 ' +
    'MU30 NI28 NL18 NO15 OM23 PK24 PL28 PS29 PT25 QA29 RO24 RS22 RU33 SA24 SC31 SD18 SE24 SI19 SK24 ' +
    'SM27 SO23 ST25 SV28 TL23 TN24 TR26 UA29 VA22 VG24 XK20 YE30'
  )
    .split(' ')
    .map((e) => [e.slice(0, 2), Number(e.slice(2))]),
);

export function ibanChecksum(iban: string): boolean {
  const s = (iban.slice(4) + iban.slice(0, 4)).toUpperCase();
  let rem = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) rem = (rem * 10 + (c - 48)) % 97;
    else if (c >= 65 && c <= 90) rem = (rem * 100 + (c - 55)) % 97;
    else return false;
  }
  return rem === 1;
}

const IBAN_CANDIDATE = /(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]){10,30}/g;

export function findIbans(text: string): PiiMatch[] {
  const out: PiiMatch[] = [];
  for (const m of matchesOf(IBAN_CANDIDATE, text)) {
    const cand = m[0];
    const want = IBAN_LENGTH[cand.slice(0, 2).toUpperCase()];
    if (want === undefined) continue;
    // Take exactly the country's length (the match may have run on into the next word) and require the
    // IBAN to end there.
    let compact = '';
    let end = 0;
    for (let i = 0; i < cand.length && compact.length < want; i++)
      if (cand[i] !== ' ') {
        compact += cand[i] ?? '';
        end = i + 1;
      }
    if (compact.length !== want) continue;
    const after = text.charCodeAt(m.index + end);
    if (isDigit(after) || isAlpha(after)) continue;
    if (!ibanChecksum(compact)) continue;
    out.push({ kind: 'iban', start: m.index, end: m.index + end, score: 1 });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// US social security numbers

const SSN = /(?<![\w-])(\d{3})([ -]?)(\d{2})\2(\d{4})(?![\w]|-\d)/g;
const SSN_CONTEXT = /\b(?:ssn|ss#|social security|soc\.? sec)/i;

/** SSA rules: no area 000, 666 or 900-999, no group 00, no serial 0000 (never issued). */
export function validSsn(area: string, group: string, serial: string): boolean {
  const a = Number(area);
  return a !== 0 && a !== 666 && a < 900 && group !== '00' && serial !== '0000';
}

export function findSsns(text: string): PiiMatch[] {
  const out: PiiMatch[] = [];
  for (const m of matchesOf(SSN, text)) {
    const [, area = '', sep = '', group = '', serial = ''] = m;
    if (!validSsn(area, group, serial)) continue;
    const context = SSN_CONTEXT.test(text.slice(Math.max(0, m.index - 40), m.index));
    // The dashed 3-2-4 shape is the SSN's own; spaced or bare nine digits are only one with context.
    const score = sep === '-' ? (context ? 1 : 0.9) : context ? 0.9 : sep === ' ' ? 0.4 : 0;
    if (score > 0) out.push({ kind: 'ssn', start: m.index, end: m.index + m[0].length, score });
  }
  return out;
}
