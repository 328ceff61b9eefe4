import {
  foldedTokens,
  HashedLinearModel,
  isWordChar,
  lower,
  wordHash,
  type HeadScore,
  type ModelScan,
  type Tokens,
} from '../classifier.js';
import { injectionModel } from '../model/injection-model.js';
import type { Detection, Detector, GuardContext, Span } from '../types.js';
import { decodedPayload, mayBeEncoded, repeatedRun } from './encoded.js';
import { secretRequest, systemHoldsSecret } from './held-secret.js';
import {
  constraintSignals,
  CONSTRAINT_SCORE,
  systemConstraints,
  unconstrained,
} from './system-constraints.js';

/**
 * Prompt injection, jailbreaks and indirect injection (OWASP LLM01). Each detector combines a few
 * high-precision phrase heuristics (they name what they saw, and catch short overrides the classifier
 * may score low) with the hashed n-gram classifier trained by scripts/train-injection-classifier.mjs.
 * The score is the larger of the two; the classifier's heads are calibrated so that 0.5 is the
 * threshold chosen on the development data (bench/README.md, "Guard quality and speed").
 *
 * At input the user turn is also checked against its own system prompt: what the prompt rules out
 * (system-constraints.ts), the secret it holds (held-secret.ts), the same asked in hex, binary or Morse,
 * and runs of repeated words (encoded.ts).
 *
 * Cost is one pass over the text: the classifier's scan also yields the word tokens (as hashes) that
 * the phrases are matched on. The system-prompt checks cost a few `indexOf` (and one regular expression
 * for the held secret's words) when the prompt has something to protect; a system prompt is read once.
 */

// ---------------------------------------------------------------------------------------------------
// Phrase matcher over the scan's word tokens

interface Step {
  readonly words: ReadonlySet<number>;
  /** How many tokens may be skipped before this step matches. */
  readonly gap: number;
}

interface Phrase {
  readonly kind: string;
  readonly score: number;
  readonly message: string;
  readonly steps: readonly Step[];
}

/**
 * Compiles `"ignore ~3 previous|prior ~2 instructions"`: steps separated by spaces, alternatives by `|`,
 * `~N` lets up to N tokens be skipped before the next step, `$NAME` expands to a word list below. Words
 * are single tokens as the scanner cuts them (letters and digits: "you're" is "you" "re").
 */
function phrase(kind: string, score: number, message: string, source: string): Phrase {
  const steps: Step[] = [];
  let gap = 0;
  for (const part of source.split(' ')) {
    if (part === '') continue;
    if (part.startsWith('~')) {
      gap = Number(part.slice(1));
      continue;
    }
    const alts = part.split('|').flatMap((a) => (a.startsWith('$') ? (lists[a.slice(1)] ?? []) : [a]));
    for (const a of alts)
      for (let i = 0; i < a.length; i++)
        if (!isWordChar(lower(a.charCodeAt(i)))) throw new Error(`phrase word "${a}" is not one token`);
    steps.push({ words: new Set(alts.map((a) => key(wordHash(a)))), gap });
    gap = 0;
  }
  return { kind, score, message, steps };
}

/**
 * Token hashes as map keys, cut to 30 bits: V8 keeps such numbers unboxed (small integers), while a full
 * 32-bit hash would be boxed on every lookup (that was a third of the detector's time).
 */
const key = (hash: number): number => hash & 0x3fffffff;

interface PhraseMatch {
  readonly phrase: Phrase;
  readonly start: number;
  readonly end: number;
}

/** Phrases indexed by their first step's words: each token costs one map lookup. */
class PhraseSet {
  private readonly byFirst = new Map<number, Phrase[]>();
  /** A bit per (key mod 4096) of the first words: most tokens are turned away without a map lookup. */
  private readonly firstBits = new Uint8Array(4096);

  constructor(phrases: readonly Phrase[]) {
    for (const p of phrases)
      for (const w of p.steps[0]?.words ?? []) {
        this.byFirst.set(w, [...(this.byFirst.get(w) ?? []), p]);
        this.firstBits[w & 4095] = 1;
      }
  }

