import { englishDataset, englishRecommendedTransformers, RegExpMatcher } from 'obscenity';
import { describe, expect, it } from 'vitest';
import { brand } from '../../src/core/guards/detectors/brand.js';
import { prohibitedUse } from '../../src/core/guards/detectors/prohibited-use.js';
import { regulatedAdvice } from '../../src/core/guards/detectors/regulated-advice.js';
import { compileTerms, findTerms, pendingTerm } from '../../src/core/guards/detectors/terms.js';
import { contentDetectors } from '../../src/core/guards/detectors/content.js';
import { citation, facts, lexicalSupport, support } from '../../src/core/guards/detectors/integrity.js';
import { obscenityMatches } from '../../src/core/guards/detectors/toxicity-matcher.js';
import { mayContainProfanity } from '../../src/core/guards/detectors/toxicity-precheck.js';
import { toxicity } from '../../src/core/guards/detectors/toxicity.js';
import { GuardSet } from '../../src/core/guards/engine.js';
import { parseGuardSettings, type GuardSettingsInput } from '../../src/core/guards/guard-settings.js';
import type { Detection, Detector, GuardContext, GuardSettings, Stage } from '../../src/core/guards/types.js';

/** All fixtures below are written for these tests; none is taken from the detection dataset. */
type Retrieved = GuardContext['retrieved'];

const KB: Retrieved = [
  {
    id: 'doc-9',
    source: 'kb',
    text:
      'Refunds are available within 30 days of purchase. To request a refund, contact support with your ' +
      'order number and the reason for the return. Refunds go back to the original payment method.',
  },
  { id: 'refund-policy', source: 'wiki', text: 'Store credit is offered after the refund window closes.' },
];

function ctx(
  settings: GuardSettings = parseGuardSettings({}),
  retrieved: Retrieved = [],
  stage: Stage = 'output',
): GuardContext {
  return { stage, settings, canaries: [], retrieved, ownIdentifiers: [] };
}

function settings(input: GuardSettingsInput): GuardSettings {
  return parseGuardSettings(input);
}

/** Detections at or above the detector's default threshold, with the text each span covers. */
function fired(d: Detector, text: string, c: GuardContext = ctx()) {
  return d
    .detect(text, c)
    .filter((x) => x.score >= d.defaultThreshold)
    .map((x) => ({
      kind: x.kind,
      score: x.score,
      text: x.span ? text.slice(x.span.start, x.span.end) : undefined,
    }));
}

describe('content detectors', () => {
  it('ships the seven detectors with the classes and stages the issue asks for', () => {
    const shape = contentDetectors.map((d) => [d.id, d.class, d.stages.join('+'), d.defaultAction]);
    expect(shape).toEqual([
      ['citation', 'integrity', 'output', 'log'],
      ['facts', 'integrity', 'output', 'log'],
      ['support', 'integrity', 'output', 'log'],
      ['regulated-advice', 'compliance', 'input+output', 'log'],
      ['prohibited-use', 'compliance', 'input+output', 'log'],
      ['toxicity', 'reputation', 'input+output', 'log'],
      ['brand', 'reputation', 'output', 'log'],
    ]);
    for (const d of contentDetectors.filter((x) => x.class === 'integrity')) expect(d.owasp).toBe('LLM09');
    // Only the configured-term detectors hold streamed text back.
    expect(contentDetectors.filter((d) => d.pendingFrom).map((d) => d.id)).toEqual([
      'prohibited-use',
      'brand',
    ]);
  });

  it('detect is pure: the same input gives the same detections, and empty text gives none', () => {
    const s = settings({
      brand: { competitors: ['Acme'] },
      prohibited: [{ id: 'x', terms: ['y'], message: 'm' }],
    });
    const text = 'You should take 400 mg of ibuprofen; Acme is worse, you idiot [kb:doc-1].';
    for (const d of contentDetectors) {
      expect(d.detect(text, ctx(s, KB))).toEqual(d.detect(text, ctx(s, KB)));
      expect(d.detect('', ctx(s, KB))).toEqual([]);
    }
  });
});

