import { matchesOf } from '../regex-matches.js';
import { keywordScanner } from './keyword-scan.js';
import { secretRules, type SecretRule } from './secret-rules.js';

/**
 * Credentials in free text: provider keys (secret-rules.ts), private keys (PEM), JWTs, URLs with a
 * password, `Authorization` headers and `password=`/`api_key:` assignments with a random-looking value.
 * Shared by the `secrets` detector (privacy.ts) and trace redaction (core/redact.ts).
 *
 * Cost model: one pass of a keyword automaton over the text finds which rules can match at all; a text
 * with no keyword costs that pass and nothing else. Structural matchers (PEM, assignments, URL
 * credentials, headers) start at their keyword's position instead of scanning.
 */

export interface SecretMatch {
  /** The rule that matched: `aws-access-key-id`, `private-key`, `url-credentials`, `generic-assignment`… */
  readonly id: string;
  readonly start: number;
  readonly end: number;
  /** 0..1: 1 for exact provider formats; lower for heuristics and for placeholders (`user:password@`). */
  readonly score: number;
}

/** A match before its format's literal prefix is taken off the span (findSecrets). */
type Found = SecretMatch & { readonly prefix?: number };

/** Counts per ASCII character for entropy, all zero between calls. */
const asciiCounts = new Int32Array(128);
/** The distinct ASCII characters of the string being measured, in order of first occurrence. */
const asciiOrder = new Int32Array(128);

/**
 * Shannon entropy in bits per character. ASCII strings (nearly every token) are counted in a reused
 * table rather than a map of one-character strings, summing in the same order, so the result is the
 * same to the bit: this runs on every candidate token of every rule.
 */
export function entropy(s: string): number {
  if (s.length === 0) return 0;
  let distinct = 0;
  let ascii = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128) {
      ascii = false;
      break;
    }
    const seen = asciiCounts[c] ?? 0;
    asciiCounts[c] = seen + 1;
    if (seen === 0) asciiOrder[distinct++] = c;
  }
  let h = 0;
  for (let k = 0; k < distinct; k++) {
    const c = asciiOrder[k] ?? 0;
    const p = (asciiCounts[c] ?? 0) / s.length;
    h -= p * Math.log2(p);
    asciiCounts[c] = 0;
  }
  return ascii ? h : entropyOfCodePoints(s);
}

function entropyOfCodePoints(s: string): number {
  const counts = new Map<string, number>();
  for (const c of s) counts.set(c, (counts.get(c) ?? 0) + 1);
  let h = 0;
  for (const n of counts.values()) {
    const p = n / s.length;
    h -= p * Math.log2(p);
  }
  return h;
}

/** Identifier words that make an assignment a credential (`DB_PASSWORD=`, `"api_key":`, `--password=`). */
const ASSIGNMENT_WORDS = [
  'password',
  'passwd',
  'pwd',
  'secret',
  'token',
  'api_key',
  'apikey',
  'api-key',
  'access_key',
  'accesskey',
  'auth_key',
  'private_key',
  'privatekey',
  'credential',
] as const;

const STRUCTURAL_KEYWORDS = ['-----begin', 'eyj', '://', 'bearer', 'basic', ...ASSIGNMENT_WORDS];

const allKeywords = [...new Set([...secretRules.flatMap((r) => r.keywords), ...STRUCTURAL_KEYWORDS])];

/**
 * All keywords in one automaton (keyword-scan.ts), run once over the text: one table lookup per
 * character. (It replaced one case-insensitive alternation of the keywords, longest first, retried at
 * every position, which cost about 12-15 µs per 2 KB and was the secrets detector's largest cost; the
 * hits are the same: the longest keyword starting at each position.)
 */
const KEYWORDS = keywordScanner(allKeywords);

interface Hits {
  readonly found: ReadonlySet<string>;
  readonly at: ReadonlyMap<string, readonly number[]>;
}

const NO_HITS: Hits = { found: new Set(), at: new Map() };

/** Every occurrence of every keyword (case-insensitive, overlapping); allocates only on a hit. */
function scanKeywords(text: string): Hits {
  let at: Map<string, number[]> | undefined;
  // Overlapping keywords (`aws_secret_access_key` holds `aws`, `secret` and `access_key`) all count.
  KEYWORDS.scan(text, (start, w) => {
    const k = allKeywords[w] ?? '';
    at ??= new Map();
    const list = at.get(k);
    if (list) list.push(start);
    else at.set(k, [start]);
  });
  return at ? { found: new Set(at.keys()), at } : NO_HITS;
}

