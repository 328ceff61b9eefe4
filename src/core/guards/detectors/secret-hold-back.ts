import { formatPrefixLength, formatPrefixes } from './secret-rules.js';

/**
 * Streaming hold-back for the `secrets` detector (secrets.ts): where a secret at the end of streamed
 * output may still be in progress, so that no part of one is sent before it can be redacted whole
 * (stream-guard.ts). Like pii-hold-back.ts for the `pii` and `financial-id` detectors.
 */

/**
 * URL schemes that carry credentials. A URL's credentials are redacted from its scheme on
 * (`postgres://user:pw@…`), so a scheme being written is held until `://` says whether it is one (after
 * that, `urlPendingFrom` holds it). Lower case only, as URLs are written: `My` and `Post` are not held.
 */
const SCHEMES = [
  ...['http', 'https', 'ftp', 'ftps', 'sftp', 'ssh', 'git', 'svn', 'ldap', 'ldaps', 'smtp', 'smtps', 'imap'],
  ...['imaps', 'postgres', 'postgresql', 'mysql', 'mariadb', 'mssql', 'sqlserver', 'mongodb', 'mongodb+srv'],
  ...['redis', 'rediss', 'amqp', 'amqps', 'mqtt'],
];
/** Every proper beginning of `scheme://`: text that could still become a URL with credentials. */
const SCHEME_START = new Set(
  SCHEMES.map((x) => `${x}://`).flatMap((p) =>
    Array.from({ length: p.length - 1 }, (_, k) => p.slice(0, k + 1)),
  ),
);
const FIRST_CHAR = new Set([...formatPrefixes, ...SCHEME_START].map((p) => p.charCodeAt(0)));
const LONGEST_SCHEME = Math.max(...SCHEMES.map((p) => p.length + 3));
/** The longest token held whole while it starts with a prefix (a PyPI token runs to 1 019 characters). */
const MAX_SECRET = 1100;

/** Characters of a token as secrets are written (base64, base64url, hex, prefixes, URL user-info). */
const isTokenChar = (c: number): boolean => isAlnum(c) || '_-+/=.~:'.includes(String.fromCharCode(c));
const isAlnum = (c: number): boolean => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);

/**
 * Where the token starting at `p` must be held from, or -1 when it need not be: a credential format's
 * literal prefix is sent as it comes (it is public, and a redaction keeps it: secret-rules.ts,
 * formatPrefixLength), and the token is held from the first character after the longest prefix it has;
 * a URL scheme being written (`post`, `https:/`) ending the text is held whole.
 */
function holdAt(text: string, p: number): number {
  if (!FIRST_CHAR.has(text.charCodeAt(p))) return -1;
  const prefix = formatPrefixLength(text, p);
  if (prefix > 0) return p + prefix;
  const rest = text.length - p;
  return rest < LONGEST_SCHEME && SCHEME_START.has(text.slice(p)) ? p : -1;
}
/**
 * The trailing token: where it, or a token inside it (after `=`, `:`, `_`, `/`…), goes on after a
 * format's prefix (`AKIA` and what follows it, from the character after the prefix) or is a URL scheme
 * being written, and the last 200 characters of an unbroken token of 200 or more. `n` when neither.
 */
function tokenPendingFrom(text: string): number {
  const n = text.length;
  let s = n;
  while (s > 0 && n - s < MAX_SECRET && isTokenChar(text.charCodeAt(s - 1))) s--;
  if (s === n) return n;
  // Where the walk stopped at its limit the token goes on before it, so `s` is no token's start.
  const runStart = s === 0 || !isTokenChar(text.charCodeAt(s - 1));
  const from = n - s >= 200 ? n - 200 : n;
  // Formats start where no letter or digit precedes (the rules' `(?<![A-Za-z0-9])`).
  for (let p = s; p < from; p++) {
    if (!(p === s ? runStart : !isAlnum(text.charCodeAt(p - 1)))) continue;
    const at = holdAt(text, p);
    if (at >= 0) return Math.min(at, from);
  }
  return from;
}

