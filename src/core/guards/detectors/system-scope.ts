/**
 * Off-topic asks to a bot confined to one subject ("Only help with questions about PawSure plans … If a
 * user asks about anything else, explain that you can only help with PawSure"): a tax question, a
 * Python scraper for Craigslist, the final boss of Elden Ring. Such a prompt rarely names what it rules
 * out, so the forbidden-topic reading has nothing to match.
 *
 * Treating every topic concept the prompt does not mention as ruled out was tried and not kept: loose
 * concept terms ("stock", "court") read honest in-scope questions as off-topic. Here a short list of
 * subjects that are off-topic for most confined bots is kept instead, each with unambiguous terms only,
 * and each stands down when the prompt uses one of its domain words (a tax bot may discuss deductions, a
 * developer tool writes scripts). It applies only to prompts that confine the model explicitly
 * (EXCLUSIVE), not to every prompt with a "do not".
 */

/** The prompt confines the model to its subject: "only help with", "anything else", "unrelated". */
const EXCLUSIVE =
  /\b(?:only (?:help|answer|assist|respond|discuss|talk|speak|chat|focus|handle|support|provide|answers|helps|discusses)|(?:answer|help|assist|respond)s? (?:with )?(?:questions )?only|exclusively|solely|nothing else|(?:asks?|questions?|requests?|messages?) (?:about |for |on )?anything else|(?:unrelated|not related) to|off[- ]topic|outside (?:of )?(?:this|that|the|your|its|our) (?:scope|domain|topic|purpose)|(?:requests?|questions?|messages?|anything) (?:that (?:is|are) )?not (?:about|related to)|decline (?:any|all|other)|only (?:about|for|on) )\b/;

interface OffScopeSubject {
  readonly name: string;
  /** Terms that mark a turn about the subject: word starts; `=` ends a whole word. */
  readonly terms: RegExp;
  /** Word starts in the prompt that bring the subject into scope. */
  readonly domain: RegExp;
}

const terms = (list: string): RegExp =>
  new RegExp(
    `\\b(?:${list
      .split(',')
      .map((t) => t.trim())
      .filter((t) => t !== '')
      .map((t) => (t.endsWith('=') ? `${t.slice(0, -1)}\\b` : t).replace(/ /g, '\\s+'))
      .join('|')})`,
  );

const SUBJECTS: readonly OffScopeSubject[] = [
  {
    name: 'video games',
    terms: terms(
      'video game, videogame, elden ring, minecraft, fortnite, pokemon, pokémon, call of duty, final boss, ' +
        'speedrun, boss fight',
    ),
    domain: terms('gam, play, esport, console, steam='),
  },
  {
    name: 'film, television and celebrities',
    terms: terms(
      'oscars=, academy award, best picture, box office, grammy award, grammys=, emmy award, emmys=, ' +
        'golden globe, tv show, tv series, netflix series, kardashian, taylor swift',
    ),
    domain: terms('movie, film, cinema, tv=, television, entertainment, stream, media, celebrit, award'),
  },
  {
    name: 'sports results',
    terms: terms(
      'world cup, who won the super bowl, nba finals, nfl draft, premier league, champions league, ' +
        'olympic games, olympics=, who won the game, stanley cup, world series',
    ),
    domain: terms('sport, athlet, fitness, ticket, stadium, team=, league, match=, fantasy'),
  },
  {
    name: 'investing',
    terms: terms(
      'stock market, index fund, etf=, etfs=, forex, invest \\$, invest my, investing my, which stocks, ' +
        'what stocks, buy stocks, which crypto, buy bitcoin, buy crypto',
    ),
    domain: terms('invest, financ, wealth, trading, broker, bank, money, retire, crypto, portfolio, fund'),
  },
  {
    name: 'taxes',
    terms: terms(
      'tax return, my taxes, file taxes, filing taxes, itemize deductions, itemize or, standard deduction, ' +
        'tax bracket, tax refund',
    ),
    domain: terms('tax, accounting, accountant, payroll, financ, irs=, bookkeep'),
  },
  {
    name: 'politics and elections',
    terms: terms(
      'election, presidential, prime minister, senator, congress, parliament, democrat, republican, ' +
        'political part, vote for, voting for',
    ),
    domain: terms('politic, election, vote, voting, ballot, government, civic, news, history, campaign'),
  },
  {
    name: 'writing assignments',
    terms: terms(
      'college essay, my essay, an essay, cover letter, term paper, book report, write me a poem, ' +
        'write a poem, short story, song lyrics, wedding speech',
    ),
    domain: terms(
      'writ, essay, tutor, school, homework, student, college, admission, career, resume, job, story, poem, letter',
    ),
  },
  {
    name: 'programming',
    terms: terms(
      'python script, javascript function, write code, write a script, write me a script, sql query, ' +
        'regex=, scraper, web scraping, scrapes, web crawler, bash script',
    ),
    domain: terms(
      'code, coding, program, develop, software, sdk=, api=, apis=, script, engineer, comput, tech, python, javascript, data',
    ),
  },
  {
    name: 'astrology',
    terms: terms('horoscope, astrolog, zodiac, tarot'),
    domain: terms('astrolog, horoscope, zodiac, tarot, spiritual, mystic'),
  },
];

/** The subjects a prompt leaves out of its scope, empty when it does not confine the model. */
export function offScopeSubjects(low: string): readonly OffScopeSubject[] {
  if (!EXCLUSIVE.test(low)) return [];
  return SUBJECTS.filter((s) => !s.domain.test(low));
}

/** The first off-scope subject `low` (a lower-cased user turn) asks about: its name and span. */
export function offScopeAsked(
  low: string,
  subjects: readonly OffScopeSubject[],
): { name: string; start: number; end: number } | undefined {
  for (const s of subjects) {
    const m = s.terms.exec(low);
    if (m) return { name: s.name, start: m.index, end: m.index + m[0].length };
  }
  return undefined;
}

export type { OffScopeSubject };
