import { describe, expect, it } from 'vitest';
import {
  formatTraceparent,
  isValidTraceId,
  parseTraceparent,
  w3cTraceIdFor,
} from '../../src/core/trace-id.js';
import { identify } from '../../src/gateway/request-identity.js';

describe('trace identity', () => {
  it('parses a valid W3C traceparent and rejects invalid ones', () => {
    expect(parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')).toEqual({
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      parentId: '00f067aa0ba902b7',
      flags: '01',
    });
    for (const bad of [
      'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
      '00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01',
      'garbage',
    ])
      expect(parseTraceparent(bad), bad).toBeUndefined();
  });

  it('accepts short opaque X-AI-Trace-Id values only', () => {
    expect(isValidTraceId('checkout-42:retry.1_a')).toBe(true);
    expect(isValidTraceId('has space')).toBe(false);
    expect(isValidTraceId('x'.repeat(129))).toBe(false);
  });

  it('reuses a W3C-shaped trace id upstream, or makes a fresh one', () => {
    expect(w3cTraceIdFor('4BF92F3577B34DA6A3CE929D0E0E4736', () => 'fresh')).toBe(
      '4bf92f3577b34da6a3ce929d0e0e4736',
    );
    expect(w3cTraceIdFor('order-7', () => 'fresh')).toBe('fresh');
    expect(formatTraceparent('a'.repeat(32), 'b'.repeat(16))).toBe(
      `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`,
    );
  });

  it('derives identity from headers: X-AI-Trace-Id wins, traceparent next, else generated', () => {
    const parent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const fromParent = identify({ traceparent: parent });
    expect(fromParent.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(fromParent.upstreamTraceparent).toMatch(/^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
    expect(fromParent.upstreamTraceparent).not.toContain('00f067aa0ba902b7');
    const explicit = identify(
      { 'x-ai-trace-id': 'order-7', traceparent: parent, 'x-firebreak-user': 'u1' },
      'body-user',
    );
    expect(explicit.traceId).toBe('order-7');
    expect(explicit.userId).toBe('u1');
    expect(identify({}, 'body-user').userId).toBe('body-user');
    expect(identify({}).traceId).toMatch(/^[0-9a-f]{32}$/);
  });

  it('generates trace ids that grow with time (so they append to the trace-id index) and differ within a millisecond', () => {
    const before = Date.now();
    const ids = Array.from({ length: 2000 }, () => identify({}).traceId);
    const after = Date.now();
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) {
      expect(id).toMatch(/^[0-9a-f]{32}$/);
      const ms = parseInt(id.slice(0, 12), 16);
      expect(ms).toBeGreaterThanOrEqual(before);
      expect(ms).toBeLessThanOrEqual(after);
    }
    // Forwarded upstream as it is: already a W3C trace id.
    const first = identify({});
    expect(first.w3cTraceId).toBe(first.traceId);
    const sorted = [...ids].sort();
    expect(sorted.map((id) => id.slice(0, 12))).toEqual(ids.map((id) => id.slice(0, 12)));
    expect(() => identify({ 'x-ai-trace-id': 'bad id' })).toThrow(/X-AI-Trace-Id/);
    expect(() => identify({ 'x-firebreak-user': 'u'.repeat(300) })).toThrow(
      /x-firebreak-user is longer than 256/,
    );
  });
});
