// Seeded randomness, the one implementation: the training scripts (train-injection-classifier.mjs,
// train-rule-judge.mjs: two runs write byte-identical models), bench/blast-radius.js and the tests'
// generated cases (types in seeded-random.d.mts). The same seed gives the same sequence on every machine.

/** A mulberry32 generator: a function returning numbers in [0, 1). */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher–Yates in place with `next` (from `rng`); returns `xs`. */
export function shuffle(xs, next) {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}
