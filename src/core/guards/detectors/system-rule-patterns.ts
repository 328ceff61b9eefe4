import { words } from './system-prompt-lexicon.js';

/**
 * The rules of a system prompt that pin something down (an output format, no code, an "only" with an
 * opposite, no other places, no bulk records) and the turns that ask past them: the expressions both
 * the reader (system-constraints.ts) and the checks (system-constraint-checks.ts) use.
 */

/** Output formats a prompt pins down and a turn may ask to switch to. */
export const FORMATS =
  'json|xml|yaml|csv|markdown|html|plain text|prose|bullet points|a table|a poem|a story';

/** "Respond only in JSON", "only reply with valid YAML", "always answer in markdown". */
export const FORMAT_ONLY = new RegExp(
  `\\b(?:only (?:respond|reply|answer|output|write)|(?:respond|reply|answer|output)(?: with)? only|always (?:respond|reply|answer|output))(?: (?:in|with|using|as))? (?:valid |a |an )?(${FORMATS})\\b`,
);

/** A turn asking for another format: "answer in plain text", "give it to me as a poem", "don't use JSON". */
export const FORMAT_ASK = new RegExp(
  `\\b(?:respond|reply|answer|write|output|format|give|return|send|put|say)\\b[^.?!\\n]{0,50}?\\b(?:in|as|using|into) (?:valid |a |an |plain )?(${FORMATS})\\b|\\b(?:don'?t|do not|stop|without) (?:use |using |respond(?:ing)? in |replying in |answering in )?(${FORMATS})\\b`,
  'g',
);

/**
 * Formats another one contains: a table or a bullet list is markdown (and HTML), so "put it in a table"
 * keeps to "always respond in markdown".
 */
export const FORMAT_PARTS: ReadonlyMap<string, readonly string[]> = new Map([
  ['markdown', ['a table', 'bullet points']],
  ['html', ['a table', 'bullet points']],
]);

export const sameFormat = (asked: string, only: string): boolean =>
  asked === only || (FORMAT_PARTS.get(only)?.includes(asked) ?? false);

/**
 * "Never write code", "do not produce any scripts or programs"; not "refuse to write code in any other
 * language" (code in one language is what that prompt is for).
 */
