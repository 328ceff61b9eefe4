import { parsePhoneNumberFromString } from 'libphonenumber-js/min';

/**
 * Matchers for personal data in free text: e-mail addresses, phone numbers, payment cards, IBANs, US
 * social security numbers, IP addresses and street addresses. Pure functions over a string, shared by the
 * `pii` and `financial-id` detectors (privacy.ts) and by trace redaction (core/redact.ts).
 *
 * Cost model: every matcher is anchored on a character that ordinary prose rarely holds (`@`, a digit,
 * `:` next to hex), so a text without digits or `@` costs one pre-check per kind. Every regular
 * expression here is linear: repetitions are bounded or separated by a mandatory delimiter, so there is
 * no way to split the same input between two quantifiers (no catastrophic backtracking).
 */

export type PiiKind = 'email' | 'phone' | 'card' | 'iban' | 'ssn' | 'ip' | 'address';

export interface PiiMatch {
  readonly kind: PiiKind;
  readonly start: number;
  readonly end: number;
  /** 0..1: 1 for checksum-backed or exact formats, lower for heuristics (phones, addresses). */
  readonly score: number;
}

const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isAlpha = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const isWordChar = (c: number): boolean => isDigit(c) || isAlpha(c) || c === 95;

// ---------------------------------------------------------------------------------------------------
// E-mail addresses

const isLocalChar = (c: number): boolean =>
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