  /** Each phrase that matches, at its leftmost place (phrases in `done` are skipped). */
  match(tokens: Tokens, done: Set<Phrase>, out: PhraseMatch[]): void {
    const bits = this.firstBits;
    for (let i = 0; i < tokens.count; i++) {
      const k = key(tokens.hashes[i] ?? 0);
      if (bits[k & 4095] === 0) continue;
      const candidates = this.byFirst.get(k);
      if (candidates) for (const p of candidates) if (!done.has(p)) this.attempt(p, tokens, i, done, out);
    }
  }

  private attempt(p: Phrase, tokens: Tokens, i: number, done: Set<Phrase>, out: PhraseMatch[]): void {
    let at = i;
    for (let s = 1; s < p.steps.length; s++) {
      const step = p.steps[s];
      if (!step) return;
      let found = -1;
      const last = Math.min(tokens.count - 1, at + 1 + step.gap);
      for (let j = at + 1; j <= last; j++)
        if (step.words.has(key(tokens.hashes[j] ?? 0))) {
          found = j;
          break;
        }
      if (found < 0) return;
      at = found;
    }
    done.add(p);
    out.push({ phrase: p, start: tokens.starts[i] ?? 0, end: tokens.ends[at] ?? 0 });
  }
}

// ---------------------------------------------------------------------------------------------------
// Heuristics. Word lists include the most common translations: injection in another language is a known
// technique, and the classifier has seen little of it.

const lists: Readonly<Record<string, readonly string[]>> = {
  // Not "override": in documentation it is an everyday verb ("override your project's rules").
  IGNORE: (
    'ignore ignoring disregard disregarding forget forgetting overlook bypass neglect ' +
    'discard dismiss abandon ignora ignorar ignorez ignorer ignoriere ignorieren ignorare ignorate olvida olvide ' +
    'olvidar oublie oubliez oublier vergiss vergessen dimentica dimenticare esqueça esqueca esquece игнорируй ' +
    'игнорировать игнорируйте забудь забудьте αγνόησε αγνοήστε'
  ).split(' '),
  /**
   * Whose instructions: all of them, or the model's. "Ignore the previous instructions" is how a user
   * corrects their own request (or an e-mail its own earlier message), so "the" and "my" are not here.
   */
  ALL: 'all any your every system developer openai anthropic todas toutes tous alle tutte tutti все'.split(
    ' ',
  ),
  /** "Previous" right after the verb, with no article: "ignore previous instructions". */
  PREVIOUS: (
    'previous prior above earlier preceding former foregoing original initial anteriores précédentes ' +
    'precedentes previas vorherigen vorigen bisherigen obigen precedenti предыдущие прежние προηγούμενες'
  ).split(' '),
  INSTRUCTIONS: (
    'instructions instruction directives directive rules guidelines prompts prompt commands orders constraints ' +
    'restrictions programming guidance policies policy instrucciones instrucción instruções instrucoes istruzioni ' +
    'anweisungen instruktionen consignes инструкции указания правила οδηγίες'
  ).split(' '),
  SHOW: 'reveal show print repeat output display leak tell give share disclose dump spell recite echo expose what'.split(
    ' ',
  ),
  ASK: 'reveal show print tell share disclose spell recite what confirm provide say type write'.split(' '),
  // Not "assistant": an e-mail's "note to the assistant" is usually for a person.
  AI: 'ai llm llms gpt chatgpt claude copilot gemini chatbot'.split(' '),
};

const OVERRIDE = 'asks the model to ignore its previous instructions';
const EXTRACT = 'asks the model to reveal its system prompt or instructions';
const SECRET = 'asks the model for its password or secret key';
const AUTHORITY = 'claims a special mode or authority over the model';
const ADDRESSED = 'addresses instructions to the AI reading the document';
const SPLIT = 'asks the model to assemble a request from parts and act on it';

