import type { Detection, Detector, GuardSettings } from '../types.js';

/**
 * Compliance (product.md §3): regulated advice an app is not allowed to give, and uses a release
 * prohibits. Both run on the user's input (someone asking a support bot for a dosage) and on the answer
 * (the model giving one). Also home of the configured-term matcher that `brand` shares.
 */

// ---------------------------------------------------------------------------------------------------
// Configured terms: case-insensitive whole-word/phrase matching in one pass.
// ---------------------------------------------------------------------------------------------------

/** A letter, digit or underscore: the characters that make a word (and so a word boundary). */
const WORD_CHAR = /[\p{L}\p{N}_]/u;
const NOT_AFTER_WORD = '(?<![\\p{L}\\p{N}_])';
const NOT_BEFORE_WORD = '(?![\\p{L}\\p{N}_])';

interface TrieNode {
  readonly next: Map<string, TrieNode>;
  /** The normalised term that ends here, if one does. */
  term?: string;
}

export interface TermMatcher {
  /** One regex for every term (global, case-insensitive); undefined when there are no terms. */
  readonly regex: RegExp | undefined;
  /** Normalised term → the owners (rule ids, kinds) it was configured for. */
  readonly owners: ReadonlyMap<string, readonly string[]>;
  /** The same terms as a trie of code points, for `pendingTerm`. */
  readonly trie: TrieNode;
  /** Longest normalised term, in UTF-16 units: bounds how far back `pendingTerm` looks. */
  readonly maxLength: number;
}

/**
 * Lower case, trimmed, any run of whitespace and hyphens as one space: the key a term and a matched text
 * share (`bump stock` is also `Bump-Stock` and `bump\nstock`).
 */
export function normaliseTerm(s: string): string {
  return s
    .toLowerCase()
    .replace(/[\s-]+/g, ' ')
    .trim();
}

/**
 * Builds one regex from every term, factored as a trie (`acme(?:\s+cloud)?|…`) so each position costs
 * about one character comparison instead of one per term; linear in the text (no nested quantifier, and
 * sibling branches start with different characters). A term is matched as a whole word where it starts
 * or ends with a word character (so `Acme` does not match in `Acmetric`), a space or hyphen inside a
 * term matches any run of whitespace and hyphens, and case is ignored.
 */
export function compileTerms(
  entries: readonly { readonly term: string; readonly owner: string }[],
): TermMatcher {
  const root: TrieNode = { next: new Map() };
  const owners = new Map<string, string[]>();
  let maxLength = 0;
  for (const { term, owner } of entries) {
    const key = normaliseTerm(term);
    if (key === '') continue;
    const list = owners.get(key) ?? [];
    if (!list.includes(owner)) list.push(owner);
    owners.set(key, list);
    maxLength = Math.max(maxLength, key.length);
    let node = root;
    for (const ch of key) {
      let child = node.next.get(ch);
      if (!child) {
        child = { next: new Map() };
        node.next.set(ch, child);
      }
      node = child;
    }
    node.term = key;
  }
  const source = root.next.size === 0 ? undefined : branches(root, true);
  return {
    regex: source === undefined ? undefined : new RegExp(source, 'giu'),
    owners,
    trie: root,
    maxLength,
  };
}

function branches(node: TrieNode, atStart: boolean): string {
  const alts: string[] = [];
  for (const [ch, child] of node.next) {
    const head = ch === ' ' ? '[\\s-]+' : ch.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
    const guard = atStart && WORD_CHAR.test(ch) ? NOT_AFTER_WORD : '';
    const tail = child.next.size > 0 ? branches(child, false) : '';
    const end = child.term !== undefined ? (WORD_CHAR.test(ch) ? NOT_BEFORE_WORD : '') : undefined;
    // A node that ends a term and also continues (`acme` and `acme cloud`) tries the longer term first.
    const rest = tail === '' ? (end ?? '') : end === undefined ? tail : `(?:${tail}|${end})`;
    alts.push(guard + head + rest);
  }
  return alts.length === 1 ? (alts[0] ?? '') : `(?:${alts.join('|')})`;
}

export interface TermHit {
  readonly start: number;
  readonly end: number;
  readonly owners: readonly string[];
}

