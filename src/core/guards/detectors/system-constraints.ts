import { PromptMemo, READ_LIMIT } from './prompt-memo.js';
import { withFields } from '../../with-fields.js';
import { forbiddenActions } from './system-actions.js';
import { offScopeSubjects } from './system-scope.js';
import { TermMatcher, type TermEntry, type TriePart } from './term-matcher.js';
import { NONE, type SystemConstraints, type TopicGroup } from './system-constraint-types.js';
import {
  conceptPart,
  namesConcept,
  namesKindOfHelp,
  readyConcepts,
  usableNames,
  usedConceptWords,
  type ReadyConcept,
} from './system-prompt-concepts.js';
import {
  clauseEnd,
  EXPANSIONS,
  GENERIC_SUBJECTS,
  items,
  ITEM_REACH,
  LANGUAGES,
  LEAD,
  NEGATION,
  NOT_WORD,
  PASSIVE,
  PRIVATE_DATA,
  QUALIFIER,
  REVEAL_WORD,
  sentencesOf,
  stem,
  TRIGGER,
  words,
} from './system-prompt-lexicon.js';
import {
  CHARACTER_LIMIT,
  CODE_ONE_LANGUAGE,
  FORMAT_ONLY,
  NO_CODE,
  OPPOSITE_RES,
  OTHER_PLACES,
  PROGRAMMING_LANGUAGE,
  SCOPES,
  NOT_SHORT,
  SHORT_ANSWER,
  SHORT_ANSWER_WORDS,
  WORD_LIMIT,
} from './system-rule-patterns.js';
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
 *
 * This file reads a prompt (and caches what it read); the pieces: system-prompt-lexicon.ts (how a
 * forbidden item is found in a sentence), system-rule-patterns.ts (formats, code, opposites, places,
 * records), system-prompt-concepts.ts (topics in other words and languages), system-constraint-checks.ts
 * (checking a user turn), system-constraint-types.ts (what is read).
 */

export * from './system-constraint-types.js';
export { constraintSignals, type WordSpans } from './system-constraint-checks.js';

/** A rule against advice on its subject rather than the subject itself. */
const ADVICE_CLAUSE = /\badvice\b/;
const NOTHING_PERMITTED = (): ReadonlySet<string> => new Set<string>();

/** Named examples in parentheses right after a ruled-out item: "(e.g., REI, Osprey, Patagonia)". */
const EXAMPLES = /^\((?:e\.g\.|eg\.|for example|for instance|such as|like|including),?\s*([^)]{1,160})\)/;

/** A language rule that names none: "no other language", "other languages". */
const OTHER_LANGUAGES = /\b(?:any|no) other languages?\b|\bother languages\b/;

