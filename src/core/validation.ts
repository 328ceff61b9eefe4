import type { z } from 'zod';
import { FirebreakError } from './errors.js';

/** C0 control characters other than tab, newline and carriage return, and DEL (NUL among them). */
export function hasControlCharacters(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < 32 && c !== 9 && c !== 10 && c !== 13) || c === 127) return true;
  }
  return false;
}

/** `messages[0].content` from a Zod path. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += (out ? '.' : '') + String(key);
  }
  return out;
}

/**
 * A union's own issue says only "Invalid input" at the union; the branch that got furthest into the
 * value (e.g. the array of content blocks, not the string) says what is wrong, and where.
 */
function deepest(issue: z.core.$ZodIssue): { path: PropertyKey[]; message: string } {
  if (issue.code === 'invalid_union') {
    let best: z.core.$ZodIssue | undefined;
    for (const branch of issue.errors) {
      const first = branch[0];
      if (first && first.path.length > (best?.path.length ?? 0)) best = first;
    }
    if (best) {
      const inner = deepest(best);
      return { path: [...issue.path, ...inner.path], message: inner.message };
    }
  }
  return { path: issue.path, message: issue.message };
}

/** Parses with a schema; the first issue becomes one precise validation_failed error. */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const first = result.error.issues[0];
  const issue = first ? deepest(first) : undefined;
  const path = issue ? formatPath(issue.path) : '';
  const message = issue?.message ?? 'invalid';
  throw new FirebreakError(
    'validation_failed',
    path ? `${what}: ${path}: ${message}` : `${what}: ${message}`,
    path ? { path } : {},
  );
}
