/**
 * Redaction of secrets and common PII in stored traces and logs. A first, conservative set of
 * linear-time patterns (no nested quantifiers); the detector framework will extend it. Runs in the trace
 * recorder's background flush, never on the request path.
 */
interface Rule {
  readonly kind: string;
  readonly pattern: RegExp;
  /** Extra check on a match (e.g. Luhn), so digit runs that are not card numbers survive. */
  readonly accept?: (match: string) => boolean;
}

const rules: readonly Rule[] = [
  {
    kind: 'private_key',
    pattern: /-----BEGIN [A-Z ]{0,40}PRIVATE KEY-----[\s\S]{0,10000}?-----END [A-Z ]{0,40}PRIVATE KEY-----/g,
  },
  { kind: 'jwt', pattern: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g },
  {
    kind: 'api_key',
    pattern:
      /\b(?:sk-(?:ant-|proj-)?[A-Za-z0-9_-]{20,}|AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{36,}|xox[abposr]-[A-Za-z0-9-]{10,}|AIza[0-9A-Za-z_-]{35}|fbk_[A-Za-z0-9_-]{20,})/g,
  },
  {
    kind: 'connection_string',
    pattern: /\b[a-z][a-z0-9+.-]{1,20}:\/\/[^\s:/@]{1,100}:[^\s@/]{1,200}@[^\s/]{1,200}/g,
  },
  { kind: 'bearer', pattern: /\bBearer\s+[A-Za-z0-9._~+/-]{16,}=*/g },
  {
    kind: 'email',
    pattern: /\b[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,8}\.[A-Za-z]{2,24}\b/g,
  },
  { kind: 'card', pattern: /\b\d(?:[ -]?\d){12,18}\b/g, accept: luhn },
  { kind: 'ssn', pattern: /\b(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}\b/g },
];

export function luhn(text: string): boolean {
  const digits = text.replace(/\D/g, '');
  if (digits.length < 13 || digits.length > 19) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/**
 * One cheap pre-check for the common case (nothing to redact): a string with no `@`, no run of 9+
 * digits/dashes and none of the secret prefixes cannot match any rule.
 */
const MAYBE = /@|\d[\d -]{8,}|-----BEGIN|eyJ|sk-|AKIA|gh[pousr]_|xox[abposr]-|AIza|fbk_|Bearer|:\/\//;

export function redactText(text: string): string {
  if (!MAYBE.test(text)) return text;
  let out = text;
  for (const rule of rules) {
    rule.pattern.lastIndex = 0;
    if (!rule.pattern.test(out)) continue;
    rule.pattern.lastIndex = 0;
    out = out.replace(rule.pattern, (m) => (rule.accept && !rule.accept(m) ? m : `[REDACTED:${rule.kind}]`));
  }
  return out;
}

/** Redacts every string inside a JSON-shaped value; returns a new value. */
export function redactDeep(value: unknown): unknown {
  if (typeof value === 'string') return redactText(value);
  if (Array.isArray(value)) return value.map(redactDeep);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = redactDeep(v);
    return out;
  }
  return value;
}
