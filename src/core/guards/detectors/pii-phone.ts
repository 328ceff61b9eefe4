import { parsePhoneNumberFromString } from 'libphonenumber-js/min';
import { matchesOf } from '../regex-matches.js';
import type { PiiMatch } from './pii-match.js';

/** Phone numbers in free text (see pii.ts for the cost model). */

/**
 * Phone-shaped runs: an optional `+country`, an optional `(0)` trunk or `(area)` code, digit groups joined
 * by single spaces, dots or dashes, and an optional extension. Every repetition starts with a mandatory
 * separator, so the expression is linear. What the shape alone cannot tell (is `2019 2020` a phone?) is
 * decided by the score: format, libphonenumber for international numbers, and nearby words.
 */
const PHONE =
  /(?<![\w+./=-]|\d,)(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{1,12}(?:[ .-]\(?\d{1,12}\)?|\(\d{1,4}\)\d{1,12}){0,6}(?: ?(?:x|ext\.?|#) ?\d{1,5})?(?![\w@=%]|[.,/-]\d)/gi;
/** A phone label (`Phone:`, `Fax:`) or a calling verb shortly before the number. */
const PHONE_BEFORE =
  /(?:\b(?:phone|tel|telephone|mobile|mob|cell|fax|desk|office|home|work|contact|landline|hotline)\b[ \t]*[:.#]?[ \t]*(?:no\.?|number|#)?[ \t]*:?[ \t]*\n?[ \t]*|\b(?:call|calling|phone|text|sms|whatsapp|reach|dial|ring)\b[^\n\d]{0,12})$/i;
const PHONE_AFTER = /^[\s-]{0,2}(?:office|fax|mobile|cell|home|work|phone|tel)\b/i;
const NANP = /^(?:\+?1[ .-]?|001[ .-])?(?:\(\d{3}\) ?|\d{3}[ .-])\d{3}[ .-]\d{4}\b/;
/** Dates, alone or starting a timestamp (`2000-04-16 11:34`): never phones. */
const DATE_LIKE = /^(?:\d{4}[-./]\d{1,2}[-./]\d{1,2}(?:$| )|\d{1,2}[-./]\d{1,2}[-./]\d{2,4}$)/;

function phoneScore(m: string, text: string, start: number, end: number): number {
  const body = m.replace(/ ?(?:x|ext\.?|#) ?\d{1,5}$/i, '');
  const digits = body.replace(/\D/g, '');
  if (digits.length < 7 || digits.length > 15) return 0;
  if (
    text.charCodeAt(end) === 58 /* : a time */ ||
    DATE_LIKE.test(body) ||
    /^\d{5}-\d{4}$/.test(body) ||
    /^\d{3}-\d{2}-\d{4}$/.test(body)
  )
    return 0;
  const groups = body.split(/[ .()+-]+/).filter((g) => g.length > 0);
  // Lists of years (`1982-1984-1987`) and byte dumps (`57 68 61 74`) are number runs, not phones.
  if (groups.length >= 2 && groups.every((g) => /^(?:19|20)\d\d$/.test(g))) return 0;
  const hexAround =
    /[0-9a-f]{2} $/i.test(text.slice(Math.max(0, start - 3), start)) ||
    /^ [0-9a-f]{2}\b/i.test(text.slice(end, end + 4));
  if (hexAround && groups.every((g) => g.length === 2)) return 0;
  let score: number;
  if (body.startsWith('+')) {
    const parsed = parsePhoneNumberFromString(body.replace('(0)', ''));
    score = parsed?.isPossible() ? 0.9 : 0.3;
  } else if (NANP.test(body)) score = 0.8;
  else if (groups.length >= 3 && body.startsWith('0'))
    score = 0.7; // national trunk prefix + groups
  else if (groups.length >= 3) score = 0.5;
  else if (groups.length === 2) score = 0.3;
  else score = 0.2;
  const before = text.slice(Math.max(0, start - 30), start);
  if (/\bisbn[\s:-]*$/i.test(before)) return 0;
  if (PHONE_BEFORE.test(before) || PHONE_AFTER.test(text.slice(end, end + 12))) score += 0.35;
  return Math.min(1, score);
}

export function findPhones(text: string): PiiMatch[] {
  const out: PiiMatch[] = [];
  // matchesOf, not matchAll: matchAll clones the regex on every call.
  for (const m of matchesOf(PHONE, text)) {
    if (m[0].length < 7) continue;
    const score = phoneScore(m[0], text, m.index, m.index + m[0].length);
    if (score > 0) out.push({ kind: 'phone', start: m.index, end: m.index + m[0].length, score });
  }
  return out;
}
