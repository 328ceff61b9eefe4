import { isAlpha, isDigit, type PiiMatch } from './pii-match.js';

/** Street addresses in free text (see pii.ts for the cost model). */

/** English street suffixes: USPS Publication 28's suffix names (full and abbreviated forms). */
const STREET_SUFFIX = new Set(
  (
    'street st avenue ave av road rd boulevard blvd lane ln drive dr court ct place pl square sq terrace ter ' +
    'way parkway pkwy highway hwy circle cir crescent cres close trail trl row alley aly plaza plz path pike ' +
    'loop walk mews grove gardens gdns hill hills heights hts park point pt ridge crossing xing expressway ' +
    'expy freeway fwy turnpike tpke creek cliffs cliff island islands isle greens green flats lodge parks ' +
    'meadow meadows valley vista harbor harbour junction jct landing manor mill mills orchard port shore ' +
    'shores spring springs station summit trace village wells woods estate estates bypass causeway quay ' +
    'wharf rise gate gates broadway cove glen knoll lake lakes pines plains ranch route rte fork forks ' +
    'tunnel viaduct underpass overpass canyon bluff bluffs bend brook brooks burg center centre common ' +
    'corner corners curve dale dam divide falls ferry field fields ford forest fort haven hollow inlet ' +
    'key keys light lights lock locks mall mission motorway mount mountain neck oval pass passage ' +
    'pine plain prairie radial ramp rapids rest shoal shoals skyway spur stream stravenue throughway ' +
    'trafficway union unions vale views ville vis wall well'
  ).split(' '),
);

/** Street-type words of other languages written after the name as a word of their own (`Rákóczi út 13`). */
const FOREIGN_SUFFIX = new Set(
  (
    'str strasse straße weg gasse platz allee laan straat plein baan wei markt vej veien vegen gata gatan ' +
    'gade gate katu tie kuja tee põik terrasse utca útja út tér u rkp kapu ulica cesta'
  ).split(' '),
);

/** Street-type words written before the name (`Rue de …`, `Via …`, `ul. …`). */
const STREET_PREFIX = new Set(
  (
    'rue rua rúa via viale vicolo piazza piazzetta corso largo strada calle carrer avenida avda av avenue boulevard ' +
    'chemin place plaza praça praca travessa alameda paseo camino carretera ronda ul ulica aleja trg plac ' +
    'náměstí nám rruga odos οδός λεωφόρος πλατεία bulevar bulevardul calea avinguda rambla passeig quai ' +
    'cours allée impasse estrada rodovia jalan jl cadde caddesi sokak sokağı'
  ).split(' '),
);

/** Endings of one-word street names (`Friedhofstrasse`, `Kiannonkatu`, `Skoanveien`, `Östbygatan`). */
const STREET_ENDINGS = (
  'straße strasse weg gasse platz allee damm ufer laan straat gracht plein dijk singel kade vej veien vegen ' +
  'vägen väg gatan gata gade stræde stien bakken vegur stræti straeti tie katu kuja polku kaari tér út utca ' +
  'ulica cesta iela gatve torget braut'
).split(' ');

const UNIT_WORDS = new Set('apt apartment suite ste unit flat room rm floor fl bldg building'.split(' '));

const CONTEXT_BEFORE =
  /\b(?:address(?:es)?|lives?|living|located|moved?|sen[dt]|ship(?:ped)?|deliver(?:ed)?|mail(?:ed)?|meet|arrived|corner|visit|resides?|stay(?:ing)?|return(?:ed)?|enter|drops?)\b[^.\n]{0,40}$/i;

/** Particles inside street and place names (`Via delle Coste`, `Rue de la Hulotais`). */
const PARTICLES = new Set(
  'de la le les des du del della delle dei di da do dos das e y el al van von der den het ter am im an zu z u na nad'.split(
    ' ',
  ),
);

interface Token {
  readonly text: string;
  readonly lower: string;
  readonly start: number;
  readonly end: number;
  readonly num: boolean;
}