/** Phrases that attack the model's instructions: at input (prompt-injection) and in documents. */
const overridePhrases = [
  phrase('instruction_override', 0.95, OVERRIDE, '$IGNORE ~1 $ALL ~2 $INSTRUCTIONS'),
  phrase('instruction_override', 0.95, OVERRIDE, '$IGNORE ~0 $PREVIOUS ~1 $INSTRUCTIONS'),
  // Languages that put the adjective after the noun: "ignora las instrucciones anteriores".
  phrase(
    'instruction_override',
    0.9,
    OVERRIDE,
    '$IGNORE ~2 $INSTRUCTIONS ~0 anteriores|précédentes|precedentes|previas|precedenti',
  ),
  phrase('instruction_override', 0.9, OVERRIDE, 'αγνοήστε|αγνόησε ~1 προηγούμενες ~0 οδηγίες'),
  phrase(
    'instruction_override',
    0.9,
    OVERRIDE,
    '$IGNORE ~1 everything|anything ~4 above|before|previously|told|said|instructed|prior|earlier',
  ),
  phrase(
    'prompt_extraction',
    0.85,
    EXTRACT,
    '$SHOW ~3 your ~2 system|initial|original|hidden|secret|internal|developer|pre ~1 prompt|prompts|instructions|directives|message',
  ),
  phrase('prompt_extraction', 0.85, EXTRACT, '$SHOW ~3 the ~1 system|hidden|secret|initial ~0 prompt'),
  // "Repeat the text above" alone is an ordinary chat request about the conversation; "… starting with
  // 'You are'" or "verbatim" is the extraction trick.
  phrase(
    'prompt_extraction',
    0.85,
    EXTRACT,
    'repeat|print|output|recite|copy|echo ~3 everything|all|text|words|content|lines ~2 above|before ~3 starting|beginning|verbatim|including',
  ),
  // Not "give": "never give your password to anyone" is advice; "give me your password" is the ask.
  phrase('secret_extraction', 0.8, SECRET, '$ASK ~3 your ~1 password|passcode|passphrase'),
  phrase('secret_extraction', 0.8, SECRET, '$ASK ~3 your ~0 secret ~0 key|word|code|phrase|password'),
  phrase(
    'secret_extraction',
    0.8,
    SECRET,
    'give|send ~0 me|us ~1 your ~1 password|passcode|passphrase|secret',
  ),
];

/** Overrides that are attacks from a user but ordinary in a document ("ignore the above, I found it"). */
const inputOnlyPhrases = [
  phrase('instruction_override', 0.85, OVERRIDE, '$IGNORE ~1 the ~0 above'),
  phrase(
    'system_impersonation',
    0.8,
    AUTHORITY,
    'you|youre ~1 are|re|now ~1 in|into|entering ~2 god|admin|administrator|maintenance|debug|developer|sudo|override|root|unrestricted|system|unfiltered|uncensored ~0 mode',
  ),
  phrase(
    'system_impersonation',
    0.8,
    AUTHORITY,
    'entering|initiating|activating|enabling ~3 god|sudo|override|unrestricted|unfiltered|uncensored ~0 mode',
  ),
  phrase(
    'system_impersonation',
    0.75,
    AUTHORITY,
    'i|im ~2 your ~1 developer|developers|creator|creators|administrator|admin|maintainer|programmer|master',
  ),
];