/** Every configured term in `text`, left to right, each with the owners it was configured for. */
export function findTerms(text: string, matcher: TermMatcher): TermHit[] {
  const { regex } = matcher;
  if (!regex) return [];
  const hits: TermHit[] = [];
  for (const m of text.matchAll(regex)) {
    const owners = ownersOf(m[0], matcher);
    if (owners.length > 0) hits.push({ start: m.index, end: m.index + m[0].length, owners });
  }
  return hits;
}

function ownersOf(matched: string, matcher: TermMatcher): readonly string[] {
  const key = normaliseTerm(matched);
  const direct = matcher.owners.get(key);
  if (direct) return direct;
  // The regex folds case the Unicode way (`ſ` matches `s`); toLowerCase does not always agree, so fall
  // back to a case-insensitive comparison. Rare, so the linear walk does not matter.
  for (const [term, owners] of matcher.owners)
    if (term.localeCompare(key, 'en', { sensitivity: 'accent' }) === 0) return owners;
  return [];
}

/**
 * For streamed output: where a configured term could still be completing at the end of `text`. Only a
 * trailing run that starts at a word boundary and is a prefix of some term (whitespace runs counting as
 * one space) is held back, complete terms included (`Acme` may still become `Acmetric`, which is no
 * match). Ordinary words are never held, so a stream without configured terms is not delayed at all.
 */
export function pendingTerm(text: string, matcher: TermMatcher): number {
  if (matcher.regex === undefined || text.length === 0) return text.length;
  // A pending prefix is at most maxLength characters plus whatever extra whitespace it contains; a
  // generous window keeps this bounded on long streams (a prefix with more padding than that is let go).
  const from = Math.max(0, text.length - (matcher.maxLength * 4 + 64));
  for (let s = from; s < text.length; s++) {
    const ch = text[s] ?? '';
    if (/\s/.test(ch)) continue;
    if (WORD_CHAR.test(ch) && s > 0 && WORD_CHAR.test(text[s - 1] ?? '')) continue;
    if (walks(text, s, matcher.trie)) return s;
  }
  return text.length;
}

/** What a space in a term stands for. */
const SEPARATOR = /[\s-]/;

/** Whether text[s..] (to its end) follows a path of the trie. */
function walks(text: string, s: number, root: TrieNode): boolean {
  let node: TrieNode | undefined = root;
  let i = s;
  while (i < text.length) {
    const cp = text.codePointAt(i) ?? 0;
    let ch = String.fromCodePoint(cp);
    let width = ch.length;
    if (SEPARATOR.test(ch)) {
      while (i + width < text.length && SEPARATOR.test(text[i + width] ?? '')) width++;
      ch = ' ';
    } else ch = ch.toLowerCase();
    node = node.next.get(ch);
    if (!node) return false;
    i += width;
  }
  return true;
}

/** Caches one compiled value per settings object (settings are parsed once per release and never mutated). */
export function perSettings<T>(build: (settings: GuardSettings) => T): (settings: GuardSettings) => T {
  const cache = new WeakMap<GuardSettings, T>();
  return (settings) => {
    let value = cache.get(settings);
    if (value === undefined) {
      value = build(settings);
      cache.set(settings, value);
    }
    return value;
  };
}

// ---------------------------------------------------------------------------------------------------
// prohibited-use
// ---------------------------------------------------------------------------------------------------

interface Prohibited {
  readonly matcher: TermMatcher;
  readonly messages: ReadonlyMap<string, string>;
}

const prohibitedOf = perSettings((s): Prohibited => ({
  matcher: compileTerms(s.prohibited.flatMap((r) => r.terms.map((term) => ({ term, owner: r.id })))),
  messages: new Map(s.prohibited.map((r) => [r.id, r.message])),
}));

export const prohibitedUse: Detector = {
  id: 'prohibited-use',
  class: 'compliance',
  stages: ['input', 'output'],
  defaultAction: 'log',
  defaultThreshold: 0.5,
  description: "a term of one of the release's prohibited uses (guards.prohibited), matched as a whole word",
  detect(text, ctx) {
    if (ctx.settings.prohibited.length === 0) return [];
    const { matcher, messages } = prohibitedOf(ctx.settings);
    const out: Detection[] = [];
    for (const hit of findTerms(text, matcher))
      for (const id of hit.owners)
        out.push({
          kind: id,
          score: 1,
          span: { start: hit.start, end: hit.end },
          message: messages.get(id) ?? `prohibited use ${id}`,
        });
    return out;
  },
  pendingFrom: (text, ctx) =>
    ctx.settings.prohibited.length === 0
      ? text.length
      : pendingTerm(text, prohibitedOf(ctx.settings).matcher),
};

