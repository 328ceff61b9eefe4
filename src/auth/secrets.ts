import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Keys and tokens are stored only as SHA-256 digests; they are long random strings, so no KDF is needed. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** A new secret with a recognisable prefix (`fbk_` gateway keys, `fbt_` API tokens) for secret scanners. */
export function generateSecret(prefix: 'fbk' | 'fbt'): string {
  return `${prefix}_${randomBytes(24).toString('base64url')}`;
}

export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(8).toString('hex')}`;
}

/** Constant-time comparison of two hex digests. */
export function sameDigest(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}
