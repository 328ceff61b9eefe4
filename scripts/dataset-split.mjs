// The one split of the shared development data into a DEVELOPMENT part (training, cross-validation and
// threshold choices happen here) and a HELD-OUT part (looked at once, to report), used by both
// scripts/train-injection-classifier.mjs and bench/guard-quality.js so they can never disagree.
//
// Rows are assigned by a SHA-256 hash of a GROUP key, not of the row, so near-copies land on the same
// side (otherwise the held-out number measures memory, not detection):
//   - BIPIA attack rows: the inserted attack instruction (recovered by stripping the clean host
//     context, which the set also holds as a benign row). Each instruction is used 4–6 times with
//     different hosts, so a per-row split would put the same attack text on both sides.
//   - BIPIA benign rows: the clean context itself (its attack rows may be trained on only when the
//     context is in the development part: see `trainable`).
//   - in-the-wild jailbreaks: the first five words, which keep families of edited copies ("Hello,
//     ChatGPT. From now on you are going to act as a DAN…", 30 variants) together.
//   - everything else: the whitespace-normalised, lower-cased text (exact duplicates stay together).
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const datasetDir = process.env.FIREBREAK_DATASETS ?? join(here, '..', '..', 'shared', 'datasets');

/** Share of groups held out. */
export const HELD_OUT_SHARE = 0.3;
/** Changing the salt reshuffles every split: do it only with a note in bench/README.md. */
const SALT = 'firebreak-guards-v1';

/**
 * The team's system-prompt check sets (bench/system-prompt-checks/set-N.jsonl; with `heldBack`, the
 * sets in its held-back/ folder, which no training script reads): `[{ name: 'set-N', rows }]` in
 * numeric order, so every reader, and every machine, sees the rows in one order.
 */
export function readCheckSets({ heldBack = false } = {}) {
  return readSets('system-prompt-checks', /^set-\d+\.jsonl$/, heldBack);
}

/**
 * The unseen injection check sets (bench/unseen-checks/set-uN.jsonl: kind, label, stage, text), the
 * same way: with `heldBack`, its held-back/ folder, which no training script reads.
 */
export function readUnseenSets({ heldBack = false } = {}) {
  return readSets('unseen-checks', /^set-u\d+\.jsonl$/, heldBack);
}

function readSets(folder, pattern, heldBack) {
  const dir = join(here, '..', 'bench', folder, ...(heldBack ? ['held-back'] : []));
  return readdirSync(dir)
    .filter((f) => pattern.test(f))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
    .map((f) => ({
      name: f.slice(0, -'.jsonl'.length),
      // Parsed before blank lines are dropped, so an error names the file's own line number.
      rows: readFileSync(join(dir, f), 'utf8')
        .split('\n')
        .map((line, i) => {
          if (line.trim() === '') return undefined;
          try {
            return JSON.parse(line);
          } catch (error) {
            throw new Error(`${folder}/${f}:${i + 1}: ${error.message}`);
          }
        })
        .filter((row) => row !== undefined),
    }));
}

export function readJsonl(file) {
  return readFileSync(join(datasetDir, file), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l));
}

const norm = (s) => s.toLowerCase().replace(/\s+/g, ' ').trim();

function unitHash(key) {
  return createHash('sha256').update(`${SALT}\0${key}`).digest().readUInt32BE(0) / 2 ** 32;
}

export const partOfKey = (key) => (unitHash(key) < HELD_OUT_SHARE ? 'heldout' : 'dev');

const isBipia = (row) => row.id.startsWith('bipia-');
/** BIPIA email attacks go into email contexts and code attacks into code contexts. */
const bipiaFamily = (source) =>
  source.includes('/code/') ? 'code' : source.includes('/email/') ? 'email' : 'table';

/**
 * For a BIPIA attack row, the host context and where the attack sits in the row's text. The row is
 * `context + "\n" + attack`, `attack + "\n" + context` or `before + "\n" + attack + "\n" + after` with
 * `before + after = context` (BIPIA's joins), so the host is a clean context whose prefix and suffix
 * cover it, and the cut is where those joins put a newline.
 */