// ---------------------------------------------------------------------------------------------------
// regulated-advice
// ---------------------------------------------------------------------------------------------------

type Topic = 'medical' | 'legal' | 'financial';

interface AdviceRule {
  readonly topic: Topic;
  /** `gives`: the text advises; `asks`: the text asks for advice (a user's input). */
  readonly mode: 'gives' | 'asks';
  readonly score: number;
  /** What kind of advice, in the finding's message. */
  readonly what: string;
  /** Regex source after the family's prefix; no capturing groups. */
  readonly body: string;
  /** `plain` rules: the score when the action is not an imperative (it informs rather than advises). */
  readonly informational?: number;
}

/*
 * The lexicons. A topic word alone never fires ("ibuprofen is an NSAID", "the court ruled", "stocks fell"):
 * every rule needs advice-giving phrasing aimed at the reader (`you should`, `I recommend`, an imperative
 * dose) or a first-person request for it (`should I sue`). That keeps everyday and informational text
 * quiet at the cost of recall on advice phrased some other way. Rules are word sequences with bounded
 * gaps only, so each regex is linear in the text.
 */

/** Someone telling the reader what to do. */
const ADVISE = String.raw`(?:you (?:really |definitely |probably |just |also |absolutely )?(?:should|must|need to|have to|ought to|'d better|had better)|you'd (?:be (?:better off|wise to)|better)|i(?:'d| would)? (?:strongly |highly |definitely )?(?:recommend|suggest|advise)(?: that)?(?: you)?|my (?:advice|recommendation) (?:is|would be)(?: to)?|(?:it's|it is) (?:best|wise|smart|a good idea) (?:for you )?to)`;
const DRUGS = String.raw`(?:ibuprofen|acetaminophen|paracetamol|tylenol|advil|motrin|aleve|aspirin|naproxen|antibiotics?|amoxicillin|penicillin|azithromycin|doxycycline|melatonin|xanax|alprazolam|valium|diazepam|ativan|adderall|ritalin|oxycodone|hydrocodone|morphine|codeine|tramadol|fentanyl|prednisone|metformin|insulin|benadryl|antihistamines?|ssris?|antidepressants?|opioids?|steroids?|viagra|cialis|ozempic|semaglutide|statins?|warfarin|lexapro|zoloft|sertraline|prozac|fluoxetine|lithium|gabapentin|ambien|sleeping pills|painkillers|blood thinners?)`;
const DOSE_UNIT = String.raw`(?:mg|mcg|µg|milligrams?|micrograms?|ml|millilit(?:er|re)s?|iu|units?|tablets?|pills?|capsules?|doses?)`;
const CONDITIONS = String.raw`(?:cancer|diabetes|depression|adhd|autism|bipolar(?: disorder)?|an? (?:infection|ulcer|tumou?r|stroke|heart attack|concussion|fracture|hernia|blood clot)|appendicitis|pneumonia|strep(?: throat)?|covid(?:-19)?|the flu|lyme disease|hypothyroidism|anemia|asthma|an? (?:std|sti)|(?:a )?(?:heart|kidney|liver|thyroid) (?:problem|condition|disease))`;
const MEDS = String.raw`(?:medications?|medicines?|meds|pills|insulin|prescriptions?|antidepressants?|blood thinners?|statins?|${DRUGS})`;
const LEGAL_ACTS = String.raw`(?:su(?:e|ing)|fil(?:e|ing) (?:a )?(?:lawsuit|suit|legal claim|complaint against)|tak(?:e|ing) (?:legal action|(?:them|him|her|your \w+) to court)|press(?:ing)? charges|plead(?:ing)? (?:guilty|not guilty|no contest|the fifth)|sign(?:ing)? (?:the|this) (?:contract|agreement|settlement|nda|plea deal|waiver)|(?:accept|reject)(?:ing)? the (?:plea(?: deal)?|settlement)|break(?:ing)? (?:the|your) lease|withhold(?:ing)? (?:your )?rent|fil(?:e|ing) for (?:bankruptcy|divorce|custody)|represent(?:ing)? yourself in court|ignor(?:e|ing) the (?:subpoena|summons|court order|lawsuit|eviction notice)|contest(?:ing)? the will)`;
const FIN_VERBS = String.raw`(?:invest(?:ing)?|buy(?:ing)?|sell(?:ing)?|short(?:ing)?|dump(?:ing)?|load(?:ing)? up on|cash(?:ing)? out of|pull(?:ing)? out of|allocat(?:e|ing)|rebalanc(?:e|ing))`;
/** Deliberately specific: `options`, `gold` or `the market` alone are too often something else. */
const FIN_OBJECTS = String.raw`(?:stocks?|shares|equities|bitcoin|btc|ethereum|crypto(?:currency|currencies)?|altcoins?|memecoins?|dogecoin|nfts?|bonds|treasur(?:y bonds|ies)|etfs?|index funds?|mutual funds?|(?:call|put|stock) options|futures contracts|forex|precious metals|gold (?:bars|coins|etfs?)|bullion|real estate|annuit(?:y|ies)|penny stocks|401\(?k\)?|roth ira|the stock market|s&p 500|nasdaq)`;
const MONEY = String.raw`(?:(?:all|most|some|half|part) (?:of )?)?your (?:money|savings|life savings|retirement(?: savings| fund)?|401\(?k\)?|ira|pension|nest egg|emergency fund)`;
/** At most four words between an advice verb and its object (`buy a few shares of Tesla stock`). */
const GAP = String.raw`(?:[\s,]+[\w\x27’$&.%-]+){0,4}?[\s,]+`;

