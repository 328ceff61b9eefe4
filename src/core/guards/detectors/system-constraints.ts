import { isWordChar, lower } from '../classifier.js';
import { TermMatcher, TermTrie, type TermEntry, type TriePart } from './term-matcher.js';
import { concepts, type Concept } from './topic-concepts.js';

/**
 * What a system prompt forbids, read once per system prompt (memoised), and the user turns that ask for
 * it anyway. Many prompt injections are attacks only against their own system prompt: "what is the
 * weather like?" is harmless unless the system prompt said never to discuss the weather. The constraints
 * are read lexically from the usual ways of writing them:
 *
 * - a forbidden topic: "do not discuss X", "never answer questions about X", "avoid (at all costs) any
 *   discussion of X", "do not, under any circumstances, share X", "under no circumstances should you
 *   give instructions on how to X", "X is (strictly) not allowed", lists "X, Y or Z";
 * - protected personal data: "do not reveal any private information about the user" in a prompt that
 *   holds a person's data ("The user's name is Jane Smith. She lives in …");
 * - a language restriction: "translate into French … never into any other language";
 * - the opposite of what an "only" rule pins down ("only sort in ascending order"), another place when
 *   the prompt rules out "other locations", another output format than the one allowed ("respond only
 *   in JSON"), code when the prompt says never to write it.
 *
 * A user turn fires when it names the forbidden topic (every content word of a short item, most of a
 * long one; word starts, so "politics" also matches "political" and "dinosaur" "dinosaurio"; accents
 * folded), or a concept the topic names in other words or languages (topic-concepts.ts: "music" also
 * "composer", "Musik", "音楽"), asks about the protected person's data, asks for another language, or
 * asks for what the other rules exclude. Words the system prompt also uses in its permitted part ("a
 * movie recommendation service … don't share recommendations that scare") are not topics. Cost per user
 * turn: one pass over its word starts for all topics and concept terms (term-matcher.ts) and a few
 * `indexOf`, only when the system prompt has constraints. A secret held in the system prompt (a
 * password) is handled by held-secret.ts.
 */

/** A heuristic finding: what injection.ts combines with the classifier. */
export interface ConstraintSignal {
  readonly kind: string;
  readonly score: number;
  readonly message: string;
  readonly start: number;
  readonly end: number;
}

/** A forbidden topic: a list of word stems, `need` of which must occur in a turn. */
export interface TopicGroup {
  readonly stems: readonly string[];
  readonly need: number;
  /** For a term from topic-concepts.ts: the concept it stands for. */
  readonly concept?: string;
}

export interface SystemConstraints {
  /** Forbidden topics as the prompt names them. */
  readonly topics: readonly TopicGroup[];
  /** The same topics in other words and languages (topic-concepts.ts). */
  readonly related: readonly TopicGroup[];
  /** Finds the stems of `topics` then `related` in one pass (group index: topics first). */
  readonly matcher: TermMatcher | undefined;
  /** Protected personal data: who it is about (user, customer, the names) and what may not be told. */
  readonly privacy: { readonly subjects: readonly string[] } | undefined;
  /** Languages the prompt allows output in, when it rules out all others. */
  readonly languages: readonly string[] | undefined;
  /** The prompt holds a database of several people's records (answer one user, not dump them all). */
  readonly records: boolean;
  /**
   * Words that ask for the opposite of what an "only" rule allows ("only sort in ascending order":
   * "descending").
   */
  readonly opposites: readonly string[];
  /** When the prompt rules out "other locations": the words of the prompt (the places it does cover). */
  readonly places: ReadonlySet<string> | undefined;
  /** The one output format the prompt allows ("respond only in JSON"), or the prompt rules out code. */
  readonly format: { readonly only: string | undefined; readonly noCode: boolean };
}

/**
 * Score of these findings: above the default threshold (0.5), below the phrase heuristics' (0.75 and up),
 * so a release can turn them off by raising prompt-injection's threshold to 0.75 (the phrases stay on).
 */
export const CONSTRAINT_SCORE = 0.7;
const SCORE = CONSTRAINT_SCORE;

const NONE: SystemConstraints = {
  topics: [],
  related: [],
  matcher: undefined,
  privacy: undefined,
  languages: undefined,
  records: false,
  opposites: [],
  places: undefined,
  format: { only: undefined, noCode: false },
};

const TOPIC = 'asks about a topic the system prompt rules out';
const PRIVATE = 'asks for personal data the system prompt protects';
const LANGUAGE = 'asks for a language the system prompt rules out';
const RECORDS = "asks for the system prompt's records as a whole or for other people's";
const OPPOSITE = 'asks for the opposite of what the system prompt allows';
const FORMAT = 'asks for an output format the system prompt rules out';
const CODE = 'asks for code the system prompt rules out';