export function bipiaParts(row, contexts) {
  const text = row.text;
  for (const ctx of contexts.get(bipiaFamily(row.source)) ?? []) {
    const n = ctx.length;
    if (n + 2 > text.length) continue;
    let p = 0;
    while (p < n && ctx.charCodeAt(p) === text.charCodeAt(p)) p++;
    let s = 0;
    while (s < n && ctx.charCodeAt(n - 1 - s) === text.charCodeAt(text.length - 1 - s)) s++;
    if (p + s < n) continue;
    const tail = (k) => text.length - (n - k); // where `after` starts in text
    const found = (start, end) => ({ context: ctx, attack: text.slice(start, end), span: { start, end } });
    if (p === n && text[n] === '\n') return found(n + 1, text.length);
    if (s === n && text[tail(0) - 1] === '\n') return found(0, tail(0) - 1);
    // When the attack begins or ends like the text around the cut (a code fence), several cuts fit; the
    // last one is BIPIA's (its `before` ends at a line boundary, after the fence).
    for (let k = Math.min(p, n - 1); k >= Math.max(1, n - s); k--)
      if (text[k] === '\n' && text[tail(k) - 1] === '\n' && tail(k) - 1 > k + 1)
        return found(k + 1, tail(k) - 1);
  }
  return undefined;
}

/** Clean BIPIA contexts by family, from the benign rows. */
export function bipiaContexts(rows) {
  const contexts = new Map();
  for (const r of rows)
    if (isBipia(r) && r.label === 'benign') {
      const fam = bipiaFamily(r.source);
      contexts.set(fam, [...(contexts.get(fam) ?? []), r.text]);
    }
  return contexts;
}

/**
 * Every row of detection-dev.jsonl with its part, group key and (BIPIA attacks) the attack span and the
 * host context's group key. `trainable` is false for a BIPIA attack whose host context is held out, so no
 * held-out clean document is ever seen in training, not even as the body around an attack.
 */
export function splitDetectionRows(rows) {
  const contexts = bipiaContexts(rows);
  return rows.map((row) => {
    let group;
    let attackSpan;
    let contextGroup;
    if (isBipia(row) && row.label === 'attack') {
      const parts = bipiaParts(row, contexts);
      if (!parts) throw new Error(`${row.id}: no host context found`);
      group = `bipia-attack:${norm(parts.attack)}`;
      attackSpan = parts.span;
      contextGroup = `bipia-context:${norm(parts.context)}`;
    } else if (isBipia(row)) group = `bipia-context:${norm(row.text)}`;
    else if (row.id.startsWith('garak-itw-'))
      group = `itw:${norm(row.text).split(' ').slice(0, 5).join(' ')}`;
    else group = `text:${norm(row.text)}`;
    const part = partOfKey(group);
    const trainable = part === 'dev' && (contextGroup === undefined || partOfKey(contextGroup) === 'dev');
    return { row, group, part, trainable, ...(attackSpan ? { attackSpan, contextGroup } : {}) };
  });
}

/** pii-dev.jsonl rows with their part (grouped by normalised text). */
export function splitPiiRows(rows) {
  return rows.map((row) => ({ row, part: partOfKey(`pii:${norm(row.text)}`) }));
}

/**
 * Technical documentation as benign documents: the README of every installed package (node_modules,
 * pinned by package-lock.json), cut into chunks of at most 2 KB (8 per file). Documentation is full of
 * instructions to a human reader ("pass your own request", "run this"), the hard negative for indirect
 * injection that the shared data lacks. Split by package name like everything else: the training uses
 * the development part as negatives, the bench reports false positives on the held-out part.
 */
export function readmeDocuments(repoRoot, maxFiles = Infinity) {
  const dir = join(repoRoot, 'node_modules');
  if (!existsSync(dir)) return [];
  const packages = [];
  for (const name of readdirSync(dir).sort()) {
    if (name.startsWith('.')) continue;
    if (name.startsWith('@'))
      for (const sub of readdirSync(join(dir, name)).sort()) packages.push(`${name}/${sub}`);
    else packages.push(name);
  }
  const out = [];
  for (const pkg of packages) {
    if (out.length >= maxFiles) break;
    const file = ['README.md', 'readme.md', 'Readme.md', 'README.markdown']
      .map((f) => join(dir, pkg, f))
      .find((f) => existsSync(f));
    if (!file) continue;
    const text = readFileSync(file, 'utf8');
    if (text.length < 200) continue;
    const chunks = [];
    for (let at = 0; at < text.length && chunks.length < 8; at += 2048)
      chunks.push(text.slice(at, at + 2048));
    out.push({ id: `readme:${pkg}`, part: partOfKey(`readme:${pkg}`), chunks });
  }
  return out;
}
