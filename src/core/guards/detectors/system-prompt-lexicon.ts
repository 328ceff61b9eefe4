/**
 * How system-constraints.ts finds a forbidden item in a sentence: negation triggers, where an item
 * ends, list splitting, stop words, stemming. Pure string work, run once per system prompt.
 */

/** A sentence with one of these restricts; its words are not part of what the prompt permits. */
export const NEGATION =
  /\b(?:not|never|no|don'?t|dont|avoids?|avoided|avoiding|refuses?|refrain|without|prohibited|forbidden|disallowed|cannot|can'?t|off[- ]limits)\b/;

/** Where a forbidden item starts: after a negation (and whatever verb follows it). */
export const TRIGGER =
  /\b(?:do not|don'?t|dont|never|avoid(?:s|ed|ing)?|refuses? to|refrain from|stay away from|steer clear of|under no circumstances(?: should you| will you| may you)?|should not|must not|may not|not (?:programmed|allowed|permitted|supposed) to|no (?:discussion|talk|questions?|answers?) (?:of|about|on)|no (?=(?:profanity|swearing|cursing|slang|sarcasm|insults|politics|religion|violence|gore|weapons|alcohol|drugs|sexual|explicit)\b))\b/g;

/**
 * Emphasis between a trigger and its item ("avoid at all costs discussing X", "do not, under any
 * circumstances, share X"): skipped, where after the item it would end the clause.
 */
export const LEAD =
  /^[\s,]*(?:(?:at all costs|under (?:any|no) circumstances?|in any (?:case|way)|no matter what|whatsoever|ever|strictly|completely|absolutely|entirely|at any (?:time|point))[\s,]*)+/;

/** "X is not allowed": the item is the clause before it. */
export const PASSIVE =
  /\s(?:is|are)\s+(?:(?:strictly|absolutely|completely|totally|expressly|explicitly)\s+)?(?:not allowed|not permitted|prohibited|forbidden|off[- ]limits)\b/g;

/** How far a forbidden item reaches from its trigger, in characters. */
export const ITEM_REACH = 240;

/**
 * "Do not reveal any private information", "never share customer records": a negation, a verb of
 * telling and personal data (or the records of people the prompt holds).
 */
export const NOT_WORD = /\b(?:not|never|don'?t|dont)\b/;
export const REVEAL_WORD = /\b(?:reveal|share|disclose|give out|tell|provide|expose)\b/;
export const PRIVATE_DATA =
  /\b(?:(?:private|personal|sensitive|confidential)\s+(?:information|info|data|details)|(?:customer|client|patient|employee|staff|student|member|user|account|contact|colleague|coworker)(?:['’]s|s['’]?)?\s+(?:records?|data|details|files?|information|info|profiles?|salar(?:y|ies)|home address(?:es)?|address(?:es)?|phone numbers?|medical))\b/;

/** Where an item ends: a reason or a qualifier that follows the topic. */
export const CLAUSE_END =
  /[,:;()]|\s(?:to (?:maintain|avoid|ensure|keep|protect|prevent|stay|focus)|in order|because|since|as (?:this|it|they|these)|so that|which|that (?:could|might|may|would|are|is|were)|under any|under no|no matter|at all costs|in all cases|in any case|regardless|even if|unless|for (?:any|the) reason)\b|\s[-–—]\s/;

export const CLAUSE_END_ALL = new RegExp(CLAUSE_END.source, 'g');

/** After a comma, words that start a new clause rather than the next item of a list. */
export const LIST_BREAK = new Set(
  (
    'to as because since which that so but please you your always instead unless even in for no not ' +
    'under at it this these they we i if when while regardless without with focus stay keep only'
  ).split(' '),
);

/**
 * Where an item ends in `rest`, or -1. A comma ends it unless a list goes on ("TV shows, movies or
 * cartoons"): the next word is not one that opens a clause, and an "or"/"and" follows before the next
 * punctuation.
 */
const LIST_GOES_ON = /^(?:[^,.;:]{1,40},){0,6}[^,.;:]*\s(?:or|and)\s/;

export function clauseEnd(rest: string): number {
  CLAUSE_END_ALL.lastIndex = 0;
  for (let m = CLAUSE_END_ALL.exec(rest); m; m = CLAUSE_END_ALL.exec(rest)) {
    if (m[0] !== ',') return m.index;
    const after = rest.slice(m.index + 1, m.index + 61);
    const first = /^\s*([a-z][a-z'-]*)/.exec(after)?.[1];
    if (first === undefined || LIST_BREAK.has(first)) return m.index;
    // The list goes on to an "or"/"and", maybe after more commas: "meat, fish, eggs or dairy".
    if (!(first === 'or' || first === 'and' || LIST_GOES_ON.test(after))) return m.index;
  }
  return -1;
}

/** A relative clause that narrows the noun before it ("emails that could compromise …"). */
export const QUALIFIER = /^\s(?:that|which|who) (?:could|might|may|would|can)\b/;

/** Between items of a list: "X or Y", "topics like X and Y", "X, including Y". */
export const ITEM_SPLIT =
  /\s(?:or|and|nor|including|like|such as|e\.g\.|especially|particularly|as well as)\s|\/|,/;

/**
 * Words that never make a topic on their own: function words, the verbs of the constraint itself
 * ("discuss", "give instructions on how to"), generic nouns ("topics", "information", "questions") and
 * the secret and privacy words (injection.ts and the privacy check below treat those with more care).
 */
export const STOP = new Set(
  (
    'a an the any all some this that these those it its them they their there your you yours our we us i me my ' +
    'of on in at to for from with about into onto over under by as per via than then so such very more most ' +
    'be is are was were been being do does did doing done can could should would will shall may might must ' +
    'not never no nor or and but if else other others another different anything everything something ' +
    'discuss discussing discussed discussion discussions talk talking speak speaking mention mentioning ' +
    'answer answering answers question questions respond responding reply engage engaging touch touching ' +
    'share sharing reveal revealing disclose disclosing provide providing give giving offer offering ' +
    'help helping assist assisting write writing generate generating create creating produce make making ' +
    'tell telling explain explaining describe describing use using code coding do instructions instruction ' +
    'how what why when where who which task tasks topic topics subject subjects matter matters area areas ' +
    'information info details detail content contents advice guidance opinions views related relating ' +
    'regarding concerning involving around whatsoever circumstances case cases times time ever ' +
    'user users customer customers person people anyone someone anybody everyone one thing things stuff ' +
    'private personal sensitive confidential secret secrets password passwords passcode key keys ' +
    'prompt prompts system given above below here following message messages request requests ' +
    'allowed permitted programmed supposed trained designed meant able please also only just even ' +
    'chatbot bot assistant ai-powered model in-depth depth deep detailed complex simple basic advanced ' +
    'specific general certain new latest after before during since until'
  ) // "ai" alone is a topic ("topics like AI"); "assistant" not
    .split(' '),
);

/** Common spellings of one topic: a prompt that rules out AI rules out "machine learning" too. */
export const EXPANSIONS: readonly (readonly string[][])[] = [
  [['ai'], ['artificial', 'intelligence'], ['machine', 'learning'], ['neural', 'network'], ['llm']],
];

/** A word without a plural `s` ("fees" → "fee", not "class" → "clas"). */
export const singular = (w: string): string =>
  w.length > 3 && w.endsWith('s') && !w.endsWith('ss') ? w.slice(0, -1) : w;

/** Strips plural and derivational endings so the stem is a prefix of the word's other forms. */
export function stem(w: string): string {
  let s = w;
  if (s.endsWith("'s")) s = s.slice(0, -2);
  for (const suffix of ['ations', 'ation', 'ically', 'ical', 'ies', 'ing', 'es', 'ed', 'al', 's']) {
    if (s.endsWith(suffix) && s.length - suffix.length >= 4) {
      // "political" → "politic" (not "polit", which would match "polite").
      s = s.slice(0, -suffix.length) + (suffix === 'ies' ? 'y' : suffix.startsWith('ical') ? 'ic' : '');
      break;
    }
  }
  return s;
}

/** Lower-case words (letters, digits, inner apostrophes and hyphens). */
export function words(s: string): string[] {
  const out: string[] = [];
  for (let w of s.toLowerCase().split(/[^\p{L}\p{N}'-]+/u)) {
    while (w.startsWith("'") || w.startsWith('-')) w = w.slice(1);
    while (w.endsWith("'") || w.endsWith('-')) w = w.slice(0, -1);
    if (w !== '') out.push(w);
  }
  return out;
}

export function sentencesOf(system: string): string[] {
  return (
    system
      .toLowerCase()
      .replace(/[`"“”‘’]|'(?=\s|$)|(?<=\s|^)'/g, ' ')
      // ", including X" continues the list rather than ending the clause.
      .replace(/,\s*(?=(?:including|like|such as|e\.g\.|especially|particularly)\s)/g, ' ')
      .split(/(?<=[.!?])\s+|\n+/)
      .map((s) => s.trim())
      .filter((s) => s !== '')
  );
}

/**
 * Verbs of what is done with a topic ("how to play chess", "changing a car tire"): the topic is the
 * object, and a question about it need not use the verb ("how does a pawn move in chess?"). Dropped
 * when other words remain.
 */
export const ACTIVITY_VERBS = new Set(
  (
    'play playing solve solving change changing fix fixing build building learn learning perform ' +
    'performing get getting teach teaching handle handling complete completing'
  ).split(' '),
);

/**
 * Judgements rather than topics ("controversial or heated topics", "technical or scientific details"):
 * a turn that says "technical" is not about a forbidden topic, and what is controversial or technical
 * needs meaning, not words. A named example ("like climate change") still makes its own item.
 */
export const VAGUE = new Set(
  (
    'controversial heated technical scientific sensitive difficult heavy heavily serious touchy divisive ' +
    'polarizing polarising mature inappropriate complicated'
  ).split(' '),
);

/** What "other …" names when it means competitors: "other brands", "other car dealerships". */
const OTHER_BUSINESS =
  /^(?:brand|retailer|store|shop|compan|pharmac|bank|airline|carrier|manufacturer|dealer|provider|vendor|insurer|competitor|app|site|platform|service)/;

export function items(clause: string, permitted: () => ReadonlySet<string>): string[][] {
  const out: string[][] = [];
  for (const part of clause.split(ITEM_SPLIT)) {
    const ws = words(part);
    // "the climate at other locations", "any other language": a scope relative to the permitted one,
    // which words alone cannot judge.
    if (ws.some((w) => w === 'other' || w === 'else' || w === 'different')) {
      // Except other businesses ("other car brands", "other retailers"): the competitor concept.
      const business = ws.find((w) => OTHER_BUSINESS.test(w));
      if (ws.includes('other') && business !== undefined) out.push(['other', stem(business)]);
      continue;
    }
    let kept = ws.filter((w) => !STOP.has(w) && !VAGUE.has(w) && w.length >= 2 && !/^\d+$/.test(w));
    const objects = kept.filter((w) => !ACTIVITY_VERBS.has(w));
    if (objects.length > 0) kept = objects;
    const stems = kept.map(stem).filter((s) => !permitted().has(s));
    if (stems.length > 0 && stems.length <= 6) out.push(stems);
  }
  return out;
}

/** One stem is a form of the other (a prefix of at least four letters), or they are equal. */
export const sameWord = (a: string, b: string): boolean =>
  a === b || (Math.min(a.length, b.length) >= 4 && (a.startsWith(b) || b.startsWith(a)));

/** Who protected personal data is usually about. */
export const GENERIC_SUBJECTS = ['user', 'users', 'customer', 'customers', 'client', 'patient'];

/** Languages a prompt may allow or rule out, by name. */
export const LANGUAGES = (
  'english french spanish german italian portuguese dutch russian chinese mandarin cantonese japanese ' +
  'korean arabic hindi bengali urdu turkish polish greek hebrew swedish norwegian danish finnish czech ' +
  'romanian hungarian ukrainian vietnamese thai indonesian malay persian swahili latin'
).split(' ');
