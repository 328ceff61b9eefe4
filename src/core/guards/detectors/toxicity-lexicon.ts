// ---------------------------------------------------------------------------------------------------
// The lexicon
// ---------------------------------------------------------------------------------------------------

export interface LexiconRule {
  readonly kind: 'insult' | 'threat' | 'profanity';
  readonly score: number;
  /** Alternatives of whole words or phrases; may not contain capturing groups. */
  readonly source: string;
}

/*
 * Every entry was checked against innocent readings an assistant produces: `degenerate` (a degenerate
 * case), `loonie` (Canadian dollar), `fruitcake`, `douche` (medical), `vermin` and `exterminate` (pest
 * control), `should be beaten` (eggs), `must be hung` (a painting), `drop dead gorgeous`, `s*t` and `a**2`
 * (formulas), `your trash` (a folder): those are left out or only count when aimed at someone.
 */
export const LEXICON: readonly LexiconRule[] = [
  {
    kind: 'insult',
    score: 0.8,
    source: String.raw`idiot(?:s|ic)?|moron(?:s|ic)?|imbeciles?|cretins?|nitwit[s$]?|dimwits?|halfwits?|dumb-?ass(?:es)?|dumba\$\$(?:es)?|jackass(?:es)?|scumbags?|dirtbags?|douchebags?|sleaze(?:bag|ball)s?|lowlifes?|numbskulls?|boneheads?|buffoons?|nut-?cases?|a-holes?|a\*\*(?:hole|hat)s?|subhumans?|scum|s\.o\.b\.?|piece of (?:shit|sh\*t|garbage|trash|crap|filth|dung)|pedos?|pedo (?:island|joe)|excuse (?:for|of) a (?:human(?: being)?|man|woman|person)|waste of (?:space|oxygen|skin|air)`,
  },
  {
    kind: 'insult',
    score: 0.9,
    source: String.raw`lib(?:tard|turd|fuk)(?:s|ed|ism)?|trumptards?|repub(?:li)?tards?|demtards?|conservatards?|retardicans?|demon[- ]?rats?|democraps?|repukes?|repuklicans?|rethuglicans?|magats?`,
  },
  {
    // Aimed at someone: `you are pathetic`, `what an idiot`, `she's a lying disgusting fraud`.
    kind: 'insult',
    score: 0.9,
    source: String.raw`(?:you|you're|youre|you are|u r|you guys are|what an?|such an?|bunch of|he's|she's|he is|she is|they're|they are)(?:\s+(?:a|an|such|so|the|one|total|complete|absolute|fucking|stupid|dumb|ignorant|lying|little|big|fat|old|pathetic|miserable|worthless|disgusting|useless|special kind of)){0,3}\s+(?:idiots?|morons?|imbeciles?|stupid|dumb|losers?|clowns?|fools?|jerks?|liars?|freaks?|pathetic|worthless|disgusting|traitors?|hypocrites?|maggots?|degenerates?|lunatics?|fruitcakes?|douche|dick|prick|pussy|twat|bitch|cunt|whore|slut|vermin|filth|trash|garbage|scum|brain-?dead|ugly|fat|frauds?)`,
  },
  {
    kind: 'threat',
    score: 0.95,
    source: String.raw`(?:i|we)(?:'ll| will| am going to|'m going to|'m gonna| are going to| gonna)\s+(?:kill|k+e+l+|hurt|murder|shoot|stab|rape|beat|strangle)\s+(?:you|u|y'all|him|her|them)|kill (?:yo)?urself|kill yourselves|kys|hang (?:yo)?urself|hang yourselves`,
  },
  {
    kind: 'threat',
    score: 0.85,
    source: String.raw`(?:should|deserves? to|needs? to|ought to) be (?:shot|hanged|lynched|gassed)|(?:hope|wish) (?:you|he|she|they|u) (?:all |both )?(?:die|dies|rot|burn|suffer|get cancer|choke)|(?:rot|burn|roast) in hell|drop dead(?! gorgeous)|get sick and die|needs? the gallows|death to`,
  },
  {
    kind: 'profanity',
    score: 0.7,
    source: String.raw`f[*@#&%!$]+(?:c?k|ck|ing|in|ed|er|ers)|f[*@#&%!$]{2,}|sh[*#%!|@]+t(?:ty|s)?|s[#%@!|][#*%@!|]?t|b[*!]+tch(?:es|y)?|pu\*\*y|p\*\*\*y|p u s s y|let'?s go brandon|fjb|stfu|sdstfu|gtfo|gfy|foff|effing|bullshite`,
  },
];

/**
 * The lexicon as one regex, each rule a capture group, so the text is scanned once. ASCII word boundaries
 * (`\b`, no `u` flag) because V8 scans those several times faster than Unicode look-arounds; the cost
 * is that a letter outside ASCII next to a word (`éidiot`) does not stop a match. Typographic
 * apostrophes count as apostrophes (`you’re`).
 */
export const lexiconRegex = new RegExp(
  `\\b(?:${LEXICON.map((r) => `(${r.source.replaceAll("'", "['’]")})`).join('|')})(?!\\w)`,
  'gi',
);