describe('citation', () => {
  it('flags [source:id] citations of documents that were not retrieved, with the span', () => {
    const text = 'Per [kb:doc-9] refunds take 30 days, and [kb:doc-12] says shipping is free.';
    const found = citation.detect(text, ctx(undefined, KB));
    expect(found).toHaveLength(1);
    expect(found[0]?.kind).toBe('not-retrieved');
    expect(found[0]?.score).toBe(1);
    expect(text.slice(found[0]?.span?.start, found[0]?.span?.end)).toBe('[kb:doc-12]');
  });

  it('accepts every syntax that names a retrieved document', () => {
    for (const text of [
      'See [kb:doc-9].',
      'See [KB:DOC-9].',
      'See [source:doc-9] and [doc:doc-9].',
      'See [doc-9] and [refund-policy].',
      'See [kb:doc-9, wiki:refund-policy].',
      'Refunds take 30 days (source: doc-9).',
      'Refunds take 30 days (sources: kb:doc-9; refund-policy).',
    ])
      expect(citation.detect(text, ctx(undefined, KB)), text).toEqual([]);
  });

  it('reads bare ids, lists and (source: …) citations', () => {
    expect(fired(citation, 'Per [doc-12], no.', ctx(undefined, KB))).toEqual([
      { kind: 'not-retrieved', score: 0.7, text: '[doc-12]' },
    ]);
    expect(fired(citation, 'Both [kb:doc-9; kb:doc-3].', ctx(undefined, KB))).toEqual([
      { kind: 'not-retrieved', score: 1, text: '[kb:doc-9; kb:doc-3]' },
    ]);
    expect(fired(citation, 'It ships free (source: shipping-faq).', ctx(undefined, KB))).toEqual([
      { kind: 'not-retrieved', score: 1, text: '(source: shipping-faq)' },
    ]);
    // A document id under the wrong source is not the retrieved document.
    expect(fired(citation, 'See [wiki:doc-9].', ctx(undefined, KB))).toHaveLength(1);
  });

  it('flags an explicit citation when nothing was retrieved, but not bare bracketed words', () => {
    expect(fired(citation, 'As [kb:doc-4] says, and [doc-4] too.')).toEqual([
      { kind: 'nothing-retrieved', score: 1, text: '[kb:doc-4]' },
    ]);
  });

  it('does not take links, indexing, footnotes, checkboxes, times or versions for citations', () => {
    const text =
      'Use items[0] or a[i], see [the docs](https://example.com) and [^1], tick [x] and [ ], ' +
      'note [1] and [TODO] and [in-progress], meet at [12:30], upgrade to [v1.2.0], ' +
      '[ref]: https://example.com and [see note 3].';
    expect(citation.detect(text, ctx(undefined, KB))).toEqual([]);
  });
});

