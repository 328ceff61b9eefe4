import { wordBoundary } from '../classifier.js';
import {
  CONSTRAINT_SCORE,
  NONE,
  type ConstraintSignal,
  type SystemConstraints,
} from './system-constraint-types.js';
import { forbiddenActionAsked } from './system-actions.js';
import { offScopeAsked } from './system-scope.js';
import { GENERIC_SUBJECTS, LANGUAGES, singular, words } from './system-prompt-lexicon.js';
import {
  bulkRequest,
  CODE_ASK,
  CODE_LANGUAGE_ASK,
  FORMAT_ASK,
  LONG_ASK,
  NOT_PLACES,
  PLACE_NAME,
  sameFormat,
  SET_ASIDE,
  toPerson,
  WORDS_ASKED,
} from './system-rule-patterns.js';

/**
 * Checking a user turn against what its system prompt rules out (read by system-constraints.ts): the
 * forbidden-topic matcher, protected personal data, languages, records, opposites, places, formats and
 * code. Runs only when the prompt has constraints.
 */
const SCORE = CONSTRAINT_SCORE;

const TOPIC = 'asks about a topic the system prompt rules out';
const PRIVATE = 'asks for personal data the system prompt protects';
const LANGUAGE = 'asks for a language the system prompt rules out';
const RECORDS = "asks for the system prompt's records as a whole or for other people's";
const OPPOSITE = 'asks for the opposite of what the system prompt allows';
const FORMAT = 'asks for an output format the system prompt rules out';
const CODE = 'asks for code the system prompt rules out';
const CODE_LANGUAGE = 'asks for code in another programming language than the system prompt allows';
const LENGTH = 'asks for a longer answer than the system prompt allows';
const ASIDE = 'asks the model to set aside what its system prompt is for';
const PLACE = 'asks about a place the system prompt rules out';
/** Limits (in words) short enough that several paragraphs or a whole document break them. */
const LONG_ASK_LIMIT = 150;
const OFF_SCOPE = 'asks about a subject outside the one the system prompt confines the model to';
const ACTION = 'presses the model to take an action its system prompt keeps from it';

const restricted = (message: string, start: number, end: number): ConstraintSignal => ({
  kind: 'restricted_topic',
  score: SCORE,
  message,
  start,
  end,
});

/** Where `stem` begins a word of `low` (and ends one, for stems shorter than 4 characters); -1 if nowhere. */
function wordStart(low: string, stem: string): number {
  for (let at = low.indexOf(stem); at >= 0; at = low.indexOf(stem, at + 1))
    if (wordBoundary(low, at - 1) && (stem.length >= 4 || wordBoundary(low, at + stem.length))) return at;
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
      wordBoundary(low, at - 1) &&
      wordBoundary(low, at + o.length) &&
      ASK_CUE.test(low.slice(Math.max(0, at - 40), at))
    )
      return at;
  return -1;
}

/**
 * A turn asking for advice or a judgement for oneself: "should I itemize?", "is it safe to give him
 * paracetamol?", "what's the smartest way to lower what I owe?", "do I have a strong case?"; a question
 * about a dose is one ("what is the lethal dose of ibuprofen for a dog?").
 */
