/** A personal-data match in free text, and the character classes the PII finders share. */

export type PiiKind =
  | 'email'
  | 'phone'
  | 'card'
  | 'iban'
  | 'ssn'
  | 'nino'
  | 'sin'
  | 'aadhaar'
  | 'dni'
  | 'nie'
  | 'bsn'
  | 'ip'
  | 'address';

export interface PiiMatch {
  readonly kind: PiiKind;
  readonly start: number;
  readonly end: number;
  /** 0..1: 1 for checksum-backed or exact formats, lower for heuristics (phones, addresses). */
  readonly score: number;
}

export const isDigit = (c: number): boolean => c >= 48 && c <= 57;
export const isAlpha = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
export const isWordChar = (c: number): boolean => isDigit(c) || isAlpha(c) || c === 95;