describe('facts', () => {
  const s = settings({
    facts: [
      { id: 'refund-window', pattern: 'refunds? within (\\d+) days', expected: '30' },
      { id: 'price', pattern: 'costs? (\\$?[\\d,.]+)', expected: '$1,299' },
      { id: 'plan', pattern: 'the (\\w+ plan) includes SSO', expected: 'Enterprise  Plan' },
    ],
  });

  it('flags a value that contradicts the source of truth, with the span of the captured value', () => {
    const text = 'You can get a refund within 14 days.';
    const found = facts.detect(text, ctx(s));
    expect(found.map((f) => [f.kind, f.score, text.slice(f.span?.start, f.span?.end)])).toEqual([
      ['refund-window', 1, '14'],
    ]);
    expect(found[0]?.message).toContain('says 30');
    expect(fired(facts, 'The pro plan includes SSO.', ctx(s))).toEqual([
      { kind: 'plan', score: 1, text: 'pro plan' },
    ]);
  });

  it('compares values normalised: case, whitespace, currency signs and thousands separators', () => {
    for (const text of [
      'REFUNDS WITHIN 30 DAYS.',
      'It costs $1,299.00 today.',
      'It costs 1299.',
      'It costs $1299.',
      'The enterprise plan includes SSO.',
    ])
      expect(facts.detect(text, ctx(s)), text).toEqual([]);
    expect(fired(facts, 'It costs $999.', ctx(s))).toEqual([{ kind: 'price', score: 1, text: '$999.' }]);
  });

  const badFacts = [
    { id: 'invalid', pattern: '(unclosed', expected: '1' },
    { id: 'no-group', pattern: 'refund within \\d+ days', expected: '30' },
    { id: 'redos', pattern: '(a+)+b', expected: 'x' },
    { id: 'good', pattern: 'refund within (\\d+) days', expected: '30' },
  ];

  it('refuses bad patterns when the settings are parsed (a release with one is not created)', () => {
    expect(() => settings({ facts: badFacts })).toThrow(/facts.*0.*pattern|not a regular expression/s);
    const issues = (() => {
      try {
        settings({ facts: badFacts });
        return [];
      } catch (e) {
        return (e as { issues: { path: unknown[]; message: string }[] }).issues;
      }
    })();
    expect(issues.map((i) => i.path.join('.'))).toEqual([
      'facts.0.pattern',
      'facts.1.pattern',
      'facts.2.pattern',
    ]);
    expect(() => settings({ detectors: { toxicty: { enabled: false } } })).toThrow(
      /unknown detector .{0,2}toxicty/,
    );
    // tool-policy is a detector id (rules and blast radius take it) but has no settings: say so.
    expect(() => settings({ detectors: { 'tool-policy': { action: 'log' } } })).toThrow(
      /tool-policy.{0,2} has no settings: a tool-call policy that cannot decide always denies/,
    );
  });

  it('never throws on a bad pattern at run time: invalid, without a group, or with nested quantifiers yield nothing', () => {
    // Settings that skipped validation (the run-time second line of defence).
    const bad: GuardSettings = { ...parseGuardSettings({}), facts: badFacts };
    const text = `refund within 14 days ${'a'.repeat(40)}c`;
    expect(() => facts.detect(text, ctx(bad))).not.toThrow();
    expect(facts.detect(text, ctx(bad)).map((d) => d.kind)).toEqual(['good']);
  });

  it('finds nothing when no facts are configured', () => {
    expect(facts.detect('A refund within 14 days.', ctx())).toEqual([]);
  });
});

describe('support (lexical)', () => {
  const grounded =
    'You can get a refund within 30 days of purchase: contact support with your order number and the ' +
    'reason for the return, and the refund goes back to your original payment method.';
  const ungrounded =
    'Our premium tier includes unlimited cloud storage, priority telephone assistance, quarterly ' +
    'business reviews and a dedicated account manager for enterprise customers worldwide.';

  it('scores an answer worded from the documents high and an unrelated one low', () => {
    expect(lexicalSupport(grounded, KB)).toBeGreaterThan(0.5);
    expect(lexicalSupport(ungrounded, KB)).toBeLessThan(0.1);
  });

  it('fires below settings.support.minScore, with a whole-text detection named for what it measures', () => {
    expect(support.detect(grounded, ctx(undefined, KB))).toEqual([]);
    const [d, ...rest] = support.detect(ungrounded, ctx(undefined, KB));
    expect(rest).toEqual([]);
    expect(d?.span).toBeUndefined();
    expect(d?.score).toBe(1);
    expect(d?.message).toMatch(/^lexical support 0\.\d\d is below 0\.2/);
  });

  it('honours minScore, and judges only long enough answers when documents were retrieved', () => {
    expect(support.detect(ungrounded, ctx(settings({ support: { minScore: 0 } }), KB))).toEqual([]);
    expect(support.detect(grounded, ctx(settings({ support: { minScore: 1 } }), KB))).toHaveLength(1);
    // Citation markers are not words of the answer.
    expect(lexicalSupport(`${grounded} [kb:doc-9] [wiki:refund-policy]`, KB)).toBe(
      lexicalSupport(grounded, KB),
    );
    expect(support.detect('I do not know that, sorry.', ctx(undefined, KB))).toEqual([]);
    expect(support.detect(ungrounded, ctx(undefined, []))).toEqual([]);
  });
});