const positions = (hits: Hits, words: readonly string[]): number[] =>
  words.flatMap((w) => hits.at.get(w) ?? []).sort((a, b) => a - b);

// ---------------------------------------------------------------------------------------------------
// Structural matchers

const PEM_HEADER = /-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----/iy;

/**
 * PEM private keys: a header, then at least 64 base64 characters (in JSON the line breaks are `\n`
 * escapes). A key cut off before its END line is still a key; a placeholder body (`...`, `xxx`, a short
 * test string) is not.
 */
function privateKeys(text: string, hits: Hits): SecretMatch[] {
  const out: SecretMatch[] = [];
  const begins = positions(hits, ['-----begin']);
  // One forward search for END lines, shared by all headers (many headers without an END stay linear).
  let end = -1;
  for (let k = 0; k < begins.length; k++) {
    const at = begins[k] ?? 0;
    PEM_HEADER.lastIndex = at;
    const header = PEM_HEADER.exec(text);
    if (!header) continue;
    const bodyStart = at + header[0].length;
    if (end !== -2 && end < bodyStart) {
      end = text.indexOf('-----END', bodyStart);
      if (end < 0) end = -2;
    }
    // The body runs to the END line, the next BEGIN, or 20 000 characters, whichever comes first.
    const bodyEnd = Math.min(end < 0 ? text.length : end, begins[k + 1] ?? text.length, bodyStart + 20_000);
    const body = text.slice(bodyStart, bodyEnd).replace(/\\[nr]|\s/g, '');
    const base64 = /^[A-Za-z0-9+/=:,\-\w]*/.exec(body)?.[0] ?? '';
    if (base64.replace(/[^A-Za-z0-9+/]/g, '').length < 64 || entropy(base64) < 3.5) continue;
    let stop = bodyEnd;
    if (end >= 0 && bodyEnd === end) {
      const close = text.indexOf('-----', end + 8);
      stop = close < 0 || close > end + 100 ? end + 8 : close + 5;
    }
    out.push({ id: 'private-key', start: at, end: stop, score: 1 });
  }
  return out;
}

const JWT = /(?<![A-Za-z0-9])eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/y;

/** A JWT's header must decode to a JSON object naming an algorithm or a type. */
function jwtHeader(part: string): boolean {
  try {
    const json = atob(
      part
        .replace(/-/g, '+')
        .replace(/_/g, '/')
        .padEnd(Math.ceil(part.length / 4) * 4, '='),
    );
    const header: unknown = JSON.parse(json);
    return typeof header === 'object' && header !== null && ('alg' in header || 'typ' in header);
  } catch {
    return false;
  }
}

function jwts(text: string, hits: Hits): Found[] {
  const out: Found[] = [];
  let covered = 0;
  for (const at of positions(hits, ['eyj'])) {
    if (at < covered || text.slice(at, at + 3) !== 'eyJ') continue;
    // The header runs to a `.`; a run without one holds no JWT at any of its `eyJ`s (checked once).
    let e = at + 3;
    while (e < text.length && /[A-Za-z0-9_-]/.test(text[e] ?? '')) e++;
    if (text[e] !== '.') {
      covered = e;
      continue;
    }
    JWT.lastIndex = at;
    const m = JWT.exec(text);
    if (!m || !jwtHeader(m[0].slice(0, m[0].indexOf('.')))) continue;
    // `eyJ` (`{"` in base64) starts every JWT: kept, like a key's prefix.
    out.push({ id: 'jwt', start: at, end: at + m[0].length, score: 0.9, prefix: 3 });
    covered = at + m[0].length;
  }
  return out;
}