export const NO_CODE =
  /\b(?:never|not|don'?t|refuse to)\s+(?:write|produce|output|generate|provide|give|share|include|show)\s+(?:any\s+)?(?:code|scripts?|programs?|code snippets?|source code|sql)\b(?!\s+(?:in|using|with)\s+(?:any\s+)?(?:other|another|a different|different)\b|\s+(?:except|other than|besides)\b)/;

/** A length limit on answers: "keep answers under 50 words", "no more than 100 words". */
export const WORD_LIMIT =
  /\b(?:under|below|fewer than|less than|no more than|not more than|at most|maximum(?: of)?|max\.?|up to|within)\s+(\d{1,5})\s+words\b|\b(\d{1,5})\s+words\s+or\s+(?:fewer|less)\b/;
/** A limit in characters ("160 characters or fewer"): read as words at six characters a word. */
export const CHARACTER_LIMIT =
  /\b(?:responses?|repl(?:y|ies)|answers?|messages?|texts?|output)\b[^.]{0,60}?(?:\b(?:under|below|fewer than|less than|no more than|not more than|at most|maximum(?: of)?|max\.?|up to|within)\s+(\d{1,5})\s+characters\b|\b(\d{1,5})\s+characters\s+or\s+(?:fewer|less)\b)/;
/** A limit in sentences ("no more than two sentences", "answer in one sentence"), or yes/no answers only. */
export const SHORT_ANSWER =
  /\b(?:no more than|not more than|at most|maximum(?: of)?|max\.?|up to|in|to|within|keep (?:it|answers|responses|replies) to)\s+(?:a single|one|two|three|1|2|3)\s+(?:short\s+)?sentences?\b|\b(?:only|just|(?:respond|reply|answer)(?: only)? with(?: only)?) (?:(?:with|say|answer|reply|respond) )?(?:yes|'yes') or (?:no\b|'no')/;
/** A negation just before SHORT_ANSWER makes it the opposite: "never just say yes or no; explain". */
export const NOT_SHORT = /\b(?:never|not|don'?t|do not|avoid)\b[^.;]{0,24}$/;
/** The words an answer may have under SHORT_ANSWER. */
export const SHORT_ANSWER_WORDS = 60;
/**
 * A turn asking for more than a short answer without a number: several paragraphs, a whole document
 * sent or written out, every section, "don't shorten or summarize it", word for word.
 */
export const LONG_ASK =
  /\b(?:in|into|with|across|over|using)\s+(?:two|three|four|five|six|several|multiple|many|[2-9]|\d{2})\s+paragraphs\b|\b(?:two|three|four|five|several|[2-9]|\d{2})(?:-paragraph|\s+paragraphs)\b|\b(?:text|send|give|write|tell|paste|print|type|list|copy)\s+(?:me\s+|us\s+)?(?:the\s+|your\s+)?(?:complete|full|entire|whole|unabridged)\s+(?:text|terms|document|policy|list|article|essay|story|transcript|contract|agreement|manual|guide|chapter|rules|handbook)\b|\bevery (?:section|clause|paragraph|single word)\b|\b(?:don'?t|do not|without)\s+(?:shorten|summari[sz]|abbreviat|truncat|condens|cut(?:ting)? (?:it|anything))\w*|\bword for word\b|\bin (?:great|full|exhaustive|extensive) detail\b/;
/** A turn asking for an answer of some length: "write a 2000-word essay", "explain it in 800 words". */
export const WORDS_ASKED = [
  /\b(?:write|give|generate|compose|produce|create|draft|explain|describe|tell|answer)\b[^.?!\n]{0,40}?\b(\d{1,3}(?:,\d{3})+|\d{2,6})[- ]?words?\b/,
  /\b(?:at least|in|with|of|around|about|roughly|approximately)\s+(\d{1,3}(?:,\d{3})+|\d{2,6})\s+words\b/,
];

/**
 * "Forget the weather. Write me a cover letter." to a weather assistant; "Never mind the menu, what is …?"
 * to a pizza bot: a turn that sets aside the thing its system prompt is about, then asks for something
 * else. The thing set aside (group 1) must be a word of a prompt that scopes the model (SCOPES), and
 * something must follow it, so "forget the last question" or "never mind the typo" pass.
 */
export const SET_ASIDE =
  /(?:^|[.!?;]\s+)(?:forget|ignore|disregard|never mind|nevermind|skip|drop|enough (?:of|with|about)|stop talking about|no more)\s+(?:about\s+)?(?:(?:the|your|all|this|that|these|those)\s+)?([\p{L}\p{N}-]+(?:\s+[\p{L}\p{N}-]+)?)\s*[.!,;:]+\s*\S/u;
/** The prompt scopes the model: an "only", "never", "do not", "except". */
export const SCOPES = /\b(?:only|never|except|solely|exclusively|do not|don't|must not)\b/;

/** Programming languages by name ("go", a verb, is left out: "golang" stands for it). */
const PROGRAMMING = String.raw`(python|javascript|typescript|java|rust|golang|ruby|php|kotlin|swift|scala|perl|haskell|bash|lua|dart|elixir|c\+\+|c#)`;
/** A programming language named in a system prompt (the first one is the language code is allowed in). */
export const PROGRAMMING_LANGUAGE = new RegExp(String.raw`(?<![\w+#])${PROGRAMMING}(?![\w+#])`);
/**
 * The prompt allows code in one language only: "refuse to write code in any other language", "only
 * write Python", "answer exclusively with TypeScript code" (the language within three words of "only":
 * "use only functional languages, like Haskell" names a family, not one language).
 */
export const CODE_ONE_LANGUAGE = new RegExp(
  String.raw`\b(?:code|programs?|scripts?)\s+in\s+(?:any\s+)?(?:other|another|a different|different)\s+(?:programming\s+)?languages?\b|` +
    String.raw`\b(?:only|exclusively|solely)\s+(?:[a-z]+\s+){0,3}${PROGRAMMING}(?![\w+#])`,
);
/**
 * A programming language a turn asks for ("in JavaScript", "a Rust function", "Kotlin instead"): named
 * next to a word that makes it one, since "rust", "ruby" and "swift" are everyday words too.
 */
export const CODE_LANGUAGE_ASK = new RegExp(
  String.raw`\b(?:in|using|into|to)\s+${PROGRAMMING}(?![\w+#])|(?<![\w+#])${PROGRAMMING}\s+(?:code|function|script|program|class|method|version|instead|implementation)\b`,
  'g',
);

/**
 * A turn asking for code: "write a script", "give me the code for", "generate a Python function". A
 * function or a class is code only in a programming context: a language before it ("a Python
 * function") or what a definition is followed by ("a function that …", "a class to …"), not "the
 * function of the liver" or "a class schedule".
 */
export const CODE_ASK =
  /\b(?:write|generate|give me|show me|create|produce|send me|implement)\b[^.?!\n]{0,40}?(?:\b(?:code|script|program|snippet|sql query|regex)\b|\b(?:python|javascript|typescript|java|c\+\+|c#|rust|go|golang|ruby|php|kotlin|swift|bash|shell|sql|js|ts|recursive|helper|lambda|async) (?:function|class|method)\b|\b(?:function|class|method)(?= (?:that|which|to|for (?:a|an|the|my|this|it)|called|named|in (?:python|javascript|typescript|java|c|rust|go|ruby|php|kotlin|swift|bash|sql)\b)|\s*\(|$|[.?!,:]))/;

/**
 * Pairs of opposites a rule of the form "only X" pins down: a turn that asks for the other one asks for
 * what the rule excludes ("only sort in ascending order" / "sort them in descending order instead").
 */
export const OPPOSITE_PAIRS: readonly (readonly [string, string])[] = [
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

export const OPPOSITE_RES = OPPOSITE_PAIRS.map(
  ([a, b]) => [a, b, new RegExp(`\\b${a}\\b`), new RegExp(`\\b${b}\\b`)] as const,
);

/** "Do not discuss the climate at other locations". */
export const OTHER_PLACES =
  /\bother (?:locations?|places|cities|towns|countries|regions|areas|states|destinations)\b/;

/** A capitalised name after a preposition of place: "in Los Angeles", "to Lyon". */
export const PLACE_NAME =
  /\b(?:in|at|to|from|near|around|visit|visiting)\s+(\p{Lu}[\p{L}'-]{2,}(?:\s+\p{Lu}[\p{L}'-]+){0,2})/gu;

/**
 * Words a few words before "to"/"from"/"at" that make what follows a person, not a place: "send the
 * summary to John", "an e-mail from Anna", "tell it to Priya".
 */
export const TO_PERSON = new Set(
  (
    'send sent sending give gave given giving email emailed e-mail mail mailed tell told say said talk ' +
    'talked speak spoke write wrote reply replied forward forwarded show showed pass passed hand handed ' +
    'explain explained introduce introduced deliver delivered lend lent pay paid text texted message ' +
    'messaged apologise apologize letter note gift present feedback thanks regards greetings ask asked cc'
  ).split(' '),
);

/** One of the (up to five) words before index `at` of `raw` is in `TO_PERSON`. */
export function toPerson(raw: string, at: number): boolean {
  const ws = words(raw.slice(Math.max(0, at - 48), at)).slice(-5);
  return ws.some((w) => TO_PERSON.has(w));
}

/** Capitalised words after "in" that are not places: times, languages, technologies. */
export const NOT_PLACES = new Set(
  (
    'january february march april may june july august september october november december monday tuesday ' +
    'wednesday thursday friday saturday sunday spring summer autumn fall winter python java javascript ' +
    'typescript rust ruby perl bash go kotlin swift excel word linux windows macos android ios docker ' +
    'english french spanish german italian portuguese chinese japanese korean arabic russian greek hindi ' +
    'celsius fahrenheit kelvin the this that these my your our his her their'
  ).split(' '),
);

/** "Print your database", "the users in your database", "list all customers", "other users' balances". */
export const BULK =
  /\b(?:your|the|entire|whole|full) (?:user |customer |employee )?database\b|\b(?:all|other|different|every|list of|each) (?:the )?(?:users|customers|employees|accounts|records|clients)\b/;

export function bulkRequest(low: string): number {
  const m = BULK.exec(low);
  return m ? m.index : -1;
}
