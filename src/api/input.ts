import { z } from 'zod';
import { FirebreakError } from '../core/errors.js';
import { hasControlCharacters, parseWith } from '../core/validation.js';

/**
 * Request input for /api: a strict object schema, with unknown fields named before anything else so
 * a misspelt field (`reson`) is reported as that, not as a missing `reason`.
 */
export function parseInput<S extends z.ZodObject>(schema: S, value: unknown, what: string): z.infer<S> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const allowed = Object.keys(schema.shape);
    const unknown = Object.keys(value).find((k) => !allowed.includes(k));
    if (unknown !== undefined)
      throw new FirebreakError(
        'validation_failed',
        `${what}: unknown field "${unknown}" (allowed: ${allowed.join(', ')})`,
        { path: unknown },
      );
  }
  // No body at all (or no query string) is an empty object; a JSON `null` body is still refused.
  return parseWith(schema, value === undefined ? {} : value, what);
}

/** Free text a person typed (names, ids, reasons): bounded so a row can never be absurdly large. */
export const text = (max: number) =>
  z
    .string()
    .trim()
    .min(1, 'must not be empty')
    .max(max)
    // PostgreSQL cannot store NUL in text, and no person types control characters into a reason.
    .refine((t) => !hasControlCharacters(t), 'must not contain control characters');
/** Query-string integers arrive as text. */
export const queryInt = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,9}$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));
/** `?all=true`: query-string booleans. */
export const queryBool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
