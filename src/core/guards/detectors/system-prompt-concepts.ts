import { TermTrie } from './term-matcher.js';
import { concepts, type Concept } from './topic-concepts.js';
import type { TopicGroup } from './system-constraint-types.js';
import { sameWord, stem } from './system-prompt-lexicon.js';

/**
 * A forbidden topic in other words and languages: which concepts (topic-concepts.ts) an item of the
 * prompt names, and their terms as topic groups and shared tries, prepared once at module load.
 */

/** A concept (topic-concepts.ts) with its names stemmed and its terms split, once at module load. */
export interface ReadyConcept {
  readonly concept: Concept;
  readonly names: readonly (readonly string[])[];
  /** Each term's words as the matcher takes them ("cook=") and without the whole-word mark. */
  readonly terms: readonly { readonly stems: readonly string[]; readonly bare: readonly string[] }[];
  /** All terms as topic groups, in order. */
  readonly groups: readonly TopicGroup[];
  /** The trie of all terms (group: the term's index), built when a prompt first rules the concept out. */
  trie: TermTrie | undefined;
}

export const readyConcepts: readonly ReadyConcept[] = concepts.map((c) => {
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

export const trieOf = (groups: readonly TopicGroup[]): TermTrie =>
  new TermTrie(groups.flatMap((g, group) => g.stems.map((s, slot) => ({ stem: s, group, slot }))));

/**
 * Every word of the concepts' names and terms, and every prefix of four letters or more of them, to
 * the words it stands for: built once, so that finding which of them a prompt uses for what it permits
 * costs a few look-ups per permitted word (linear in the prompt), not a comparison per word pair.
 */
export let conceptWordIndex: { exact: Map<string, string>; prefixes: Map<string, string[]> } | undefined;

export function conceptWords(): NonNullable<typeof conceptWordIndex> {
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
export function usedConceptWords(permitted: ReadonlySet<string>): Set<string> {
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
export function usableNames(used: ReadonlySet<string>): (readonly (readonly string[])[])[] {
  return readyConcepts.map((c) => c.names.filter((name) => !name.some((n) => used.has(n))));
}

/**
 * Words that say what kind of help is ruled out rather than what it is about: "individualized investment
 * recommendations" names investment, "medication doses for pets" medicine. ADVICE is the part of them
 * that makes the rule one against advice on the subject (namesKindOfHelp), not against the subject.
 */
const ADVICE = ['advice', 'advise', 'recommendation', 'recommend', 'personalized', 'personalised'].concat([
  'individualized',
  'individualised',
  'opinion',
  'tip',
  'guidance',
  'dose',
  'dosage',
  'dosing',
]);
const KIND_OF_HELP = new Set(
  [...ADVICE, 'specific', 'information', 'question']
    .concat(
      // Whose or which, not what about: "commission rates with clients", "the company's unreleased products".
      ['rate', 'company', 'product', 'client', 'customer', 'user', 'detail', 'figure', 'number'],
    )
    .map(stem),
);
const ADVICE_STEMS = new Set(ADVICE.map(stem));

/** The item rules out advice on its subject ("personalized tax advice"), not the subject. */
export const namesKindOfHelp = (item: readonly string[]): boolean => item.some((s) => ADVICE_STEMS.has(s));

/**
 * Whether a forbidden item names a concept by one of its usable names: every word of the name is in
 * the item, with at most one other word ("human medical advice" names medicine) besides words of the
 * kind of help (KIND_OF_HELP).
 */
export function namesConcept(item: readonly string[], names: readonly (readonly string[])[]): boolean {
  return names.some((stems) => {
    if (!stems.every((n) => item.some((s) => sameWord(s, n)))) return false;
    let other = 0;
    for (const s of item) if (!stems.some((n) => sameWord(s, n)) && !KIND_OF_HELP.has(s)) other++;
    return other <= 1;
  });
}

/**
 * A concept's terms as topic groups and their trie, leaving out terms the prompt uses for what it
 * permits. Most prompts leave none out: then the groups and the trie are the concept's own, shared.
 */
export function conceptPart(
  c: ReadyConcept,
  used: ReadonlySet<string>,
): { groups: readonly TopicGroup[]; trie: TermTrie } {
  const permits = (i: number): boolean => c.terms[i]?.bare.every((w) => used.has(w)) ?? true;
  const kept = c.terms.some((_, i) => permits(i)) ? c.groups.filter((_, i) => !permits(i)) : c.groups;
  if (kept !== c.groups) return { groups: kept, trie: trieOf(kept) };
  c.trie ??= trieOf(c.groups);
  return { groups: c.groups, trie: c.trie };
}
