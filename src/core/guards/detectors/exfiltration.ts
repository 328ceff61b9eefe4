import type { Detection, Detector, GuardSettings, Span } from '../types.js';

/**
 * Data exfiltration through tool arguments and rendered output (OWASP LLM02): destinations (URLs,
 * e-mail addresses) outside the release's allow-list, markdown/HTML images that make the client fetch
 * a URL carrying data the moment the answer is rendered (a zero-click beacon), and long encoded
 * payloads. A hand-written scanner, linear in the text, no regular expressions.
 *
 * Scores are tiers, so a release can pick what it acts on with the threshold alone:
 *   1.0  an image in output whose URL carries data (query string or encoded payload), or any
 *        non-allowed destination with an encoded payload in its URL;
 *   0.9  a tool-call destination outside a configured allow-list; an output link with an encoded
 *        payload; an output image to a host outside a configured allow-list;
 *   0.6  a tool-call destination when no allow-list is configured at all (recorded, never blocked:
 *        capped at `log`, see below);
 *   0.55 a long encoded payload in tool-call arguments with no destination next to it;
 *   0.4  an output image to an unknown host, no data, no allow-list (reported only below 0.5).
 * Without an allow-list there is nothing to judge a destination by, so tool calls to URLs and addresses
 * are recorded (a finding capped at `log`, visible on the trace and to detection rules) but not blocked:
 * blocking every agent's e-mail and fetch tools out of the box would make the guard the outage. Writing
 * the allow-list (one line of the release) turns them into 0.9 findings that block. Threshold 0.7 keeps
 * only the allow-list and payload findings. Plain links and addresses in answers are not findings:
 * models cite pages.
 */

const MAX_DETECTIONS = 32;
/** A run of base64/base64url/hex characters at least this long is an encoded payload. */
const PAYLOAD_MIN = 64;
/** Hex strings of exactly these lengths are digests (SHA-256, SHA-384, SHA-512), not payloads. */
const DIGEST_LENGTHS = new Set([64, 96, 128]);

interface Allow {
  readonly domains: readonly string[];
  readonly emails: ReadonlySet<string>;
  /** Whether the release wrote any allow-list at all. */
  readonly configured: boolean;
}

const allowCache = new WeakMap<GuardSettings, Allow>();

function allowOf(settings: GuardSettings): Allow {
  let a = allowCache.get(settings);
  if (!a) {
    const { allowDomains, allowEmails } = settings.exfiltration;
    a = {
      domains: allowDomains
        .map((d) =>
          d
            .trim()
            .toLowerCase()
            .replace(/^\*?\./, ''),
        )
        .filter((d) => d !== ''),
      emails: new Set(allowEmails.map((e) => e.trim().toLowerCase())),
      configured: allowDomains.length + allowEmails.length > 0,
    };
    allowCache.set(settings, a);
  }
  return a;
}

/** A host is allowed when it is a listed domain or a subdomain of one. */
function hostAllowed(host: string, allow: Allow): boolean {
  for (const d of allow.domains)
    if (host === d || (host.endsWith(d) && host[host.length - d.length - 1] === '.')) return true;
  return false;
}

