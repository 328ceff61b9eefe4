import { describe, expect, it } from 'vitest';
import { keywordScanner } from '../../src/core/guards/detectors/keyword-scan.js';

/** What the scanner replaced: one case-insensitive alternation, longest first, retried at every position. */
function byRegex(keywords: readonly string[], text: string): [number, string][] {
  const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const re = new RegExp(
    [...keywords]
      .sort((a, b) => b.length - a.length)
      .map(escape)
      .join('|'),
    'gi',
  );
  const out: [number, string][] = [];
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    out.push([m.index, m[0].toLowerCase()]);
    re.lastIndex = m.index + 1;
  }
  return out;
}

function byScanner(keywords: readonly string[], text: string): [number, string][] {
  const out: [number, string][] = [];
  keywordScanner(keywords).scan(text, (start, k) => out.push([start, keywords[k] ?? '']));
  return out;
}

/** mulberry32: a fixed sequence, so a failure reproduces. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('keywordScanner', () => {
  const keywords = ['sk', 'sk-', 'sk-ant-', 'ask', 'token', 'tok', 'en', '://', 'q~', 'aws', 'secret_access'];

  it('finds the longest keyword at every start, overlapping, case-insensitive for ASCII only', () => {
    expect(byScanner(keywords, 'Ask for the SK-ANT-key and a TOKEN; https://x')).toEqual([
      [0, 'ask'],
      [1, 'sk'],
      [12, 'sk-ant-'],
      [29, 'token'],
      [32, 'en'],
      [41, '://'],
    ]);
    // Characters outside ASCII never match a keyword character (the regex it replaced used no `u` flag).
    expect(byScanner(['sk', 'is'], 'ſk ıs \u212a')).toEqual([]);
    expect(byScanner(keywords, '')).toEqual([]);
  });

  it('agrees with the alternation it replaced on random text', () => {
    const next = random(7);
    const alphabet = 'skSK-ant_~q:/awtoenEcr .\u00e9\u212a';
    for (let n = 0; n < 300; n++) {
      let text = '';
      const length = Math.floor(next() * 80);
      for (let i = 0; i < length; i++) text += alphabet[Math.floor(next() * alphabet.length)] ?? '';
      expect(byScanner(keywords, text)).toEqual(byRegex(keywords, text));
    }
  });

  it('rejects keywords it cannot match as the regex would', () => {
    expect(() => keywordScanner(['Token'])).toThrow();
    expect(() => keywordScanner([''])).toThrow();
    expect(() => keywordScanner(['clé'])).toThrow();
  });
});
