import { isAlpha, isDigit, isWordChar, type PiiMatch } from './pii-match.js';

/** E-mail addresses in free text (see pii.ts for the cost model). */

export const isLocalChar = (c: number): boolean =>
  isWordChar(c) || c === 46 /* . */ || c === 37 /* % */ || c === 43 /* + */ || c === 45; /* - */
const isDomainChar = (c: number): boolean => isDigit(c) || isAlpha(c) || c === 46 || c === 45;

function validDomain(domain: string): boolean {
  const labels = domain.split('.');
  if (labels.length < 2 || domain.length > 253) return false;
  for (const label of labels)
    if (label.length === 0 || label.length > 63 || label.startsWith('-') || label.endsWith('-')) return false;
  const tld = labels[labels.length - 1] ?? '';
  return /^(?:[A-Za-z]{2,24}|xn--[A-Za-z0-9-]{1,59})$/.test(tld);
}

/**
 * E-mail addresses, found from each `@` outwards (no regex scan over the whole text). The local part is
 * at most 64 characters, the domain at most 255, so each `@` costs a bounded amount of work. The password
 * of a URL's user-info (`https://user:pw@host`) is not an address: the secrets rules judge it.
 */
export function findEmails(text: string): PiiMatch[] {
  const out: PiiMatch[] = [];
  let floor = 0;
  for (let at = text.indexOf('@'); at >= 0; at = text.indexOf('@', at + 1)) {
    if (at < floor) continue;
    let s = at;
    while (s > floor && at - s < 64 && isLocalChar(text.charCodeAt(s - 1))) s--;
    while (s < at && text.charCodeAt(s) === 46) s++;
    let e = at + 1;
    while (e < text.length && e - at <= 255 && isDomainChar(text.charCodeAt(e))) e++;
    while (e > at + 1 && (text.charCodeAt(e - 1) === 46 || text.charCodeAt(e - 1) === 45)) e--;
    if (s === at || text.charCodeAt(at - 1) === 46 || !validDomain(text.slice(at + 1, e))) continue;
    if (
      text.charCodeAt(s - 1) === 58 /* : */ &&
      !text
        .slice(Math.max(0, s - 7), s)
        .toLowerCase()
        .endsWith('mailto:')
    )
      continue;
    out.push({ kind: 'email', start: s, end: e, score: 1 });
    floor = e;
  }
  return out;
}
