import { matchesOf } from '../regex-matches.js';
import { isWordChar, type PiiMatch } from './pii-match.js';

/** IPv4 and IPv6 addresses in free text (see pii.ts for the cost model). */

const IPV4 = /(?<![\w.-])(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?![\w]|\.\d)/g;
const VERSION_BEFORE = /(?:\bv|version|ver\.?|release|build)\s*$/i;

function ipv4Score(parts: readonly number[]): number {
  const [a = 0, b = 0] = parts;
  if (parts.some((p) => p > 255)) return 0;
  // Loopback, unspecified and broadcast identify nobody; a private address (`192.168.1.100` in a code
  // sample) names a machine on somebody's network, not a person: below the detectors' threshold.
  if (a === 127 || a === 0 || parts.every((p) => p === 255)) return 0;
  if (a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254))
    return 0.4;
  return 0.9;
}

const MAYBE_IPV6 = /::|[0-9A-Fa-f]:[0-9A-Fa-f]{1,4}:/;
const IPV6 = /(?<![\w:.])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?![\w:])/g;

function validIpv6(s: string): boolean {
  const halves = s.split('::');
  if (halves.length > 2) return false;
  const groups = halves.flatMap((h) => (h === '' ? [] : h.split(':')));
  if (groups.some((g) => g.length === 0 || g.length > 4)) return false;
  if (halves.length === 1) return groups.length === 8;
  // Compressed: at most seven groups written, and at least three so `a::b` in code is not an address.
  return groups.length >= 3 && groups.length <= 7 && /\d/.test(s);
}

export function findIps(text: string): PiiMatch[] {
  const out: PiiMatch[] = [];
  if (text.includes('.'))
    for (const m of matchesOf(IPV4, text)) {
      const parts = [m[1], m[2], m[3], m[4]].map(Number);
      // Leading zeros (`01.02`) are dates and versions, not addresses.
      if ([m[1], m[2], m[3], m[4]].some((p) => p !== undefined && p.length > 1 && p.startsWith('0')))
        continue;
      const score = ipv4Score(parts);
      if (score === 0 || VERSION_BEFORE.test(text.slice(Math.max(0, m.index - 10), m.index))) continue;
      out.push({ kind: 'ip', start: m.index, end: m.index + m[0].length, score });
    }
  // Every valid IPv6 address has `::` or eight full groups, so this cheap scan gates the full one.
  if (MAYBE_IPV6.test(text))
    for (const m of ipv6Candidates(text)) {
      if (!validIpv6(m[0])) continue;
      const link = /^fe[89ab]/i.test(m[0]) || /^f[cd]/i.test(m[0]);
      out.push({ kind: 'ip', start: m.index, end: m.index + m[0].length, score: link ? 0.4 : 0.9 });
    }
  return out;
}

const IPV6_AT = new RegExp(IPV6.source, 'y');

/**
 * The matches of IPV6 (as `text.matchAll(IPV6)` finds them), tried only where one can start: a match's
 * first colon comes after at most four hex digits that follow no word character, so each colon names
 * the one place a match through it can start (the start of the word before it). The global expression,
 * whose optional first group lets a match attempt start at any character, cost more than all the other
 * PII matchers together on a text with a colon.
 */
function* ipv6Candidates(text: string): Generator<RegExpExecArray> {
  let covered = 0;
  for (let c = text.indexOf(':'); c >= 0; c = text.indexOf(':', c + 1)) {
    let p = c;
    while (p > 0 && c - p <= 4 && isWordChar(text.charCodeAt(p - 1))) p--;
    if (p < covered || (p > 0 && isWordChar(text.charCodeAt(p - 1)))) continue;
    IPV6_AT.lastIndex = p;
    const m = IPV6_AT.exec(text);
    if (!m) continue;
    covered = p + m[0].length;
    yield m;
  }
}