const DOSING = String.raw`(?:take|taking|double|give (?:him|her|them|your (?:child|kid|baby|son|daughter))|increase (?:your dose|it) to|up your dose to) (?:(?:about|around|up to|at least|another|an extra|a|an) )?\d+(?:[.,]\d+)?\s?${DOSE_UNIT}`;
const STOPPING = String.raw`(?:stop|quit|skip|double|halve) (?:taking )?(?:your |the )?${MEDS}`;

/*
 * Rules come in families that share their opening words (the advice phrasing that opens most rules is
 * written once), and all of them go into one regex (adviceOf), so a text is scanned once.
 */
interface Family {
  readonly name: 'advised' | 'plain' | 'you' | 'asks' | 'claims';
  /** Regex source every rule of the family starts with. */
  readonly prefix: string;
  readonly rules: readonly AdviceRule[];
}

const FAMILIES: readonly Family[] = [
  {
    name: 'advised',
    prefix: `${ADVISE} `,
    rules: [
      { topic: 'medical', mode: 'gives', score: 0.9, what: 'a dosing instruction', body: DOSING },
      {
        topic: 'medical',
        mode: 'gives',
        score: 0.85,
        what: 'advice to stop or change medication',
        body: STOPPING,
      },
      {
        topic: 'medical',
        mode: 'gives',
        score: 0.75,
        what: 'a medication recommendation',
        body: String.raw`(?:take|taking|try|trying|start|starting|use|using) (?:some |an? )?${DRUGS}`,
      },
      {
        topic: 'legal',
        mode: 'gives',
        score: 0.85,
        what: 'advice to take legal action',
        body: String.raw`(?:definitely |just |not )?${LEGAL_ACTS}`,
      },
      {
        topic: 'financial',
        mode: 'gives',
        score: 0.85,
        what: 'an investment recommendation',
        body: String.raw`${FIN_VERBS}(?: in| into| of)?${GAP}${FIN_OBJECTS}`,
      },
      {
        topic: 'financial',
        mode: 'gives',
        score: 0.85,
        what: 'advice on where to put savings',
        body: String.raw`(?:put|putting|move|moving|transfer|transferring|invest|investing|withdraw|withdrawing|cash out|cashing out) ${MONEY}`,
      },
    ],
  },
  {
    // The same actions without advice phrasing before them: an imperative (`Take 400 mg…`) counts as
    // advice; anything else (`Adults usually take 400 mg…`) informs, and scores `informational`.
    name: 'plain',
    prefix: '',
    rules: [
      {
        topic: 'medical',
        mode: 'gives',
        score: 0.9,
        informational: 0.6,
        what: 'a dosing instruction',
        body: DOSING,
      },
      {
        topic: 'medical',
        mode: 'gives',
        score: 0.85,
        informational: 0.4,
        what: 'advice to stop or change medication',
        body: STOPPING,
      },
    ],
  },
  {
    name: 'you',
    prefix: 'you',
    rules: [
      {
        topic: 'medical',
        mode: 'gives',
        score: 0.8,
        what: 'a diagnosis',
        body: String.raw` (?:probably|likely|most likely|definitely|clearly|almost certainly) have ${CONDITIONS}`,
      },
      {
        topic: 'medical',
        mode: 'gives',
        score: 0.8,
        what: 'advice against seeing a doctor',
        body: String.raw` (?:don't|do not) need (?:to see |to visit |to go to )?(?:a |an |the |your )?(?:doctor|physician|gp|er|emergency room|hospital|prescription)`,
      },
      {
        topic: 'legal',
        mode: 'gives',
        score: 0.75,
        what: 'an assessment of a legal case',
        body: String.raw`(?: have|'ve got) (?:a )?(?:very )?(?:strong|good|solid|valid|winning|clear|great) (?:legal )?(?:case|claim|grounds for a (?:lawsuit|claim))(?! for)`,
      },
      {
        topic: 'legal',
        mode: 'gives',
        score: 0.8,
        what: 'advice against a lawyer',
        body: String.raw` (?:don't|do not) need (?:a |an )?(?:lawyer|attorney|solicitor|legal counsel)`,
      },
      {
        topic: 'legal',
        mode: 'gives',
        score: 0.7,
        what: 'a statement of legal duties',
        body: String.raw`(?: are|'re) (?:not )?legally (?:entitled|obligated|required|liable|allowed)`,
      },
    ],
  },
  {
    name: 'asks',
    prefix: '',
    rules: [
      {
        topic: 'medical',
        mode: 'asks',
        score: 0.6,
        what: 'a dosing question',
        body: String.raw`(?:how (?:much|many (?:mg|milligrams|pills|tablets))|what (?:dose|dosage)) (?:of )?(?:[\w-]+ ){0,2}(?:should|can|do|could) (?:i|my (?:child|kid|son|daughter)) (?:take|give)`,
      },
      {
        topic: 'medical',
        mode: 'asks',
        score: 0.6,
        what: 'a medication question',
        body: String.raw`(?:should|can) i (?:take|stop taking|double|skip|mix|combine) (?:my |the |some |more )?${MEDS}`,
      },
      {
        topic: 'medical',
        mode: 'asks',
        score: 0.6,
        what: 'a request for a diagnosis',
        body: String.raw`do (?:you think )?i have ${CONDITIONS}`,
      },
      {
        topic: 'legal',
        mode: 'asks',
        score: 0.6,
        what: 'a question about legal action',
        body: String.raw`(?:can|should|could) i (?:sue|press charges|file (?:a )?(?:lawsuit|claim)|plead|break my lease|fight (?:the|a|my) (?:ticket|eviction|charge)|contest (?:the|a|my) will|get out of (?:my|the|a) (?:contract|lease))`,
      },
      {
        topic: 'financial',
        mode: 'asks',
        score: 0.6,
        what: 'an investment question',
        body: String.raw`(?:should i|is it (?:a )?(?:good|smart|wise) (?:idea )?(?:for me )?to) (?:${FIN_VERBS}(?: in| into| of| my)?${GAP}${FIN_OBJECTS}|(?:put|move|invest|withdraw|cash out) (?:(?:all|most|some|half) (?:of )?)?my (?:money|savings|life savings|retirement(?: savings)?|401\(?k\)?|ira|pension))`,
      },
      {
        topic: 'financial',
        mode: 'asks',
        score: 0.6,
        what: 'an investment question',
        body: String.raw`(?:what|which) (?:stocks?|crypto\w*|coins?|shares|etfs?|funds?) should i (?:buy|invest in|sell)`,
      },
    ],
  },
  {
    name: 'claims',
    prefix: '',
    rules: [
      {
        topic: 'financial',
        mode: 'gives',
        score: 0.8,
        what: 'a promise of returns',
        body: String.raw`guaranteed (?:returns?|profits?|gains?|to (?:make money|go up))|can't[- ]lose (?:investment|bet|trade)|risk[- ]free (?:investment|returns?|profits?|trade)|(?:stock|shares?|price|bitcoin|crypto|coin|token) (?:is going to|will|is gonna) (?:definitely |certainly |surely )?(?:moon|skyrocket|explode)`,
      },
      {
        topic: 'financial',
        mode: 'gives',
        score: 0.7,
        what: 'market timing advice',
        body: String.raw`(?:now is|it's|it is) (?:a |the )?(?:good|great|perfect|best|right) time to (?:buy|sell|invest in|get into|get out of)${GAP}${FIN_OBJECTS}`,
      },
    ],
  },
];

