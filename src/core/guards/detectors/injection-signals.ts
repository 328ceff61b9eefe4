import { foldedTokens, sigmoid, type ModelScan } from '../classifier.js';
import type { GuardContext, Span } from '../types.js';
import { withFields } from '../../with-fields.js';
import { decodedPayload, mayBeEncoded, repeatedRun } from './encoded.js';
import { accessRequest, asksTheWay, secretRequest, systemHoldsSecret } from './held-secret.js';
import type { Phrase, PhraseMatch, PhraseSet } from './injection-phrase-set.js';
import { OVERRIDE, ruledSet } from './injection-rules.js';
import { roleTokens, unspacedOverrides } from './injection-words.js';
import {
  CONSTRAINT_SCORE,
  constraintSignals,
  systemConstraints,
  unconstrained,
  type WordSpans,
} from './system-constraints.js';
import { leansOnRules } from './system-stance.js';
import { ruleJudgeLogit, ruleJudgeReports } from './rule-judge.js';
import { PromptMemo } from './prompt-memo.js';

/**
 * The heuristic signals of the injection detectors (injection.ts) in one text: the phrases
 * (injection-rules.ts) over the scan's tokens, chat-template control tokens, unspaced overrides, and at
 * input what the system prompt rules out or holds.
 */

export interface Signal {
  readonly kind: string;
  readonly score: number;
  readonly message: string;
  readonly start: number;
  readonly end: number;
}

/**
 * A word with leetspeak digits between its letters ("sh0w", "pr10r", "1gn0r3"): the gate for reading
 * digits as letters (not "mp3", "10am" or "b2b"; hex ids, "a11y" and "log4j" pass it, and then only
 * digits next to a letter are read so, foldedTokens).
 */
const LEET_WORD = /[a-z][013457]+[a-z]/i;

/** Heuristic signals in `text`, whose scan is `scan` (its tokens are read before anything rescans). */
export function signals(
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
  const judged = atInput && systemSaysRules(ctx) ? ruleJudgeLogit(text, scan.tokens, ctx.system) : undefined;
  const encoded = atInput ? mayBeEncoded(scan.tokens, text) : undefined;
  // Where the words start, for the forbidden-topic matcher: it then visits words, not characters.
  const words: WordSpans | undefined =
    atInput && ctx.system && systemConstraints(ctx.system).matcher
      ? {
          starts: scan.tokens.starts.slice(0, scan.tokens.count),
          ends: scan.tokens.ends.slice(0, scan.tokens.count),
        }
      : undefined;
  // Look-alike letters (a Cyrillic і in "іgnore") or digits spelling words ("1gn0r3 4ll pr10r"): match
  // once more with them read as Latin letters.
  const leet = LEET_WORD.test(text);
  if (scan.confusables || leet) set.match(foldedTokens(text, leet), done, matches);
  const out: Signal[] = matches.map((m) => withFields(m.phrase, { start: m.start, end: m.end }));

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
        const start = Math.min(i, from + j);
        const end = Math.max(i + a.length, from + j + b.length);
        if (ownInstructions(text, start, end)) continue;
        out.push({ kind: 'instruction_override', score: 0.9, message: OVERRIDE, start, end });
        break search;
      }
  if (atInput) {
    out.push(...systemSignals(low, ctx, undefined, words, text));
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
    // Leaning on the rules, whatever they are about, against a prompt that has some. A cascade, as the
    // dozen patterns are most of this detector's cost on a long turn: read only when nothing else fired
    // and the classifier reads no injection (a finding is made then anyway), and when the rule judge does
    // not all but rule the turn out (logit -5, probability 0.007: a gate at -3 lost "answer without
    // sending me to a tax professional", at -3.6). On the twelve system-prompt sets it lost no catch;
    // the input stage's p99 per 2 KB went from 0.51 to 0.38–0.44 ms.
    const quiet =
      out.length === 0 && (scan.heads[0]?.probability ?? 0) < 0.5 && (judged ?? -Infinity) >= JUDGE_GATE;
    const lean = quiet ? leansOnRules(low()) : undefined;
    if (lean) out.push({ kind: 'rule_pressure', score: CONSTRAINT_SCORE, ...lean });
    // Last: a finding that names what the turn asks for wins a tie with the judge's.
    if (judged !== undefined && judged >= 0 && ruleJudgeReports())
      out.push({
        kind: 'rule_judge',
        score: CONSTRAINT_SCORE,
        message: `reads like an attempt to get past the system prompt's rules (rule judge ${sigmoid(judged).toFixed(2)})`,
        start: 0,
        end: text.length,
      });
  }
  // Checks that read the lower-cased turn give spans in it, which can run past the text where lower-casing
  // lengthened a character ("İ"): kept inside the text.
  return out.map((o) =>
    o.end > text.length ? withFields(o, { start: Math.min(o.start, text.length), end: text.length }) : o,
  );
}

