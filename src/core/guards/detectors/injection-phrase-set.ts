import { wordHash, type Tokens } from '../classifier.js';

/**
 * The phrase matcher of the injection detectors (injection.ts) over the classifier scan's word tokens:
 * the phrases themselves are in injection-rules.ts.
 */

export interface Step {
  readonly words: ReadonlySet<number>;
  /** How many tokens may be skipped before this step matches. */
  readonly gap: number;
}

export interface Phrase {
  readonly kind: string;
  readonly score: number;
  readonly message: string;
  readonly steps: readonly Step[];
  /**
   * Not a match when the word before it negates it: "never share your password with anyone" (advice, in
   * an IT notice pasted to be summarised) is not "share your password".
   */
  readonly negatable?: boolean;
  /**
   * Not a match when the token right after it is one of these: "a message for all AI" is addressed to
   * the model, "a message for all AI vendors" to companies.
   */
  readonly notFollowedBy?: ReadonlySet<number>;
  /**
   * Not a match when a token between its first and last word is one of these: "ignore all my previous
   * instructions" and "forget everything I said before" are a user correcting their own request.
   */
  readonly notWithin?: ReadonlySet<number>;
}

/**
 * Token hashes as map keys, cut to 30 bits: V8 keeps such numbers unboxed (small integers), while a full
 * 32-bit hash would be boxed on every lookup (that was a third of the detector's time).
 */
export const key = (hash: number): number => hash & 0x3fffffff;

export interface PhraseMatch {
  readonly phrase: Phrase;
  readonly start: number;
  readonly end: number;
}

const hashOf = (w: string): number => key(wordHash(w));
/** Also other languages' "not" before a verb: non, não, не, nie, niet, jangan, and French "n'". */
const NEVER = new Set(['never', 'dont', 'n', 'non', 'não', 'nao', 'не', 'nie', 'niet', 'jangan'].map(hashOf));
const NOT = hashOf('not');
const WHY = hashOf('why');
/** "don't", "doesn't", "didn't" are two tokens each: the word and "t". */
const T = hashOf('t');
const DO_FORMS = new Set(['don', 'doesn', 'didn'].map(hashOf));

/**
 * Token `i` is negated by the word right before it, in the same clause (nothing but one space or an
 * apostrophe between them: "No, share …" and "if you can't, send …" are not): "never", "not" (not "why
 * not"), "don't", "doesn't", "didn't", and their like in other languages ("n'oubliez pas", "non
 * dimenticare", "не забудь").
 */
function negated(tokens: Tokens, i: number): boolean {
  const adjacent = (j: number): boolean => (tokens.starts[j + 1] ?? 0) - (tokens.ends[j] ?? 0) <= 1;
  if (i < 1 || !adjacent(i - 1)) return false;
  const previous = key(tokens.hashes[i - 1] ?? 0);
  if (NEVER.has(previous)) return true;
  if (previous === NOT) return !(i >= 2 && key(tokens.hashes[i - 2] ?? 0) === WHY);
  return previous === T && i >= 2 && adjacent(i - 2) && DO_FORMS.has(key(tokens.hashes[i - 2] ?? 0));
}

/** Phrases indexed by their first step's words: each token costs one map lookup. */
export class PhraseSet {
  private readonly byFirst = new Map<number, Phrase[]>();
  /** A bit per (key mod 4096) of the first words: most tokens are turned away without a map lookup. */
  private readonly firstBits = new Uint8Array(4096);

  constructor(phrases: readonly Phrase[]) {
    for (const p of phrases)
      for (const w of p.steps[0]?.words ?? []) {
        this.byFirst.set(w, [...(this.byFirst.get(w) ?? []), p]);
        this.firstBits[w & 4095] = 1;
      }
  }

  /** Each phrase that matches, at its leftmost place (phrases in `done` are skipped). */
  match(tokens: Tokens, done: Set<Phrase>, out: PhraseMatch[]): void {
    const bits = this.firstBits;
    for (let i = 0; i < tokens.count; i++) {
      const k = key(tokens.hashes[i] ?? 0);
      if (bits[k & 4095] === 0) continue;
      const candidates = this.byFirst.get(k);
      if (candidates) for (const p of candidates) if (!done.has(p)) this.attempt(p, tokens, i, done, out);
    }
  }

  private attempt(p: Phrase, tokens: Tokens, i: number, done: Set<Phrase>, out: PhraseMatch[]): void {
    if (p.negatable === true && negated(tokens, i)) return;
    let at = i;
    for (let s = 1; s < p.steps.length; s++) {
      const step = p.steps[s];
      if (!step) return;
      let found = -1;
      const last = Math.min(tokens.count - 1, at + 1 + step.gap);
      for (let j = at + 1; j <= last; j++)
        if (step.words.has(key(tokens.hashes[j] ?? 0))) {
          found = j;
          break;
        }
      if (found < 0) return;
      at = found;
    }
    // Only the very next word, after one space: "Note to the AI: team leads say …" is still addressed
    // to the model.
    if (
      p.notFollowedBy &&
      at + 1 < tokens.count &&
      (tokens.starts[at + 1] ?? 0) - (tokens.ends[at] ?? 0) <= 1 &&
      p.notFollowedBy.has(key(tokens.hashes[at + 1] ?? 0))
    )
      return;
    if (p.notWithin) for (let j = i + 1; j < at; j++) if (p.notWithin.has(key(tokens.hashes[j] ?? 0))) return;
    done.add(p);
    out.push({ phrase: p, start: tokens.starts[i] ?? 0, end: tokens.ends[at] ?? 0 });
  }
}
