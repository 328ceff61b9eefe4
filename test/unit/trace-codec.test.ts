import { describe, expect, it } from 'vitest';
import type { TraceRecord } from '../../src/core/trace.js';
import { decodeBatch, decodeTrace, encodeTrace } from '../../src/gateway/trace-codec.js';
import { marksOf, toRow } from '../../src/store/trace-rows.js';
import { seedTrace } from '../support/trace-record.js';

/** A seeded trace whose body holds characters JSON escapes and a number in the response. */
function trace(overrides: Partial<TraceRecord> = {}): TraceRecord {
  const t = seedTrace({ id: 'tr_1', traceId: 't-1', ts: 1_800_000_000_000, userId: 'u-1', ...overrides });
  return {
    ...t,
    body: overrides.body ?? {
      ...t.body,
      request: { model: 'sim-1', messages: [{ role: 'user', content: 'héllo ✓ "quoted" \\ \n' }] },
      response: { created: 1_700_000_000, text: 'hi' },
    },
  };
}

describe('trace codec (recorder → trace worker)', () => {
  it('decodes to the row and marks the record maps to, keeping a clean body as the text it came in', () => {
    const t = trace();
    const entry = encodeTrace(t);
    const { row, marks } = decodeTrace(entry, true);
    expect(row).toEqual(toRow(t));
    expect(marks).toEqual([]);
    // The body column is the very text encodeTrace wrote for it (no re-encoding).
    expect(entry.endsWith(`,${row.body}]`)).toBe(true);
  });

  it('redacts the body when recording redacts, and not otherwise', () => {
    const t = trace({
      body: {
        ...trace().body,
        request: { messages: [{ role: 'user', content: 'mail me at a.b@example.com' }] },
      },
    });
    const redacted = decodeTrace(encodeTrace(t), true).row.body;
    expect(redacted).toContain('[REDACTED:email]');
    expect(redacted).not.toContain('a.b@example.com');
    expect(decodeTrace(encodeTrace(t), false).row.body).toContain('a.b@example.com');
  });

  it('finds the body even when a column holds the text of its start', () => {
    const t = trace({ model: 'x",{"request":{"evil":1},"y":"', userId: ',{"request":' });
    const { row } = decodeTrace(encodeTrace(t), true);
    expect(row).toEqual(toRow(t));
  });

  it('parses a trace whose body starts with another key whole', () => {
    const { request: _request, ...rest } = trace().body;
    const t = trace({ body: { ...rest, request: { note: 'x@y.io' } } });
    const { row } = decodeTrace(encodeTrace(t), true);
    expect(JSON.parse(row.body)).toEqual({ ...t.body, request: { note: '[REDACTED:email]' } });
    expect({ ...row, body: '' }).toEqual({ ...toRow(t), body: '' });
  });

  it('marks findings, tools and a status other than ok, as marksOf does', () => {
    const t = trace({
      status: 'blocked',
      body: {
        ...trace().body,
        toolCalls: [{ id: 'c1', name: 'send_email', arguments: '{}' }],
        findings: [
          {
            detector: 'secrets',
            class: 'privacy',
            score: 1,
            action: 'block',
            stage: 'output',
            message: 'an API key',
          },
        ],
      },
    });
    const { marks } = decodeTrace(encodeTrace(t), true);
    expect(marks.map((m) => `${m.kind}:${m.value}`).sort()).toEqual(
      ['class:privacy', 'detector:secrets', 'status:blocked', 'tool:send_email'].sort(),
    );
    expect(marks).toEqual(marksOf(t, t.body));
  });

  it('parses an entry with its keys in another order whole', () => {
    const t = trace({ body: { ...trace().body, request: { note: 'x@y.io' } } });
    const { body, ...head } = t;
    const reordered = JSON.stringify({ body, ...head });
    const { row } = decodeTrace(reordered, true);
    expect(row.id).toBe('tr_1');
    expect(row.model).toBe('sim-1');
    expect(row.body).toContain('[REDACTED:email]');
    expect(row).toEqual(decodeTrace(encodeTrace(t), true).row);
  });

  it('decodes a batch in order', () => {
    const { rows, marks } = decodeBatch(
      [encodeTrace(trace({ id: 'a' })), encodeTrace(trace({ id: 'b', status: 'error' }))],
      true,
    );
    expect(rows.map((r) => r.id)).toEqual(['a', 'b']);
    expect(marks.map((m) => `${m.trace_row}:${m.value}`)).toEqual(['b:error']);
  });
});
