import type { WithheldCall } from '../chat.js';

/**
 * `firebreak: {withheld_tool_calls: […]}`: the tool calls the gateway took out of an answer, in snake case
 * like the rest of both wire formats. On an OpenAI choice (not its message, which agents send back as
 * conversation history, where an unknown field would be refused) and on an Anthropic message (its
 * `message_delta` event when streamed). Empty when nothing was withheld, so answers without it are
 * byte-for-byte what the provider's own API returns.
 */
export function withheldExtension(withheld: readonly WithheldCall[] | undefined): {
  firebreak?: { withheld_tool_calls: Record<string, unknown>[] };
} {
  if (!withheld || withheld.length === 0) return {};
  return {
    firebreak: {
      withheld_tool_calls: withheld.map((w) => ({
        id: w.id,
        name: w.name,
        decision: w.decision,
        ...(w.approvalId !== undefined ? { approval_id: w.approvalId } : {}),
        reasons: w.reasons,
      })),
    },
  };
}
