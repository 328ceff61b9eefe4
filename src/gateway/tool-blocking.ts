import type { ChatResponse, Choice, StreamEvent, ToolCall } from '../core/chat.js';
import { blockedToolNotice, partitionToolCalls, type ToolBlock } from '../core/call-plan.js';

/**
 * Kill-switched tools are removed from what goes upstream; a call to one that still comes back (a model
 * that ignores the tool list, a cached prompt) is taken out of the answer and replaced by a notice, so
 * the client never executes it.
 */
export function blockToolCalls(
  resp: ChatResponse,
  block: ToolBlock | undefined,
): { response: ChatResponse; blocked: ToolCall[] } {
  if (!block) return { response: resp, blocked: [] };
  const blocked: ToolCall[] = [];
  const choices = resp.choices.map((c): Choice => {
    const split = partitionToolCalls(c.toolCalls, block);
    if (split.blocked.length === 0) return c;
    blocked.push(...split.blocked);
    if (split.allowed.length > 0) return { ...c, toolCalls: split.allowed };
    const notice = blockedToolNotice(
      split.blocked.map((b) => b.name),
      block.why(split.blocked[0]?.name ?? ''),
    );
    return { ...c, toolCalls: [], text: c.text ? `${c.text}\n${notice}` : notice, finishReason: 'stop' };
  });
  return { response: blocked.length === 0 ? resp : { ...resp, choices }, blocked };
}

/** The same for a stream: a blocked call's deltas are never sent; the notice comes before `finish`. */
export async function* blockStreamedToolCalls(
  events: AsyncIterable<StreamEvent> | Iterable<StreamEvent>,
  block: ToolBlock | undefined,
  onBlocked: (call: ToolCall) => void,
): AsyncGenerator<StreamEvent> {
  if (!block) {
    yield* events;
    return;
  }
  const blocked = new Map<string, { id: string; name: string; arguments: string }>();
  const allowed = new Set<string>();
  // Deltas of a call whose name has not arrived yet are held back: it may turn out to be blocked.
  const unnamed = new Map<string, StreamEvent[]>();
  const allowedPerChoice = new Map<number, number>();
  const blockedPerChoice = new Map<number, string[]>();
  for await (const e of events) {
    if (e.type === 'tool_call') {
      const k = `${e.index}:${e.callIndex}`;
      const held = blocked.get(k);
      if (held) {
        held.arguments += e.argumentsDelta;
        continue;
      }
      if (allowed.has(k)) {
        yield e;
        continue;
      }
      if (e.name === undefined) {
        unnamed.set(k, [...(unnamed.get(k) ?? []), e]);
        continue;
      }
      const earlier = unnamed.get(k) ?? [];
      unnamed.delete(k);
      if (block.blocks(e.name)) {
        const args = earlier.map((x) => (x.type === 'tool_call' ? x.argumentsDelta : '')).join('');
        const id = earlier.find((x) => x.type === 'tool_call' && x.id !== undefined);
        blocked.set(k, {
          id: e.id ?? (id?.type === 'tool_call' ? (id.id ?? '') : ''),
          name: e.name,
          arguments: args + e.argumentsDelta,
        });
        blockedPerChoice.set(e.index, [...(blockedPerChoice.get(e.index) ?? []), e.name]);
        continue;
      }
      allowed.add(k);
      allowedPerChoice.set(e.index, (allowedPerChoice.get(e.index) ?? 0) + 1);
      yield* earlier;
      yield e;
    } else if (e.type === 'finish' && blockedPerChoice.has(e.index) && !allowedPerChoice.has(e.index)) {
      const names = blockedPerChoice.get(e.index) ?? [];
      yield { type: 'text', index: e.index, delta: blockedToolNotice(names, block.why(names[0] ?? '')) };
      yield { type: 'finish', index: e.index, reason: 'stop' };
    } else yield e;
  }
  // A call whose name never came cannot be judged: it is dropped rather than passed on unchecked.
  for (const call of blocked.values()) onBlocked(call);
}
