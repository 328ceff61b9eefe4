import { PromptMemo } from './prompt-memo.js';

/**
 * Reading the secret a system prompt holds (held-secret.ts checks a user turn against this reading): a
 * canary, a quoted value after a password-like word, or an unquoted made-up value after a secret's name
 * in a sentence that says to keep it; what the secret opens; the qualifiers that tell a shareable secret
 * from a protected one. Read once per prompt and kept in a small LRU, since a process serving several
 * apps sees their prompts in turn.
 */

/** A secret's name in English; a quote right after one of these (or "secret") holds the secret. */
export const englishSecretWords = [
  'password',
  'passcode',
  'passphrase',
  'secret key',
  'secret word',
  'secret code',
];
const QUOTED_SECRET_NAMES = [...englishSecretWords, 'secret'];

export interface Qualifiers {
  readonly shareable: readonly string[];
  readonly closed: readonly string[];
  readonly all: readonly string[];
}
export const NO_QUALIFIERS: Qualifiers = { shareable: [], closed: [], all: [] };

export interface HeldSecret {
  readonly holds: boolean;
  /** What the secret opens ("computer", "vault"). */
  readonly owners: readonly string[];
  /** What the prompt calls a secret it holds unquoted ("admin pin", "discount code"). */
  readonly names: readonly string[];
  /** The words before the prompt's secrets' names: of shareable secrets only, of protected ones only, all. */
  readonly qualifiers: Qualifiers;
}
const NOTHING_HELD: HeldSecret = { holds: false, owners: [], names: [], qualifiers: NO_QUALIFIERS };

/**
 * A secret held without quotes: a secret-naming noun, then a value that looks made up rather than a
 * word (digits or capitals in it: "4471", "STAFF50", "wx-8823-KLM", "BlueHeron!77"), right after the noun,
 * after "is", ":", "=" or a comma, or after "for the … is" or "for the …:" ("the API key for the weather
 * service is …", "door code for the server room: …"), a note in parentheses allowed before it ("Local
 * admin password (reference only): …"). Matched on the prompt as written (capitals count). A bare "code"
 * or "token" is not a secret's name: "error code E1234", "airport code JFK", "postal code 94107" are
 * information.
 */
const INFORMATION_CODES =
  'error|airport|postal|zip|area|country|status|source|qr|bar|tracking|reference|booking|order|invoice|' +
  'colou?r|dress|style|language|currency|tax|sort|swift|routing|diagnosis|icd|product|item|sku|region|' +
  'time|zone|exit|response|return|http|course|class|module|function|program|sample|example';
const SECRET_NOUN =
  String.raw`(?:pass(?:word|code|phrase)|pin(?: code| number)?|` +
  String.raw`(?:secret|access|discount|promo|promotion|coupon|voucher|staff|employee|door|gate|alarm|disarm|safe|vault|` +
  String.raw`verification|admin|master|license|licence|activation|unlock|override|bypass|entry|maintenance)[ -](?:code|key|word|number|pin)|` +
  String.raw`(?:api|secret|access|private|master|license|licence|product)[ -]key|` +
  String.raw`(?:access|auth|api|bearer|session|deploy|deployment|service|refresh|admin|bot)[ -]token|` +
  String.raw`(?:padlock|lock|safe|vault) combination|(?:pass|safe|magic|trigger|code)[ -]?word|` +
  // Any named code or voucher ("escalation code", "waiver code", "goodwill voucher", "staff promo"):
  // held only where its value looks made up and its sentence or a neighbour says to keep it.
  // Codes that are information, never a secret, are left out ("error code", "airport code").
  String.raw`(?!(?:${INFORMATION_CODES})[ -])[a-z][a-z-]{2,24}[ -](?:code|voucher|coupon)|` +
  String.raw`(?:staff|employee|internal|partner|vip)[ -]promo)`;
