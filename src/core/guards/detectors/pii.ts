import { findAddresses } from './pii-address.js';
import { findEmails } from './pii-email.js';
import { findCards, findIbans, findSsns } from './pii-financial-ids.js';
import { findIps } from './pii-ip.js';
import type { PiiKind, PiiMatch } from './pii-match.js';
import {
  NATIONAL_ID_KINDS,
  findAadhaars,
  findBsns,
  findDnis,
  findNies,
  findNinos,
  findSins,
} from './pii-national-ids.js';
import { findPhones } from './pii-phone.js';

/**
 * Matchers for personal data in free text: e-mail addresses, phone numbers, payment cards, IBANs, US
 * social security numbers and other national ids, IP addresses and street addresses (one file per kind
 * beside this one: pii-email, pii-phone, pii-financial-ids, pii-national-ids, pii-ip, pii-address; the
 * streaming hold-back in pii-hold-back). Pure functions over a string, shared by the `pii` and
 * `financial-id` detectors (privacy.ts) and by trace redaction (core/redact.ts).
 *
 * Cost model: every matcher is anchored on a character that ordinary prose rarely holds (`@`, a digit,
 * `:` next to hex), so a text without digits or `@` costs one pre-check per kind. Every regular
 * expression in these files is linear: repetitions are bounded or separated by a mandatory delimiter,
 * so there is no way to split the same input between two quantifiers (no catastrophic backtracking).
 */

export type PiiFinder = (text: string) => PiiMatch[];

export const piiFinders: Readonly<Record<PiiKind, PiiFinder>> = {
  email: findEmails,
  phone: findPhones,
  card: findCards,
  iban: findIbans,
  ssn: findSsns,
  nino: findNinos,
  sin: findSins,
  aadhaar: findAadhaars,
  dni: findDnis,
  nie: findNies,
  bsn: findBsns,
  ip: findIps,
  address: findAddresses,
};

/**
 * The checksum- or format-exact identifiers (the `financial-id` detector's kinds; redacted in stored
 * traces with e-mail addresses).
 */
export const FINANCIAL_KINDS: readonly PiiKind[] = ['card', 'iban', 'ssn', ...NATIONAL_ID_KINDS];
/** The exact kinds a phone-shaped candidate may really be. */
const STRONG_KINDS: readonly PiiKind[] = [...FINANCIAL_KINDS, 'ip'];

const overlaps = (a: PiiMatch, b: PiiMatch): boolean => a.start < b.end && b.start < a.end;

/**
 * The matches of the given kinds. A phone candidate that overlaps a card, IBAN, SSN, other national id
 * or IP match is that match, not a phone. Text without a digit or `@` costs one scan.
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
  // Only when a phone candidate exists: is it really a card, IBAN, national id or IP address?
  const strong = out.filter((m) => m.kind !== 'phone' && m.kind !== 'email' && m.kind !== 'address');
  for (const kind of STRONG_KINDS) if (!kinds.includes(kind)) strong.push(...matchesOf(text, kind));
  return out.filter((m) => m.kind !== 'phone' || !strong.some((s) => overlaps(m, s)));
}

/**
 * The last text's matches per kind: the `pii` and `financial-id` detectors scan the same text one after
 * the other (and `pii` also looks for cards, IBANs and national ids when it has a phone candidate), so
 * each finder runs once per text. The finders are pure and their matches immutable, so this changes nothing
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