const jailbreakPhrases = [
  phrase(
    'dan',
    0.95,
    'asks the model to "do anything now" (DAN)',
    'dan|stands|named|called ~3 do ~0 anything ~0 now',
  ),
  phrase('dan', 0.9, 'asks the model to act as DAN', 'dan ~0 mode|prompt|jailbreak'),
  // "Could you ask Dan…" must not match: an act/become verb, or "you are (now) DAN".
  phrase('dan', 0.85, 'asks the model to act as DAN', 'act|acting|pretend|become|roleplay|simulate ~3 dan'),
  phrase('dan', 0.85, 'asks the model to act as DAN', 'you|youre ~1 are|re|now|become ~2 dan'),
  phrase(
    'developer_mode',
    0.85,
    'asks the model to simulate an unrestricted "developer mode"',
    'simulate|emulate|pretend ~4 developer ~0 mode',
  ),
  phrase(
    'developer_mode',
    0.85,
    'asks the model to simulate an unrestricted "developer mode"',
    'with ~0 developer ~0 mode ~0 enabled|activated',
  ),
  phrase(
    'developer_mode',
    0.85,
    'asks the model to simulate an unrestricted "developer mode"',
    'developer ~0 mode ~0 output',
  ),
  phrase(
    'jailbroken',
    0.85,
    'asks the model to act jailbroken',
    'you|youre ~1 are|re|now ~2 jailbroken|jailbreaked',
  ),
  phrase(
    'jailbroken',
    0.85,
    'asks the model to act jailbroken',
    'act|acting|pretend|become ~3 jailbroken|jailbreaked',
  ),
  phrase(
    'policy_evasion',
    0.85,
    'asks the model to set aside its usage policies',
    'ignore|bypass|break|violate|disregard|circumvent ~3 your|openai|anthropic ~3 policy|policies|guidelines|filters|restrictions|rules|programming|safeguards',
  ),
  phrase(
    'policy_evasion',
    0.85,
    'tells the model it is not bound by its rules',
    'not ~1 bound|restricted|limited|constrained ~2 by ~3 rules|policies|policy|guidelines|restrictions|filters|openai|anthropic|ethics|morals|content',
  ),
  phrase(
    'policy_evasion',
    0.75,
    'tells the model it has no ethical limits',
    'you ~4 no|without|free|never|not ~3 ethical|moral ~2 restrictions|guidelines|boundaries|limitations|filters|constraints|principles|policies',
  ),
  // A question about uncensored models is not a jailbreak; telling the model it is one is.
  phrase(
    'policy_evasion',
    0.7,
    'describes an amoral, unfiltered persona',
    'you|youre ~3 amoral|unfiltered|uncensored|unrestricted',
  ),
  phrase(
    'policy_evasion',
    0.7,
    'describes an amoral, unfiltered persona',
    'act|acting|pretend|become|roleplay ~3 amoral|unfiltered|uncensored|unrestricted',
  ),
  phrase(
    'policy_evasion',
    0.7,
    'tells the model never to refuse',
    'you ~2 will|must|should|shall|can|ll ~1 never|not ~1 refuse|decline',
  ),
];

/** Phrases addressed to the model inside a document or tool result. */
const documentPhrases = [
  phrase(
    'addressed_to_model',
    0.85,
    ADDRESSED,
    'note|message|instruction|instructions|attention|important|notice|reminder ~1 to|for ~1 the|all|any ~1 $AI',
  ),
  phrase(
    'addressed_to_model',
    0.85,
    ADDRESSED,
    'note|message|instructions ~1 to|for ~2 language ~0 model|models',
  ),
  phrase('addressed_to_model', 0.85, ADDRESSED, 'if ~1 you ~1 are|re ~1 an|a ~2 $AI'),
  phrase('addressed_to_model', 0.85, ADDRESSED, 'if ~1 you ~1 are|re ~1 an|a ~2 language ~0 model'),
  phrase(
    'addressed_to_model',
    0.8,
    ADDRESSED,
    // Summarising or parsing "this e-mail" is what a model does with it; a person reading it does not.
    'when|while|after|before|if ~1 you|the ~2 summarize|summarise|summarizing|summarising|parse|parsing|analyze|analyse|analyzing|analysing ~1 this|these ~1 document|documents|email|mail|message|messages|page|text|file|website|webpage|content|article|review|post|thread|conversation',
  ),
  phrase(
    'task_redefinition',
    0.8,
    'gives the model a new task',
    'your ~0 new|real|actual|true ~0 task|instructions|objective|goal|mission ~0 is|are ~0 to',
  ),
];

