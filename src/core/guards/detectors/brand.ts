import type { Detection, Detector } from '../types.js';
import { perSettings } from './per-settings.js';
import { compileTerms, findTerms, pendingTerm } from './terms.js';

/**
 * Reputation: the answer names a competitor (`guards.brand.competitors`) or makes a claim the brand must
 * not make (`guards.brand.bannedClaims`: "guaranteed approval", "best in class"). Both lists go into one
 * matcher per release, so an answer is scanned once whatever the lists hold.
 */
const COMPETITOR = 'competitor';
const BANNED_CLAIM = 'banned-claim';

const brandOf = perSettings((s) =>
  compileTerms([
    ...s.brand.competitors.map((term) => ({ term, owner: COMPETITOR })),
    ...s.brand.bannedClaims.map((term) => ({ term, owner: BANNED_CLAIM })),
  ]),
);

const messages: Record<string, string> = {
  [COMPETITOR]: 'the answer mentions a competitor',
  [BANNED_CLAIM]: 'the answer makes a claim the brand guidelines ban',
};

function configured(s: {
  readonly brand: { readonly competitors: readonly string[]; readonly bannedClaims: readonly string[] };
}) {
  return s.brand.competitors.length > 0 || s.brand.bannedClaims.length > 0;
}

export const brand: Detector = {
  id: 'brand',
  class: 'reputation',
  stages: ['output'],
  defaultAction: 'log',
  defaultThreshold: 0.5,
  description:
    'a competitor (guards.brand.competitors) or a banned claim (guards.brand.bannedClaims) in the answer',
  detect(text, ctx) {
    if (!configured(ctx.settings)) return [];
    const out: Detection[] = [];
    for (const hit of findTerms(text, brandOf(ctx.settings)))
      for (const kind of hit.owners)
        out.push({
          kind,
          score: 1,
          span: { start: hit.start, end: hit.end },
          message: messages[kind] ?? 'brand term',
        });
    return out;
  },
  pendingFrom: (text, ctx) =>
    configured(ctx.settings) ? pendingTerm(text, brandOf(ctx.settings)) : text.length,
};
