import type { Detection, Detector } from '../types.js';
import { crossUser } from './cross-user.js';
import { financialPendingFrom, piiPendingFrom } from './pii-hold-back.js';
import type { PiiKind } from './pii-match.js';
import { FINANCIAL_KINDS, findPii } from './pii.js';
import { secretRules } from './secret-rules.js';
import { secretPendingFrom } from './secret-hold-back.js';
import { findSecrets } from './secrets.js';

/**
 * The privacy detectors (OWASP LLM02, sensitive information disclosure). The framework gives a detector
 * one default action, so personal data is split by harm:
 *
 *  - `financial-id` (card, IBAN, and national ids: US SSN, UK NINO, Canadian SIN, Indian Aadhaar,
 *    Spanish DNI and NIE, Dutch BSN): checksum- or format-exact identifiers whose disclosure enables
 *    fraud and identity theft; those whose checksum alone would pass too many ordinary numbers also need
 *    a label before them (pii-national-ids.ts). Default `block` at the egress stages, `output` and
 *    `tool_call`: a streamed answer carrying a card number is cut before the number is sent, and no tool
 *    argument carries one out. Not on by default at `input`, `retrieved` and `tool_result`: a customer
 *    typing their own card number into a bank's assistant is the ordinary case, and blocking it would
 *    break the app; a release that must keep these numbers from the model provider adds those stages
 *    (with `action: redact`).
 *  - `pii` (e-mail, phone, IP address, street address): contact data that many apps handle legitimately.
 *    Default `log` at every stage, so findings are visible in traces and incidents without changing
 *    answers; a release can raise it to `redact` (a streamed answer then holds each trailing word until
 *    the next chunk: any word may be an address's local part). Phone and address scores are heuristic
 *    (0.5–0.95).
 *  - `secrets` (provider keys, private keys, JWTs, URL passwords, `password=` assignments). Default
 *    `redact` at every stage: at input the credential is not sent to the model provider, in output and
 *    tool arguments it is cut out before it leaves (streams hold a token back while it could still be one),
 *    and the rest of the conversation stays usable, which a block would not allow. Placeholders
 *    (`user:password@`, AWS's `…EXAMPLE` keys) score 0.3, under the 0.6 threshold: trace redaction still
 *    removes them, the guard does not act on them.
 *  - `cross-user` (cross-user.ts): another user's address or id in an answer; `log`.
 *
 * The finding `kind` names what was found (`card`, `email`, `aws-access-key-id`…), never the value.
 */
const ALL_STAGES = ['input', 'retrieved', 'tool_call', 'tool_result', 'output'] as const;

const PII_MESSAGES: Readonly<Record<PiiKind, string>> = {
  email: 'an e-mail address',
  phone: 'a phone number',
  card: 'a payment card number (Luhn-valid, known issuer range)',
  iban: 'an IBAN (mod-97 checksum valid)',
  ssn: 'a US social security number',
  nino: 'a UK National Insurance number (HMRC prefix rules)',
  sin: 'a Canadian social insurance number (Luhn-valid, labelled)',
  aadhaar: 'an Indian Aadhaar number (Verhoeff check digit valid)',
  dni: 'a Spanish DNI number (control letter valid)',
  nie: 'a Spanish NIE foreigner number (control letter valid)',
  bsn: 'a Dutch citizen service number, BSN (11-test valid, labelled)',
  ip: 'an IP address',
  address: 'a street address',
};

function piiDetections(text: string, kinds: readonly PiiKind[]): Detection[] {
  return findPii(text, kinds).map((m) => ({
    kind: m.kind,
    score: m.score,
    span: { start: m.start, end: m.end },
    message: PII_MESSAGES[m.kind],
  }));
}

const CONTACT_KINDS: readonly PiiKind[] = ['email', 'phone', 'ip', 'address'];

export const pii: Detector = {
  id: 'pii',
  class: 'privacy',
  owasp: 'LLM02',
  stages: ALL_STAGES,
  defaultAction: 'log',
  defaultThreshold: 0.5,
  description: 'personal contact data: e-mail addresses, phone numbers, IP addresses, street addresses',
  detect: (text) => piiDetections(text, CONTACT_KINDS),
  pendingFrom: (text) => piiPendingFrom(text),
};

export const financialId: Detector = {
  id: 'financial-id',
  class: 'privacy',
  owasp: 'LLM02',
  stages: ['tool_call', 'output'],
  defaultAction: 'block',
  defaultThreshold: 0.5,
  description:
    'payment cards, IBANs, US SSNs, UK NINOs, Canadian SINs, Aadhaar, Spanish DNI/NIE, Dutch BSNs (checksum or format exact)',
  detect: (text) => piiDetections(text, FINANCIAL_KINDS),
  pendingFrom: (text) => financialPendingFrom(text),
};

const RULE_DESCRIPTION = new Map(secretRules.map((r) => [r.id, r.description]));
const STRUCTURAL_DESCRIPTION: Readonly<Record<string, string>> = {
  'private-key': 'a private key (PEM)',
  jwt: 'a JSON Web Token',
  'url-credentials': 'a password in a URL',
  'generic-assignment': 'a credential assigned to a password, secret, token or key field',
  'bearer-token': 'a bearer token',
  'basic-auth': 'HTTP basic-auth credentials',
};

export const secrets: Detector = {
  id: 'secrets',
  class: 'privacy',
  owasp: 'LLM02',
  stages: ALL_STAGES,
  defaultAction: 'redact',
  defaultThreshold: 0.6,
  description: 'credentials: provider API keys, private keys, JWTs, passwords in URLs and assignments',
  detect: (text) =>
    findSecrets(text).map((m) => ({
      kind: m.id,
      score: m.score,
      span: { start: m.start, end: m.end },
      message: `a credential: ${RULE_DESCRIPTION.get(m.id) ?? STRUCTURAL_DESCRIPTION[m.id] ?? m.id}`,
    })),
  pendingFrom: (text) => secretPendingFrom(text),
};

export const privacyDetectors: readonly Detector[] = [financialId, secrets, pii, crossUser];
