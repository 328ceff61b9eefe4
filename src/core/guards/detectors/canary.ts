import type { Detector, GuardContext } from '../types.js';

/**
 * Canary tokens: strings planted in a release's prompt or in documents that no answer or tool argument
 * should ever contain. Any appearance (case-insensitive) is a SEV1 privacy finding: it proves the prompt
 * or a confidential document leaked, whatever the model was asked.
 */
export const canary: Detector = {
  id: 'canary',
  class: 'privacy',
  owasp: 'LLM07',
  stages: ['output', 'tool_call'],
  defaultAction: 'block',
  defaultThreshold: 1,
  description: 'a canary token planted in the prompt or documents appears in output or tool arguments',
  detect(text, ctx) {
    if (ctx.canaries.length === 0) return [];
    const hay = text.toLowerCase();
    const out = [];
    for (const token of ctx.canaries) {
      const needle = token.toLowerCase();
      for (let at = hay.indexOf(needle); at >= 0; at = hay.indexOf(needle, at + needle.length))
        out.push({
          score: 1,
          span: { start: at, end: at + needle.length },
          message: 'a canary token appeared: the prompt or a confidential document leaked',
          severity: 'SEV1' as const,
        });
    }
    return out;
  },
  pendingFrom: (text, ctx) => pendingPrefix(text, ctx),
};

/** The earliest index whose suffix is a proper prefix of a canary (that text could still become one). */
function pendingPrefix(text: string, ctx: GuardContext): number {
  let from = text.length;
  const hay = text.toLowerCase();
  for (const token of ctx.canaries) {
    const needle = token.toLowerCase();
    const max = Math.min(needle.length - 1, hay.length);
    for (let len = max; len > 0; len--)
      if (hay.endsWith(needle.slice(0, len))) {
        from = Math.min(from, hay.length - len);
        break;
      }
  }
  return from;
}