/** A run of digit groups joined by single separators; a window of it is judged as a card number. */
const DIGIT_RUN = /\d+(?:[ -]\d+)*/g;

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
  for (const m of text.matchAll(DIGIT_RUN)) {
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
const IBAN_LENGTH: Readonly<Record<string, number>> = Object.fromEntries(
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
  for (const m of text.matchAll(IBAN_CANDIDATE)) {
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
  for (const m of text.matchAll(SSN)) {
    const [, area = '', sep = '', group = '', serial = ''] = m;
    if (!validSsn(area, group, serial)) continue;
    const context = SSN_CONTEXT.test(text.slice(Math.max(0, m.index - 40), m.index));
    // The dashed 3-2-4 shape is the SSN's own; spaced or bare nine digits are only one with context.
    const score = sep === '-' ? (context ? 1 : 0.9) : context ? 0.9 : sep === ' ' ? 0.4 : 0;
    if (score > 0) out.push({ kind: 'ssn', start: m.index, end: m.index + m[0].length, score });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// IP addresses

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
    for (const m of text.matchAll(IPV4)) {
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

// ---------------------------------------------------------------------------------------------------
// Phone numbers

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
  for (const m of text.matchAll(PHONE)) {
    if (m[0].length < 7) continue;
    const score = phoneScore(m[0], text, m.index, m.index + m[0].length);
    if (score > 0) out.push({ kind: 'phone', start: m.index, end: m.index + m[0].length, score });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Street addresses

/** English street suffixes: USPS Publication 28's suffix names (full and abbreviated forms). */
const STREET_SUFFIX = new Set(
  (
    'street st avenue ave av road rd boulevard blvd lane ln drive dr court ct place pl square sq terrace ter ' +
    'way parkway pkwy highway hwy circle cir crescent cres close trail trl row alley aly plaza plz path pike ' +
    'loop walk mews grove gardens gdns hill hills heights hts park point pt ridge crossing xing expressway ' +
    'expy freeway fwy turnpike tpke creek cliffs cliff island islands isle greens green flats lodge parks ' +
    'meadow meadows valley vista harbor harbour junction jct landing manor mill mills orchard port shore ' +
    'shores spring springs station summit trace village wells woods estate estates bypass causeway quay ' +
    'wharf rise gate gates broadway cove glen knoll lake lakes pines plains ranch route rte fork forks ' +
    'tunnel viaduct underpass overpass canyon bluff bluffs bend brook brooks burg center centre common ' +
    'corner corners curve dale dam divide falls ferry field fields ford forest fort haven hollow inlet ' +
    'key keys light lights lock locks mall mission motorway mount mountain neck oval pass passage ' +
    'pine plain prairie radial ramp rapids rest shoal shoals skyway spur stream stravenue throughway ' +
    'trafficway union unions vale views ville vis wall well'
  ).split(' '),
);

/** Street-type words of other languages written after the name as a word of their own (`Rákóczi út 13`). */
const FOREIGN_SUFFIX = new Set(
  (
    'str strasse straße weg gasse platz allee laan straat plein baan wei markt vej veien vegen gata gatan ' +
    'gade gate katu tie kuja tee põik terrasse utca útja út tér u rkp kapu ulica cesta'
  ).split(' '),
);

/** Street-type words written before the name (`Rue de …`, `Via …`, `ul. …`). */
const STREET_PREFIX = new Set(
  (
    'rue rua rúa via viale vicolo piazza piazzetta corso largo strada calle carrer avenida avda av avenue boulevard ' +
    'chemin place plaza praça praca travessa alameda paseo camino carretera ronda ul ulica aleja trg plac ' +
    'náměstí nám rruga odos οδός λεωφόρος πλατεία bulevar bulevardul calea avinguda rambla passeig quai ' +
    'cours allée impasse estrada rodovia jalan jl cadde caddesi sokak sokağı'
  ).split(' '),
);

/** Endings of one-word street names (`Friedhofstrasse`, `Kiannonkatu`, `Skoanveien`, `Östbygatan`). */
const STREET_ENDINGS = (
  'straße strasse weg gasse platz allee damm ufer laan straat gracht plein dijk singel kade vej veien vegen ' +
  'vägen väg gatan gata gade stræde stien bakken vegur stræti straeti tie katu kuja polku kaari tér út utca ' +
  'ulica cesta iela gatve torget braut'
).split(' ');

const UNIT_WORDS = new Set('apt apartment suite ste unit flat room rm floor fl bldg building'.split(' '));

const CONTEXT_BEFORE =
  /\b(?:address(?:es)?|lives?|living|located|moved?|sen[dt]|ship(?:ped)?|deliver(?:ed)?|mail(?:ed)?|meet|arrived|corner|visit|resides?|stay(?:ing)?|return(?:ed)?|enter|drops?)\b[^.\n]{0,40}$/i;

/** Particles inside street and place names (`Via delle Coste`, `Rue de la Hulotais`). */
const PARTICLES = new Set(
  'de la le les des du del della delle dei di da do dos das e y el al van von der den het ter am im an zu z u na nad'.split(
    ' ',
  ),
);

interface Token {
  readonly text: string;
  readonly lower: string;
  readonly start: number;
  readonly end: number;
  readonly num: boolean;
}

/** One token (a number or a word in any script) at the sticky position, after spaces and tabs. */
const TOKEN = /[ \t]*(?:(\d{1,6}[A-Za-z]?(?![\p{L}\d]))|(\p{L}[\p{L}\p{M}'’-]{0,30}\.?))/uy;

/** A word lower-cased without its full stop (`St.` → `st`). */
function lowerWord(t: string): string {
  const w = t.toLowerCase();
  return w.endsWith('.') ? w.slice(0, -1) : w;
}

function tokensAfter(text: string, from: number, max: number): Token[] {
  const out: Token[] = [];
  TOKEN.lastIndex = from;
  while (out.length < max) {
    const m = TOKEN.exec(text);
    if (!m) break;
    const t = m[1] ?? m[2] ?? '';
    const end = TOKEN.lastIndex;
    out.push({
      text: t,
      lower: lowerWord(t),
      start: end - t.length,
      end,
      num: m[1] !== undefined,
    });
  }
  return out;
}

const isNameChar = (text: string, i: number): boolean => {
  const c = text.charCodeAt(i);
  return (
    isAlpha(c) || c === 39 || c === 0x2019 || c === 45 || (c > 127 && /[\p{L}\p{M}]/u.test(text[i] ?? ''))
  );
};

/** The word directly before `at`, separated by spaces or tabs only (a hand-written scan: no regex per call). */
function wordBefore(text: string, at: number): Token | undefined {
  let e = at;
  while (e > 0 && at - e < 8 && (text.charCodeAt(e - 1) === 32 || text.charCodeAt(e - 1) === 9)) e--;
  if (e === at) return undefined;
  let s = e > 0 && text.charCodeAt(e - 1) === 46 ? e - 1 : e;
  const stop = Math.max(0, s - 32);
  while (s > stop && isNameChar(text, s - 1)) s--;
  if (s === stop && s > 0 && isNameChar(text, s - 1)) return undefined;
  while (s < e && !/\p{L}/u.test(text[s] ?? '')) s++;
  if (s >= e || text.charCodeAt(s) === 46) return undefined;
  const t = text.slice(s, e);
  return { text: t, lower: lowerWord(t), start: s, end: e, num: false };
}

/** The lower-cased letters just before `at`, across spaces, `:` and `#` (`box`, `zip`, `ae`). */
function labelBefore(text: string, at: number): string {
  let e = at;
  while (e > 0 && at - e < 4 && /[ \t:#]/.test(text[e - 1] ?? '')) e--;
  let s = e;
  while (s > 0 && e - s < 10 && isAlpha(text.charCodeAt(s - 1))) s--;
  return text.slice(s, e).toLowerCase();
}

const capitalised = (t: Token): boolean => t.text[0] !== t.lower[0];
/** A word with a full stop that is not an abbreviation (`Avda.`, `St.`) ends the sentence and the name. */
const endsSentence = (t: Token): boolean =>
  t.text.endsWith('.') && t.lower.length > 4 && !STREET_PREFIX.has(t.lower);
/** A capitalised name word, also after an elided particle (`d'Ouchy`, `dell'Orto`). */
const nameLike = (t: Token): boolean => capitalised(t) || /^(?:d|l|dell|dall|sull)['’]\p{Lu}/u.test(t.text);
const isStreetEnding = (w: string): boolean =>
  STREET_ENDINGS.some((e) => w.length >= e.length + 3 && w.endsWith(e));

/** The house number directly before `at` on the same line (`41086 Kiannonkatu 98`). */
function houseNumberBefore(text: string, at: number): number | undefined {
  const from = Math.max(0, at - 12);
  const m = /(?:^|[\s>?,])(\d{1,6}[A-Za-z]?)[ \t]+$/.exec(text.slice(from, at));
  if (!m?.[1]) return undefined;
  const start = from + m.index + m[0].indexOf(m[1]);
  return start > 0 && isDigit(text.charCodeAt(start - 1)) ? undefined : start;
}

interface Street {
  readonly start: number;
  readonly end: number;
  readonly score: number;
}

/** A year after `in`, `since`… is a date, not a house number (`in 2019 Central Park…`). */
const YEAR_CONTEXT = /\b(?:in|since|by|of|from|until|till|to|year|during|before|after|circa|c\.)[ \t]+$/i;
const isYear = (text: string, start: number, end: number): boolean => {
  const n = Number(text.slice(start, end));
  return (
    end - start === 4 &&
    n >= 1800 &&
    n <= 2099 &&
    YEAR_CONTEXT.test(text.slice(Math.max(0, start - 8), start))
  );
};

/**
 * A street around the digit run [ds, de) on its line:
 *  - the run ends a name: `Kiannonkatu 98`, `Rue de Virton 38`, `Trenerys gate 232` (typed, 0.6), or
 *    `<house number> <Name…> 43` with no street-type word (0.35: it needs a unit, a place line or
 *    context to count);
 *  - the run starts one: `90 Whitchurch Road`, `3838 243 Agnostou Stratioti Square` (US style, 0.65),
 *    `264 Rue de Tanger` (prefix type, 0.6).
 */
function streetAround(text: string, ds: number, de: number, lower: boolean): Street | undefined {
  // The run as the number after the name, walking back over name words.
  let typed = false;
  let first: Token | undefined;
  let anyCap = false;
  let at = ds;
  for (let n = 0; n < 6; n++) {
    const w = wordBefore(text, at);
    if (!w) break;
    const cap = nameLike(w);
    const particle = PARTICLES.has(w.lower);
    const prefix = STREET_PREFIX.has(w.lower);
    // English suffixes are capitalised in an address (`… Street 5` vs `I'll turn 23`); foreign ones are not.
    const suffix = n === 0 && (FOREIGN_SUFFIX.has(w.lower) || (STREET_SUFFIX.has(w.lower) && (cap || lower)));
    if (!lower && !cap && !particle && !prefix && !suffix && !isStreetEnding(w.lower)) break;
    if (UNIT_WORDS.has(w.lower) || w.lower === 'box') break;
    anyCap ||= cap;
    first = w;
    at = w.start;
    if (prefix) {
      typed = true;
      break;
    }
    if (isStreetEnding(w.lower)) typed = true;
    else if (suffix) {
      // A suffix types the street only after a name (`Trenerys gate 232`, not `of Route 66`).
      const name = wordBefore(text, w.start);
      typed = name !== undefined && (lower || nameLike(name));
    }
  }
  while (first && PARTICLES.has(first.lower) && first.end < ds) {
    // A name does not start with a particle (`of Rua …` was already cut; `de Virton` without `Rue` is not a street).
    const next = tokensAfter(text, first.end, 1)[0];
    if (!next || next.num) {
      first = undefined;
      break;
    }
    first = next;
  }
  if (first && (anyCap || lower)) {
    const house = houseNumberBefore(text, first.start);
    if (typed) return { start: house ?? first.start, end: de, score: 0.6 };
    let houseEnd = house ?? 0;
    while (isDigit(text.charCodeAt(houseEnd))) houseEnd++;
    if (house !== undefined && !isYear(text, house, houseEnd)) return { start: house, end: de, score: 0.35 };
  }
  // The run as the house number.
  if (isYear(text, ds, de) || !/^[ \t]+[\p{L}\d]/u.test(text.slice(de, de + 4))) return undefined;
  const after = tokensAfter(text, de, 8);
  let i = after[0]?.num === true ? 1 : 0;
  const head = after[i];
  if (!head || head.num) return undefined;
  const next = after[i + 1];
  if (
    STREET_PREFIX.has(head.lower) &&
    (lower || nameLike(head) || (next && (nameLike(next) || PARTICLES.has(next.lower))))
  ) {
    // `264 Rue de Tanger`, `70248 31 rue des Lilas`: the prefix type and the name words after it.
    let end = head.end;
    for (i += 1; i < after.length && i < 7; i++) {
      const t = after[i];
      if (!t || t.num || UNIT_WORDS.has(t.lower) || STREET_SUFFIX.has(t.lower)) break;
      end = t.end;
      if (endsSentence(t)) break;
    }
    return end > head.end ? { start: ds, end, score: 0.6 } : undefined;
  }
  if (!lower && !nameLike(head)) return undefined;
  let nameEnd = head.end;
  for (let j = i + 1; j < after.length && j <= i + 5; j++) {
    const t = after[j];
    if (!t || t.num) break;
    // `94941 2505 Heatherleigh Suite 620`: a number, a name and a unit; weak on its own.
    if (UNIT_WORDS.has(t.lower)) return { start: ds, end: nameEnd, score: 0.35 };
    if ((STREET_SUFFIX.has(t.lower) || FOREIGN_SUFFIX.has(t.lower)) && (lower || capitalised(t)))
      return { start: ds, end: t.end, score: 0.65 };
    if (!lower && !nameLike(t) && !PARTICLES.has(t.lower)) break;
    nameEnd = t.end;
    if (endsSentence(t)) break;
  }
  return undefined;
}

const POSTCODE =
  '(?:[A-Z]{1,2}\\d[A-Z\\d]? ?\\d[A-Z]{2}|\\d{5}-\\d{3,4}|\\d{3} \\d{2}|\\d{4} ?[A-Z]{2}|[A-Z]\\d[A-Z] ?\\d[A-Z]\\d|\\d{2}-\\d{3}|\\d{4}-\\d{3}|\\d{3,6})(?![\\p{L}\\d]|[ \\t]\\d)';
const PLACE_WORD =
  "(?:\\p{Lu}[\\p{L}\\p{M}'’.-]*|nan|de|la|le|del|di|da|do|na|nad|u|v|am|im|an|der|sur|en|les|y|e)";
const PLACE_END = '(?=[ \\t]*(?:[\\n,.?!;)]|$))';

/** Address components after a street: units, boxes, military post offices, places, states, postcodes. */
const COMPONENTS: readonly (readonly [RegExp, number])[] = [
  [
    /(?:apt|apartment|suite|ste|unit|flat|room|rm|floor|fl|bldg)\.?[ \t]*#?[ \t]*\d{1,5}[A-Za-z]?(?![\p{L}\d])/iuy,
    0.25,
  ],
  [/(?:p\.?[ \t]?o\.?[ \t]?)?box[ \t]+\d{1,6}(?!\d)/iy, 0.2],
  [/[adf]po[ \t]+(?:aa|ae|ap)[ \t]+\d{5}(?!\d)/iy, 0.3],
  [new RegExp(POSTCODE, 'uy'), 0.15],
  [new RegExp(`[A-Z]{2,3}[ \\t]+${POSTCODE}`, 'uy'), 0.15],
  [
    new RegExp(
      `${PLACE_WORD}(?:[ \\t]${PLACE_WORD}){0,4}(?:[ \\t]*\\([^()\\n]{1,20}\\))?(?:(?:[ \\t]*,[ \\t]*|[ \\t]+)[A-Z]{2,3}(?![\\p{L}]))?(?:[ \\t]*,?[ \\t]*${POSTCODE}|${PLACE_END})`,
      'uy',
    ),
    0.1,
  ],
];
const LOWER_PLACE = new RegExp(
  `\\p{L}[\\p{L}\\p{M}'’.-]*(?:[ \\t]\\p{L}[\\p{L}\\p{M}'’.-]*){0,4}(?:[ \\t]*,?[ \\t]*${POSTCODE}|${PLACE_END})`,
  'uy',
);
const SEPARATOR = /[ \t]*(?:,[ \t]*)?(?:\r?\n[ \t>?]*(?:\r?\n[ \t>?]*)?)?/y;
const UNIT_BEFORE = /(?:apt|apartment|suite|ste|unit|flat|room)\.?[ \t]*#?[ \t]*\d{1,5}[A-Za-z]?[ \t,]*$/i;

/** Extends a street over the unit, place and postcode components after it; returns the end and the evidence. */
function extend(text: string, end: number, lower: boolean): { end: number; bonus: number } {
  let bonus = 0;
  const seen = new Set<number>();
  for (let n = 0; n < 6; n++) {
    SEPARATOR.lastIndex = end;
    SEPARATOR.exec(text);
    const from = SEPARATOR.lastIndex;
    if (from >= text.length) break;
    let matched = false;
    for (let k = 0; k < COMPONENTS.length && !matched; k++) {
      const [re, weight] = COMPONENTS[k] ?? [/$^/y, 0];
      re.lastIndex = from;
      const m = re.exec(text);
      if (!m || m[0].trim() === '') continue;
      end = from + m[0].trimEnd().length;
      if (!seen.has(k)) bonus += weight;
      seen.add(k);
      matched = true;
    }
    if (!matched && lower) {
      LOWER_PLACE.lastIndex = from;
      const m = LOWER_PLACE.exec(text);
      if (m && m[0].length <= 60) {
        end = from + m[0].length;
        matched = true;
      }
    }
    if (!matched) break;
  }
  return { end, bonus: Math.min(bonus, 0.4) };
}

const BOX_BEFORE = /(?:(?:(?:unit|psc|cmr)[ \t]+\d{1,5},?[ \t]+)?(?:p\.?[ \t]?o\.?[ \t]?)?|post)box[ \t]+$/i;
const MILITARY_BEFORE = /\b[adf]po[ \t]+(?:aa|ae|ap)[ \t]+$/i;
const SHIP_LINE = /(?:^|\n)[ \t>?]*(?:USNS|USNV|USS|USCGC)[ \t]+[^\n]{1,40}\n[ \t>?]*$/i;
const ZIP_BEFORE = /\b(?:zip|zip code|zipcode|postal code|post code|postcode)\b[^\n\d]{0,12}$/i;
const POSTCODE_AT = new RegExp(POSTCODE, 'uy');
const ZIP_LABELS = new Set(['zip', 'zipcode', 'code', 'postcode', 'is']);

/**
 * Street addresses, US style first (number, name, suffix, unit, city, state, ZIP) and the common European
 * forms (`Rue de Virton 38`, `Kiannonkatu 98`), P.O. and military boxes, and postcodes after a `ZIP:`
 * label. Every anchor holds a digit, so only digit runs are examined. A span covers the whole address
 * block (street, unit, place and postcode lines), so a redaction removes all of it.
 */
export function findAddresses(text: string): PiiMatch[] {
  const out: PiiMatch[] = [];
  let covered = 0;
  // Whether the text is written all in lower case (then capitalisation says nothing about names).
  let lower: boolean | undefined;
  for (const m of text.matchAll(/\d+/g)) {
    const ds = m.index;
    const de = ds + m[0].length;
    if (ds < covered || m[0].length > 6) continue;
    const prev = text.charCodeAt(ds - 1);
    if (ds > 0 && (isAlpha(prev) || prev === 46 || prev === 58 || prev === 47 || prev === 45 || prev === 36))
      continue;
    // Cheap gate: an address number has a word just before it (`Kiannonkatu 98`, `Box 12`, `ZIP: 123`)
    // or a space after it (`90 Whitchurch Road`). Prices, times and percentages stop here.
    // `221B Baker Street`: a house number may carry one letter.
    const de1 = isAlpha(text.charCodeAt(de)) && /[ \t]/.test(text[de + 1] ?? '') ? de + 1 : de;
    const next = text.charCodeAt(de1);
    if (next !== 32 && next !== 9 && !letterBefore(text, ds)) continue;
    // A number between numbers (`12 34 56`, a table row) is not an address's.
    if (isDigit(text.charCodeAt(de1 + 1)) && ds >= 2 && isDigit(text.charCodeAt(ds - 2))) continue;
    lower ??= !/\p{Lu}/u.test(text);
    let found: Street | undefined;
    // The P.O. box, military and ZIP anchors are only tried after their label word.
    const label = labelBefore(text, ds);
    const before = label === '' ? '' : text.slice(Math.max(0, ds - 40), ds);
    const box = label === 'box' || label === 'postbox' ? BOX_BEFORE.exec(before) : null;
    const mil = label === 'aa' || label === 'ae' || label === 'ap' ? MILITARY_BEFORE.exec(before) : null;
    if (box) {
      const start = ds - box[0].length;
      found = { start: houseNumberBefore(text, start) ?? start, end: de, score: 0.6 };
    } else if (mil) {
      const start = ds - mil[0].length;
      const ship = SHIP_LINE.exec(text.slice(Math.max(0, start - 60), start));
      found = {
        start: ship ? start - ship[0].length + (ship[0].startsWith('\n') ? 1 : 0) : start,
        end: de,
        score: 0.8,
      };
    } else if (ZIP_LABELS.has(label) && ZIP_BEFORE.test(before)) {
      POSTCODE_AT.lastIndex = ds;
      const zip = POSTCODE_AT.exec(text);
      if (zip) found = { start: ds, end: ds + zip[0].length, score: 0.7 };
    } else found = streetAround(text, ds, de1, lower);
    if (!found) continue;
    let start = found.start;
    let score = found.score;
    const before30 = text.slice(Math.max(0, start - 30), start);
    const unit = UNIT_BEFORE.exec(before30.slice(before30.lastIndexOf('\n') + 1));
    if (unit) {
      start -= unit[0].length;
      score += 0.25;
    }
    const ext = extend(text, found.end, lower);
    score += ext.bonus;
    if (CONTEXT_BEFORE.test(text.slice(Math.max(0, start - 60), start))) score += 0.2;
    if (score < 0.3) continue;
    out.push({ kind: 'address', start, end: ext.end, score: Math.min(0.95, Math.round(score * 100) / 100) });
    covered = ext.end;
  }
  return out;
}

/** A letter within three characters before `at`, across spaces, `:` and `#` only. */
function letterBefore(text: string, at: number): boolean {
  for (let i = at - 1; i >= 0 && i >= at - 4; i--) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 9 || c === 58 || c === 35) continue;
    return isAlpha(c) || c === 46 || c > 127;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------------
// All of them

export type PiiFinder = (text: string) => PiiMatch[];

export const piiFinders: Readonly<Record<PiiKind, PiiFinder>> = {
  email: findEmails,
  phone: findPhones,
  card: findCards,
  iban: findIbans,
  ssn: findSsns,
  ip: findIps,
  address: findAddresses,
};

const overlaps = (a: PiiMatch, b: PiiMatch): boolean => a.start < b.end && b.start < a.end;

/**
 * The matches of the given kinds. A phone candidate that overlaps a card, IBAN, SSN or IP match is that
 * match, not a phone. Text without a digit or `@` costs one scan.
 */
export function findPii(text: string, kinds: readonly PiiKind[]): PiiMatch[] {
  const hasDigit = /\d/.test(text);
  const hasAt = text.includes('@');
  if (!hasDigit && !hasAt) return [];
  const out: PiiMatch[] = [];
  for (const kind of kinds) {
    if (kind === 'email' ? !hasAt : !hasDigit) continue;
    out.push(...matchesOf(text, kind));
  }
  if (!out.some((m) => m.kind === 'phone')) return out;
  // Only when a phone candidate exists: is it really a card, IBAN, SSN or IP address?
  const strong = out.filter((m) => m.kind !== 'phone' && m.kind !== 'email' && m.kind !== 'address');
  for (const kind of ['card', 'iban', 'ssn', 'ip'] as const)
    if (!kinds.includes(kind)) strong.push(...matchesOf(text, kind));
  return out.filter((m) => m.kind !== 'phone' || !strong.some((s) => overlaps(m, s)));
}

/**
 * The last text's matches per kind: the `pii` and `financial-id` detectors scan the same text one after
 * the other (and `pii` also looks for cards, IBANs and SSNs when it has a phone candidate), so each
 * finder runs once per text. The finders are pure and their matches immutable, so this changes nothing
 * but the cost.
 */
let memoText: string | undefined;
let memo: Partial<Record<PiiKind, readonly PiiMatch[]>> = {};

function matchesOf(text: string, kind: PiiKind): readonly PiiMatch[] {
  if (text !== memoText) {
    memoText = text;
    memo = {};
  }
  return (memo[kind] ??= piiFinders[kind](text));
}

// ---------------------------------------------------------------------------------------------------
// Streaming hold-back

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