/** Output formats a prompt pins down and a turn may ask to switch to. */
const FORMATS = 'json|xml|yaml|csv|markdown|html|plain text|prose|bullet points|a table|a poem|a story';

/** "Respond only in JSON", "only reply with valid YAML", "always answer in markdown". */
const FORMAT_ONLY = new RegExp(
  `\\b(?:only (?:respond|reply|answer|output|write)|(?:respond|reply|answer|output)(?: with)? only|always (?:respond|reply|answer|output))(?: (?:in|with|using|as))? (?:valid |a |an )?(${FORMATS})\\b`,
);

/** A turn asking for another format: "answer in plain text", "give it to me as a poem", "don't use JSON". */
const FORMAT_ASK = new RegExp(
  `\\b(?:respond|reply|answer|write|output|format|give|return|send|put|say)\\b[^.?!\\n]{0,30}?\\b(?:in|as|using|into) (?:valid |a |an |plain )?(${FORMATS})\\b|\\b(?:don'?t|do not|stop|without) (?:use |using |respond(?:ing)? in |replying in |answering in )?(${FORMATS})\\b`,
  'g',
);

/**
 * Formats another one contains: a table or a bullet list is markdown (and HTML), so "put it in a table"
 * keeps to "always respond in markdown".
 */
const FORMAT_PARTS: ReadonlyMap<string, readonly string[]> = new Map([
  ['markdown', ['a table', 'bullet points']],
  ['html', ['a table', 'bullet points']],
]);

const sameFormat = (asked: string, only: string): boolean =>
  asked === only || (FORMAT_PARTS.get(only)?.includes(asked) ?? false);

