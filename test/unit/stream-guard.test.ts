import { describe, expect, it } from 'vitest';
import { GuardSet } from '../../src/core/guards/engine.js';
import { parseGuardSettings } from '../../src/core/guards/guard-settings.js';
import { OutputStreamGuard } from '../../src/core/guards/stream-guard.js';
import type { GuardContext } from '../../src/core/guards/types.js';

const settings = parseGuardSettings({ canaries: ['CANARY-7f3a9c2e'] });
const set = new GuardSet(settings);
const ctx: GuardContext = {
  stage: 'output',
  settings,
  canaries: settings.canaries,
  retrieved: [],
  ownIdentifiers: [],
};

/** Feeds chunks; returns what was released after each one, and the block if any. */
function feed(chunks: string[]) {
  const g = new OutputStreamGuard(set, ctx);
  const released: string[] = [];
  for (const c of chunks) {
    const step = g.push(0, c);
    released.push(step.emit);
    if (step.blocked) return { released, blocked: step.blocked, g };
  }
  const end = g.end(0);
  released.push(end.emit);
  return { released, blocked: end.blocked, g };
}

describe('streamed output guard', () => {
  it('releases ordinary words (and words with digits) at once: nothing is held back', () => {
    const { released, blocked } = feed(['Sure, ', 'here ', 'is ', 'w0 ', 'v2 ', 'the answer.']);
    expect(blocked).toBeUndefined();
    expect(released).toEqual(['Sure, ', 'here ', 'is ', 'w0 ', 'v2 ', 'the answer.', '']);
  });

  it('holds a trailing digit run until it is known not to be a card number, then releases it whole', () => {
    const { released, blocked } = feed(['Order ', '1234', '5 ', 'shipped.']);
    expect(blocked).toBeUndefined();
    expect(released.join('')).toBe('Order 12345 shipped.');
    expect(released[1]).toBe(''); // `1234` could have grown into a card number
  });

  it('cuts before a card number split across chunks: none of its digits are released', () => {
    const { released, blocked } = feed(['Card: ', '4111 ', '1111 ', '1111 ', '1111', ' ok']);
    expect(blocked).toMatchObject({ detector: 'financial-id', kind: 'card', action: 'block' });
    expect(released.join('')).toBe('Card: ');
  });

  it('cuts before a canary split across chunks, releasing the text before it', () => {
    const { released, blocked } = feed(['The code is ', 'CAN', 'ARY-7f', '3a9c2e', ' done']);
    expect(blocked).toMatchObject({ detector: 'canary', severity: 'SEV1' });
    expect(released.join('')).toBe('The code is ');
  });

  it('releases held text when the canary prefix turns out to be something else', () => {
    const { released, blocked } = feed(['a CAN', 'dle burns']);
    expect(blocked).toBeUndefined();
    expect(released.join('')).toBe('a CANdle burns');
    expect(released[0]).toBe('a ');
  });

  it('judges a long answer in linear work: each chunk scans a bounded window', () => {
    const g = new OutputStreamGuard(set, ctx);
    let out = '';
    for (let i = 0; i < 5000; i++) out += g.push(0, `word${i % 7} and more text `).emit;
    out += g.end(0).emit;
    expect(out.length).toBe(5000 * 'word0 and more text '.length);
    expect(g.findings).toEqual([]);
  });
});

describe('detectors that judge a whole answer (support)', () => {
  const doc = {
    id: 'refunds',
    source: 'kb',
    text: 'Refunds are issued to the original payment method within thirty days of the return being received at our warehouse. Store credit is offered for items returned after thirty days. Shipping costs are not refunded unless the item arrived damaged or the wrong item was sent.',
  };
  const supportSettings = parseGuardSettings({ support: { minScore: 0.3 } });
  const supportSet = new GuardSet(supportSettings);
  const withDoc: GuardContext = { ...ctx, settings: supportSettings, retrieved: [doc] };
  const streamed = (answer: string) => {
    const g = new OutputStreamGuard(supportSet, withDoc);
    // Small chunks, as a model streams: many windows of 256 characters over a long answer.
    for (const chunk of answer.match(/.{1,12}/gs) ?? []) g.push(0, chunk);
    const end = g.end(0);
    return { findings: g.findings.filter((f) => f.detector === 'support'), blocked: end.blocked };
  };
  const whole = (answer: string) =>
    supportSet.scan(answer, withDoc).findings.filter((f) => f.detector === 'support');

  it('gives a streamed answer the same support findings as the same answer unstreamed', () => {
    // Worded from the document, with a long aside of its own in the middle: a 256-character window
    // inside the aside has no support, the answer as a whole has.
    const supported =
      'Refunds are issued to the original payment method within thirty days of the return being received at our warehouse. ' +
      'Thanks for your patience while we look into this for you; we know how frustrating waiting can be, and our team genuinely appreciates you reaching out with all the details up front today. ' +
      'Store credit is offered for items returned after thirty days. Shipping costs are not refunded unless the item arrived damaged or the wrong item was sent.';
    expect(whole(supported)).toEqual([]);
    expect(streamed(supported).findings).toEqual([]);

    const unsupported =
      'Our premium members enjoy complimentary express delivery on every order, a dedicated concierge line that answers around the clock, and early access to seasonal collections before they reach the public catalogue each spring.';
    const expected = whole(unsupported);
    expect(expected).toHaveLength(1);
    const got = streamed(unsupported);
    expect(got.findings).toEqual(expected);
    expect(got.blocked).toBeUndefined();
  });

  it('set to block, an unsupported streamed answer ends blocked when it is complete', () => {
    const blocking = parseGuardSettings({
      support: { minScore: 0.3 },
      detectors: { support: { action: 'block' } },
    });
    const g = new OutputStreamGuard(new GuardSet(blocking), { ...withDoc, settings: blocking });
    const answer =
      'Our premium members enjoy complimentary express delivery on every order, and a dedicated concierge line that answers around the clock.';
    let sent = '';
    for (const chunk of answer.match(/.{1,12}/gs) ?? []) {
      const step = g.push(0, chunk);
      expect(step.blocked).toBeUndefined();
      sent += step.emit;
    }
    const end = g.end(0);
    expect(end.blocked).toMatchObject({ detector: 'support', action: 'block' });
    // What was held when it ended (the last word, at most) is not sent.
    expect(answer.startsWith(sent + end.emit)).toBe(true);
  });
});