/** `scheme://user:password@host`: the user-info part of a URL after `://`. */
const USERINFO = /([^\s:/@'"`<>]{1,100}):([^\s/'"`<>]{1,200})@([^\s/'"`?#<>]{1,200})/y;
const PLACEHOLDER_WORDS = new Set([
  'password',
  'passwd',
  'pwd',
  'secret',
  'changeme',
  'example',
  'test',
  'xxx',
]);

/** A password that only stands for one: templates, `password`, `YOUR_PASSWORD`, `xxxx`, `user:user`. */
export function placeholderValue(value: string, user = ''): boolean {
  const v = value.toLowerCase();
  return (
    value.length < 4 ||
    /^[$%{<[(*]/.test(value) ||
    v.includes('password') ||
    v.includes('passwd') ||
    /your|replace|changeme|example|dummy|placeholder|redacted|xxxx|\*\*\*/.test(v) ||
    PLACEHOLDER_WORDS.has(v) ||
    /^(.)\1*$/.test(value) ||
    (user !== '' && v === user.toLowerCase())
  );
}

function urlCredentials(text: string, hits: Hits): SecretMatch[] {
  const out: SecretMatch[] = [];
  for (const at of positions(hits, ['://'])) {
    USERINFO.lastIndex = at + 3;
    const m = USERINFO.exec(text);
    if (!m) continue;
    const [, user = '', password = '', host = ''] = m;
    let start = at;
    while (start > 0 && at - start < 20 && /[A-Za-z0-9+.-]/.test(text[start - 1] ?? '')) start--;
    // Credentials for a local development server, or a placeholder password, are not a leak worth
    // stopping an answer for; redaction still removes them (score below the detector's threshold).
    const local = /^(?:localhost|127\.0\.0\.1|\[::1\])(?::\d+)?$/i.test(host.replace(/\/.*$/, ''));
    const score = placeholderValue(password, user) || local ? 0.3 : 1;
    out.push({ id: 'url-credentials', start, end: at + 3 + m[0].length - host.length - 1, score });
  }
  return out;
}

/**
 * `password = "…"`, `"api_key": "…"`, `--password=…`, `PGPASSWORD=…`: an identifier holding a credential
 * word, an assignment, and a value that looks random (entropy, more than one character class) rather than
 * like a word, a template, a path or a placeholder.
 */
const ASSIGNMENT = /["']?[ \t]{0,3}(?::=|=>|=|:)[ \t]{0,3}(["'`]?)([^\s"'`;,&<>()[\]{}\\]{8,150})/y;
/** Identifiers that name something about a credential, not the credential (gitleaks' allowlist idea). */
const NOT_A_CREDENTIAL =
  /(?:^|[_.-])(?:id|name|url|uri|endpoint|length|size|file|path|type|version|count|expiry|expires|field|label|policy|hint|reset|confirm|prompt|public|csrf)$|aws|public|publishable/;

function assignments(text: string, hits: Hits): SecretMatch[] {
  const out: SecretMatch[] = [];
  let covered = 0;
  for (const at of positions(hits, ASSIGNMENT_WORDS)) {
    if (at < covered) continue;
    // The whole identifier around the keyword.
    let s = at;
    while (s > 0 && at - s < 40 && /[A-Za-z0-9_.-]/.test(text[s - 1] ?? '')) s--;
    let e = at;
    while (e < text.length && e - at < 60 && /[A-Za-z0-9_.-]/.test(text[e] ?? '')) e++;
    const ident = text.slice(s, e).toLowerCase().replace(/^-+/, '');
    if (NOT_A_CREDENTIAL.test(ident)) continue;
    ASSIGNMENT.lastIndex = e;
    const m = ASSIGNMENT.exec(text);
    if (!m) continue;
    const value = m[2] ?? '';
    if (placeholderValue(value) || !credentialLike(value)) continue;
    const end = e + m[0].length;
    const h = entropy(value);
    out.push({ id: 'generic-assignment', start: end - value.length, end, score: h >= 3.5 ? 0.9 : 0.7 });
    covered = end;
  }
  return out;
}

/** Random-looking: not a word or path, not only digits, at least two character classes, some entropy. */
function credentialLike(value: string): boolean {
  if (/^[A-Za-z_.-]+$/.test(value) || /^\d+$/.test(value) || value.includes('://') || /^[./~]/.test(value))
    return false;
  // A short value without a digit is a word with punctuation (`tokens: ChatGPT:`), not a password.
  if (value.endsWith(':') || (value.length < 16 && !/\d/.test(value))) return false;
  const classes = [/[a-z]/, /[A-Z]/, /\d/, /[^A-Za-z0-9]/].filter((c) => c.test(value)).length;
  return classes >= 2 && entropy(value) >= 3;
}

const BEARER = /bearer[ \t]+([A-Za-z0-9._~+/-]{20,}=*)/iy;
const BASIC = /basic[ \t]+([A-Za-z0-9+/]{12,}={0,2})(?![A-Za-z0-9+/=])/iy;

/** `Authorization: Bearer <token>` and `Basic <base64 user:password>` header values. */
function authHeaders(text: string, hits: Hits): SecretMatch[] {
  const out: SecretMatch[] = [];
  for (const at of positions(hits, ['bearer'])) {
    BEARER.lastIndex = at;
    const m = BEARER.exec(text);
    const token = m?.[1];
    if (!m || token === undefined || placeholderValue(token) || entropy(token) < 3.5) continue;
    out.push({
      id: 'bearer-token',
      start: at + m[0].length - token.length,
      end: at + m[0].length,
      score: 0.9,
    });
  }
  for (const at of positions(hits, ['basic'])) {
    BASIC.lastIndex = at;
    const m = BASIC.exec(text);
    const b64 = m?.[1];
    if (!m || b64 === undefined) continue;
    let decoded = '';
    try {
      decoded = atob(b64);
    } catch {
      continue;
    }
    const colon = decoded.indexOf(':');
    if (colon <= 0 || placeholderValue(decoded.slice(colon + 1), decoded.slice(0, colon))) continue;
    out.push({ id: 'basic-auth', start: at + m[0].length - b64.length, end: at + m[0].length, score: 0.9 });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------

/**
 * Rules whose context expression has no anchor, word boundary or look-around: a match of it inside the
 * window around a candidate is also a match in the whole text, so a text it does not match anywhere has
 * no candidate worth the rule's pattern (`aws` is in `laws` and `draws`, and the AWS secret's pattern
 * tries 40 characters at every word).
 */
const windowFreeContext: ReadonlySet<SecretRule> = new Set(
  secretRules.filter(
    (r) =>
      r.context !== undefined &&
      !r.context.global &&
      !r.context.sticky &&
      !/\\[bB]|[$^]|\(\?<?[=!]/.test(r.context.source),
  ),
);

function ruleMatches(text: string, hits: Hits): Found[] {
  const out: Found[] = [];
  for (const rule of secretRules) {
    if (!rule.keywords.some((k) => hits.found.has(k))) continue;
    if (windowFreeContext.has(rule) && !rule.context?.test(text)) continue;
    for (const m of matchesOf(rule.pattern, text)) {
      const secret = m[1] ?? m[0];
      const start = m.index + m[0].indexOf(secret);
      if (rule.entropy !== undefined && entropy(secret) < rule.entropy) continue;
      if (rule.context && !rule.context.test(text.slice(Math.max(0, start - 80), start + secret.length + 80)))
        continue;
      // AWS's documentation keys say EXAMPLE (`AKIAIOSFODNN7EXAMPLE`): placeholders, below the threshold.
      const score = rule.id.startsWith('aws-') && /EXAMPLE/.test(secret) ? 0.3 : (rule.score ?? 1);
      let prefix = 0;
      for (const p of rule.prefixes ?? [])
        if (p.length > prefix && p.length < secret.length && secret.startsWith(p)) prefix = p.length;
      out.push({ id: rule.id, start, end: start + secret.length, score, prefix });
    }
  }
  return out;
}

/**
 * Of two matches with the same span, one that is likely a secret (0.5 or more) stays, and of two such the
 * format rule's (the order above: a `crypto-private-key` is not relabelled `generic-assignment`); so an
 * assignment is not lost to the 0.4 `key-like-token` of the same value, which would not act.
 */
const likely = (m: SecretMatch): number => (m.score >= 0.5 ? 1 : 0);

/**
 * Every credential in the text, earliest first; a match inside another (a JWT inside a Bearer header) is
 * dropped in favour of the outer one, and of two with the same span see `likely`.
 */
export function findSecrets(text: string): SecretMatch[] {
  if (text.length < 8) return [];
  const hits = scanKeywords(text);
  if (hits.found.size === 0) return [];
  const all: Found[] = [
    ...ruleMatches(text, hits),
    ...privateKeys(text, hits),
    ...jwts(text, hits),
    ...urlCredentials(text, hits),
    ...assignments(text, hits),
    ...authHeaders(text, hits),
  ].sort((a, b) => a.start - b.start || b.end - a.end || likely(b) - likely(a));
  const kept: Found[] = [];
  // Where a format (a rule or a JWT) matched with its literal prefix, by start: a header's or an
  // assignment's value that is that format keeps the prefix too (`Bearer eyJ[REDACTED:bearer-token]`),
  // as the stream sent it.
  let prefixAt: Map<number, number> | undefined;
  for (const m of all) {
    if (m.prefix) (prefixAt ??= new Map()).set(m.start, Math.max(m.prefix, prefixAt.get(m.start) ?? 0));
    const last = kept[kept.length - 1];
    if (last && m.start >= last.start && m.end <= last.end) continue;
    kept.push(m);
  }
  // The format's literal prefix is not the secret (secret-rules.ts, formatPrefixLength): the span starts
  // after it. Only now, so a key the length of an assignment's value is still named by its format.
  return kept.map((m) => {
    const prefix = m.prefix ?? prefixAt?.get(m.start) ?? 0;
    return { id: m.id, start: m.start + (prefix < m.end - m.start ? prefix : 0), end: m.end, score: m.score };
  });
}