/**
 * Chat-template control tokens: text that tries to open a new system or user turn. Matched as
 * substrings of the lower-cased text (they are punctuation, not words).
 */
const roleTokens = [
  '<|im_start|>',
  '<|im_end|>',
  '<|system|>',
  '<|user|>',
  '<|assistant|>',
  '<|endoftext|>',
  '<|begin_of_text|>',
  '<|start_header_id|>',
  '[inst]',
  '[/inst]',
  '<<sys>>',
];

/** "Ignore the instructions" in scripts without spaces between words: both parts within a few characters. */
const unspacedOverrides: readonly (readonly [string, string])[] = [
  ['忽略', '指令'],
  ['忽略', '指示'],
  ['忽略', '之前'],
  ['忽略', '以上'],
  ['无视', '指令'],
  ['無視', '指示'],
  ['無視', '命令'],
  ['지시', '무시'],
  ['निर्देश', 'अनदेख'],
  ['निर्देश', 'नज़रअंदाज़'],
  ['تجاهل', 'التعليمات'],
];

/**
 * Pressure that is only an attack when the system prompt has something to protect (a forbidden topic,
 * personal data, a secret): claims of authority over the model and requests assembled from parts.
 * Without such a prompt "as an AI developed by …" is a story opening and "combine these and answer" a
 * homework request.
 */
const ruledPhrases = [
  phrase('system_impersonation', CONSTRAINT_SCORE, AUTHORITY, 'i|im ~1 am|m ~0 god|root|superuser'),
  phrase(
    'system_impersonation',
    CONSTRAINT_SCORE,
    AUTHORITY,
    'as ~1 your|the ~0 creator|creators|developer|developers|administrator|admin|owner|maintainer|operator',
  ),
  phrase(
    'system_impersonation',
    CONSTRAINT_SCORE,
    AUTHORITY,
    'as ~1 an|a ~0 ai|llm|model ~2 developed|created|made|built|trained ~0 by',
  ),
  phrase(
    'system_impersonation',
    CONSTRAINT_SCORE,
    AUTHORITY,
    'i|im ~1 am|m ~0 entering|initiating|activating|enabling ~4 mode|reset|upgrade|override|protocol',
  ),
  phrase('payload_splitting', CONSTRAINT_SCORE, SPLIT, 'smartgpt'),
  phrase(
    'payload_splitting',
    CONSTRAINT_SCORE,
    SPLIT,
    'combine|concatenate|join|interlace ~6 answer|follow|execute|obey',
  ),
];

const inputSet = new PhraseSet([...overridePhrases, ...inputOnlyPhrases, ...jailbreakPhrases]);
const ruledSet = new PhraseSet(ruledPhrases);
const documentSet = new PhraseSet([...overridePhrases, ...documentPhrases]);
const jailbreakKinds = new Set(jailbreakPhrases.map((p) => p.kind));

interface Signal {
  readonly kind: string;
  readonly score: number;
  readonly message: string;
  readonly start: number;
  readonly end: number;
}