/** One token (a number or a word in any script) at the sticky position, after spaces and tabs. */
const TOKEN = /[ \t]*(?:(\d{1,6}[A-Za-z]?(?![\p{L}\d]))|(\p{L}[\p{L}\p{M}'’-]{0,30}\.?))/uy;

/** A word lower-cased without its full stop (`St.` → `st`). */
function lowerWord(t: string): string {
  const w = t.toLowerCase();
  return w.endsWith('.') ? w.slice(0, -1) : w;
}

/** The token at `from` (after spaces and tabs), if one starts there. */
function tokenAt(text: string, from: number): Token | undefined {
  TOKEN.lastIndex = from;
  const m = TOKEN.exec(text);
  if (!m) return undefined;
  const t = m[1] ?? m[2] ?? '';
  const end = TOKEN.lastIndex;
  return { text: t, lower: lowerWord(t), start: end - t.length, end, num: m[1] !== undefined };
}

/**
 * The tokens after a position, up to 8, read as they are asked for: the house-number check usually
 * stops at the first or second, and each token is an object and two strings.
 */
class TokenReader {
  private readonly tokens: Token[] = [];
  private done = false;

  constructor(
    private readonly text: string,
    private pos: number,
  ) {}

  at(i: number): Token | undefined {
    while (this.tokens.length <= i && !this.done) {
      const t = this.tokens.length < 8 ? tokenAt(this.text, this.pos) : undefined;
      if (t === undefined) this.done = true;
      else {
        this.tokens.push(t);
        this.pos = t.end;
      }
    }
    return this.tokens[i];
  }
}

const isNameChar = (text: string, i: number): boolean => {
  const c = text.charCodeAt(i);
  return (
    isAlpha(c) || c === 39 || c === 0x2019 || c === 45 || (c > 127 && /[\p{L}\p{M}]/u.test(text[i] ?? ''))
  );
};

/** The word directly before `at`, separated by spaces or tabs only (a hand-written scan: no regex per call). */
function wordBefore(text: string, at: number): Token | undefined {
  let e = at;
  while (e > 0 && at - e < 8 && (text.charCodeAt(e - 1) === 32 || text.charCodeAt(e - 1) === 9)) e--;
  if (e === at) return undefined;
  let s = e > 0 && text.charCodeAt(e - 1) === 46 ? e - 1 : e;
  const stop = Math.max(0, s - 32);
  while (s > stop && isNameChar(text, s - 1)) s--;
  if (s === stop && s > 0 && isNameChar(text, s - 1)) return undefined;
  while (s < e && !/\p{L}/u.test(text[s] ?? '')) s++;
  if (s >= e || text.charCodeAt(s) === 46) return undefined;
  const t = text.slice(s, e);
  return { text: t, lower: lowerWord(t), start: s, end: e, num: false };
}

/** The lower-cased letters just before `at`, across spaces, `:` and `#` (`box`, `zip`, `ae`). */
function labelBefore(text: string, at: number): string {
  let e = at;
  while (e > 0 && at - e < 4 && isLabelGap(text.charCodeAt(e - 1))) e--;
  let s = e;
  while (s > 0 && e - s < 10 && isAlpha(text.charCodeAt(s - 1))) s--;
  return s === e ? '' : text.slice(s, e).toLowerCase();
}

/** Space, tab, `:` or `#`. */
const isLabelGap = (c: number): boolean => c === 32 || c === 9 || c === 58 || c === 35;

const capitalised = (t: Token): boolean => t.text[0] !== t.lower[0];
/** A word with a full stop that is not an abbreviation (`Avda.`, `St.`) ends the sentence and the name. */
const endsSentence = (t: Token): boolean =>
  t.text.endsWith('.') && t.lower.length > 4 && !STREET_PREFIX.has(t.lower);
/** A capitalised name word, also after an elided particle (`d'Ouchy`, `dell'Orto`). */
const nameLike = (t: Token): boolean => capitalised(t) || /^(?:d|l|dell|dall|sull)['’]\p{Lu}/u.test(t.text);
const isStreetEnding = (w: string): boolean =>
  STREET_ENDINGS.some((e) => w.length >= e.length + 3 && w.endsWith(e));

/** The house number directly before `at` on the same line (`41086 Kiannonkatu 98`). */
function houseNumberBefore(text: string, at: number): number | undefined {
  const from = Math.max(0, at - 12);
  const m = /(?:^|[\s>?,])(\d{1,6}[A-Za-z]?)[ \t]+$/.exec(text.slice(from, at));
  if (!m?.[1]) return undefined;
  const start = from + m.index + m[0].indexOf(m[1]);
  return start > 0 && isDigit(text.charCodeAt(start - 1)) ? undefined : start;
}

interface Street {
  readonly start: number;
  readonly end: number;
  readonly score: number;
}

/** A year after `in`, `since`… is a date, not a house number (`in 2019 Central Park…`). */
const YEAR_CONTEXT = /\b(?:in|since|by|of|from|until|till|to|year|during|before|after|circa|c\.)[ \t]+$/i;
const isYear = (text: string, start: number, end: number): boolean => {
  const n = Number(text.slice(start, end));
  return (
    end - start === 4 &&
    n >= 1800 &&
    n <= 2099 &&
    YEAR_CONTEXT.test(text.slice(Math.max(0, start - 8), start))
  );
};

/**
 * Whether text[at, at + 4) is spaces or tabs and then a letter or digit (`/^[ \t]+[\p{L}\d]/u` on that
 * slice), without the slice.
 */
function wordFollows(text: string, at: number): boolean {
  const end = Math.min(text.length, at + 4);
  let j = at;
  while (j < end && (text.charCodeAt(j) === 32 || text.charCodeAt(j) === 9)) j++;
  if (j === at || j >= end) return false;
  const c = text.charCodeAt(j);
  if (c < 128) return isDigit(c) || isAlpha(c);
  return /^\p{L}/u.test(text.slice(j, end));
}

/**
 * A street around the digit run [ds, de) on its line:
 *  - the run ends a name: `Kiannonkatu 98`, `Rue de Virton 38`, `Trenerys gate 232` (typed, 0.6), or
 *    `<house number> <Name…> 43` with no street-type word (0.35: it needs a unit, a place line or
 *    context to count);
 *  - the run starts one: `90 Whitchurch Road`, `3838 243 Agnostou Stratioti Square` (US style, 0.65),
 *    `264 Rue de Tanger` (prefix type, 0.6).
 */
function streetAround(text: string, ds: number, de: number, lower: boolean): Street | undefined {
  // The run as the number after the name, walking back over name words.
  let typed = false;
  let first: Token | undefined;
  let anyCap = false;
  let at = ds;
  for (let n = 0; n < 6; n++) {
    const w = wordBefore(text, at);
    if (!w) break;
    const cap = nameLike(w);
    const particle = PARTICLES.has(w.lower);
    const prefix = STREET_PREFIX.has(w.lower);
    // English suffixes are capitalised in an address (`… Street 5` vs `I'll turn 23`); foreign ones are not.
    const suffix = n === 0 && (FOREIGN_SUFFIX.has(w.lower) || (STREET_SUFFIX.has(w.lower) && (cap || lower)));
    if (!lower && !cap && !particle && !prefix && !suffix && !isStreetEnding(w.lower)) break;
    if (UNIT_WORDS.has(w.lower) || w.lower === 'box') break;
    anyCap ||= cap;
    first = w;
    at = w.start;
    if (prefix) {
      typed = true;
      break;
    }
    if (isStreetEnding(w.lower)) typed = true;
    else if (suffix) {
      // A suffix types the street only after a name (`Trenerys gate 232`, not `of Route 66`).
      const name = wordBefore(text, w.start);
      typed = name !== undefined && (lower || nameLike(name));
    }
  }
  while (first && PARTICLES.has(first.lower) && first.end < ds) {
    // A name does not start with a particle (`of Rua …` was already cut; `de Virton` without `Rue` is not a street).
    const next = tokenAt(text, first.end);
    if (!next || next.num) {
      first = undefined;
      break;
    }
    first = next;
  }
  if (first && (anyCap || lower)) {
    const house = houseNumberBefore(text, first.start);
    if (typed) return { start: house ?? first.start, end: de, score: 0.6 };
    let houseEnd = house ?? 0;
    while (isDigit(text.charCodeAt(houseEnd))) houseEnd++;
    if (house !== undefined && !isYear(text, house, houseEnd)) return { start: house, end: de, score: 0.35 };
  }
  // The run as the house number.
  if (isYear(text, ds, de) || !wordFollows(text, de)) return undefined;
  const after = new TokenReader(text, de);
  let i = after.at(0)?.num === true ? 1 : 0;
  const head = after.at(i);
  if (!head || head.num) return undefined;
  const nameFollows = (next: Token | undefined): boolean =>
    next !== undefined && (nameLike(next) || PARTICLES.has(next.lower));
  if (STREET_PREFIX.has(head.lower) && (lower || nameLike(head) || nameFollows(after.at(i + 1)))) {
    // `264 Rue de Tanger`, `70248 31 rue des Lilas`: the prefix type and the name words after it.
    let end = head.end;
    for (i += 1; i < 7; i++) {
      const t = after.at(i);
      if (!t || t.num || UNIT_WORDS.has(t.lower) || STREET_SUFFIX.has(t.lower)) break;
      end = t.end;
      if (endsSentence(t)) break;
    }
    return end > head.end ? { start: ds, end, score: 0.6 } : undefined;
  }
  if (!lower && !nameLike(head)) return undefined;
  let nameEnd = head.end;
  for (let j = i + 1; j <= i + 5; j++) {
    const t = after.at(j);
    if (!t || t.num) break;
    // `94941 2505 Heatherleigh Suite 620`: a number, a name and a unit; weak on its own.
    if (UNIT_WORDS.has(t.lower)) return { start: ds, end: nameEnd, score: 0.35 };
    if ((STREET_SUFFIX.has(t.lower) || FOREIGN_SUFFIX.has(t.lower)) && (lower || capitalised(t)))
      return { start: ds, end: t.end, score: 0.65 };
    if (!lower && !nameLike(t) && !PARTICLES.has(t.lower)) break;
    nameEnd = t.end;
    if (endsSentence(t)) break;
  }
  return undefined;
}

const POSTCODE =
  '(?:[A-Z]{1,2}\\d[A-Z\\d]? ?\\d[A-Z]{2}|\\d{5}-\\d{3,4}|\\d{3} \\d{2}|\\d{4} ?[A-Z]{2}|[A-Z]\\d[A-Z] ?\\d[A-Z]\\d|\\d{2}-\\d{3}|\\d{4}-\\d{3}|\\d{3,6})(?![\\p{L}\\d]|[ \\t]\\d)';
const PLACE_WORD =
  "(?:\\p{Lu}[\\p{L}\\p{M}'’.-]*|nan|de|la|le|del|di|da|do|na|nad|u|v|am|im|an|der|sur|en|les|y|e)";
const PLACE_END = '(?=[ \\t]*(?:[\\n,.?!;)]|$))';

/** Address components after a street: units, boxes, military post offices, places, states, postcodes. */
const COMPONENTS: readonly (readonly [RegExp, number])[] = [
  [
    /(?:apt|apartment|suite|ste|unit|flat|room|rm|floor|fl|bldg)\.?[ \t]*#?[ \t]*\d{1,5}[A-Za-z]?(?![\p{L}\d])/iuy,
    0.25,
  ],
  [/(?:p\.?[ \t]?o\.?[ \t]?)?box[ \t]+\d{1,6}(?!\d)/iy, 0.2],
  [/[adf]po[ \t]+(?:aa|ae|ap)[ \t]+\d{5}(?!\d)/iy, 0.3],
  [new RegExp(POSTCODE, 'uy'), 0.15],
  [new RegExp(`[A-Z]{2,3}[ \\t]+${POSTCODE}`, 'uy'), 0.15],
  [
    new RegExp(
      `${PLACE_WORD}(?:[ \\t]${PLACE_WORD}){0,4}(?:[ \\t]*\\([^()\\n]{1,20}\\))?(?:(?:[ \\t]*,[ \\t]*|[ \\t]+)[A-Z]{2,3}(?![\\p{L}]))?(?:[ \\t]*,?[ \\t]*${POSTCODE}|${PLACE_END})`,
      'uy',
    ),
    0.1,
  ],
];
const LOWER_PLACE = new RegExp(
  `\\p{L}[\\p{L}\\p{M}'’.-]*(?:[ \\t]\\p{L}[\\p{L}\\p{M}'’.-]*){0,4}(?:[ \\t]*,?[ \\t]*${POSTCODE}|${PLACE_END})`,
  'uy',
);
const SEPARATOR = /[ \t]*(?:,[ \t]*)?(?:\r?\n[ \t>?]*(?:\r?\n[ \t>?]*)?)?/y;
const UNIT_BEFORE = /(?:apt|apartment|suite|ste|unit|flat|room)\.?[ \t]*#?[ \t]*\d{1,5}[A-Za-z]?[ \t,]*$/i;

/** Extends a street over the unit, place and postcode components after it; returns the end and the evidence. */
function extend(text: string, end: number, lower: boolean): { end: number; bonus: number } {
  let bonus = 0;
  const seen = new Set<number>();
  for (let n = 0; n < 6; n++) {
    SEPARATOR.lastIndex = end;
    SEPARATOR.exec(text);
    const from = SEPARATOR.lastIndex;
    if (from >= text.length) break;
    let matched = false;
    for (let k = 0; k < COMPONENTS.length && !matched; k++) {
      const [re, weight] = COMPONENTS[k] ?? [/$^/y, 0];
      re.lastIndex = from;
      const m = re.exec(text);
      if (!m || m[0].trim() === '') continue;
      end = from + m[0].trimEnd().length;
      if (!seen.has(k)) bonus += weight;
      seen.add(k);
      matched = true;
    }
    if (!matched && lower) {
      LOWER_PLACE.lastIndex = from;
      const m = LOWER_PLACE.exec(text);
      if (m && m[0].length <= 60) {
        end = from + m[0].length;
        matched = true;
      }
    }
    if (!matched) break;
  }
  return { end, bonus: Math.min(bonus, 0.4) };
}

const BOX_BEFORE = /(?:(?:(?:unit|psc|cmr)[ \t]+\d{1,5},?[ \t]+)?(?:p\.?[ \t]?o\.?[ \t]?)?|post)box[ \t]+$/i;
const MILITARY_BEFORE = /\b[adf]po[ \t]+(?:aa|ae|ap)[ \t]+$/i;
const SHIP_LINE = /(?:^|\n)[ \t>?]*(?:USNS|USNV|USS|USCGC)[ \t]+[^\n]{1,40}\n[ \t>?]*$/i;
const ZIP_BEFORE = /\b(?:zip|zip code|zipcode|postal code|post code|postcode)\b[^\n\d]{0,12}$/i;
const POSTCODE_AT = new RegExp(POSTCODE, 'uy');
const ZIP_LABELS = new Set(['zip', 'zipcode', 'code', 'postcode', 'is']);

/** findAddresses' digit runs (it is not re-entrant; nothing else uses this regex). */
const DIGIT_RUNS = /\d+/g;

/**
 * Street addresses, US style first (number, name, suffix, unit, city, state, ZIP) and the common European
 * forms (`Rue de Virton 38`, `Kiannonkatu 98`), P.O. and military boxes, and postcodes after a `ZIP:`
 * label. Every anchor holds a digit, so only digit runs are examined. A span covers the whole address
 * block (street, unit, place and postcode lines), so a redaction removes all of it.
 */
export function findAddresses(text: string): PiiMatch[] {
  const out: PiiMatch[] = [];
  let covered = 0;
  // Whether the text is written all in lower case (then capitalisation says nothing about names).
  let lower: boolean | undefined;
  // Every run of digits, found with `test` (it leaves the run's end in lastIndex, and the start is a
  // short walk back): a match array per run was this function's largest allocation (a 2 KB text holds
  // dozens of runs, most of them stopped by the gates below), and scanning for digits in JavaScript
  // costs more than the regex engine's own scan.
  DIGIT_RUNS.lastIndex = 0;
  while (DIGIT_RUNS.test(text)) {
    const de = DIGIT_RUNS.lastIndex;
    let ds = de - 1;
    // The character before the run is not a digit (the previous run took them all), so this stops there.
    while (ds > 0 && isDigit(text.charCodeAt(ds - 1))) ds--;
    if (ds < covered || de - ds > 6) continue;
    const prev = text.charCodeAt(ds - 1);
    if (ds > 0 && (isAlpha(prev) || prev === 46 || prev === 58 || prev === 47 || prev === 45 || prev === 36))
      continue;
    // Cheap gate: an address number has a word just before it (`Kiannonkatu 98`, `Box 12`, `ZIP: 123`)
    // or a space after it (`90 Whitchurch Road`). Prices, times and percentages stop here.
    // `221B Baker Street`: a house number may carry one letter.
    const after = text.charCodeAt(de + 1);
    const de1 = isAlpha(text.charCodeAt(de)) && (after === 32 || after === 9) ? de + 1 : de;
    const next = text.charCodeAt(de1);
    if (next !== 32 && next !== 9 && !letterBefore(text, ds)) continue;
    // A number between numbers (`12 34 56`, a table row) is not an address's.
    if (isDigit(text.charCodeAt(de1 + 1)) && ds >= 2 && isDigit(text.charCodeAt(ds - 2))) continue;
    lower ??= !/\p{Lu}/u.test(text);
    let found: Street | undefined;
    // The P.O. box, military and ZIP anchors are only tried after their label word.
    const label = labelBefore(text, ds);
    const box = label === 'box' || label === 'postbox' ? BOX_BEFORE.exec(before40(text, ds)) : null;
    const mil =
      label === 'aa' || label === 'ae' || label === 'ap' ? MILITARY_BEFORE.exec(before40(text, ds)) : null;
    if (box) {
      const start = ds - box[0].length;
      found = { start: houseNumberBefore(text, start) ?? start, end: de, score: 0.6 };
    } else if (mil) {
      const start = ds - mil[0].length;
      const ship = SHIP_LINE.exec(text.slice(Math.max(0, start - 60), start));
      found = {
        start: ship ? start - ship[0].length + (ship[0].startsWith('\n') ? 1 : 0) : start,
        end: de,
        score: 0.8,
      };
    } else if (ZIP_LABELS.has(label) && ZIP_BEFORE.test(before40(text, ds))) {
      POSTCODE_AT.lastIndex = ds;
      const zip = POSTCODE_AT.exec(text);
      if (zip) found = { start: ds, end: ds + zip[0].length, score: 0.7 };
    } else found = streetAround(text, ds, de1, lower);
    if (!found) continue;
    let start = found.start;
    let score = found.score;
    const before30 = text.slice(Math.max(0, start - 30), start);
    const unit = UNIT_BEFORE.exec(before30.slice(before30.lastIndexOf('\n') + 1));
    if (unit) {
      start -= unit[0].length;
      score += 0.25;
    }
    const ext = extend(text, found.end, lower);
    score += ext.bonus;
    if (CONTEXT_BEFORE.test(text.slice(Math.max(0, start - 60), start))) score += 0.2;
    if (score < 0.3) continue;
    out.push({ kind: 'address', start, end: ext.end, score: Math.min(0.95, Math.round(score * 100) / 100) });
    covered = ext.end;
  }
  DIGIT_RUNS.lastIndex = 0;
  return out;
}

/** The 40 characters before `at`, where a box, military or ZIP label is looked for. */
function before40(text: string, at: number): string {
  return text.slice(Math.max(0, at - 40), at);
}

/** A letter within three characters before `at`, across spaces, `:` and `#` only. */
function letterBefore(text: string, at: number): boolean {
  for (let i = at - 1; i >= 0 && i >= at - 4; i--) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 9 || c === 58 || c === 35) continue;
    return isAlpha(c) || c === 46 || c > 127;
  }
  return false;
}