interface CompiledAdvice {
  /** Every family in one regex; each rule is a capture group, numbered in `rules` order. */
  readonly regex: RegExp | undefined;
  readonly rules: readonly { readonly rule: AdviceRule; readonly family: Family['name'] }[];
}

/**
 * One regex for the families, with the release's allowed topics left out (an app allowed medical advice
 * never scans for it). One pass over the text; where two families could match at the same place the
 * earlier one wins, and scanning resumes after a match, so `You should take 400 mg` is reported once (as
 * advised) and not again from `take`.
 */
const adviceOf = perSettings((s): CompiledAdvice => {
  const rules: { rule: AdviceRule; family: Family['name'] }[] = [];
  const alternatives: string[] = [];
  for (const family of FAMILIES) {
    const kept = family.rules.filter((r) => !s.topics.allowed.includes(r.topic));
    if (kept.length === 0) continue;
    for (const rule of kept) rules.push({ rule, family: family.name });
    alternatives.push(`${family.prefix}(?:${kept.map((r) => `(${r.body})`).join('|')})`);
  }
  if (alternatives.length === 0) return { regex: undefined, rules };
  // Typographic apostrophes are as common as straight ones in model output (`you’d`, `don’t`).
  const source = `\\b(?:${alternatives.join('|')})\\b`.replaceAll("'", "['’]");
  return { regex: new RegExp(source, 'gi'), rules };
});

