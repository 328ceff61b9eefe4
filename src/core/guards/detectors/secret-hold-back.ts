import { secretRules } from './secret-rules.js';

/**
 * Streaming hold-back for the `secrets` detector (secrets.ts): where a secret at the end of streamed
 * output may still be in progress, so that no part of one is sent before it can be redacted whole
 * (stream-guard.ts). Like pii-hold-back.ts for the `pii` and `financial-id` detectors.
 */

/**
 * Literal starts of the credential formats: the rules' own `prefixes`, and the starts of the formats
 * whose keywords are not (upper-case or case-insensitive formats, keywords without a separator).
 */
const PREFIXES = [
  ...new Set([
    ...secretRules.flatMap((r) => r.prefixes ?? []),
    ...['SK', 'dapi', 'ATATT3', 'AGE-SECRET-KEY-1', 'pypi-AgEIcHlwaS5vcmc', 'HRKU-AA', 'fm1a_', 'fm1r_'],
    ...['PMAK-', 'XAPP-', 'hooks.slack.com/', 'eyJ', '-----BEGIN', '0x'],
  ]),
];
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
/** Token starts that hold the rest of their token until it ends: each is a credential's beginning. */
const FULL_PREFIX = new Set(PREFIXES);
/** Every proper beginning of a prefix or of `scheme://`: text that could still become one. */
const PREFIX_START = new Set(
  [...PREFIXES, ...SCHEMES.map((x) => `${x}://`)].flatMap((p) =>
    Array.from({ length: p.length - 1 }, (_, k) => p.slice(0, k + 1)),
  ),
);
const FIRST_CHAR = new Set([...PREFIX_START].map((p) => p.charCodeAt(0)));
const LONGEST_PREFIX = Math.max(...PREFIXES.map((p) => p.length));
/** The longest token held whole while it starts with a prefix (a PyPI token runs to 1 019 characters). */
const MAX_SECRET = 1100;

/** Characters of a token as secrets are written (base64, base64url, hex, prefixes, URL user-info). */
const isTokenChar = (c: number): boolean => isAlnum(c) || '_-+/=.~:'.includes(String.fromCharCode(c));
const isAlnum = (c: number): boolean => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);

/** Whether the token starting at `p` starts with a known prefix, or is still the beginning of one. */
function prefixAt(text: string, p: number): boolean {
  if (!FIRST_CHAR.has(text.charCodeAt(p))) return false;
  for (let k = 1; k <= LONGEST_PREFIX && p + k <= text.length; k++) {
    const head = text.slice(p, p + k);
    if (FULL_PREFIX.has(head)) return true;
    // No prefix goes on like this; or the token ends here, the beginning of one.
    if (!PREFIX_START.has(head)) return false;
    if (p + k === text.length) return true;
  }
  return false;
}

/**
 * The trailing token: where it, or a token inside it (after `=`, `:`, `_`, `/`…), starts with a prefix or
 * could still become one (`A`, `gh`, `sk-`, `AKIA…`: a chunk may end anywhere in a key), and the last
 * 200 characters of an unbroken token of 200 or more. `n` when neither.
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
  for (let p = s; p < from; p++)
    if ((p === s ? runStart : !isAlnum(text.charCodeAt(p - 1))) && prefixAt(text, p)) return p;
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
 * before it can be redacted whole. Held back: an unfinished PEM block, a trailing token that starts with a
 * known prefix or could still become one (down to its first character: a chunk may end after `A` of
 * `AKIA…` or `gh` of `ghp_…`) or a `scheme://` that carries credentials, a URL still inside its
 * user-info, a value being written after `password=`, `Bearer`, `tenant_id:` or an AWS secret's label,
 * an Azure client secret's start, and the last 200 characters of an unbroken token of 200 or more.
 * Ordinary words are not held (a word that is the beginning of a prefix, like `do` or `AI`, until the
 * next character shows it is not). Every check looks at a bounded suffix, so a call costs the same however
 * long the answer is.
 */
export function secretPendingFrom(text: string): number {
  return Math.min(
    pemPendingFrom(text),
    tokenPendingFrom(text),
    labelledPendingFrom(text),
    urlPendingFrom(text),
  );
}
