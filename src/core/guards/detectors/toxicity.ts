import type { Detection, Detector } from '../types.js';
import { matchesOf } from '../regex-matches.js';
import { LEXICON, lexiconRegex } from './toxicity-lexicon.js';
import { obscenityMatches } from './toxicity-matcher.js';
import { classOfTerm, innocent } from './toxicity-word-classes.js';

/**
 * Reputation: profanity, slurs, insults and threats, in what users send and what the model answers.
 *
 * Two sources, each reporting spans:
 * - the `obscenity` library's English word list and transformers (leet speak, look-alike Unicode,
 *   repeated letters: `sh1t`, `ƒuck`, `fuuuck`), with a score per word: slurs highest, clinical words
 *   (`penis`, `rape`, `sex`, which a health or legal answer uses properly) below the default threshold;
 * - a lexicon of what a word list misses: insults (`moron`, `libtard`), insults aimed at someone
 *   (`you are pathetic`), threats and wishes of harm (`I will kill you`, `should be hanged`), and masked
 *   profanity (`F**K`, `f@!#`).
 *
 * Beside this file: the obscenity matcher and the pattern trie (toxicity-pattern-trie.ts), its pre-check
 * (toxicity-precheck.ts), whitelist handling (toxicity-whitelist.ts), the matcher run on windows
 * (toxicity-matcher.ts), word classes and innocent words (toxicity-word-classes.ts), the lexicon
 * (toxicity-lexicon.ts).
 *
 * Measured at the default threshold on the development set's 1000 toxicity rows (surge-ai/toxicity,
 * social-media comments; the lexicon was tuned on a 70% split of them): recall 54.7% (274/501), false
 * positives 2.8% (14/499), all of them real profanity used without hostility ("so fucking cool"), which
 * the data labels non-toxic and a brand usually still wants to know about. On the 30% split not looked
 * at: recall 53.4%, false positives 3.9%. A hashed n-gram classifier trained on the 70% was tried and
 * left out: it learned politics rather than toxicity (a neutral news sentence about a politician scored
 * as toxic) and fired on 27 of the 784 other benign rows of the set. What this cannot see: sarcasm, dog
 * whistles, hostility in polite words, and most hostile political rants without insults.
 */

function messageFor(kind: string): string {
  switch (kind) {
    case 'slur':
      return 'a slur';
    case 'sexual':
      return 'sexual language';
    case 'insult':
      return 'an insult';
    case 'threat':
      return 'a threat or wish of harm';
    default:
      return 'profanity';
  }
}

const MAX_TOXICITY_FINDINGS = 50;

/** The number of the first capture group that took part in the match (its rule), 0 when none did. */
function firstGroup(m: RegExpMatchArray): number {
  for (let i = 1; i < m.length; i++) if (m[i] !== undefined) return i;
  return 0;
}

export const toxicity: Detector = {
  id: 'toxicity',
  class: 'reputation',
  stages: ['input', 'output'],
  defaultAction: 'log',
  defaultThreshold: 0.5,
  description:
    'profanity, slurs, insults and threats (obscenity word list plus an insult and threat lexicon)',
  detect(text) {
    const out: Detection[] = [];
    // obscenity reports a word once per pattern that matches it (`sh1t` twice): one detection per span,
    // obscenity's first, and no more looking once the list is full. (The set is made on the first
    // detection: most texts have none.)
    let seen: Set<string> | undefined;
    const add = (kind: string, score: number, start: number, end: number): boolean => {
      const key = `${start}:${end}`;
      seen ??= new Set<string>();
      if (!seen.has(key)) {
        seen.add(key);
        out.push({ kind, score, span: { start, end }, message: messageFor(kind) });
      }
      return out.length < MAX_TOXICITY_FINDINGS;
    };
    for (const m of obscenityMatches(text)) {
      const end = m.endIndex + 1;
      if (innocent(text, m.startIndex, end)) continue;
      const c = classOfTerm(m);
      if (!add(c.kind, c.score, m.startIndex, end)) return out;
    }
    for (const m of matchesOf(lexiconRegex, text)) {
      const r = LEXICON[firstGroup(m) - 1];
      if (r && !add(r.kind, r.score, m.index, m.index + m[0].length)) return out;
    }
    return out;
  },
};