/**
 * "Ignore my previous instruction" in a script without spaces, the user correcting their own request:
 * a Chinese "my", "I said", "I gave" inside the override or just around it (忽略我之前的指示,
 * 我之前的指示请忽略, 忽略之前我说的; not "帮我忽略…", where 我 is "for me"), a Korean "my" before it
 * (제 지시는 무시하고), a Japanese one a few characters before (私の以前の指示は無視して). Like "my" in
 * the English phrases (injection-rules.ts, OWN).
 */
const CHINESE_OWN = /我(?:的|之前|刚才|刚刚|先前|上面|前面|给|说|发|写|提)/;
function ownInstructions(text: string, start: number, end: number): boolean {
  if (CHINESE_OWN.test(text.slice(Math.max(0, start - 4), end + 2))) return true;
  if (/(?:^|\s)(?:제|내)\s*$/.test(text.slice(Math.max(0, start - 4), start))) return true;
  return /(?:私|僕|俺|自分)の/.test(text.slice(Math.max(0, start - 8), start));
}

/**
 * What the system prompt rules out (a topic, a person's data, another language, the secret it holds)
 * asked for anyway in `low` (a lower-cased user turn, or the decoded payload in one: then `span` is where
 * the payload was and messages say it was encoded).
 */
function systemSignals(
  lowered: () => string,
  ctx: GuardContext,
  span: Span | undefined,
  words?: WordSpans,
  raw?: string,
): Signal[] {
  if (!ctx.system) return [];
  const out: Signal[] = [];
  const constraints = systemConstraints(ctx.system);
  if (!unconstrained(constraints)) out.push(...constraintSignals(lowered(), constraints, words, raw));
  if (!systemHoldsSecret(ctx))
    return span ? out.map((s) => withFields(s, { message: `${s.message} (encoded)`, ...span })) : out;
  // A request naming a password-like secret when the system prompt holds one: the classic extraction,
  // in any of the languages it is usually tried in.
  const at = secretRequest(lowered());
  if (at && asksTheWay(lowered(), at.start))
    out.push({
      kind: 'secret_access',
      score: CONSTRAINT_SCORE,
      message: 'asks how to get a secret the system prompt protects (the way to it, not the secret)',
      ...at,
    });
  else if (at)
    out.push({
      kind: 'secret_extraction',
      score: 0.85,
      message: 'asks for a secret that the system prompt protects',
      ...at,
    });
  else {
    // Not named but implied: how to get into what the secret opens.
    const access = accessRequest(lowered(), ctx);
    if (access)
      out.push({
        kind: 'secret_access',
        score: CONSTRAINT_SCORE,
        message: 'asks how to get into what the protected secret opens',
        ...access,
      });
  }
  return span ? out.map((s) => withFields(s, { message: `${s.message} (encoded)`, ...span })) : out;
}

/**
 * The system prompt forbids something these checks can see, or holds a secret: then claims of authority
 * over the model and requests assembled from parts (`ruledSet`, which can block) are attacks on it.
 */
function systemHasRules(ctx: GuardContext): boolean {
  const system = ctx.system;
  if (system === undefined) return false;
  return !unconstrained(systemConstraints(system)) || systemHoldsSecret(ctx);
}

/**
 * …or says in words that something is off limits ("under no circumstances reveal it", "confidential",
 * "you cannot issue refunds") even where the checks cannot tell what: then the logged readings of a
 * turn's stance (system-stance.ts) and the rule judge apply.
 */
function systemSaysRules(ctx: GuardContext): boolean {
  return ctx.system !== undefined && (systemHasRules(ctx) || restrictive.get(ctx.system));
}
/** The rule judge's logit below which a turn is not read for leaning on the rules (probability 0.007). */
const JUDGE_GATE = -5;
const RESTRICTIVE =
  /\b(?:never|do not|don'?t|must not|mustn'?t|cannot|can'?t|may not|under no circumstances|not (?:allowed|permitted)|forbidden|prohibited|confidential|only)\b/i;
const restrictive = new PromptMemo(64, (head) => RESTRICTIVE.test(head));
