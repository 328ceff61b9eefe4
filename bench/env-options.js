// Shared by the benchmarks: numeric knobs from the environment, and progress lines on stderr (stdout
// carries the markdown results).

/** A positive number from environment variable `name`, or `fallback` when it is unset. */
export function positive(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name}: "${raw}" is not a positive number`);
  return n;
}

export const log = (line) => process.stderr.write(`${line}\n`);