describe('regulated-advice', () => {
  it('flags advice-giving phrasing per topic, scored by strength', () => {
    const cases: [string, string, number][] = [
      ['You should take 400mg of ibuprofen every six hours.', 'medical', 0.9],
      ['Take 2 tablets with water before bed.', 'medical', 0.9],
      ['I recommend you stop taking your antidepressants.', 'medical', 0.85],
      ['You probably have diabetes.', 'medical', 0.8],
      ['You don’t need to see a doctor for this.', 'medical', 0.8],
      ['You should sue your landlord.', 'legal', 0.85],
      ['I’d recommend filing a lawsuit.', 'legal', 0.85],
      ['You have a strong case.', 'legal', 0.75],
      ['I recommend investing in index funds.', 'financial', 0.85],
      ['You should put all of your savings into one coin.', 'financial', 0.85],
      ['This fund offers guaranteed returns.', 'financial', 0.8],
    ];
    for (const [text, kind, score] of cases) {
      const found = fired(regulatedAdvice, text);
      expect(
        found.map((f) => [f.kind, f.score]),
        text,
      ).toEqual([[kind, score]]);
    }
  });

  it('flags requests for advice (a user asking) at a lower score', () => {
    for (const text of [
      'How much ibuprofen should I take?',
      'Can I sue my employer over this?',
      'Should I buy Tesla stock now?',
    ])
      expect(
        fired(regulatedAdvice, text, ctx(undefined, [], 'input')).map((f) => f.score),
        text,
      ).toEqual([0.6]);
  });

  it('stays quiet on everyday and informational text (hard negatives)', () => {
    for (const text of [
      'Ibuprofen is an NSAID used for pain and fever.',
      'Do not stop taking your medication without talking to your doctor.',
      'The court ruled that the contract was void.',
      'Stocks fell 3% on Monday after the earnings report.',
      'You should buy a new laptop if this one is slow.',
      'I suggest buying fruit at the market on Saturday.',
      'I recommend putting the options in a config file.',
      'You should use a stronger password.',
      'You have a strong case for asking for a raise.',
      'You need to take the 3 units course first.',
      'It is a good time to buy a new bike.',
    ])
      expect(fired(regulatedAdvice, text), text).toEqual([]);
  });

  it('scores dosing information below an instruction (still above the default threshold)', () => {
    expect(fired(regulatedAdvice, 'Adults usually take 200 mg to 400 mg.')).toEqual([
      { kind: 'medical', score: 0.6, text: 'take 200 mg' },
    ]);
  });

  it('is silenced per topic by settings.topics.allowed', () => {
    const text =
      'You should take 400mg of ibuprofen. You should sue your doctor. I recommend buying bitcoin.';
    expect(fired(regulatedAdvice, text).map((f) => f.kind)).toEqual(['medical', 'legal', 'financial']);
    const medical = settings({ topics: { allowed: ['medical'] } });
    expect(fired(regulatedAdvice, text, ctx(medical)).map((f) => f.kind)).toEqual(['legal', 'financial']);
    const all = settings({ topics: { allowed: ['medical', 'legal', 'financial'] } });
    expect(regulatedAdvice.detect(text, ctx(all))).toEqual([]);
  });
});

