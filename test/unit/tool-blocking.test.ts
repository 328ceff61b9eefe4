import { describe, expect, it } from 'vitest';
import type { StreamEvent, ToolCall } from '../../src/core/chat.js';
import { toolBlockOf } from '../../src/core/call-plan.js';
import { blockStreamedToolCalls } from '../../src/gateway/tool-blocking.js';

async function run(
  events: StreamEvent[],
  disabled: string[],
): Promise<{ out: StreamEvent[]; blocked: ToolCall[] }> {
  const blocked: ToolCall[] = [];
  const out: StreamEvent[] = [];
  const block = toolBlockOf({ disabledTools: new Set(disabled), safeMode: 'off' });
  for await (const e of blockStreamedToolCalls(events, block, (c) => blocked.push(c))) out.push(e);
  return { out, blocked };
}

describe('streamed tool-call blocking', () => {
  it('holds back deltas until the name is known, so a blocked call never leaks (even if its name comes late)', async () => {
    const { out, blocked } = await run(
      [
        { type: 'tool_call', index: 0, callIndex: 0, id: 'c1', argumentsDelta: '' },
        { type: 'tool_call', index: 0, callIndex: 0, name: 'send_email', argumentsDelta: '{"to":' },
        { type: 'tool_call', index: 0, callIndex: 0, argumentsDelta: '"x@evil.example"}' },
        { type: 'tool_call', index: 0, callIndex: 1, id: 'c2', argumentsDelta: '' },
        { type: 'tool_call', index: 0, callIndex: 1, name: 'lookup', argumentsDelta: '{}' },
        { type: 'finish', index: 0, reason: 'tool_calls' },
      ],
      ['send_email'],
    );
    expect(JSON.stringify(out)).not.toContain('evil');
    expect(out.flatMap((e) => (e.type === 'tool_call' ? [e.callIndex] : []))).toEqual([1, 1]);
    expect(blocked).toEqual([{ id: 'c1', name: 'send_email', arguments: '{"to":"x@evil.example"}' }]);
  });

  it('replaces a choice whose only calls are blocked with a notice and finish "stop"', async () => {
    const { out } = await run(
      [
        { type: 'tool_call', index: 0, callIndex: 0, id: 'c1', name: 'send_email', argumentsDelta: '{}' },
        { type: 'finish', index: 0, reason: 'tool_calls' },
      ],
      ['send_email'],
    );
    expect(out).toEqual([
      { type: 'text', index: 0, delta: expect.stringContaining('blocked "send_email"') as unknown },
      { type: 'finish', index: 0, reason: 'stop' },
    ]);
  });

  it('passes everything through when nothing is switched off', async () => {
    const events: StreamEvent[] = [
      { type: 'text', index: 0, delta: 'hi' },
      { type: 'finish', index: 0, reason: 'stop' },
    ];
    expect((await run(events, [])).out).toEqual(events);
  });
});