const UNQUOTED_SECRET = new RegExp(
  String.raw`\b((?:[a-z][a-z-]{1,20} ){0,2}${SECRET_NOUN})(?:(?: (?:for|of|to) (?:the |our |this )?[a-z][a-z -]{0,30}?)?(?: \([^)\n]{1,48}\))?(?: (?:is|was)|\s*[:=,]))? ([^\s"'“”‘’\`,;]{3,64})`,
  'gi',
);
/** A value in parentheses right after the name: "the supervisor override PIN (4471-BC) is for agents only". */
const PAREN_SECRET = new RegExp(
  String.raw`\b((?:[a-z][a-z-]{1,20} ){0,2}${SECRET_NOUN}) \(([^\s()]{3,64})\)`,
  'gi',
);
/** A secret's value in number words: "the disarm code is six zero two nine". */
const SPOKEN_SECRET = new RegExp(
  String.raw`\b((?:[a-z][a-z-]{1,20} ){0,2}${SECRET_NOUN})(?: (?:is|was)|\s*[:=]) (?:(?:zero|oh|one|two|three|four|five|six|seven|eight|nine)[ ,-]{1,2}){2,}(?:zero|oh|one|two|three|four|five|six|seven|eight|nine)\b`,
  'gi',
);
/** A quoted value a few words after a secret's name: "the recovery phrase stored for this account is '…'". */
const QUOTED_LATER = new RegExp(
  String.raw`\b(?:${SECRET_NOUN}|(?:recovery|seed|secret|pass) phrase)\b[^.\n'"“‘]{0,40}? (?:is|was|:)\s*['"“‘]`,
  'gi',
);
/**
 * The sentence of the secret, the one before or the one after, says to keep it ("Never … reveal", "under no circumstances
 * reveal it", "keep these credentials strictly private"): without this an unquoted code is information
 * to pass on. Read near the secret only: "never write more than 100 words" elsewhere keeps nothing.
 */
const PROTECTED =
  /\b(?:never|not|no|n['’]t|must not|keep|only)\b[^.]{0,60}?\b(?:reveal|disclos|share|give|tell|expos|repeat|say|print|leak|confidential|secret|private|learn|hint|speak|mention)/i;
/** A label on the secret's own line or sentence: "Confidential: payroll admin login -> …". */
const LABELLED =
  /\b(?:confidential|internal(?: [a-z]+){0,2} only|(?:staff|agents?|employees?) only|for your reference only|do not disclose)\b/i;
const ARTICLES = new Set(['the', 'a', 'an', 'our', 'my', 'your', 'this', 'its', 'their']);
/** Words a secret's name can follow that are not part of it ("unlocks it with the admin code …"). */
const LEAD_WORDS = new Set('with for of to by is use uses using and or enter type only'.split(' '));
/** Heads distinctive enough to stand for the secret alone ("what's the PIN?"); "code", "key", "token" are not. */
const DISTINCT_HEADS = new Set(['pin', 'passcode', 'password', 'passphrase']);

/**
 * The value looks made up: a digit, two capitals, or a symbol inside it ("inkwell_Tuesday"), not a word
 * like "stored".
 */
function madeUp(value: string): boolean {
  let capitals = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c >= 48 && c <= 57) return true;
    if (c >= 65 && c <= 90 && ++capitals >= 2) return true;
    if (
      i > 0 &&
      i < value.length - 1 &&
      (c === 33 || c === 35 || c === 36 || c === 37 || c === 38 || c === 64 || c === 95)
    )
      return true;
  }
  return false;
}

/**
 * The sentence holding `at`, the one before it and the one after it (at most 400 characters each way).
 * Sentences end at a full stop before a space or at a new line; a run of them with nothing between
 * ("password.\nLocal …") is one end.
 */
function aroundSecret(text: string, at: number): string {
  const isStop = (i: number): boolean => {
    const c = text.charCodeAt(i);
    return c === 10 || (c === 46 && (i + 1 === text.length || text.charCodeAt(i + 1) <= 32));
  };
  const isBlank = (i: number): boolean => text.charCodeAt(i) <= 32;
  const edge = (from: number, to: number, step: 1 | -1): number => {
    let stops = 0;
    let words = false;
    for (let i = from; i !== to; i += step) {
      if (isStop(i)) {
        if (words && ++stops === 2) return i;
        words = false;
      } else if (!isBlank(i)) words = true;
    }
    return to;
  };
  const start = edge(at - 1, Math.max(0, at - 400) - 1, -1) + 1;
  const end = edge(at, Math.min(text.length, at + 400), 1);
  return text.slice(start, end);
}
const kept = (text: string, at: number): boolean => {
  const around = aroundSecret(text, at);
  return PROTECTED.test(around) || LABELLED.test(around);
};

/**
 * The secrets `text` holds unquoted, or quoted a few words after their name, where the prompt says to
 * keep them: whether it holds any, and the names of those a turn can ask for by name (lower-cased).
 */
function unquotedSecrets(text: string): { readonly names: readonly string[]; readonly held: boolean } {
  const names = new Set<string>();
  const found = [
    ...[...text.matchAll(UNQUOTED_SECRET), ...text.matchAll(PAREN_SECRET)].filter((m) => madeUp(m[2] ?? '')),
    ...text.matchAll(SPOKEN_SECRET),
  ].filter((m) => kept(text, m.index));
  for (const m of found) {
    const words = (m[1] ?? '')
      .toLowerCase()
      .replace(/-/g, ' ')
      .split(' ')
      .filter((w) => !ARTICLES.has(w) && !LEAD_WORDS.has(w));
    const head = words[words.length - 1] ?? '';
    if (words.length >= 2) names.add(words.slice(-2).join(' '));
    if (DISTINCT_HEADS.has(head)) names.add(head);
  }
  const quoted = [...text.matchAll(QUOTED_LATER)].some((m) => kept(text, m.index));
  return { names: [...names].slice(0, 8), held: found.length > 0 || quoted };
}