/** The language named by the rule: "only in French", "always reply in French or English", "a French-only tutor". */
const RULED_LANGUAGE =
  /\b(?:only (?:in|into|respond in|reply in)|always (?:answer|respond|reply|write|speak|talk)s? in|(?:answer|respond|reply|speak)s? (?:only|exclusively|solely) in) ([a-z]+)(?: (?:or|and) ([a-z]+))?|\b([a-z]+)-only (?:assistant|bot|chatbot|agent|tutor)\b/g;

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
  const topics: { stems: string[]; need: number; advice?: boolean }[] = [];
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
    // A rule against advice whose subject the prompt also uses for what it permits ("Legal intake bot
    // … do not give legal advice"): the subject was left out above; it comes back as a rule against
    // advice on it, firing only on a turn that asks for advice (TopicGroup.advice).
    if (!qualified && ADVICE_CLAUSE.test(clause)) {
      const kept = new Set(found.map((f) => f.join(' ')));
      for (const stems of items(clause, NOTHING_PERMITTED))
        if (!kept.has(stems.join(' ')) && stems.length <= 2)
          topics.push({ stems, need: stems.length, advice: true });
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
      // "Don't: admit fault, promise payouts, …": a rule list after a colon.
      rest = rest.replace(/^\s*:\s*/, '');
      rest = rest.slice(LEAD.exec(rest)?.[0].length ?? 0);
      const end = clauseEnd(rest);
      // "emails that could compromise security": the qualifier is the rule and words alone cannot judge
      // it, so the qualified noun (the last item) is not a topic.
      const qualified = end >= 0 && QUALIFIER.test(rest.slice(end));
      add(end >= 0 ? rest.slice(0, end) : rest, qualified);
      // "any competitor brand or retailer (e.g., REI, Osprey, Patagonia)": the examples, each an item.
      if (end >= 0 && rest[end] === '(') {
        const examples = EXAMPLES.exec(rest.slice(end));
        if (examples) add(examples[1] ?? '');
      }
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
    // The people its records name: "Customer record on file: Maria Lopez, phone …", "Employee: Jane Doe".
    for (const n of system.slice(0, READ_LIMIT).matchAll(RECORD_NAME))
      for (const w of words(n[1] ?? '')) if (w.length >= 3) subjects.add(w);
    privacy = { subjects: [...subjects].slice(0, 64) };
  }
  let languages: string[] | undefined;
  const low = system.toLowerCase();
  // The language a rule itself names ("always reply in French only, even when they write in English":
  // French), else, for a rule naming none ("no other language"), every language the prompt names.
  const ruled = new Set<string>();
  let languageRule = false;
  for (const m of low.matchAll(RULED_LANGUAGE)) {
    languageRule = true;
    for (const l of [m[1], m[2], m[3]]) if (l !== undefined && LANGUAGES.includes(l)) ruled.add(l);
  }
  if (languageRule || OTHER_LANGUAGES.test(low)) {
    const present = new Set(words(low));
    const named = ruled.size > 0 ? [...ruled] : LANGUAGES.filter((l) => present.has(l));
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
  // The prompt's words, for the two checks that need them.
  let promptWords: Set<string> | undefined;
  const allWords = (): Set<string> => (promptWords ??= new Set(words(system)));
  const places = sentences.some((s) => NEGATION.test(s) && OTHER_PLACES.test(s)) ? allWords() : undefined;
  const scope = SCOPES.test(low) ? allWords() : undefined;
  const actions = forbiddenActions(sentences);
  const offScope = offScopeSubjects(low);
  const only = FORMAT_ONLY.exec(low)?.[1];
  const codeOnlyIn = CODE_ONE_LANGUAGE.test(low) ? PROGRAMMING_LANGUAGE.exec(low)?.[1] : undefined;
  const wordLimit = WORD_LIMIT.exec(low);
  const limit = wordLimit?.[1] ?? wordLimit?.[2];
  const characterLimit = CHARACTER_LIMIT.exec(low);
  const characters = characterLimit?.[1] ?? characterLimit?.[2];
  const maxWords =
    limit !== undefined
      ? Number(limit)
      : characters !== undefined
        ? Math.ceil(Number(characters) / 6)
        : shortAnswer(low)
          ? SHORT_ANSWER_WORDS
          : undefined;
  const format = { only, noCode: NO_CODE.test(low), codeOnlyIn, maxWords };
  if (
    topics.length === 0 &&
    !privacy &&
    !languages &&
    !records &&
    opposites.length === 0 &&
    !places &&
    only === undefined &&
    !format.noCode &&
    codeOnlyIn === undefined &&
    maxWords === undefined &&
    !scope &&
    !actions &&
    offScope.length === 0
  )
    return NONE;
  const explicit = topics.slice(0, 48);
  const related: TopicGroup[] = [];
  const shared: TriePart[] = [];
  if (explicit.length > 0) {
    const used = usedConceptWords(permitted());
    const usable = usableNames(used);
    // In the order the topics name them (the matcher reports groups at one place in this order).
    // Each named concept, and whether every item naming it rules out only advice on it.
    const named = new Map<ReadyConcept, boolean>();
    for (const t of explicit)
      readyConcepts.forEach((c, i) => {
        const names = t.advice === true ? c.names : (usable[i] ?? []);
        if (names.length > 0 && namesConcept(t.stems, names))
          named.set(c, (named.get(c) ?? true) && (t.advice === true || namesKindOfHelp(t.stems)));
      });
    for (const [c, advice] of named) {
      const part = conceptPart(c, used);
      if (part.groups.length === 0) continue;
      shared.push({ trie: part.trie, offset: explicit.length + related.length });
      for (const g of part.groups) related.push(advice ? withFields(g, { advice }) : g);
    }
  }
  const entries: TermEntry[] = [];
  explicit.forEach((g, group) => g.stems.forEach((s, slot) => entries.push({ stem: s, group, slot })));
  const matcher = entries.length > 0 || shared.length > 0 ? new TermMatcher(entries, shared) : undefined;
  return {
    topics: explicit,
    related,
    matcher,
    privacy,
    languages,
    records,
    opposites,
    places,
    actions,
    offScope,
    scope,
    format,
  };
}

/** The prompt limits answers to a sentence or two, or to yes or no (and does not say the opposite). */
function shortAnswer(low: string): boolean {
  const m = SHORT_ANSWER.exec(low);
  return m !== null && !NOT_SHORT.test(low.slice(Math.max(0, m.index - 32), m.index));
}

/** A person's name right after a record's label and a colon ("Customer record on file: Maria Lopez"). */
const RECORD_NAME =
  /\b(?:record|records|profile|file|customer|client|patient|employee|staff|student|member|user|contact|name)\b[^.:\n]{0,24}:\s*([A-Z][\p{L}'’-]+ [A-Z][\p{L}'’-]+)/gu;

/**
 * The constraints of a system prompt; memoised (a release's prompt is the same on every call). Rules are
 * stated near the start: reading a huge prompt (documents pasted into it) whole would cost milliseconds
 * on every call whose prompt differs (prompt-memo.ts reads its first READ_LIMIT characters).
 */
export function systemConstraints(system: string): SystemConstraints {
  return memo.get(system);
}
const memo = new PromptMemo(64, (head) => read(head));