/** Before an action: the start of a sentence or list item, maybe with a softener (`1. Just take…`). */
const IMPERATIVE_BEFORE =
  /(?:^|[.!?:;\n•*-]|\d[.)])\s*(?:(?:just|simply|then|so|now|and|also|please|ok|okay|first|instead),?\s+)*$/i;
/** A negated action (`do not stop taking your medication`) is a warning, not the advice it names. */
const NEGATED_BEFORE = /(?:\bnot|n['’]t|\bnever)\s+$/i;

const MAX_ADVICE_FINDINGS = 20;

/** The number of the first capture group that took part in the match (its rule), 0 when none did. */
function firstGroup(m: RegExpMatchArray): number {
  for (let i = 1; i < m.length; i++) if (m[i] !== undefined) return i;
  return 0;
}

export const regulatedAdvice: Detector = {
  id: 'regulated-advice',
  class: 'compliance',
  stages: ['input', 'output'],
  defaultAction: 'log',
  defaultThreshold: 0.5,
  description:
    'medical, legal or financial advice (or a request for it) outside the topics the release allows (guards.topics)',
  detect(text, ctx) {
    const { regex, rules } = adviceOf(ctx.settings);
    if (!regex) return [];
    const out: Detection[] = [];
    for (const m of text.matchAll(regex)) {
      const found = rules[firstGroup(m) - 1];
      if (!found) continue;
      const { rule, family } = found;
      const span = { start: m.index, end: m.index + m[0].length };
      let score = rule.score;
      if (family === 'plain') {
        const before = text.slice(Math.max(0, span.start - 40), span.start);
        if (NEGATED_BEFORE.test(before)) continue;
        if (!IMPERATIVE_BEFORE.test(before)) score = rule.informational ?? score;
      }
      out.push({
        kind: rule.topic,
        score,
        span,
        message:
          rule.mode === 'gives'
            ? `${rule.topic} advice (${rule.what}) outside the app's allowed topics`
            : `asks for ${rule.topic} advice (${rule.what}) outside the app's allowed topics`,
      });
      if (out.length >= MAX_ADVICE_FINDINGS) break;
    }
    return out;
  },
};

export const complianceDetectors: readonly Detector[] = [regulatedAdvice, prohibitedUse];
