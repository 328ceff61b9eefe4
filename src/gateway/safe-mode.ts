import { withFields } from '../core/with-fields.js';
import type { ChatRequest, ChatResponse, RetrievedDocument, StreamEvent } from '../core/chat.js';
import { countTokens } from '../core/simulator-rules.js';
import type { CallPlan } from '../core/call-plan.js';

/**
 * Safe modes answered by the gateway itself (product.md §2): `handoff` says a human takes over,
 * `retrieval-only` returns the allowed retrieved passages without generation. (`limited` still calls
 * the model, with the restricted request from `limitedRequest`.) Answers are canonical, so every wire
 * format renders them, streaming included, and clients do not break.
 */
export function localAnswerText(plan: CallPlan): string {
  const spec = plan.safeModeSpec;
  if (plan.safeMode !== 'retrieval-only') return spec.handoffMessage;
  if (plan.kept.length === 0)
    return `${spec.retrievalOnlyIntro}\n(no documents were found for this question)`;
  return [
    spec.retrievalOnlyIntro,
    ...plan.kept.map((d: RetrievedDocument) => `- [${d.source}] ${d.text}`),
  ].join('\n');
}

export function localResponse(id: string, model: string, text: string, promptText: string): ChatResponse {
  return {
    id,
    model,
    created: Math.floor(Date.now() / 1000),
    choices: [{ index: 0, text, toolCalls: [], finishReason: 'stop' }],
    usage: { promptTokens: countTokens(promptText), completionTokens: countTokens(text) },
  };
}

export function localEvents(resp: ChatResponse): StreamEvent[] {
  const choice = resp.choices[0];
  return [
    { type: 'text', index: 0, delta: choice?.text ?? '' },
    { type: 'finish', index: 0, reason: 'stop' },
    { type: 'usage', usage: resp.usage },
  ];
}

/** `limited`: the restricted prompt, no tools and a small token budget, on the same model chain. */
export function limitedRequest(plan: CallPlan, original: ChatRequest): ChatRequest {
  const { tools: _tools, toolChoice: _choice, ...rest } = original;
  return withFields(rest, {
    messages: [
      { role: 'system', content: plan.safeModeSpec.limitedSystem },
      ...original.messages.filter((m) => m.role !== 'system' && m.role !== 'tool' && !m.toolCalls?.length),
    ],
    maxTokens: Math.min(
      original.maxTokens ?? plan.safeModeSpec.limitedMaxTokens,
      plan.safeModeSpec.limitedMaxTokens,
    ),
  });
}
