/**
 * What `regulated-advice` looks for: the lexicons and the rule families, as regex sources. The detector
 * that compiles and runs them is regulated-advice.ts.
 */

export type Topic = 'medical' | 'legal' | 'financial';

export interface AdviceRule {
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
export interface Family {
  readonly name: 'advised' | 'plain' | 'you' | 'asks' | 'claims';
  /** Regex source every rule of the family starts with. */
  readonly prefix: string;
  readonly rules: readonly AdviceRule[];
}

export const FAMILIES: readonly Family[] = [
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
