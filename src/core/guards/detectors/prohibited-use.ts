import type { Detection, Detector } from '../types.js';
import { perSettings } from './per-settings.js';
import { compileTerms, findTerms, pendingTerm, type TermMatcher } from './terms.js';

/**
 * Prohibited use (product.md §3): a term of one of the uses a release prohibits (guards.prohibited), on
 * the user's input and on the answer.
 */

interface Prohibited {
  readonly matcher: TermMatcher;
  readonly messages: ReadonlyMap<string, string>;
}

const prohibitedOf = perSettings((s): Prohibited => ({
  matcher: compileTerms(s.prohibited.flatMap((r) => r.terms.map((term) => ({ term, owner: r.id })))),
  messages: new Map(s.prohibited.map((r) => [r.id, r.message])),
}));

export const prohibitedUse: Detector = {
  id: 'prohibited-use',
  class: 'compliance',
  stages: ['input', 'output'],
  defaultAction: 'log',
  defaultThreshold: 0.5,
  description: "a term of one of the release's prohibited uses (guards.prohibited), matched as a whole word",
  detect(text, ctx) {
    if (ctx.settings.prohibited.length === 0) return [];
    const { matcher, messages } = prohibitedOf(ctx.settings);
    const out: Detection[] = [];
    for (const hit of findTerms(text, matcher))
      for (const id of hit.owners)
        out.push({
          kind: id,
          score: 1,
          span: { start: hit.start, end: hit.end },
          message: messages.get(id) ?? `prohibited use ${id}`,
        });
    return out;
  },
  pendingFrom: (text, ctx) =>
    ctx.settings.prohibited.length === 0
      ? text.length
      : pendingTerm(text, prohibitedOf(ctx.settings).matcher),
};
