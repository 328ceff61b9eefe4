import { describe, expect, it } from 'vitest';
import { luhn, redactDeep, redactText } from '../../src/core/redact.js';
import { parseTimeSpec } from '../../src/core/time-spec.js';
import { decodeCursor, encodeCursor } from '../../src/core/trace.js';

describe('redaction', () => {
  it('redacts secrets and PII, keeps ordinary text and digit runs that fail Luhn', () => {
    const text =
      'mail a.b@example.co.uk, card 4111-1111-1111-1111, order 1234567890123, ssn 123-45-6789, ' +
      'key sk-proj-abcdefghijklmnopqrstuvwxyz012345, aws AKIAIOSFODNN7EXAMPLE, db postgres://u:secret@db:5432/x, ' +
      'jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U';
    const out = redactText(text);
    for (const secret of [
      'a.b@example.co.uk',
      '4111-1111-1111-1111',
      '123-45-6789',
      'sk-proj-',
      'AKIAIOSFODNN7EXAMPLE',
      'u:secret@',
      'eyJhbGci',
    ])
      expect(out).not.toContain(secret);
    expect(out).toContain('order 1234567890123');
    expect(out).toContain('[REDACTED:email]');
    expect(out).toContain('[REDACTED:card]');
    expect(luhn('4111111111111111')).toBe(true);
    expect(luhn('4111111111111112')).toBe(false);
  });

  it('walks JSON values without changing their shape', () => {
    expect(redactDeep({ a: ['x@y.io', 3, null, { b: 'ok' }], n: true })).toEqual({
      a: ['[REDACTED:email]', 3, null, { b: 'ok' }],
      n: true,
    });
  });

  it('copies only what changes, and leaves the input alone', () => {
    const clean = { a: ['ok', 3, { b: 'fine' }], n: null };
    expect(redactDeep(clean)).toBe(clean);
    const input = { keep: { b: 'fine' }, list: ['ok', 'mail x@y.io'] };
    const out = redactDeep(input) as typeof input;
    expect(out).not.toBe(input);
    expect(out.keep).toBe(input.keep);
    expect(out.list).toEqual(['ok', 'mail [REDACTED:email]']);
    expect(input.list[1]).toBe('mail x@y.io');
  });

  it('keeps a __proto__ key a key when redacting under it', () => {
    const input = JSON.parse('{"__proto__": "x@y.io", "a": 1}') as Record<string, unknown>;
    const out = redactDeep(input) as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(JSON.stringify(out)).toBe('{"__proto__":"[REDACTED:email]","a":1}');
  });

  it('stays linear on adversarial input', () => {
    // A catastrophic pattern would take seconds here; the assertion is on the result, not the time.
    const evil = `${'a'.repeat(50_000)}@${'b.'.repeat(20_000)}`;
    expect(redactText(evil).length).toBeGreaterThan(0);
  });
});

describe('time specs and cursors', () => {
  const now = Date.parse('2026-11-27T12:00:00Z');
  it('parses relative, ISO and epoch times', () => {
    expect(parseTimeSpec('30m', now)).toBe(now - 30 * 60_000);
    expect(parseTimeSpec('7d', now)).toBe(now - 7 * 86_400_000);
    expect(parseTimeSpec('2026-11-27T10:00:00Z', now)).toBe(Date.parse('2026-11-27T10:00:00Z'));
    expect(parseTimeSpec('1795790630906', now)).toBe(1795790630906);
    for (const bad of ['yesterday', '7 days', '2026-13-45', ''])
      expect(parseTimeSpec(bad, now), bad).toBeUndefined();
  });
  it('round-trips cursors and refuses forged ones', () => {
    const c = { ts: 1795790630906, id: 'tr_abc123' };
    expect(decodeCursor(encodeCursor(c))).toEqual(c);
    expect(decodeCursor('not-a-cursor')).toBeUndefined();
    expect(decodeCursor(Buffer.from("1:x' or 1=1").toString('base64url'))).toBeUndefined();
  });
});
