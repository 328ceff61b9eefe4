// Types for seeded-random.mjs, so the TypeScript tests and benches use the one generator the training
// scripts use.

/** A mulberry32 generator: a function returning numbers in [0, 1). */
export function rng(seed: number): () => number;

/** Fisher–Yates in place with `next` (from `rng`); returns `xs`. */
export function shuffle<T>(xs: T[], next: () => number): T[];