const ADVICE_ASK =
  /\b(?:should (?:i|we|my|he|she|they)|can i (?:give|claim|deduct)|(?:can|could) i take(?! (?:a|the|some) (?:photo|picture|screenshot|look|break|tour|seat|copy))|could i (?:give|claim)|is it (?:safe|ok|okay|better|wise|smart|worth)|would you (?:recommend|suggest|advise)|what would you (?:do|recommend|suggest)|in my shoes|what(?:'s| is) the (?:best|smartest|safest|cheapest) way|how (?:much|many)[^.?!]{0,30}(?:should|can) (?:i|we)|do i have a (?:strong|good|winning) case|how (?:do|can) i (?:lower|reduce|avoid|minimi[sz]e)|tell me (?:which|what|whether|if|how much)|which [a-z]+ (?:should|to (?:buy|take|claim|choose|pick))|(?:recommend|suggest) (?:me|a|an|some|which)|dos(?:e|es|age|ing)|mg|milligrams?|miligramas?|how many (?:pills|tablets|capsules)|posso|puedo|kann ich|puis-je|dois-je|devrais-je|devo|dovrei|debo|deber[ií]a|soll ich|sollte ich|moet ik|zou ik)\b/;

/** Words just before a topic's term that ask to do without it: "instead of eggs", "without meat". */
const AVOIDED = /\b(?:instead of|without|substitutes? for|replacements? for|replace|free of|avoid)\s+$/i;

/** Languages by their own names (accents folded by hand: both spellings are listed). */
const NATIVE_LANGUAGES: Readonly<Record<string, string>> = {
  français: 'french',
  francais: 'french',
  español: 'spanish',
  espanol: 'spanish',
  castellano: 'spanish',
  deutsch: 'german',
  italiano: 'italian',
  português: 'portuguese',
  portugues: 'portuguese',
  nederlands: 'dutch',
  polski: 'polish',
  türkçe: 'turkish',
  turkce: 'turkish',
  svenska: 'swedish',
  norsk: 'norwegian',
  dansk: 'danish',
  русском: 'russian',
};
/** "En français", "auf Deutsch", "in italiano", "em português", "på svenska", "на русском". */
const NATIVE_LANGUAGE_ASK = new RegExp(
  `(?<![\\p{L}])(?:en|auf|in|em|na|på|op|на) (${Object.keys(NATIVE_LANGUAGES).join('|')})(?![\\p{L}])`,
  'gu',
);

/**
 * Where `low` asks for a language outside `allowed`: in its own name ("en français"), or by its English
 * name after "in", "into" or "to" ("answer in German").
 */
function languageAsked(low: string, allowed: readonly string[]): { start: number; end: number } | undefined {
  for (const m of low.matchAll(NATIVE_LANGUAGE_ASK)) {
    const l = NATIVE_LANGUAGES[m[1] ?? ''];
    if (l !== undefined && !allowed.includes(l)) return { start: m.index, end: m.index + m[0].length };
  }
  for (const l of LANGUAGES) {
    if (allowed.includes(l)) continue;
    const at = wordStart(low, l);
    if (at < 0 || !wordBoundary(low, at + l.length)) continue;
    const before = low.slice(Math.max(0, at - 6), at);
    if (before.endsWith('into ') || before.endsWith(' to ') || before.endsWith(' in '))
      return { start: at, end: at + l.length };
  }
  return undefined;
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
  'salary',
  'income',
  'diagnosis',
  'medical',
];
const NEAR = 48;

/**
 * Another person's protected detail by pronoun: "could you give me her home address?", "what's his
 * salary?", "where does she live?" (a prompt that protects others' data; "my address" is one's own).
 */
const PRONOUN_ATTRIBUTE =
  /\b(?:(?:her|his|their)\s+(?:[a-z-]+\s+){0,2}(?:home address|address|phone number|phone|mobile number|e-?mail|salary|pay|income|diagnosis|medical|date of birth|birthday|social security)|where (?:does|did) (?:she|he) live)\b/;

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
  if (c.privacy && !out.some((o) => o.kind === 'private_data')) {
    const m = PRONOUN_ATTRIBUTE.exec(low);
    if (m)
      out.push({
        kind: 'private_data',
        score: SCORE,
        message: PRIVATE,
        start: m.index,
        end: m.index + m[0].length,
      });
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
  if (c.languages) {
    const l = languageAsked(low, c.languages);
    if (l) out.push({ kind: 'restricted_language', score: SCORE, message: LANGUAGE, ...l });
  }
  if (c.format.only !== undefined) {
    FORMAT_ASK.lastIndex = 0;
    for (let m = FORMAT_ASK.exec(low); m; m = FORMAT_ASK.exec(low)) {
      const asked = m[1] ?? m[2] ?? '';
      // "Answer in JSON" is the allowed format; "don't use JSON" rules it out.
      if ((m[1] !== undefined) === sameFormat(asked, c.format.only)) continue;
      out.push(restricted(FORMAT, m.index, m.index + m[0].length));
      break;
    }
  }
  if (c.format.noCode) {
    const m = CODE_ASK.exec(low);
    if (m) out.push(restricted(CODE, m.index, m.index + m[0].length));
  }
  const maxWords = c.format.maxWords;
  if (maxWords !== undefined) {
    let long: { index: number; 0: string } | null = null;
    for (const re of WORDS_ASKED) {
      const m = re.exec(low);
      if (m && Number((m[1] ?? '').replaceAll(',', '')) > maxWords) {
        long = m;
        break;
      }
    }
    // No number, but clearly more than a short limit allows: several paragraphs, the whole document.
    if (!long && maxWords <= LONG_ASK_LIMIT) long = LONG_ASK.exec(low);
    if (long) out.push(restricted(LENGTH, long.index, long.index + long[0].length));
  }
  const allowed = c.format.codeOnlyIn;
  if (allowed !== undefined && CODE_ASK.test(low)) {
    CODE_LANGUAGE_ASK.lastIndex = 0;
    for (let m = CODE_LANGUAGE_ASK.exec(low); m; m = CODE_LANGUAGE_ASK.exec(low)) {
      const asked = m[1] ?? m[2];
      if (asked === undefined || asked === allowed) continue;
      out.push(restricted(CODE_LANGUAGE, m.index, m.index + m[0].length));
      break;
    }
  }
  for (const o of c.opposites) {
    const at = askedFor(low, o);
    if (at < 0) continue;
    out.push(restricted(OPPOSITE, at, at + o.length));
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
      out.push(restricted(PLACE, start, start + name.length));
      break;
    }
  }
  if (c.actions) {
    const a = forbiddenActionAsked(low, c.actions);
    if (a) out.push({ kind: 'forbidden_action', score: SCORE, message: ACTION, ...a });
  }
  if (c.offScope.length > 0 && !out.some((o) => o.kind === 'restricted_topic')) {
    const o = offScopeAsked(low, c.offScope);
    if (o) out.push(restricted(`${OFF_SCOPE} (${o.name})`, o.start, o.end));
  }
  if (c.scope) {
    const m = SET_ASIDE.exec(low);
    const object = m?.[1]?.split(/\s+/) ?? [];
    const head = object[object.length - 1] ?? '';
    const one = singular(head);
    if (m && head !== '' && (c.scope.has(head) || c.scope.has(one) || c.scope.has(`${head}s`))) {
      const start = m.index + m[0].length - m[0].trimStart().length;
      out.push(restricted(ASIDE, start, m.index + m[0].length - 1));
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
  let asksAdvice: boolean | undefined;
  let found: ConstraintSignal | undefined;
  c.matcher?.scan(
    text,
    (e, start, end, offset) => {
      const group = e.group + offset;
      const g = group < groups ? c.topics[group] : c.related[group - groups];
      if (!g) return false;
      // "What can I use instead of eggs?": the turn asks to avoid the topic, not for it.
      if (AVOIDED.test(text.slice(Math.max(0, start - 16), start))) return false;
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
      if (g.advice === true && !(asksAdvice ??= ADVICE_ASK.test(text.toLowerCase()))) return false;
      const message = g.concept ? `${TOPIC} (${g.concept})` : TOPIC;
      found = restricted(message, s.start, s.end);
      return true;
    },
    words,
  );
  return found;
}

function next(low: string, s: string, after: number): number {
  for (let at = low.indexOf(s, after + 1); at >= 0; at = low.indexOf(s, at + 1))
    if (wordBoundary(low, at - 1) && wordBoundary(low, at + s.length)) return at;
  return -1;
}
