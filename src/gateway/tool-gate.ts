import type { ChatResponse, Choice, StreamEvent, ToolCall, WithheldCall } from '../core/chat.js';
import { withFields } from '../core/with-fields.js';
import type { PolicyFailure } from '../core/policy/policy-failure.js';
import type { ToolDecision } from '../core/policy/policy-settings.js';
import type { CallGuards } from './call-guards.js';
import type { CallTrace } from './call-trace.js';

/**
 * Every tool call a model returns is judged before the client sees it (kill switches, the release's
 * catalogue, guards on the arguments, the tool-call policy: tool-judge.ts). Calls that are not allowed
 * are taken out of the answer and replaced by a notice the client can show, so it never executes them.
 * Streamed calls are held until their choice finishes: a call is only usable once complete, and its
 * arguments must be seen whole before it can be judged.
 */
export interface ToolJudgement {
  readonly call: ToolCall;
  /** What the rules decided. */
  readonly decision: ToolDecision;
  /** What was done (`allow` for a decision made by a policy in shadow mode). */
  readonly enforced: ToolDecision;
  readonly reasons: readonly string[];
  /** Who decided: `flag`, `catalogue`, `guard`, `cedar`, `opa`, `none`. */
  readonly engine: string;
  readonly approvalId?: string;
  readonly error?: string;
  /** Why a policy could not decide (the `tool-policy` finding's kind); the call is then denied. */
  readonly failure?: PolicyFailure;
}

export type ToolJudge = (calls: readonly ToolCall[]) => Promise<readonly ToolJudgement[]>;

/** What the client reads instead of a call that did not go through. */
export function toolNotice(j: ToolJudgement): string {
  const why = j.reasons.join('; ') || 'no reason given';
  return j.enforced === 'require-approval'
    ? `Firebreak is holding "${j.call.name}" for approval (approval ${j.approvalId ?? '?'}): ${why}. Retry the same request once an operator has approved it.`
    : `Firebreak blocked "${j.call.name}": ${why}. The action was not performed.`;
}

/** The same for a program: the calls not let through, with their approval (chat.ts, WithheldCall). */
function withheldCalls(js: readonly ToolJudgement[]): WithheldCall[] {
  const out: WithheldCall[] = [];
  for (const j of js)
    if (j.enforced !== 'allow')
      out.push({
        id: j.call.id,
        name: j.call.name,
        decision: j.enforced,
        ...(j.approvalId !== undefined ? { approvalId: j.approvalId } : {}),
        reasons: j.reasons,
      });
  return out;
}

export async function gateToolCalls(
  resp: ChatResponse,
  judge: ToolJudge,
): Promise<{ response: ChatResponse; judgements: ToolJudgement[] }> {
  if (!resp.choices.some((c) => c.toolCalls.length > 0)) return { response: resp, judgements: [] };
  const judgements: ToolJudgement[] = [];
  const choices: Choice[] = [];
  for (const c of resp.choices) {
    if (c.toolCalls.length === 0) {
      choices.push(c);
      continue;
    }
    const js = await judge(c.toolCalls);
    judgements.push(...js);
    const allowed = js.filter((j) => j.enforced === 'allow').map((j) => j.call);
    const notices = js.filter((j) => j.enforced !== 'allow').map(toolNotice);
    if (notices.length === 0) {
      choices.push(c);
      continue;
    }
    const text = [c.text, ...notices].filter((t) => t).join('\n');
    const withheld = withheldCalls(js);
    choices.push(
      allowed.length > 0
        ? withFields(c, { toolCalls: allowed, text, withheld })
        : withFields(c, { toolCalls: [], text, finishReason: 'stop' as const, withheld }),
    );
  }
  return { response: withFields(resp, { choices }), judgements };
}

/** The same for a stream: a choice's tool-call deltas are held until it finishes, then judged. */
export async function* gateStreamedToolCalls(
  events: AsyncIterable<StreamEvent> | Iterable<StreamEvent>,
  judge: ToolJudge,
  onJudged: (js: readonly ToolJudgement[]) => void,
): AsyncGenerator<StreamEvent> {
  const held = new Map<number, StreamEvent[]>();
  for await (const e of events) {
    if (e.type === 'tool_call') {
      const list = held.get(e.index);
      if (list) list.push(e);
      else held.set(e.index, [e]);
    } else if (e.type === 'finish' && held.has(e.index)) {
      const calls = held.get(e.index) ?? [];
      held.delete(e.index);
      yield* release(e.index, calls, judge, onJudged, e);
    } else yield e;
  }
  // A stream that ended without finishing a choice: its complete-looking calls are still judged.
  for (const [index, calls] of held) yield* release(index, calls, judge, onJudged, undefined);
}

async function* release(
  index: number,
  events: readonly StreamEvent[],
  judge: ToolJudge,
  onJudged: (js: readonly ToolJudgement[]) => void,
  finish: StreamEvent | undefined,
): AsyncGenerator<StreamEvent> {
  const byCall = new Map<number, { id: string; name: string; arguments: string }>();
  for (const e of events) {
    if (e.type !== 'tool_call') continue;
    const c = byCall.get(e.callIndex) ?? { id: '', name: '', arguments: '' };
    if (e.id) c.id = e.id;
    if (e.name) c.name = e.name;
    c.arguments += e.argumentsDelta;
    byCall.set(e.callIndex, c);
  }
  const order = [...byCall.keys()].sort((a, b) => a - b);
  const js = await judge(order.map((k) => byCall.get(k) as ToolCall));
  onJudged(js);
  const allowed = new Set(order.filter((_, i) => js[i]?.enforced === 'allow'));
  for (const e of events) if (e.type === 'tool_call' && allowed.has(e.callIndex)) yield e;
  for (const j of js) if (j.enforced !== 'allow') yield { type: 'text', index, delta: `${toolNotice(j)}\n` };
  const withheld = withheldCalls(js);
  // A stream the upstream never finished gets no finish event; its notices still name the approvals.
  if (finish?.type === 'finish')
    yield {
      type: 'finish',
      index,
      reason: allowed.size > 0 ? finish.reason : 'stop',
      ...(withheld.length > 0 ? { withheld } : {}),
    };
}

/**
 * Findings, tool decisions and taint go on the trace only when there is something to say (the chat
 * pipeline and `/v1/tools/authorize` record them alike).
 */
export function noteGuards(
  trace: CallTrace,
  guards: CallGuards | undefined,
  judgements: readonly ToolJudgement[],
): void {
  if (guards && guards.findings.length > 0) trace.notes.findings = guards.findings;
  const taint = guards?.taint();
  if (taint?.untrusted) trace.notes.taint = taint;
  if (judgements.length === 0) return;
  trace.notes.toolDecisions = judgements.map((j) => ({
    callId: j.call.id,
    name: j.call.name,
    decision: j.decision,
    enforced: j.enforced,
    engine: j.engine,
    reasons: j.reasons,
    ...(j.approvalId !== undefined ? { approvalId: j.approvalId } : {}),
    ...(j.error !== undefined ? { error: j.error } : {}),
    ...(j.failure !== undefined ? { failure: j.failure } : {}),
  }));
  const blocked = judgements.filter((j) => j.enforced !== 'allow').map((j) => j.call);
  if (blocked.length > 0) trace.notes.blockedToolCalls = blocked;
}
