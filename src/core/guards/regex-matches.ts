/**
 * The matches of a global regex in `text`, like `text.matchAll(regex)` but run on the regex itself.
 * `matchAll` clones its regex on every call (the spec's species constructor), and for the detectors'
 * combined regexes (kilobytes of source) the clone cost more than scanning a short message: about
 * 14 µs per call for regulated-advice on a 50-character input, 0.25 µs without it.
 *
 * Not re-entrant for one regex (it uses the regex's `lastIndex`, reset before and after), which the
 * detectors' module-level regexes never need: a scan does not call itself.
 */
export function* matchesOf(regex: RegExp, text: string): Generator<RegExpExecArray, void, undefined> {
  if (!regex.global) throw new Error(`matchesOf needs a global regex (/${regex.source.slice(0, 40)}…/)`);
  regex.lastIndex = 0;
  try {
    for (let m = regex.exec(text); m !== null; m = regex.exec(text)) {
      // An empty match would be found again at the same place: step over it (a whole code point).
      if (m[0] === '') regex.lastIndex += regex.unicode && (text.codePointAt(m.index) ?? 0) > 0xffff ? 2 : 1;
      yield m;
    }
  } finally {
    regex.lastIndex = 0;
  }
}