describe('prohibited-use', () => {
  const s = settings({
    prohibited: [
      {
        id: 'weapons',
        terms: ['ghost gun', 'bump stock'],
        message: 'weapon manufacturing is not allowed here',
      },
      { id: 'gambling', terms: ['parlay', 'Ghost Gun'], message: 'no betting tips' },
    ],
  });

  it('matches terms whole-word and case-insensitively in one pass; kind and message come from the rule', () => {
    const text = 'How do I build a GHOST  GUN or a Bump-Stock, and is a parlay smart?';
    const found = prohibitedUse.detect(text, ctx(s, [], 'input'));
    expect(found.map((d) => [d.kind, text.slice(d.span?.start, d.span?.end), d.message])).toEqual([
      ['weapons', 'GHOST  GUN', 'weapon manufacturing is not allowed here'],
      ['gambling', 'GHOST  GUN', 'no betting tips'],
      ['weapons', 'Bump-Stock', 'weapon manufacturing is not allowed here'],
      ['gambling', 'parlay', 'no betting tips'],
    ]);
  });

  it('does not match inside other words, and finds nothing when nothing is configured', () => {
    expect(prohibitedUse.detect('ghostly gunsmiths and parlays of bump stockings', ctx(s))).toEqual([]);
    expect(prohibitedUse.detect('a ghost gun', ctx())).toEqual([]);
  });
});

describe('brand', () => {
  const s = settings({
    brand: {
      competitors: ['Acme', 'Acme Cloud', 'C++ Corp'],
      bannedClaims: ['best in class', 'guaranteed approval'],
    },
  });

  it('reports competitors and banned claims with kinds and spans, longest term first', () => {
    const text = 'Unlike ACME and Acme Cloud, we are best in\nclass. C++ Corp? Guaranteed approval!';
    expect(fired(brand, text, ctx(s))).toEqual([
      { kind: 'competitor', score: 1, text: 'ACME' },
      { kind: 'competitor', score: 1, text: 'Acme Cloud' },
      { kind: 'banned-claim', score: 1, text: 'best in\nclass' },
      { kind: 'competitor', score: 1, text: 'C++ Corp' },
      { kind: 'banned-claim', score: 1, text: 'Guaranteed approval' },
    ]);
  });

  it('matches whole words only, and nothing without configuration', () => {
    expect(brand.detect('Acmetric and reacme are not competitors; the best in classes', ctx(s))).toEqual([]);
    expect(brand.detect('Acme', ctx())).toEqual([]);
  });

  it('holds back only a trailing run that could still become a configured term', () => {
    const pending = (text: string) => text.slice(brand.pendingFrom?.(text, ctx(s)));
    expect(pending('We compare with Ac')).toBe('Ac');
    expect(pending('We compare with Acme')).toBe('Acme'); // may still become Acmetric
    expect(pending('We compare with Acme ')).toBe('Acme '); // may still become Acme Cloud
    expect(pending('We are best in')).toBe('best in');
    expect(pending('The weather is fine')).toBe('');
    expect(pending('The weather is fine today, isn')).toBe('');
    expect(pending('He said acmeX')).toBe('');
    expect(pending('Acme, ')).toBe('');
    // Nothing configured: nothing held, whatever the text.
    expect(brand.pendingFrom?.('We compare with Ac', ctx())).toBe('We compare with Ac'.length);
  });
});

describe('term matcher', () => {
  it('handles terms that start or end with punctuation and terms that share prefixes', () => {
    const m = compileTerms([
      { term: 'AT&T', owner: 'a' },
      { term: '#1 rated', owner: 'b' },
      { term: 'at', owner: 'c' },
    ]);
    const text = 'Call AT&T, the #1 rated carrier, at noon.';
    expect(findTerms(text, m).map((h) => [text.slice(h.start, h.end), h.owners])).toEqual([
      ['AT&T', ['a']],
      ['#1 rated', ['b']],
      ['at', ['c']],
    ]);
    expect(pendingTerm('Call AT&', m)).toBe(5);
    expect(compileTerms([]).regex).toBeUndefined();
  });
});