/** "Never write code", "do not produce any scripts or programs". */
const NO_CODE =
  /\b(?:never|not|don'?t|refuse to)\s+(?:write|produce|output|generate|provide|give|share|include|show)\s+(?:any\s+)?(?:code|scripts?|programs?|code snippets?|source code|sql)\b/;

/**
 * A turn asking for code: "write a script", "give me the code for", "generate a Python function". A
 * function or a class is code only in a programming context: a language before it ("a Python
 * function") or what a definition is followed by ("a function that …", "a class to …"), not "the
 * function of the liver" or "a class schedule".
 */
const CODE_ASK =
  /\b(?:write|generate|give me|show me|create|produce|send me|implement)\b[^.?!\n]{0,40}?(?:\b(?:code|script|program|snippet|sql query|regex)\b|\b(?:python|javascript|typescript|java|c\+\+|c#|rust|go|golang|ruby|php|kotlin|swift|bash|shell|sql|js|ts|recursive|helper|lambda|async) (?:function|class|method)\b|\b(?:function|class|method)(?= (?:that|which|to|for (?:a|an|the|my|this|it)|called|named|in (?:python|javascript|typescript|java|c|rust|go|ruby|php|kotlin|swift|bash|sql)\b)|\s*\(|$|[.?!,:]))/;
const PLACE = 'asks about a place the system prompt rules out';

/**
 * Pairs of opposites a rule of the form "only X" pins down: a turn that asks for the other one asks for
 * what the rule excludes ("only sort in ascending order" / "sort them in descending order instead").
 */
const OPPOSITE_PAIRS: readonly (readonly [string, string])[] = [
  ['ascending', 'descending'],
  ['increasing', 'decreasing'],
  ['formal', 'informal'],
  ['uppercase', 'lowercase'],
  ['celsius', 'fahrenheit'],
  ['metric', 'imperial'],
  ['optimistic', 'pessimistic'],
  ['objective', 'subjective'],
  ['polite', 'rude'],
  ['brief', 'detailed'],
];

const OPPOSITE_RES = OPPOSITE_PAIRS.map(
  ([a, b]) => [a, b, new RegExp(`\\b${a}\\b`), new RegExp(`\\b${b}\\b`)] as const,
);

/** "Do not discuss the climate at other locations". */
const OTHER_PLACES =
  /\bother (?:locations?|places|cities|towns|countries|regions|areas|states|destinations)\b/;

/** A capitalised name after a preposition of place: "in Los Angeles", "to Lyon". */
const PLACE_NAME =
  /\b(?:in|at|to|from|near|around|visit|visiting)\s+(\p{Lu}[\p{L}'-]{2,}(?:\s+\p{Lu}[\p{L}'-]+){0,2})/gu;

/**
 * Words a few words before "to"/"from"/"at" that make what follows a person, not a place: "send the
 * summary to John", "an e-mail from Anna", "tell it to Priya".
 */
const TO_PERSON = new Set(
  (
    'send sent sending give gave given giving email emailed e-mail mail mailed tell told say said talk ' +
    'talked speak spoke write wrote reply replied forward forwarded show showed pass passed hand handed ' +
    'explain explained introduce introduced deliver delivered lend lent pay paid text texted message ' +
    'messaged apologise apologize letter note gift present feedback thanks regards greetings ask asked cc'
  ).split(' '),
);

/** One of the (up to five) words before index `at` of `raw` is in `TO_PERSON`. */
function toPerson(raw: string, at: number): boolean {
  const ws = words(raw.slice(Math.max(0, at - 48), at)).slice(-5);
  return ws.some((w) => TO_PERSON.has(w));
}

/** Capitalised words after "in" that are not places: times, languages, technologies. */
const NOT_PLACES = new Set(
  (
    'january february march april may june july august september october november december monday tuesday ' +
    'wednesday thursday friday saturday sunday spring summer autumn fall winter python java javascript ' +
    'typescript rust ruby perl bash go kotlin swift excel word linux windows macos android ios docker ' +
    'english french spanish german italian portuguese chinese japanese korean arabic russian greek hindi ' +
    'celsius fahrenheit kelvin the this that these my your our his her their'
  ).split(' '),
);

/** "Print your database", "the users in your database", "list all customers", "other users' balances". */
const BULK =
  /\b(?:your|the|entire|whole|full) (?:user |customer |employee )?database\b|\b(?:all|other|different|every|list of|each) (?:the )?(?:users|customers|employees|accounts|records|clients)\b/;

function bulkRequest(low: string): number {
  const m = BULK.exec(low);
  return m ? m.index : -1;
}

// ---------------------------------------------------------------------------------------------------
// Reading the system prompt (once per prompt)

/** A sentence with one of these restricts; its words are not part of what the prompt permits. */
const NEGATION =
  /\b(?:not|never|no|don'?t|dont|avoids?|avoided|avoiding|refuses?|refrain|without|prohibited|forbidden|disallowed|cannot|can'?t|off[- ]limits)\b/;

/** Where a forbidden item starts: after a negation (and whatever verb follows it). */
const TRIGGER =
  /\b(?:do not|don'?t|dont|never|avoid(?:s|ed|ing)?|refuses? to|refrain from|stay away from|steer clear of|under no circumstances should you|should not|must not|may not|not (?:programmed|allowed|permitted|supposed) to|no (?:discussion|talk|questions?|answers?) (?:of|about|on))\b/g;

/**
 * Emphasis between a trigger and its item ("avoid at all costs discussing X", "do not, under any
 * circumstances, share X"): skipped, where after the item it would end the clause.
 */
const LEAD =
  /^[\s,]*(?:(?:at all costs|under (?:any|no) circumstances?|in any (?:case|way)|no matter what|whatsoever|ever|strictly|completely|absolutely|entirely|at any (?:time|point))[\s,]*)+/;

/** "X is not allowed": the item is the clause before it. */
const PASSIVE =
  /\s(?:is|are)\s+(?:(?:strictly|absolutely|completely|totally|expressly|explicitly)\s+)?(?:not allowed|not permitted|prohibited|forbidden|off[- ]limits)\b/g;

/** How far a forbidden item reaches from its trigger, in characters. */
const ITEM_REACH = 240;

/** "Do not reveal any private information": a negation, a verb of telling and personal data. */
const NOT_WORD = /\b(?:not|never|don'?t|dont)\b/;
const REVEAL_WORD = /\b(?:reveal|share|disclose|give out|tell|provide|expose)\b/;
const PRIVATE_DATA = /\b(?:private|personal|sensitive|confidential)\s+(?:information|info|data|details)\b/;

/** Where an item ends: a reason or a qualifier that follows the topic. */
const CLAUSE_END =
  /[,:;()]|\s(?:to (?:maintain|avoid|ensure|keep|protect|prevent|stay|focus)|in order|because|since|as (?:this|it|they|these)|so that|which|that (?:could|might|may|would|are|is|were)|under any|under no|no matter|at all costs|in all cases|in any case|regardless|even if|unless|for (?:any|the) reason)\b|\s[-–—]\s/;

const CLAUSE_END_ALL = new RegExp(CLAUSE_END.source, 'g');

/** After a comma, words that start a new clause rather than the next item of a list. */
const LIST_BREAK = new Set(
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
function clauseEnd(rest: string): number {
  CLAUSE_END_ALL.lastIndex = 0;
  for (let m = CLAUSE_END_ALL.exec(rest); m; m = CLAUSE_END_ALL.exec(rest)) {
    if (m[0] !== ',') return m.index;
    const after = rest.slice(m.index + 1, m.index + 61);
    const first = /^\s*([a-z][a-z'-]*)/.exec(after)?.[1];
    if (first === undefined || LIST_BREAK.has(first)) return m.index;
    if (!(first === 'or' || first === 'and' || /^[^,.;:]*\s(?:or|and)\s/.test(after))) return m.index;
  }
  return -1;
}

/** A relative clause that narrows the noun before it ("emails that could compromise …"). */
const QUALIFIER = /^\s(?:that|which|who) (?:could|might|may|would|can)\b/;

/** Between items of a list: "X or Y", "topics like X and Y", "X, including Y". */
const ITEM_SPLIT = /\s(?:or|and|nor|including|like|such as|e\.g\.|especially|particularly|as well as)\s|\/|,/;

/**
 * Words that never make a topic on their own: function words, the verbs of the constraint itself
 * ("discuss", "give instructions on how to"), generic nouns ("topics", "information", "questions") and
 * the secret and privacy words (injection.ts and the privacy check below treat those with more care).
 */
const STOP = new Set(
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
const EXPANSIONS: readonly (readonly string[][])[] = [
  [['ai'], ['artificial', 'intelligence'], ['machine', 'learning'], ['neural', 'network'], ['llm']],
];

/** Strips plural and derivational endings so the stem is a prefix of the word's other forms. */
function stem(w: string): string {
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
function words(s: string): string[] {
  const out: string[] = [];
  for (let w of s.toLowerCase().split(/[^\p{L}\p{N}'-]+/u)) {
    while (w.startsWith("'") || w.startsWith('-')) w = w.slice(1);
    while (w.endsWith("'") || w.endsWith('-')) w = w.slice(0, -1);
    if (w !== '') out.push(w);
  }
  return out;
}

function sentencesOf(system: string): string[] {
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
const ACTIVITY_VERBS = new Set(
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
const VAGUE = new Set(
  (
    'controversial heated technical scientific sensitive difficult heavy heavily serious touchy divisive ' +
    'polarizing polarising mature inappropriate complicated'
  ).split(' '),
);

function items(clause: string, permitted: () => ReadonlySet<string>): string[][] {
  const out: string[][] = [];
  for (const part of clause.split(ITEM_SPLIT)) {
    const ws = words(part);
    // "the climate at other locations", "any other language": a scope relative to the permitted one,
    // which words alone cannot judge.
    if (ws.some((w) => w === 'other' || w === 'else' || w === 'different')) continue;
    let kept = ws.filter((w) => !STOP.has(w) && !VAGUE.has(w) && w.length >= 2 && !/^\d+$/.test(w));
    const objects = kept.filter((w) => !ACTIVITY_VERBS.has(w));
    if (objects.length > 0) kept = objects;
    const stems = kept.map(stem).filter((s) => !permitted().has(s));
    if (stems.length > 0 && stems.length <= 6) out.push(stems);
  }
  return out;
}

/** One stem is a form of the other (a prefix of at least four letters), or they are equal. */
const sameWord = (a: string, b: string): boolean =>
  a === b || (Math.min(a.length, b.length) >= 4 && (a.startsWith(b) || b.startsWith(a)));

/** A concept (topic-concepts.ts) with its names stemmed and its terms split, once at module load. */
interface ReadyConcept {
  readonly concept: Concept;
  readonly names: readonly (readonly string[])[];
  /** Each term's words as the matcher takes them ("cook=") and without the whole-word mark. */
  readonly terms: readonly { readonly stems: readonly string[]; readonly bare: readonly string[] }[];
  /** All terms as topic groups, in order. */
  readonly groups: readonly TopicGroup[];
  /** The trie of all terms (group: the term's index), built when a prompt first rules the concept out. */
  trie: TermTrie | undefined;
}

const readyConcepts: readonly ReadyConcept[] = concepts.map((c) => {
  const terms = c.terms.map((term) => {
    const stems = term.split(' ').filter((w) => w !== '');
    return { stems, bare: stems.map((w) => w.replace(/=$/, '')) };
  });
  return {
    concept: c,
    names: c.names.map((name) => name.map(stem)),
    terms,
    groups: terms.map((t) => ({ stems: t.stems, need: t.stems.length, concept: c.name })),
    trie: undefined,
  };
});

const trieOf = (groups: readonly TopicGroup[]): TermTrie =>
  new TermTrie(groups.flatMap((g, group) => g.stems.map((s, slot) => ({ stem: s, group, slot }))));

/**
 * Every word of the concepts' names and terms, and every prefix of four letters or more of them, to
 * the words it stands for: built once, so that finding which of them a prompt uses for what it permits
 * costs a few look-ups per permitted word (linear in the prompt), not a comparison per word pair.
 */
let conceptWordIndex: { exact: Map<string, string>; prefixes: Map<string, string[]> } | undefined;

function conceptWords(): NonNullable<typeof conceptWordIndex> {
  if (conceptWordIndex) return conceptWordIndex;
  const exact = new Map<string, string>();
  const prefixes = new Map<string, string[]>();
  const add = (w: string): void => {
    if (exact.has(w)) return;
    exact.set(w, w);
    for (let k = 4; k < w.length; k++) {
      const key = w.slice(0, k);
      const list = prefixes.get(key);
      if (list) list.push(w);
      else prefixes.set(key, [w]);
    }
  };
  for (const c of readyConcepts) {
    for (const name of c.names) for (const n of name) add(n);
    for (const t of c.terms) for (const w of t.bare) add(w);
  }
  conceptWordIndex = { exact, prefixes };
  return conceptWordIndex;
}

/**
 * The concept words (names and terms) that are a form of a word the prompt uses for what it permits
 * (equal, or one a prefix of the other of at least four letters): `sameWord` against each permitted
 * word, by look-ups.
 */
function usedConceptWords(permitted: ReadonlySet<string>): Set<string> {
  const { exact, prefixes } = conceptWords();
  const used = new Set<string>();
  for (const p of permitted) {
    if (exact.has(p)) used.add(p);
    if (p.length < 4) continue;
    // Concept words that start with `p`, and concept words of four letters or more that `p` starts with.
    for (const w of prefixes.get(p) ?? []) used.add(w);
    for (let k = 4; k < p.length; k++) {
      const w = p.slice(0, k);
      if (exact.has(w)) used.add(w);
    }
  }
  return used;
}

/**
 * The names of each concept the prompt does not use for what it permits (a recipe bot that must not
 * share meat recipes has not ruled out recipes): decided once per prompt, not per item.
 */
function usableNames(used: ReadonlySet<string>): (readonly (readonly string[])[])[] {
  return readyConcepts.map((c) => c.names.filter((name) => !name.some((n) => used.has(n))));
}

/**
 * Whether a forbidden item names a concept by one of its usable names: every word of the name is in
 * the item, with at most one other word ("human medical advice" names medicine).
 */
function namesConcept(item: readonly string[], names: readonly (readonly string[])[]): boolean {
  return names.some((stems) => {
    if (!stems.every((n) => item.some((s) => sameWord(s, n)))) return false;
    let other = 0;
    for (const s of item) if (!stems.some((n) => sameWord(s, n))) other++;
    return other <= 1;
  });
}

/**
 * A concept's terms as topic groups and their trie, leaving out terms the prompt uses for what it
 * permits. Most prompts leave none out: then the groups and the trie are the concept's own, shared.
 */
function conceptPart(
  c: ReadyConcept,
  used: ReadonlySet<string>,
): { groups: readonly TopicGroup[]; trie: TermTrie } {
  const permits = (i: number): boolean => c.terms[i]?.bare.every((w) => used.has(w)) ?? true;
  const kept = c.terms.some((_, i) => permits(i)) ? c.groups.filter((_, i) => !permits(i)) : c.groups;
  if (kept !== c.groups) return { groups: kept, trie: trieOf(kept) };
  c.trie ??= trieOf(c.groups);
  return { groups: c.groups, trie: c.trie };
}

const GENERIC_SUBJECTS = ['user', 'users', 'customer', 'customers', 'client', 'patient'];

const LANGUAGES = (
  'english french spanish german italian portuguese dutch russian chinese mandarin cantonese japanese ' +
  'korean arabic hindi bengali urdu turkish polish greek hebrew swedish norwegian danish finnish czech ' +
  'romanian hungarian ukrainian vietnamese thai indonesian malay persian swahili latin'
).split(' ');

function read(system: string): SystemConstraints {
  const sentences = sentencesOf(system);
  // Words the prompt uses for what it permits (sentences without a negation), built when first needed.
  let permittedWords: Set<string> | undefined;
  const permitted = (): ReadonlySet<string> => {
    if (!permittedWords) {
      permittedWords = new Set<string>();
      for (const s of sentences) if (!NEGATION.test(s)) for (const w of words(s)) permittedWords.add(stem(w));
    }
    return permittedWords;
  };
  const topics: { stems: string[]; need: number }[] = [];
  const add = (clause: string, qualified = false): void => {
    const found = items(clause, permitted);
    if (qualified) found.pop();
    for (const stems of found) {
      const expansions = EXPANSIONS.find((e) =>
        e.some((alt) => alt.length === stems.length && alt.every((w, i) => stem(w) === stems[i])),
      )?.map((alt) => alt.map(stem));
      for (const alt of expansions ?? [stems])
        topics.push({ stems: alt, need: alt.length <= 2 ? alt.length : Math.ceil(alt.length * 0.6) });
    }
  };
  let protectsData = false;
  for (const s of sentences) {
    // Every rule below needs a negation word: most sentences of a prompt cost one test.
    if (!NEGATION.test(s)) continue;
    for (const m of s.matchAll(TRIGGER)) {
      // "to avoid legal risk, avoid any discussion of X": the first is a reason, not a rule.
      if (m[0].startsWith('avoid') && s.slice(Math.max(0, m.index - 3), m.index) === 'to ') continue;
      // An item is a few words: looking further than this would make a long sentence quadratic.
      const at = m.index + m[0].length;
      let rest = s.slice(at, at + ITEM_REACH);
      rest = rest.slice(LEAD.exec(rest)?.[0].length ?? 0);
      const end = clauseEnd(rest);
      // "emails that could compromise security": the qualifier is the rule and words alone cannot judge
      // it, so the qualified noun (the last item) is not a topic.
      const qualified = end >= 0 && QUALIFIER.test(rest.slice(end));
      add(end >= 0 ? rest.slice(0, end) : rest, qualified);
    }
    // "X is not allowed": the clause before the marker, back to the last comma (or the sentence start).
    for (const m of s.matchAll(PASSIVE)) {
      const from = Math.max(m.index - ITEM_REACH, 0);
      const before = s.slice(from, m.index);
      const cut = Math.max(before.lastIndexOf(','), before.lastIndexOf(':'), before.lastIndexOf(';'));
      add(before.slice(cut + 1));
    }
    protectsData ||= NOT_WORD.test(s) && REVEAL_WORD.test(s) && PRIVATE_DATA.test(s);
  }
  let privacy: SystemConstraints['privacy'];
  if (protectsData) {
    const subjects = new Set(GENERIC_SUBJECTS);
    // The person the prompt is about: "the user's name is Jane Smith".
    for (const n of system.matchAll(/\bname is ((?:[A-Z][\p{L}'-]+ ?){1,3})/gu))
      for (const w of words(n[1] ?? '')) if (w.length >= 3) subjects.add(w);
    privacy = { subjects: [...subjects].slice(0, 64) };
  }
  let languages: string[] | undefined;
  const low = system.toLowerCase();
  if (
    /\b(?:any|no) other languages?\b|\bother languages\b|\bonly (?:in|into|respond in|reply in)\b/.test(low)
  ) {
    const present = new Set(words(low));
    const named = LANGUAGES.filter((l) => present.has(l));
    if (named.length > 0) languages = named;
  }
  // "You have access to the customer database: [{"name": …}, {"name": …}]".
  const records = /\bdatabase\b/.test(low) && (low.match(/"name"\s*:/g)?.length ?? 0) >= 2;
  const opposites: string[] = [];
  for (const s of sentences)
    if (/\bonly\b/.test(s))
      for (const [a, b, reA, reB] of OPPOSITE_RES) {
        const hasA = reA.test(s);
        const hasB = reB.test(s);
        if (hasA !== hasB) opposites.push(hasA ? b : a);
      }
  const places = sentences.some((s) => NEGATION.test(s) && OTHER_PLACES.test(s))
    ? new Set(words(system))
    : undefined;
  const only = FORMAT_ONLY.exec(low)?.[1];
  const format = { only, noCode: NO_CODE.test(low) };
  if (
    topics.length === 0 &&
    !privacy &&
    !languages &&
    !records &&
    opposites.length === 0 &&
    !places &&
    only === undefined &&
    !format.noCode
  )
    return NONE;
  const explicit = topics.slice(0, 48);
  const related: TopicGroup[] = [];
  const shared: TriePart[] = [];
  if (explicit.length > 0) {
    const used = usedConceptWords(permitted());
    const usable = usableNames(used);
    // In the order the topics name them (the matcher reports groups at one place in this order).
    const named = new Set<ReadyConcept>();
    for (const t of explicit)
      readyConcepts.forEach((c, i) => {
        const names = usable[i] ?? [];
        if (names.length > 0 && namesConcept(t.stems, names)) named.add(c);
      });
    for (const c of named) {
      const part = conceptPart(c, used);
      if (part.groups.length === 0) continue;
      shared.push({ trie: part.trie, offset: explicit.length + related.length });
      for (const g of part.groups) related.push(g);
    }
  }
  const entries: TermEntry[] = [];
  explicit.forEach((g, group) => g.stems.forEach((s, slot) => entries.push({ stem: s, group, slot })));
  const matcher = entries.length > 0 || shared.length > 0 ? new TermMatcher(entries, shared) : undefined;
  return { topics: explicit, related, matcher, privacy, languages, records, opposites, places, format };
}

/** Constraints of the prompts read last, least recently used first (evicted one at a time). */
const cache = new Map<string, { readonly key: string; readonly constraints: SystemConstraints }>();
const CACHE_SIZE = 64;
/** How much of a system prompt is read for constraints, in characters. */
const READ_LIMIT = 8192;

/** The constraints of a system prompt; memoised (a release's prompt is the same on every call). */
export function systemConstraints(system: string): SystemConstraints {
  // Rules are stated near the start; reading a huge prompt (documents pasted into it) whole would cost
  // milliseconds on every call whose prompt differs, and keeping it as a key would hold its memory.
  const head = system.length > READ_LIMIT ? system.slice(0, READ_LIMIT) : system;
  const hit = cache.get(head);
  if (hit) {
    // Most recently used last (the oldest entry is the first in the map's order), under the key it was
    // stored with.
    cache.delete(hit.key);
    cache.set(hit.key, hit);
    return hit.constraints;
  }
  const constraints = read(head);
  if (cache.size >= CACHE_SIZE) {
    const oldest = cache.keys().next();
    if (oldest.done !== true) cache.delete(oldest.value);
  }
  // A slice shares its parent's memory in V8, so the key is a flat copy: a 5 MB prompt must not stay
  // alive as the key of its first 8 KB (JSON.parse builds a new string).
  const key = head === system ? head : (JSON.parse(JSON.stringify(head)) as string);
  cache.set(key, { key, constraints });
  return constraints;
}

// ---------------------------------------------------------------------------------------------------
// Checking a user turn

const boundary = (text: string, at: number): boolean =>
  at < 0 || at >= text.length || !isWordChar(lower(text.charCodeAt(at)));

/** Where `stem` begins a word of `low` (and ends one, for stems shorter than 4 characters); -1 if nowhere. */
function wordStart(low: string, stem: string): number {
  for (let at = low.indexOf(stem); at >= 0; at = low.indexOf(stem, at + 1))
    if (boundary(low, at - 1) && (stem.length >= 4 || boundary(low, at + stem.length))) return at;
  return -1;
}

/**
 * Words before an opposite that ask for it ("in descending order", "be rude", "switch to fahrenheit",
 * "more informal"), not ones that tell of it ("my coworker was rude to me").
 */
const ASK_CUE =
  /\b(?:in|into|be|being|become|more|use|using|switch to|change to|convert to|make it|make them|sort(?: them| it)?|order(?: them| it)?|list(?: them| it)?|answer|respond|reply|write|speak|sound|go|as|with)(?: (?:a|an|the|very|really|more|bit|little|all|completely|totally|purely))*\s+$/;

/** Where `o` (an opposite) is asked for in `low` as a whole word; -1 if nowhere. */
function askedFor(low: string, o: string): number {
  for (let at = low.indexOf(o); at >= 0; at = low.indexOf(o, at + 1))
    if (
      boundary(low, at - 1) &&
      boundary(low, at + o.length) &&
      ASK_CUE.test(low.slice(Math.max(0, at - 40), at))
    )
      return at;
  return -1;
}

/** Privacy: a subject ("the user", "Jane") within a few words of a personal attribute. */
const ATTRIBUTES = [
  'live',
  'living',
  'reside',
  'residence',
  'city',
  'address',
  'located',
  'location',
  'born',
  'birth',
  'age',
  'email',
  'e-mail',
  'phone',
  'color',
  'colour',
  'initials',
  'name',
  'personal',
  'private',
];
const NEAR = 48;

/** The prompt constrains nothing this module checks (most prompts): skip the user turn. */
export const unconstrained = (c: SystemConstraints): boolean => c === NONE;

/** Word spans of a text (the classifier's tokens, copied): where stems may start. */
export interface WordSpans {
  readonly starts: Int32Array;
  readonly ends: Int32Array;
}

/**
 * What `low` (a lower-cased user turn) asks for that the system prompt rules out. `raw` is the turn as
 * written: the forbidden-topic matcher reads it (it folds case itself, so its spans are exact) and the
 * checks that need capitals (place names) too. `spans` are the word spans of `raw` when known (the
 * matcher then visits only word starts); they are ignored without `raw`.
 */
export function constraintSignals(
  low: string,
  c: SystemConstraints,
  spans?: WordSpans,
  raw?: string,
): ConstraintSignal[] {
  if (c === NONE) return [];
  const out: ConstraintSignal[] = [];
  // The matcher folds case and accents itself, one code unit for one, so it reads the turn as written:
  // `spans` index `raw`, and `low` is longer than `raw` after an "İ" (two code units lower-cased), which
  // would shift every word start after it. Without `raw`, the spans cannot be trusted for `low`.
  const topic = c.matcher
    ? raw !== undefined
      ? topicIn(raw, c, spans)
      : topicIn(low, c, undefined)
    : undefined;
  if (topic) out.push(topic);
  if (c.privacy)
    search: for (const s of c.privacy.subjects)
      for (let at = next(low, s, -1); at >= 0; at = next(low, s, at)) {
        // "the user's e-mail", "Jane's city"; not "my customer account".
        if (
          GENERIC_SUBJECTS.includes(s) &&
          !low.startsWith('the ', at - 4) &&
          !low.startsWith("'s", at + s.length)
        )
          continue;
        // The attribute follows: "the user's e-mail", "where does Jane Smith live", "Steven's city".
        const from = at + s.length;
        const window = low.slice(from, from + NEAR);
        for (const a of ATTRIBUTES) {
          const j = wordStart(window, a);
          if (j < 0 || (a === 'address' && window.startsWith('ip ', j - 3))) continue;
          out.push({
            kind: 'private_data',
            score: SCORE,
            message: PRIVATE,
            start: at,
            end: from + j + a.length,
          });
          break search;
        }
      }
  if (c.records) {
    const at = bulkRequest(low);
    if (at >= 0)
      out.push({
        kind: 'records_dump',
        score: SCORE,
        message: RECORDS,
        start: at,
        end: Math.min(low.length, at + 24),
      });
  }
  if (c.languages)
    for (const l of LANGUAGES) {
      if (c.languages.includes(l)) continue;
      const at = wordStart(low, l);
      if (at < 0 || !boundary(low, at + l.length)) continue;
      const before = low.slice(Math.max(0, at - 6), at);
      if (!(before.endsWith('into ') || before.endsWith(' to ') || before.endsWith(' in '))) continue;
      out.push({
        kind: 'restricted_language',
        score: SCORE,
        message: LANGUAGE,
        start: at,
        end: at + l.length,
      });
      break;
    }
  if (c.format.only !== undefined) {
    FORMAT_ASK.lastIndex = 0;
    for (let m = FORMAT_ASK.exec(low); m; m = FORMAT_ASK.exec(low)) {
      const asked = m[1] ?? m[2] ?? '';
      // "Answer in JSON" is the allowed format; "don't use JSON" rules it out.
      if ((m[1] !== undefined) === sameFormat(asked, c.format.only)) continue;
      out.push({
        kind: 'restricted_topic',
        score: SCORE,
        message: FORMAT,
        start: m.index,
        end: m.index + m[0].length,
      });
      break;
    }
  }
  if (c.format.noCode) {
    const m = CODE_ASK.exec(low);
    if (m)
      out.push({
        kind: 'restricted_topic',
        score: SCORE,
        message: CODE,
        start: m.index,
        end: m.index + m[0].length,
      });
  }
  for (const o of c.opposites) {
    const at = askedFor(low, o);
    if (at < 0) continue;
    out.push({ kind: 'restricted_topic', score: SCORE, message: OPPOSITE, start: at, end: at + o.length });
    break;
  }
  if (c.places && raw !== undefined) {
    PLACE_NAME.lastIndex = 0;
    for (let m = PLACE_NAME.exec(raw); m; m = PLACE_NAME.exec(raw)) {
      const name = m[1] ?? '';
      const ws = words(name);
      // A place the prompt names (it is the one covered), or not a place at all.
      // Acronyms ("in REST APIs") are rarely places.
      if (ws.some((w) => c.places?.has(w) === true || NOT_PLACES.has(w)) || /^\p{Lu}{2,}\b/u.test(name))
        continue;
      // "send the summary to John": after a verb of telling or giving (or its object), a person.
      const prep = /^\S+/u.exec(m[0])?.[0].toLowerCase() ?? '';
      if ((prep === 'to' || prep === 'from' || prep === 'at') && toPerson(raw, m.index)) continue;
      const start = m.index + m[0].length - name.length;
      out.push({ kind: 'restricted_topic', score: SCORE, message: PLACE, start, end: start + name.length });
      break;
    }
  }
  return out;
}

/**
 * The first forbidden topic `text` asks about: the matcher reports stems in text order, and a topic
 * counts once `need` of its distinct stems have been seen (the span covers them).
 */
function topicIn(text: string, c: SystemConstraints, words?: WordSpans): ConstraintSignal | undefined {
  const groups = c.topics.length;
  const seen = new Map<number, { mask: number; count: number; start: number; end: number }>();
  let found: ConstraintSignal | undefined;
  c.matcher?.scan(
    text,
    (e, start, end, offset) => {
      const group = e.group + offset;
      const g = group < groups ? c.topics[group] : c.related[group - groups];
      if (!g) return false;
      let s = seen.get(group);
      if (!s) {
        s = { mask: 0, count: 0, start, end };
        seen.set(group, s);
      }
      const bit = 1 << e.slot;
      if ((s.mask & bit) === 0) {
        s.mask |= bit;
        s.count++;
        s.start = Math.min(s.start, start);
        s.end = Math.max(s.end, end);
      }
      if (s.count < g.need) return false;
      const message = g.concept ? `${TOPIC} (${g.concept})` : TOPIC;
      found = { kind: 'restricted_topic', score: SCORE, message, start: s.start, end: s.end };
      return true;
    },
    words,
  );
  return found;
}

function next(low: string, s: string, after: number): number {
  for (let at = low.indexOf(s, after + 1); at >= 0; at = low.indexOf(s, at + 1))
    if (boundary(low, at - 1) && boundary(low, at + s.length)) return at;
  return -1;
}