/** `password = "…`, `"api_key": …`, `token:…`: a value being written after a credential's name. */
const ASSIGNED_VALUE =
  /(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|auth[_-]?key|private[_-]?key|credential)[A-Za-z0-9_.-]{0,60}["']?[ \t]{0,3}(?::=|=>|=|:)[ \t]{0,3}["'`]?([^\s"'`;,&<>()[\]{}\\]{0,150})$/i;
/** `Bearer …`, `Basic …` header values, and the id after `tenant_id:` (azure-ad-identifier). */
const HEADER_VALUE = /(?:bearer[ \t]+([A-Za-z0-9._~+/-]*=*)|basic[ \t]+([A-Za-z0-9+/]*={0,2}))$/i;
const LABELLED_ID =
  /(?:tenant|client)[_.-]?id["']?[ \t]{0,3}(?::=|=>|=|:)[ \t]{0,3}["']?([0-9a-fA-F-]{0,36})$/i;
/** The AWS secret key's label (its rule's context), and an Azure client secret's `…1Q~` being written. */
const AWS_SECRET_LABEL = /(?:aws|amazon)[\w.-]{0,30}secret|secret[_.-]?access[_.-]?key/i;
const AZURE_SECRET_START = /(?<![A-Za-z0-9_~.])[A-Za-z0-9_~.]{3}\d(?:Q(?:~[A-Za-z0-9_~.-]{0,34})?)?$/;
const isAwsSecretChar = (c: number): boolean => isAlnum(c) || c === 47 || c === 43;

/** Where a value after a credential's label starts, while it is still being written; `n` otherwise. */
function labelledPendingFrom(text: string): number {
  const n = text.length;
  const tail = text.slice(Math.max(0, n - 320));
  let from = n;
  for (const re of [ASSIGNED_VALUE, HEADER_VALUE, LABELLED_ID]) {
    const m = re.exec(tail);
    // Held from where the value starts (the name before it is no secret), even before it has one
    // character: then nothing is held.
    if (m) from = Math.min(from, n - (m[1] ?? m[2] ?? '').length);
  }
  let b = n;
  while (b > 0 && n - b < 40 && isAwsSecretChar(text.charCodeAt(b - 1))) b--;
  if (
    b < n &&
    !/[A-Za-z0-9/+=]/.test(text[b - 1] ?? '') &&
    AWS_SECRET_LABEL.test(text.slice(Math.max(0, b - 80), n))
  )
    from = Math.min(from, b);
  const azure = AZURE_SECRET_START.exec(text.slice(Math.max(0, n - 45)));
  if (azure) from = Math.min(from, n - azure[0].length);
  return from;
}

/**
 * A URL still inside its user-info or host (`https://user:pa`, `postgres://app:s3cr3t@db`): no `/`,
 * space or quote after `://` yet, so a password may still follow. Held from the scheme, where the
 * credentials' span starts. Bounded by the user-info's longest match.
 */
function urlPendingFrom(text: string): number {
  const n = text.length;
  const sep = text.lastIndexOf('://');
  if (sep < 0 || n - sep > 510 || /[\s/'"`<>]/.test(text.slice(sep + 3))) return n;
  let start = sep;
  while (start > 0 && sep - start < 20 && /[A-Za-z0-9+.-]/.test(text[start - 1] ?? '')) start--;
  return start;
}

/** An unfinished PEM block (from its BEGIN line, until its END line is closed), or a BEGIN line being written. */
function pemPendingFrom(text: string): number {
  const n = text.length;
  let from = n;
  const begin = text.lastIndexOf('-----BEGIN');
  // The key's span runs to the dashes that close its END line, so it is held till then; privateKeys
  // reads at most 20 000 characters of body, and no more is held.
  if (begin >= 0 && n - begin <= 20_200) {
    const end = text.indexOf('-----END', begin);
    if (end < 0 || (text.indexOf('-----', end + 8) < 0 && n - end < 108)) from = begin;
  }
  const dash = text.lastIndexOf('-----');
  if (dash >= 0 && dash > n - 120) {
    const rest = text.slice(dash);
    if ('-----BEGIN'.startsWith(rest) || /^-----BEGIN[ A-Z0-9_-]{0,100}$/.test(rest))
      from = Math.min(from, dash);
  }
  return from;
}

/**
 * For streamed output: where the tail could still grow into a secret, so that no part of one is sent
 * before it can be redacted whole. Held back: an unfinished PEM block, a trailing token from the first
 * character after a format's literal prefix (`AKIA`, `ghp_`, `sk-ant-` go out as they come; a redaction
 * keeps them), a `scheme://` being written that may carry credentials, a URL still inside its user-info,
 * a value being written after `password=`, `Bearer`, `tenant_id:` or an AWS secret's label, an Azure
 * client secret's start, and the last 200 characters of an unbroken token of 200 or more. Ordinary words
 * are not held, nor is a word that may begin a prefix (`A` may begin `AKIA`; `do`, `gh`): an answer
 * starting with `A` is sent at once. Every check looks at a bounded suffix, so a call costs the same
 * however long the answer is.
 */
export function secretPendingFrom(text: string): number {
  return Math.min(
    pemPendingFrom(text),
    tokenPendingFrom(text),
    labelledPendingFrom(text),
    urlPendingFrom(text),
  );
}
