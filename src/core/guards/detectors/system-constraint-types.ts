import type { ForbiddenActions } from './system-actions.js';
import type { OffScopeSubject } from './system-scope.js';
import type { TermMatcher } from './term-matcher.js';

/** What system-constraints.ts reads from a system prompt, and the findings its checks make. */

/** A heuristic finding: what injection.ts combines with the classifier. */
export interface ConstraintSignal {
  readonly kind: string;
  readonly score: number;
  readonly message: string;
  readonly start: number;
  readonly end: number;
}

/** A forbidden topic: a list of word stems, `need` of which must occur in a turn. */
export interface TopicGroup {
  readonly stems: readonly string[];
  readonly need: number;
  /** For a term from topic-concepts.ts: the concept it stands for. */
  readonly concept?: string;
  /**
   * The prompt rules out advice on the concept ("no personalized tax advice"), not the concept: a turn
   * counts only when it asks for advice ("should I itemize?", not "where do I enter my 1099?").
   */
  readonly advice?: boolean;
}

export interface SystemConstraints {
  /** Forbidden topics as the prompt names them. */
  readonly topics: readonly TopicGroup[];
  /** The same topics in other words and languages (topic-concepts.ts). */
  readonly related: readonly TopicGroup[];
  /** Finds the stems of `topics` then `related` in one pass (group index: topics first). */
  readonly matcher: TermMatcher | undefined;
  /** Protected personal data: who it is about (user, customer, the names) and what may not be told. */
  readonly privacy: { readonly subjects: readonly string[] } | undefined;
  /** Languages the prompt allows output in, when it rules out all others. */
  readonly languages: readonly string[] | undefined;
  /** The prompt holds a database of several people's records (answer one user, not dump them all). */
  readonly records: boolean;
  /**
   * Words that ask for the opposite of what an "only" rule allows ("only sort in ascending order":
   * "descending").
   */
  readonly opposites: readonly string[];
  /** When the prompt rules out "other locations": the words of the prompt (the places it does cover). */
  readonly places: ReadonlySet<string> | undefined;
  /** Subjects off-topic for a prompt that confines the model to its own (system-scope.ts). */
  readonly offScope: readonly OffScopeSubject[];
  /** What the prompt keeps the model from doing ("cannot issue refunds": "refund"; system-actions.ts). */
  readonly actions: ForbiddenActions | undefined;
  /** When the prompt scopes the model ("only", "never", "except"): its words (what it is about). */
  readonly scope: ReadonlySet<string> | undefined;
  /**
   * The one output format the prompt allows ("respond only in JSON"); whether it rules out code; the one
   * programming language it allows code in ("a coding assistant for Python … no other language"); a
   * length limit in words.
   */
  readonly format: {
    readonly only: string | undefined;
    readonly noCode: boolean;
    readonly codeOnlyIn: string | undefined;
    /** The most words an answer may have ("keep answers under 50 words"). */
    readonly maxWords: number | undefined;
  };
}

/**
 * Score of these findings: above the default threshold (0.5), below the phrase heuristics' (0.75 and up),
 * so a release can turn them off by raising prompt-injection's threshold to 0.75 (the phrases stay on).
 */
export const CONSTRAINT_SCORE = 0.7;

export const NONE: SystemConstraints = {
  topics: [],
  related: [],
  matcher: undefined,
  privacy: undefined,
  languages: undefined,
  records: false,
  opposites: [],
  places: undefined,
  actions: undefined,
  offScope: [],
  scope: undefined,
  format: { only: undefined, noCode: false, codeOnlyIn: undefined, maxWords: undefined },
};

/** The prompt constrains nothing these checks look at (most prompts): skip the user turn. */
export const unconstrained = (c: SystemConstraints): boolean => c === NONE;
