import type { z } from 'zod';
import { FirebreakError } from './errors.js';

/** `messages[0].content` from a Zod path. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += (out ? '.' : '') + String(key);
  }
  return out;
}

/** Parses with a schema; the first issue becomes one precise validation_failed error. */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = issue ? formatPath(issue.path) : '';
  const message = issue?.message ?? 'invalid';
  throw new FirebreakError(
    'validation_failed',
    path ? `${what}: ${path}: ${message}` : `${what}: ${message}`,
    path ? { path } : {},
  );
}
