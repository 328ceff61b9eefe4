import { luhn as luhnDigits } from './guards/detectors/pii-financial-ids.js';
import type { PiiKind } from './guards/detectors/pii-match.js';
import { FINANCIAL_KINDS, findPii } from './guards/detectors/pii.js';
import { findSecrets } from './guards/detectors/secrets.js';

/**
 * Redaction of secrets and common PII in stored traces and logs. It reuses the privacy detectors'
 * matchers (core/guards/detectors: pii.ts, secrets.ts), so a trace is cleaned of exactly what the guards
 * recognise: every credential rule including the ones below the guard's threshold (placeholders and
 * key-shaped tokens: over-redacting a stored trace costs nothing), and the identifying kinds of PII
 * (e-mail, payment card, IBAN, SSN and the other national ids). Phone numbers, IP and street addresses
 * are kept: they are heuristic and often the subject of the call (a support ticket's callback number).
 * Runs in the trace recorder's background flush, never on the request path.
 */

/** Luhn check over the digits of `text` (13 to 19 of them; separators ignored). */
export function luhn(text: string): boolean {
  const digits = text.replace(/\D/g, '');
  return digits.length >= 13 && digits.length <= 19 && luhnDigits(digits);
}

const PII_KINDS: readonly PiiKind[] = ['email', ...FINANCIAL_KINDS];
/** PII matches below this score (a spaced `123 45 6789` with no SSN label) are left alone. */
const PII_MIN_SCORE = 0.5;

/**
 * The cheap pre-check for PII (most strings hold none): no `@`, no run of 9+ digits, spaces and dashes,
 * no 6 digits together (a NINO's, a DNI's, a NIE's) and no digit groups split by single spaces or dots
 * (`AB 12 34 56 C`, `12.345.678-Z`, `1234.56.782`) means no e-mail, card, IBAN or national id. Secrets
 * have their own: findSecrets walks the text once for its rules' keywords and stops there when none
 * occurs.
 */
const MAYBE_PII = /@|\d[\d -]{8,}|\d{6}|\d[ .]\d{2,3}[ .]\d/;

interface Cut {
  readonly start: number;
  readonly end: number;
  readonly label: string;
}

export function redactText(text: string): string {
  const cuts: Cut[] = findSecrets(text).map((m) => ({ start: m.start, end: m.end, label: m.id }));
  if (MAYBE_PII.test(text))
    for (const m of findPii(text, PII_KINDS))
      if (m.score >= PII_MIN_SCORE) cuts.push({ start: m.start, end: m.end, label: m.kind });
  cuts.sort((a, b) => a.start - b.start || b.end - a.end);
  if (cuts.length === 0) return text;
  let out = '';
  let at = 0;
  for (const c of cuts) {
    // Overlapping matches (an e-mail inside a URL's credentials) are merged into the first one.
    if (c.end <= at) continue;
    out += text.slice(at, Math.max(at, c.start));
    if (c.start >= at) out += `[REDACTED:${c.label}]`;
    at = c.end;
  }
  return out + text.slice(at);
}

/**
 * Redacts every string inside a JSON-shaped value. Copy on write: what holds nothing to redact is
 * returned as it is (the same object), so a clean trace body costs a walk and no copies, and its caller
 * can tell by identity that nothing changed (the trace worker then stores the body's JSON text as it came).
 */
export function redactDeep(value: unknown): unknown {
  if (typeof value === 'string') return redactText(value);
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      const r = redactDeep(v);
      if (r !== v) (out ??= value.slice())[i] = r;
    }
    return out ?? value;
  }
  if (value !== null && typeof value === 'object') {
    let out: Record<string, unknown> | undefined;
    for (const k of Object.keys(value)) {
      const v = (value as Record<string, unknown>)[k];
      const r = redactDeep(v);
      if (r === v) continue;
      out ??= { ...value };
      // A defined property, not an assignment: a `__proto__` key (JSON.parse makes it an own property)
      // must stay a key, not become the copy's prototype.
      Object.defineProperty(out, k, { value: r, enumerable: true, writable: true, configurable: true });
    }
    return out ?? value;
  }
  return value;
}
