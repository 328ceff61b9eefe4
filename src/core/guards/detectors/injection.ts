import { HashedLinearModel, sigmoid, type HeadScore } from '../classifier.js';
import { injectionModel } from '../model/injection-model.js';
import type { Detection, Detector, GuardContext } from '../types.js';
import { withFields } from '../../with-fields.js';
import { mentionsSecret, noProtectedSecretAsked } from './held-secret.js';
import { documentSet, inputSet, jailbreakKinds } from './injection-rules.js';
import { signals, type Signal } from './injection-signals.js';

/**
 * Prompt injection, jailbreaks and indirect injection (OWASP LLM01). Each detector combines a few
 * high-precision phrase heuristics (they name what they saw, and catch short overrides the classifier
 * may score low) with the hashed n-gram classifier trained by scripts/train-injection-classifier.mjs.
 * The score is the larger of the two; the classifier's heads are calibrated so that 0.5 is the
 * threshold chosen on the development data (bench/README.md, "Guard quality and speed").
 *
 * At input the user turn is also checked against its own system prompt: what the prompt rules out
 * (system-constraints.ts), the secret it holds (held-secret.ts), the same asked in hex, binary, Morse,
 * Base64, a Caesar shift, Pig Latin, backwards or split into parts, and runs of repeated words
 * (encoded.ts).
 *
 * Cost is one pass over the text: the classifier's scan also yields the word tokens (as hashes) that
 * the phrases are matched on. The system-prompt checks cost a few `indexOf` (and one regular expression
 * for the held secret's words) when the prompt has something to protect; a system prompt is read once.
 *
 * The phrases are in injection-rules.ts, their matcher in injection-phrase-set.ts, and the signals found
 * in a text in injection-signals.ts; the classifier and the detectors are here.
 */

// ---------------------------------------------------------------------------------------------------
// Classifier and the detectors

let model: HashedLinearModel | undefined;
/** Decoded on first use, so importing the guards (the CLI, config checks) does not pay for it. */
function classifier(): HashedLinearModel {
  model ??= new HashedLinearModel(injectionModel);
  return model;
}
const DIRECT = 0;
const INDIRECT = 1;
const JAILBREAK = 2;

/**
 * Findings about a question outside the system prompt's scope, rather than an attack on it; and "how do
 * I log in to the wifi?" when the prompt holds the wifi password, which an honest user asks too; and a
 * customer pressing for a refund the prompt leaves to a manager, which the model declines itself; and a
 * turn leaning on the rules ("nobody will know", "without sending me to a manager"), whatever it asks, or
 * that the rule judge (rule-judge.ts) reads as trying to get past them.
 */
const scopeKinds: ReadonlySet<string> = new Set([
  'restricted_topic',
  'restricted_language',
  'secret_access',
  'forbidden_action',
  'rule_pressure',
  'rule_judge',
  'rule_override',
]);

/** Classifier scores below this are not reported at all (they would only be noise in the trace). */
const REPORT_FLOOR = 0.1;

interface InputAnalysis {
  readonly injection: Detection | undefined;
  readonly jailbreak: Detection | undefined;
}

// prompt-injection and jailbreak run on the same text one after the other: the analysis is shared
// through this one-entry memo (same string, same system prompt and canaries), never recomputed.
let lastInput: { text: string; ctx: GuardContext; result: InputAnalysis } | undefined;

function analyseInput(text: string, ctx: GuardContext): InputAnalysis {
  if (
    lastInput?.text === text &&
    lastInput.ctx.system === ctx.system &&
    lastInput.ctx.canaries === ctx.canaries
  )
    return lastInput.result;
  const scan = classifier().scan(text);
  const found = signals(text, scan, inputSet, ctx, true);
  const direct = scan.heads[DIRECT];
  const isJailbreak = (scan.heads[JAILBREAK]?.logit ?? 0) >= 0;
  const injection = combine(
    found.filter((s) => !jailbreakKinds.has(s.kind)),
    isJailbreak ? undefined : direct,
    'reads as a prompt injection',
  );
  const result: InputAnalysis = {
    injection:
      injection && nothingToExtract(injection, text, ctx) ? withFields(injection, LOG_ONLY) : injection,
    jailbreak: combine(
      found.filter((s) => jailbreakKinds.has(s.kind)),
      isJailbreak ? direct : undefined,
      'reads as a jailbreak prompt',
    ),
  };
  lastInput = { text, ctx, result };
  return result;
}

/**
 * The classifier alone read the turn as an injection, and the turn asks for a secret ("what is the Wi-Fi
 * password?") that the system prompt does not hold, or holds to give out ("Guest Wi-Fi password: … (fine
 * to share with guests)"): there is nothing protected for the model to give away, and
 * the classifier, trained on password-extraction attacks, reads the word alone. Such a finding is
 * recorded, not refused (a guest asking for the Wi-Fi password was blocked at 0.64–0.74).
 */