describe('toxicity', () => {
  it('finds profanity through leet speak, look-alike letters and repeats (obscenity), with spans', () => {
    for (const [text, word] of [
      ['what the fuuuck is this', 'fuuuck'],
      ['this is sh1t', 'sh1t'],
      ['total $h!t show', '$h!t'],
      ['ƒuck that', 'ƒuck'],
    ] as const) {
      const found = fired(toxicity, text);
      expect(
        found.map((f) => f.text),
        text,
      ).toContain(word);
      expect(found.every((f) => f.kind === 'profanity')).toBe(true);
    }
  });

  it('finds insults, insults aimed at someone, threats and masked profanity from the lexicon', () => {
    const cases: [string, string, string][] = [
      ['what a moron', 'insult', 'what a moron'],
      ['Honestly, you are pathetic.', 'insult', 'you are pathetic'],
      ['He is a total clown', 'insult', 'He is a total clown'],
      ['I will kill you tomorrow', 'threat', 'I will kill you'],
      ['They should be hanged.', 'threat', 'should be hanged'],
      ['F**K this', 'profanity', 'F**K'],
      ['you’re a waste of space', 'insult', 'waste of space'],
    ];
    for (const [text, kind, span] of cases)
      expect(
        fired(toxicity, text).map((f) => [f.kind, f.text]),
        text,
      ).toContainEqual([kind, span]);
  });

  it('scores slurs highest and clinical words below the default threshold', () => {
    const scoreOf = (text: string) =>
      Math.max(0, ...toxicity.detect(text, ctx()).map((d: Detection) => d.score));
    expect(scoreOf('a racist slur: kike')).toBe(1);
    for (const text of [
      'the penis and the vagina',
      'a rape crisis centre',
      'safe sex education',
      'Moby Dick',
    ])
      expect(scoreOf(text), text).toBeLessThan(toxicity.defaultThreshold);
  });

  it('stays quiet on innocent words that word lists trip over (hard negatives)', () => {
    for (const text of [
      'Scunthorpe and Penistone are towns; Essex is a county.',
      'The class assignment needs an assessment of the assets.',
      'Read the data science/analytics guide.',
      'Human trafficking is a crime.',
      'There is a chink in the armor.',
      'She graduated magna cum laude and likes cumin.',
      'A cocktail in the cockpit, then a shiitake risotto.',
      'Kill the process and restart the server.',
      'Beat the eggs; they should be beaten until stiff.',
      'Exterminate the pests and remove the vermin.',
      'The Wankel engine and flame retardant foam.',
      'A degenerate case of the matrix; a drop dead gorgeous view.',
      'Empty your trash folder.',
      'Compute s*t and a**2 in Python.',
      'Gigi Fu starred in the film.',
    ])
      expect(fired(toxicity, text), text).toEqual([]);
  });

  it('its pre-check never says no where obscenity finds a match', () => {
    const matcher = new RegExpMatcher({ ...englishDataset.build(), ...englishRecommendedTransformers });
    const samples = [
      'ʃ𝐟ʃὗƈｋ ỹоứ 𝔟ⁱẗ𝙘ɦ',
      'fu.....uuuuCK the pen is mightier',
      'f*ck',
      'FUUUUCK',
      'b00bs',
      'a$$hole',
      'sh1t',
      'You are a B1TCH',
      'the cock crowed',
      'hello world',
      'the analysis is fine',
      'class pass mass',
      'f😀ck and f😀😀ck',
      'Ass',
      '4ss',
      'a$$ert',
      'pen   is',
      'fuuuuuuuuuuuuuuuuuuuuuck',
    ];
    for (const text of samples)
      if (matcher.hasMatch(text)) expect(mayContainProfanity(text), text).toBe(true);
    expect(mayContainProfanity('The quarterly report shows revenue grew by 12 percent.')).toBe(false);
    // obscenity's whitelist holds `ass` in these, so the pre-check must not send them to the matcher…
    expect(mayContainProfanity('We assert that the  assessment of assets is sound.')).toBe(false);
    // …but leet speak is not whitelisted.
    expect(mayContainProfanity('We a$$ert it.')).toBe(true);
  });

  it('runs obscenity on windows around the hits, finding exactly what it finds in the whole text', () => {
    const matcher = new RegExpMatcher({ ...englishDataset.build(), ...englishRecommendedTransformers });
    const written = [
      '',
      'fuck',
      'A calm sentence, then some shit, then a long calm tail about the weather and the harvest.',
      'Start: fuck. Middle: a$$ and b00bs. End: ƒuck',
      'what the fuuuuuuck\n\nand sh1t\tand 𝐟𝐮𝐜𝐤 too',
      // A whitelisted term across the place a window would start: `van dyke` holds `dyke`.
      'the van dykefuck and the VAN  DYKEshit',
      'kung fufuck, kung-fu, an al fuck',
      // Patterns with a space or a wildcard in them.
      'double penetration and f ck and f\nck',
      // The separator the windows are joined with, in the text itself.
      'fuck\n\tshit\n\tass',
      'We assert that the assessment of assets is sound, you ass.',
      'pen   is penis pen is',
    ];
    for (const text of written)
      expect(obscenityMatches(text), text).toEqual(matcher.getAllMatches(text, true));
    // And generated texts: profanity, whitelisted terms and plain words glued by assorted separators.
    const words = (
      'fuck|sh1t|ass|dyke|fu|anal|penis|cum|tit|f ck|m sturbate|cock|van dyke|kung fu|an al|pen is|' +
      "assess|tetanus|cockney|s hit|who're|the|class|analysis|é|😀|ƒ|van|kung"
    ).split('|');
    const glue = ['', '', ' ', '  ', '-', "'", '\n', '.', '\t', '$', '(', '/'];
    let seed = 42;
    const next = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    for (let i = 0; i < 2000; i++) {
      let text = '';
      for (let k = 1 + next(14); k > 0; k--) {
        const w = words[next(words.length)] ?? '';
        text += (next(6) === 0 ? w.toUpperCase() : w) + (glue[next(glue.length)] ?? '');
      }
      expect(obscenityMatches(text), text).toEqual(matcher.getAllMatches(text, true));
    }
  });

  it('reports one finding per span, obscenity first, and at most 50', () => {
    const many = 'fuck you idiot '.repeat(60);
    const found = toxicity.detect(many, ctx());
    expect(found).toHaveLength(50);
    expect(new Set(found.map((d) => `${d.span?.start}:${d.span?.end}`)).size).toBe(50);
    // obscenity's 60 words come first and fill the list: the lexicon's insults are not reached.
    expect(found.every((d) => d.kind === 'profanity')).toBe(true);
    expect(toxicity.detect('sh1t', ctx())).toHaveLength(1);
  });
});

describe('with the engine', () => {
  it('a release can redact brand terms and block toxicity; defaults only log', () => {
    const s = settings({
      brand: { competitors: ['Acme'] },
      detectors: { brand: { action: 'redact' }, toxicity: { action: 'block' } },
    });
    const set = new GuardSet(s, contentDetectors);
    const r = set.scan('Acme is better, you idiot.', ctx(s));
    expect(r.action).toBe('block');
    expect(r.text).toBe('[REDACTED:competitor] is better, you idiot.');
    expect(r.findings.map((f) => [f.detector, f.class, f.kind])).toEqual([
      ['toxicity', 'reputation', 'insult'],
      ['brand', 'reputation', 'competitor'],
    ]);
    const defaults = new GuardSet(parseGuardSettings({}), contentDetectors);
    expect(defaults.scan('You should sue them, you idiot.', ctx()).action).toBe('log');
  });
});
