import { englishDataset, type MatchPayload } from 'obscenity';

/** How bad each word obscenity flags is, and the innocent words it flags that are dropped. */

export interface WordClass {
  readonly kind: 'slur' | 'profanity' | 'sexual';
  readonly score: number;
}

const SLUR: WordClass = { kind: 'slur', score: 1 };
const SLUR_AMBIGUOUS: WordClass = { kind: 'slur', score: 0.8 };
const PROFANITY: WordClass = { kind: 'profanity', score: 0.8 };
const MILD: WordClass = { kind: 'profanity', score: 0.6 };
const SEXUAL: WordClass = { kind: 'sexual', score: 0.7 };
/** Below the default threshold: words with a common innocent or clinical reading. */
const AMBIGUOUS: WordClass = { kind: 'profanity', score: 0.4 };
const CLINICAL: WordClass = { kind: 'sexual', score: 0.3 };

/** By obscenity's `originalWord`; a word missing here (a newer obscenity) counts as profanity. */
const WORD_CLASSES: Readonly<Record<string, WordClass>> = {
  abeed: SLUR,
  africoon: SLUR,
  arabush: SLUR,
  boonga: SLUR,
  chingchong: SLUR,
  chink: SLUR,
  kike: SLUR,
  nigger: SLUR,
  fag: SLUR,
  tranny: SLUR,
  dyke: SLUR_AMBIGUOUS,
  retard: SLUR_AMBIGUOUS,
  spastic: SLUR_AMBIGUOUS,
  // `ABO blood group`, and the historical usage quoted in history answers.
  abo: { kind: 'slur', score: 0.4 },
  negro: { kind: 'slur', score: 0.4 },
  fuck: PROFANITY,
  cunt: PROFANITY,
  shit: PROFANITY,
  bitch: PROFANITY,
  bastard: PROFANITY,
  twat: PROFANITY,
  wank: PROFANITY,
  whore: PROFANITY,
  slut: PROFANITY,
  cuck: PROFANITY,
  jizz: PROFANITY,
  ass: MILD,
  arse: MILD,
  bollocks: MILD,
  piss: MILD,
  turd: MILD,
  // Names, birds, cats and roosters: Moby Dick, blue tit, pussycat, the cock crowed, Hooker.
  dick: AMBIGUOUS,
  cock: AMBIGUOUS,
  pussy: AMBIGUOUS,
  tit: AMBIGUOUS,
  prick: AMBIGUOUS,
  boob: AMBIGUOUS,
  hooker: AMBIGUOUS,
  cum: AMBIGUOUS,
  blowjob: SEXUAL,
  handjob: SEXUAL,
  gangbang: SEXUAL,
  deepthroat: SEXUAL,
  buttplug: SEXUAL,
  'finger bang': SEXUAL,
  felch: SEXUAL,
  lubejob: SEXUAL,
  hentai: SEXUAL,
  dildo: SEXUAL,
  doggystyle: SEXUAL,
  fisting: SEXUAL,
  'double penetration': SEXUAL,
  'jerk off': SEXUAL,
  orgy: SEXUAL,
  bestiality: SEXUAL,
  fellatio: SEXUAL,
  anal: CLINICAL,
  anus: CLINICAL,
  penis: CLINICAL,
  vagina: CLINICAL,
  sex: CLINICAL,
  semen: CLINICAL,
  orgasm: CLINICAL,
  ejaculate: CLINICAL,
  masturbate: CLINICAL,
  incest: CLINICAL,
  rape: CLINICAL,
  porn: CLINICAL,
  scat: CLINICAL,
};

/** The class of the word a match is for, by obscenity's `originalWord` (looked up once per term). */
const classByTerm = new Map<number, WordClass>();
export function classOfTerm(m: MatchPayload): WordClass {
  let c = classByTerm.get(m.termId);
  if (!c) {
    const original = englishDataset.getPayloadWithPhraseMetadata(m).phraseMetadata?.originalWord ?? '';
    c = WORD_CLASSES[original] ?? PROFANITY;
    classByTerm.set(m.termId, c);
  }
  return c;
}

/**
 * Words obscenity flags that are innocent (found by probing, not in its whitelist): a match inside the
 * first letters of one of these words is dropped. Only inside that prefix, so `cockpitfuck` still counts.
 */
const INNOCENT_PREFIXES = [
  'assn',
  'assonan',
  'asst',
  'assyria',
  'assort',
  'booboo',
  'chinked',
  'chinking',
  'cockpit',
  'cuckold',
  'cummings',
  'cumin',
  'dickinson',
  'fagan',
  'fagged',
  'fagging',
  'fagin',
  'fagot',
  'fagus',
  'feckless',
  'fukuoka',
  'fukushima',
  'fukuyama',
  'georg',
  'niggard',
  'peniston',
  'pissar',
  'rapeseed',
  'retardant',
  'retardation',
  'retarding',
  'semenya',
  'shiitake',
  'traffick',
  'vandyke',
  'wankel',
];
const LETTER_OR_DIGIT = /[\p{L}\p{N}]/u;

export function innocent(text: string, start: number, end: number): boolean {
  // `science/analytics`: obscenity reads `/` as leet for `l` even between two words.
  const first = text[start] ?? '';
  if ((first === '/' || first === '|') && LETTER_OR_DIGIT.test(text[start - 1] ?? '')) return true;
  let from = start;
  while (from > 0 && LETTER_OR_DIGIT.test(text[from - 1] ?? '')) from--;
  const word = text.slice(from, from + 16).toLowerCase();
  for (const p of INNOCENT_PREFIXES) if (word.startsWith(p) && end <= from + p.length) return true;
  const matched = text.slice(start, end);
  const after = text.slice(end, end + 24);
  // The surname Fu (`FU` and `fu` still count); magna cum laude; a chink in the armour.
  if (matched === 'Fu' && !LETTER_OR_DIGIT.test(after[0] ?? '')) return true;
  if (/^cum$/i.test(matched) && /^\s+laude\b/i.test(after)) return true;
  return /^chinks?$/i.test(matched) && /^\s+in\s+(?:\w+\s+)?armou?r/i.test(after);
}