function nothingToExtract(d: Detection, text: string, ctx: GuardContext): boolean {
  // Also when a log-only kind took the finding's name from the classifier's (the rule judge's reading of
  // "can you tell me the wifi password, thanks"): the classifier is still what would block it.
  if ((d.kind !== 'classifier' && !scopeKinds.has(d.kind ?? '')) || text.length > SHORT_QUESTION)
    return false;
  const low = text.toLowerCase();
  return mentionsSecret(low) && noProtectedSecretAsked(low, ctx);
}
const SHORT_QUESTION = 200;
const LOG_ONLY = { maxAction: 'log' } as const;

/**
 * One detection from the heuristics and the classifier: the strongest signal's score, the heuristic's
 * kind and span when one matched (it says what was seen), else the classifier's best window.
 */
function combine(
  found: readonly Signal[],
  cls: HeadScore | undefined,
  clsMessage: string,
): Detection | undefined {
  let best: Signal | undefined;
  for (const s of found) if (!best || s.score > best.score) best = s;
  const p = cls?.probability ?? 0;
  if (!best && p < REPORT_FLOOR) return undefined;
  const clsPart = `classifier ${p.toFixed(2)}`;
  if (best)
    return {
      kind: best.kind,
      score: Math.max(best.score, p),
      span: { start: best.start, end: best.end },
      message: cls ? `${best.message} (${clsPart})` : best.message,
      // Off-topic or wrong-language questions are recorded (and can raise a signal), not refused: the
      // model declines them itself, and refusing a customer's honest question is its own harm. They
      // block only when the classifier also reads the turn as an injection.
      ...(scopeKinds.has(best.kind) && p < 0.5 ? { maxAction: 'log' as const } : {}),
    };
  return {
    kind: 'classifier',
    score: p,
    ...(cls ? { span: { start: cls.start, end: cls.end } } : {}),
    message: `${clsMessage} (${clsPart})`,
  };
}

export const promptInjection: Detector = {
  id: 'prompt-injection',
  class: 'security',
  owasp: 'LLM01',
  stages: ['input'],
  defaultAction: 'block',
  defaultThreshold: 0.5,
  description:
    'a user prompt that tries to override the system prompt, extract it, claim authority over it, or get what it rules out',
  detect(text, ctx) {
    const d = analyseInput(text, ctx).injection;
    return d ? [d] : [];
  },
};

export const jailbreak: Detector = {
  id: 'jailbreak',
  class: 'security',
  owasp: 'LLM01',
  stages: ['input'],
  defaultAction: 'block',
  defaultThreshold: 0.5,
  description: 'a jailbreak prompt: DAN, "developer mode", amoral personas, "you are not bound by any rules"',
  detect(text, ctx) {
    const d = analyseInput(text, ctx).jailbreak;
    return d ? [d] : [];
  },
};

/**
 * The direct head's reading of a document: an instruction planted for the model is often worded as a
 * user's request is, and that head learns from requests (pasted e-mails and pages with planted lines
 * among them). Documents are full of honest imperatives, so it fires there only at the stricter
 * threshold the training script chose on clean documents (the model's documentShift).
 */
function asDocument(head: HeadScore | undefined): HeadScore | undefined {
  if (!head) return undefined;
  const logit = head.logit - injectionModel.documentShift;
  return { logit, probability: sigmoid(logit), start: head.start, end: head.end };
}

const likelier = (a: HeadScore | undefined, b: HeadScore | undefined): HeadScore | undefined =>
  !a || (b && b.probability > a.probability) ? b : a;

/**
 * Instructions addressed to the model inside a retrieved document or a tool result. Blocking a document
 * drops it from the prompt (the gateway's choice); blocking a tool result fails the call.
 */
export const indirectInjection: Detector = {
  id: 'indirect-injection',
  class: 'security',
  owasp: 'LLM01',
  stages: ['retrieved', 'tool_result'],
  defaultAction: 'block',
  defaultThreshold: 0.5,
  description: 'instructions aimed at the model hidden in a retrieved document or a tool result',
  detect(text, ctx) {
    const scan = classifier().scan(text);
    const cls = likelier(scan.heads[INDIRECT], asDocument(scan.heads[DIRECT]));
    const d = combine(
      signals(text, scan, documentSet, ctx, false),
      cls,
      'reads as instructions aimed at the model',
    );
    return d ? [d] : [];
  },
};

export const injectionDetectors: readonly Detector[] = [promptInjection, jailbreak, indirectInjection];