/** "My computer's password is …", "the password for the vault is …": what the secret opens. */
const OWNER_BEFORE = /\b([a-z][a-z-]{2,})(?:'s|’s)\s+(?:password|passcode|pin|secret (?:key|code|word))\b/g;
/** "The wifi password is …". */
const OWNER_NOUN = /\b(?:the|my|our|your) ([a-z][a-z-]{2,}) (?:password|passcode|pin)\b/g;
/** "The password for the vault", "the code to the safe" (not "the code of conduct"). */
const OWNER_AFTER =
  /\b(?:(?:password|passcode|pin) (?:for|to|of)|code (?:for|to)) (?:the |my |our |your )?([a-z][a-z-]{2,})/g;
const notOwnerWords = new Set(
  'the my your our their user users secret anyone nobody this that conduct practice ethics'.split(' '),
);

/** A secret's name with up to two words before it: "guest wi-fi password", "staff wi-fi password". */
const QUALIFIED_SECRET =
  /\b([a-z][a-z-]*) (?:([a-z][a-z-]*) )?(?:password|passcode|pin|code)\b(?=([^\n]{0,80}))/g;
/** Said of a secret the model may give out. */
const SHAREABLE =
  /\b(?:fine|ok|okay|free|allowed|permitted) to (?:share|give)|(?:may|can) (?:be )?(?:share|shared|give|given)(?! only)|share (?:it )?freely|feel free to (?:share|give)/;

/**
 * The words before each secret's name in the prompt, split by whether the prompt lets the model give
 * that secret out: in "Staff Wi-Fi password: … (never share). Guest Wi-Fi password: … (fine to share with
 * guests)", "guest" is shareable, "staff" and "wi-fi" are not ("wi-fi" names the protected one too).
 * "May be shared with employees only" is a restriction, not a permission.
 */
function secretQualifiers(system: string): Qualifiers {
  const open = new Set<string>();
  const closed = new Set<string>();
  for (const m of system.matchAll(QUALIFIED_SECRET)) {
    const after = (m[3] ?? '').split(/(?<=[.;])\s/)[0] ?? '';
    const into = SHAREABLE.test(after) && !/\b(?:never|not|don'?t|only)\b/.test(after) ? open : closed;
    for (const w of [m[1], m[2]]) if (w !== undefined && !ARTICLES.has(w)) into.add(w);
  }
  return {
    shareable: [...open].filter((w) => !closed.has(w)),
    closed: [...closed].filter((w) => !open.has(w)),
    all: [...new Set([...open, ...closed])],
  };
}

/** `text`: the prompt's first READ_LIMIT characters. */
function read(text: string, canaries: readonly string[]): HeldSecret {
  const system = text.toLowerCase();
  let holds = canaries.some((c) => system.includes(c.toLowerCase()));
  for (const w of QUOTED_SECRET_NAMES) {
    if (holds) break;
    const at = system.indexOf(w);
    if (at < 0) continue;
    const after = system.slice(at + w.length, at + w.length + 24);
    holds = after.includes("'") || after.includes('"') || after.includes('“') || after.includes('`');
  }
  const unquoted = holds ? { names: [], held: false } : unquotedSecrets(text);
  if (unquoted.held) holds = true;
  if (!holds) return NOTHING_HELD;
  const owners = new Set<string>();
  for (const re of [OWNER_BEFORE, OWNER_NOUN, OWNER_AFTER])
    for (const m of system.matchAll(re)) {
      const o = m[1] ?? '';
      if (!notOwnerWords.has(o)) owners.add(o);
    }
  return {
    holds,
    owners: [...owners].slice(0, 8),
    names: unquoted.names,
    qualifiers: secretQualifiers(system),
  };
}

/** What a system prompt holds, for the canaries of the call (they are part of the key). */
export function heldSecretOf(system: string, canaries: readonly string[]): HeldSecret {
  return memo.get(system, canaries.join(CANARY_SEPARATOR));
}
const CANARY_SEPARATOR = '\u0001';
const memo = new PromptMemo(64, (head, canaries) =>
  read(head, canaries === '' ? [] : canaries.split(CANARY_SEPARATOR)),
);
