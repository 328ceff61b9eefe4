import { describe, expect, it } from 'vitest';
import { openAiChatRequestSchema, parseOpenAiChat } from '../../src/core/wire/openai-request.js';
import { plainChatRequest } from '../../src/core/wire/openai-request-plain.js';
import { prng } from '../support/malformed.js';

const long = 'x'.repeat(257);
const values: Record<string, readonly unknown[]> = {
  model: ['gpt-4o', '', long, 'x'.repeat(256), 7, null],
  stream: [true, false, 'yes', null],
  n: [1, 16, 0, 17, 2.5, '2', null, 2 ** 60],
  max_tokens: [1, 0, null, 1.5, -3, 2 ** 60, '10'],
  max_completion_tokens: [100, 0, null],
  temperature: [0, 2, 2.0001, -0.1, 1.3, null, '1'],
  top_p: [0, 1, 1.5, 0.9, null],
  stop: ['\n', ['a', 'b'], ['a', 'b', 'c', 'd', 'e'], [1], null, 3],
  user: ['u-1', long, 5, null],
  safety_identifier: ['s-1', long],
  stream_options: [{ include_usage: true }, null],
  tools: [[], [{ type: 'function', function: { name: 'f' } }]],
  tool_choice: ['auto', 'sometimes'],
  firebreak: [{ retrieved: [] }, {}],
  metadata: [{ a: 1 }, 'free-form', null],
  seed: [42],
};
const messageValues: readonly unknown[] = [
  { role: 'user', content: 'hi' },
  { role: 'user', content: 'hi', name: 'ann' },
  { role: 'user', content: 'hi', name: null },
  { role: 'user', content: [{ type: 'text', text: 'hi' }] },
  { role: 'user' },
  { role: 'user', content: 'hi', extra_field: { kept: true } },
  { role: 'system', content: 'be brief' },
  { role: 'developer', content: 'be brief' },
  { role: 'assistant', content: null },
  { role: 'assistant' },
  { role: 'assistant', content: 'ok' },
  { role: 'assistant', content: 'ok', tool_calls: [{ id: 'c1', function: { name: 'f', arguments: '{}' } }] },
  { role: 'assistant', content: 'ok', tool_calls: null },
  { role: 'tool', content: '42', tool_call_id: 'c1' },
  { role: 'tool', content: '42', tool_call_id: '' },
  { role: 'tool', content: '42' },
  { role: 'robot', content: 'beep' },
  'not a message',
  null,
];

const plainMessages = messageValues.filter((m, i) => [0, 1, 5, 6, 7, 8, 9, 10, 13].includes(i) && m !== null);

function body(next: () => number): unknown {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)] as T;
  const out: Record<string, unknown> = {};
  if (next() < 0.95) out['model'] = next() < 0.7 ? 'gpt-4o' : pick(values['model'] ?? []);
  if (next() < 0.95) {
    // Mostly plain conversations (from the first six), some drawn from every shape above.
    const from = next() < 0.6 ? plainMessages : messageValues;
    out['messages'] =
      next() < 0.05 ? [] : Array.from({ length: 1 + Math.floor(next() * 4) }, () => pick(from));
  }
  for (const [k, list] of Object.entries(values)) if (k !== 'model' && next() < 0.15) out[k] = pick(list);
  return out;
}

describe('plainChatRequest (the common request without Zod)', () => {
  it('accepts only what the schema accepts, returning what the schema returns', () => {
    const next = prng(20261128);
    let plain = 0;
    let refusedButValid = 0;
    for (let i = 0; i < 20_000; i++) {
      const b = body(next);
      const fast = plainChatRequest(b);
      const slow = openAiChatRequestSchema.safeParse(b);
      if (fast !== undefined) {
        plain++;
        expect(slow.success, JSON.stringify(b)).toBe(true);
        expect(slow.data, JSON.stringify(b)).toEqual(fast);
      } else if (slow.success) refusedButValid++;
    }
    // Both paths are exercised: many bodies take the fast path, and some valid ones are left to Zod.
    expect(plain).toBeGreaterThan(1_000);
    expect(refusedButValid).toBeGreaterThan(500);
  });

  it('leaves tools, tool calls, stream options and the extension to the schema', () => {
    const base = { model: 'm', messages: [{ role: 'user', content: 'hi' }] };
    expect(plainChatRequest(base)).toBe(base);
    for (const extra of [
      { tools: [{ type: 'function', function: { name: 'f' } }] },
      { tool_choice: 'auto' },
      { stream_options: { include_usage: true } },
      { firebreak: { retrieved: [] } },
      { messages: [{ role: 'assistant', content: 'x', tool_calls: [] }] },
      { messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }] },
    ])
      expect(plainChatRequest({ ...base, ...extra })).toBeUndefined();
  });

  it('parses a plain request to the same call as before, and still words the schema errors', () => {
    const parsed = parseOpenAiChat({
      model: 'gpt-4o',
      messages: [
        { role: 'developer', content: 'be brief' },
        { role: 'user', content: 'hi', name: 'ann' },
      ],
      temperature: 0.5,
      stop: 'END',
      seed: 7,
      user: 'u-1',
    });
    expect(parsed.request).toMatchObject({
      model: 'gpt-4o',
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'hi', name: 'ann' },
      ],
      temperature: 0.5,
      stop: ['END'],
      extra: { seed: 7 },
      user: 'u-1',
    });
    expect(parsed.endUser).toBe('u-1');
    expect(() => parseOpenAiChat({ model: 'gpt-4o', messages: [{ role: 'user' }] })).toThrow(
      /invalid request: messages\[0\]\.content/,
    );
  });
});