const isAlnum = (c: number): boolean => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const isHex = (c: number): boolean => (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
/** base64 and base64url alphabets, padding, and `%` for percent-encoded runs in URLs. */
const isPayloadChar = (c: number): boolean =>
  isAlnum(c) || c === 43 || c === 47 || c === 61 || c === 95 || c === 45 || c === 37;
const isSpaceLike = (c: number): boolean => c <= 32 || c === 0xa0 || c === 0x2028 || c === 0x2029;

/**
 * The first encoded payload in text[from, to): a run of payload characters at least PAYLOAD_MIN long
 * that mixes digits with upper- and lower-case letters (base64), or a hex run that is not a digest.
 */
function findPayload(text: string, from: number, to: number): Span | undefined {
  let i = from;
  while (i < to) {
    if (!isPayloadChar(text.charCodeAt(i))) {
      i++;
      continue;
    }
    const start = i;
    let digit = false;
    let upper = false;
    let lower = false;
    let hexOnly = true;
    for (; i < to; i++) {
      const c = text.charCodeAt(i);
      if (!isPayloadChar(c)) break;
      if (c >= 48 && c <= 57) digit = true;
      else if (c >= 65 && c <= 90) upper = true;
      else if (c >= 97 && c <= 122) lower = true;
      if (!isHex(c)) hexOnly = false;
    }
    const len = i - start;
    if (len >= PAYLOAD_MIN) {
      if (hexOnly ? !DIGEST_LENGTHS.has(len) : digit && upper && lower) return { start, end: i };
    }
  }
  return undefined;
}

interface Url {
  readonly start: number;
  readonly end: number;
  readonly host: string;
  /** Where the path (after the host) begins, and the query (after `?`), or -1. */
  readonly pathAt: number;
  readonly queryAt: number;
}

/** Characters that end a URL in prose, JSON or markdown. */
function endsUrl(c: number): boolean {
  return (
    isSpaceLike(c) ||
    c === 34 ||
    c === 39 ||
    c === 60 ||
    c === 62 ||
    c === 96 ||
    c === 41 ||
    c === 92 ||
    c === 93
  );
}

/** Parses the URL whose `://` is at `sep` (scheme letters before it), or undefined. */
function urlAt(text: string, sep: number, slashLen: number): Url | undefined {
  let s = sep;
  while (s > 0) {
    const c = text.charCodeAt(s - 1) | 32;
    if ((c >= 97 && c <= 122) || c === 43 || c === 46 || c === 45) s--;
    else break;
  }
  const scheme = text.slice(s, sep).toLowerCase();
  if (scheme !== 'http' && scheme !== 'https' && scheme !== 'ftp' && scheme !== 'ws' && scheme !== 'wss')
    return undefined;
  const hostStart = sep + 1 + slashLen;
  let e = hostStart;
  let authorityEnd = -1;
  let queryAt = -1;
  while (e < text.length) {
    const c = text.charCodeAt(e);
    if (endsUrl(c) && !(c === 92 && text.charCodeAt(e + 1) === 47)) break; // `\/` is a JSON-escaped slash
    if (authorityEnd < 0 && (c === 47 || c === 92 || c === 63 || c === 35)) authorityEnd = e;
    if (queryAt < 0 && c === 63) queryAt = e;
    e++;
  }
  // Trailing sentence punctuation is not part of the URL.
  while (e > hostStart && '.,;:!?'.includes(text[e - 1] ?? '')) e--;
  if (authorityEnd < 0 || authorityEnd > e) authorityEnd = e;
  if (queryAt >= e) queryAt = -1;
  let authority = text.slice(hostStart, authorityEnd).toLowerCase();
  // user:pass@host: the host is after the last `@` (https://allowed.com@evil.example is evil.example).
  const at = authority.lastIndexOf('@');
  if (at >= 0) authority = authority.slice(at + 1);
  let host = authority;
  if (host.startsWith('[')) host = host.slice(0, host.indexOf(']') + 1);
  else {
    const colon = host.indexOf(':');
    if (colon >= 0) host = host.slice(0, colon);
  }
  while (host.endsWith('.')) host = host.slice(0, -1);
  if (host === '') return undefined;
  return { start: s, end: e, host, pathAt: authorityEnd, queryAt };
}

/** Every http(s)/ftp/ws URL in the text, in order (JSON-escaped `:\/\/` included). */
function findUrls(text: string): Url[] {
  const out: Url[] = [];
  let from = 0;
  // The next plain and JSON-escaped separators, each searched again only once passed: text with many
  // of one and none of the other stays linear.
  let a = -2;
  let b = -2;
  while (out.length < MAX_DETECTIONS) {
    if (a !== -1 && a < from) a = text.indexOf('://', from);
    if (b !== -1 && b < from) b = text.indexOf(':\\/\\/', from);
    if (a < 0 && b < 0) break;
    const escaped = a < 0 || (b >= 0 && b < a);
    const sep = escaped ? b : a;
    const u = urlAt(text, sep, escaped ? 4 : 2);
    if (u) out.push(u);
    from = Math.max(sep + 3, u?.end ?? 0);
  }
  return out;
}

const isLocalChar = (c: number): boolean =>
  isAlnum(c) || c === 46 || c === 95 || c === 37 || c === 43 || c === 45;
const isDomainChar = (c: number): boolean => isAlnum(c) || c === 46 || c === 45;

interface Email {
  readonly start: number;
  readonly end: number;
  readonly address: string;
  readonly domain: string;
}

/** E-mail addresses outside the given URL spans. */
function findEmails(text: string, urls: readonly Url[]): Email[] {
  const out: Email[] = [];
  for (let at = text.indexOf('@'); at >= 0 && out.length < MAX_DETECTIONS; at = text.indexOf('@', at + 1)) {
    if (urls.some((u) => at >= u.start && at < u.end)) continue;
    let s = at;
    while (s > 0 && isLocalChar(text.charCodeAt(s - 1))) s--;
    let e = at + 1;
    while (e < text.length && isDomainChar(text.charCodeAt(e))) e++;
    while (e > at + 1 && (text[e - 1] === '.' || text[e - 1] === '-')) e--;
    while (s < at && text[s] === '.') s++;
    if (s === at) continue;
    const domain = text.slice(at + 1, e).toLowerCase();
    const dot = domain.lastIndexOf('.');
    if (dot <= 0 || domain.length - dot - 1 < 2) continue;
    let tldLetters = true;
    for (let i = dot + 1; i < domain.length; i++)
      if (!((domain.charCodeAt(i) | 32) >= 97 && (domain.charCodeAt(i) | 32) <= 122)) tldLetters = false;
    if (!tldLetters) continue;
    out.push({ start: s, end: e, address: text.slice(s, e).toLowerCase(), domain });
  }
  return out;
}

interface Image {
  readonly start: number;
  readonly end: number;
  /** Index of the URL's `://` region: the Url found inside the image. */
  readonly url: Url;
}

/** Markdown images `![alt](url)` and HTML `<img src=url>` whose URL is one of `urls`. */
function findImages(text: string, urls: readonly Url[]): Image[] {
  const out: Image[] = [];
  if (urls.length === 0) return out;
  const lower = text.toLowerCase();
  for (const url of urls) {
    // Markdown: the URL directly follows `](`, and `![` opens the alt text on the same line.
    if (text.charCodeAt(url.start - 1) === 40 && text.charCodeAt(url.start - 2) === 93) {
      const bang = text.lastIndexOf('![', url.start - 2);
      const nl = text.lastIndexOf('\n', url.start - 2);
      if (bang >= 0 && bang > nl && url.start - bang < 2048) {
        const close = text.indexOf(')', url.end);
        out.push({ start: bang, end: close >= 0 && close - url.end < 256 ? close + 1 : url.end, url });
        continue;
      }
    }
    // HTML: `<img` before the URL with no `>` in between.
    const tag = lower.lastIndexOf('<img', url.start);
    const closed = tag >= 0 ? text.indexOf('>', tag) : -1;
    if (tag >= 0 && url.start - tag < 1024 && (closed < 0 || closed >= url.start)) {
      const gt = text.indexOf('>', url.end);
      out.push({ start: tag, end: gt >= 0 ? gt + 1 : url.end, url });
    }
  }
  return out;
}

function detect(text: string, stage: 'tool_call' | 'output', settings: GuardSettings): Detection[] {
  const allow = allowOf(settings);
  const urls = findUrls(text);
  const out: Detection[] = [];
  const images = new Map(findImages(text, urls).map((im) => [im.url, im]));
  for (const url of urls) {
    if (hostAllowed(url.host, allow)) continue;
    const payload = findPayload(text, url.pathAt, url.end);
    const image = images.get(url);
    const span = image ? { start: image.start, end: image.end } : { start: url.start, end: url.end };
    if (image) {
      const hasQuery = url.queryAt >= 0 && url.queryAt + 1 < url.end;
      if (hasQuery || payload)
        out.push({
          kind: 'image_beacon',
          score: 1,
          span,
          message: 'an image whose URL carries data to a host outside the allow-list (fetched when rendered)',
        });
      else
        out.push({
          kind: 'image_external',
          score: allow.configured ? 0.9 : 0.4,
          span,
          message: 'an image from a host outside the allow-list (fetched when rendered)',
        });
      continue;
    }
    if (payload) {
      out.push({
        kind: 'url_payload',
        score: stage === 'tool_call' ? 1 : 0.9,
        span,
        message: 'a URL to a host outside the allow-list carries an encoded payload',
      });
      continue;
    }
    if (stage === 'tool_call')
      out.push({
        kind: 'url_destination',
        score: allow.configured ? 0.9 : 0.6,
        ...(allow.configured ? {} : { maxAction: 'log' as const }),
        span,
        message: allow.configured
          ? 'a tool call sends to a URL outside the allow-list'
          : 'a tool call sends to a URL and no allow-list is configured',
      });
  }
  if (stage === 'tool_call') {
    for (const email of findEmails(text, urls)) {
      if (allow.emails.has(email.address) || hostAllowed(email.domain, allow)) continue;
      out.push({
        kind: 'email_destination',
        score: allow.configured ? 0.9 : 0.6,
        ...(allow.configured ? {} : { maxAction: 'log' as const }),
        span: { start: email.start, end: email.end },
        message: allow.configured
          ? 'a tool call names an e-mail address outside the allow-list'
          : 'a tool call names an e-mail address and no allow-list is configured',
      });
    }
    // Encoded payloads outside any URL (those were judged with their URL above).
    let from = 0;
    for (const url of [...urls, { start: text.length, end: text.length }]) {
      const p = findPayload(text, from, url.start);
      if (p) {
        out.push({
          kind: 'encoded_payload',
          score: 0.55,
          span: p,
          message: 'tool-call arguments carry a long encoded (base64 or hex) payload',
        });
        break;
      }
      from = Math.max(from, url.end);
    }
  }
  return out.slice(0, MAX_DETECTIONS);
}

/**
 * For streamed output: hold back the tail that could still become (or complete) an image or a URL with
 * a payload: an unclosed `![alt](…`, an unclosed `<img …`, a URL still being written, the first letters
 * of `https://`, or a trailing `!`/`<`. Capped, so a never-closed `![` cannot hold the answer forever.
 */
function pendingFrom(text: string): number {
  const n = text.length;
  let from = n;
  const floor = Math.max(0, n - 2048);
  const bang = text.lastIndexOf('![');
  if (bang >= floor) {
    const mid = text.indexOf('](', bang);
    if (mid < 0) {
      if (text.indexOf('\n', bang) < 0) from = Math.min(from, bang);
    } else if (text.indexOf(')', mid) < 0) from = Math.min(from, bang);
  }
  const lt = text.lastIndexOf('<');
  if (lt >= Math.max(0, n - 1024) && text.indexOf('>', lt) < 0) {
    const rest = text.slice(lt, lt + 4).toLowerCase();
    if ('<img'.startsWith(rest) || rest === '<img') from = Math.min(from, lt);
  }
  // The last whitespace-delimited token: a URL (or the start of a scheme) still being written.
  let s = n;
  while (s > floor && !isSpaceLike(text.charCodeAt(s - 1)) && text[s - 1] !== '(' && text[s - 1] !== '"') s--;
  if (s < n) {
    const token = text.slice(s).toLowerCase();
    const sep = token.indexOf('://');
    if (sep > 0) from = Math.min(from, s + Math.max(0, token.lastIndexOf('h', sep)));
    else if ('https://'.startsWith(token) || 'http://'.startsWith(token)) from = Math.min(from, s);
  }
  if (text.endsWith('!')) from = Math.min(from, n - 1);
  return from;
}

export const exfiltration: Detector = {
  id: 'exfiltration',
  class: 'security',
  owasp: 'LLM02',
  stages: ['tool_call', 'output'],
  defaultAction: 'block',
  defaultThreshold: 0.5,
  description:
    'data sent out through tool arguments or rendered output: destinations outside the allow-list, image beacons, encoded payloads',
  // A release may add stages: anything but output is judged like tool arguments.
  detect: (text, ctx) => detect(text, ctx.stage === 'output' ? 'output' : 'tool_call', ctx.settings),
  pendingFrom: (text) => pendingFrom(text),
};