/** Heuristic signals in `text`, whose scan is `scan` (its tokens are read before anything rescans). */
function signals(
  text: string,
  scan: ModelScan,
  set: PhraseSet,
  ctx: GuardContext,
  atInput: boolean,
): Signal[] {
  const done = new Set<Phrase>();
  const matches: PhraseMatch[] = [];
  set.match(scan.tokens, done, matches);
  if (atInput && ctx.system && systemHasRules(ctx)) ruledSet.match(scan.tokens, done, matches);
  // Read before anything rescans (the tokens are views into the scanner's scratch buffers).
  const repeated = atInput ? repeatedRun(scan.tokens) : undefined;
  const encoded = atInput ? mayBeEncoded(scan.tokens) : undefined;
  // Look-alike letters (a Cyrillic і in "іgnore"): match once more with them read as Latin.
  if (scan.confusables) set.match(foldedTokens(text), done, matches);
  const out: Signal[] = matches.map((m) => ({ ...m.phrase, start: m.start, end: m.end }));

  let lowered: string | undefined;
  // toLowerCase keeps the length for all but a handful of characters (İ): spans are then approximate.
  const low = (): string => (lowered ??= text.toLowerCase());
  if (text.includes('<|') || text.includes('[INST]') || text.includes('[inst]') || text.includes('<<'))
    for (const t of roleTokens) {
      const at = low().indexOf(t);
      if (at < 0) continue;
      out.push({
        kind: 'role_injection',
        score: 0.85,
        message: 'contains chat-template control tokens that open a new conversation turn',
        start: at,
        end: at + t.length,
      });
      break;
    }
  if (scan.nonAscii)
    search: for (const [a, b] of unspacedOverrides)
      for (let i = text.indexOf(a); i >= 0; i = text.indexOf(a, i + a.length)) {
        const from = Math.max(0, i - 24);
        const j = text.slice(from, i + a.length + 24).indexOf(b);
        if (j < 0) continue;
        out.push({
          kind: 'instruction_override',
          score: 0.9,
          message: OVERRIDE,
          start: Math.min(i, from + j),
          end: Math.max(i + a.length, from + j + b.length),
        });
        break search;
      }
  if (atInput) {
    out.push(...systemSignals(low, ctx, undefined));
    if (repeated)
      out.push({
        kind: 'repeated_tokens',
        score: 0.7,
        message: 'repeats a word or two many times over (pushes the instructions out of attention)',
        ...repeated,
      });
    // A request spelled in hex, binary or Morse: the decoded text gets the same checks.
    const decoded = encoded ? decodedPayload(text, encoded) : undefined;
    if (decoded !== undefined) {
      const whole = { start: 0, end: text.length };
      out.push(...systemSignals(() => decoded, ctx, whole));
    }
  }
  return out;
}

/**
 * What the system prompt rules out (a topic, a person's data, another language, the secret it holds)
 * asked for anyway in `low` (a lower-cased user turn, or the decoded payload in one: then `span` is where
 * the payload was and messages say it was encoded).
 */
function systemSignals(lowered: () => string, ctx: GuardContext, span: Span | undefined): Signal[] {
  if (!ctx.system) return [];
  const out: Signal[] = [];
  const constraints = systemConstraints(ctx.system);
  if (!unconstrained(constraints)) out.push(...constraintSignals(lowered(), constraints));
  if (!systemHoldsSecret(ctx))
    return span ? out.map((s) => ({ ...s, message: `${s.message} (encoded)`, ...span })) : out;
  // A request naming a password-like secret when the system prompt holds one: the classic extraction,
  // in any of the languages it is usually tried in.
  const at = secretRequest(lowered());
  if (at)
    out.push({
      kind: 'secret_extraction',
      score: 0.85,
      message: 'asks for a secret that the system prompt protects',
      ...at,
    });
  return span ? out.map((s) => ({ ...s, message: `${s.message} (encoded)`, ...span })) : out;
}

/** The system prompt forbids something these checks can see, or holds a secret. */
function systemHasRules(ctx: GuardContext): boolean {
  return (
    (ctx.system !== undefined && !unconstrained(systemConstraints(ctx.system))) || systemHoldsSecret(ctx)
  );
}

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

/** Findings about a question outside the system prompt's scope, rather than an attack on it. */
const scopeKinds: ReadonlySet<string> = new Set(['restricted_topic', 'restricted_language']);

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
  const result: InputAnalysis = {
    injection: combine(
      found.filter((s) => !jailbreakKinds.has(s.kind)),
      isJailbreak ? undefined : direct,
      'reads as a prompt injection',
    ),
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
    const cls = scan.heads[INDIRECT];
    const d = combine(
      signals(text, scan, documentSet, ctx, false),
      cls,
      'reads as instructions aimed at the model',
    );
    return d ? [d] : [];
  },
};

export const injectionDetectors: readonly Detector[] = [promptInjection, jailbreak, indirectInjection];
