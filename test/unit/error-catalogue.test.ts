import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { errorCodes, errorStatus } from '../../src/core/errors.js';

describe('docs/errors.md', () => {
  const doc = readFileSync(join(import.meta.dirname, '../../docs/errors.md'), 'utf8');
  const rows = new Map(
    [...doc.matchAll(/^\|\s*`([a-z_]+)`\s*\|\s*(\d{3})\s*\|/gm)].map((m) => [m[1], Number(m[2])]),
  );

  it('lists every error code with its HTTP status', () => {
    for (const code of errorCodes) expect(rows.get(code), code).toBe(errorStatus[code]);
  });

  it('lists no code that does not exist', () => {
    expect([...rows.keys()].sort()).toEqual([...errorCodes].sort());
  });
});
