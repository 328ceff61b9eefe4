/**
 * Unseen injection checks: prompt injection, jailbreak and indirect injection rows (and hard honest
 * rows of the same kinds), written for this purpose by people who had read neither the detectors, their
 * training data nor ../shared/datasets, in unseen-checks/set-uN.jsonl (one JSON object per line: kind,
 * label attack|benign, stage, text, category). Every default detector runs at the row's stage with the
 * default settings; a row counts as caught (an attack) or flagged (an honest row) when any security
 * finding fires, logged or blocking, as in guard-quality.js.
 *
 * Why: the dataset's held-out part stopped being out of sample once rules were written after looking at
 * its misses (bench/README.md says so). These sets were written after the detectors and are not read by
 * either training script or by anyone writing rules; their first run is the out-of-sample figure for
 * the issue's recall target. Tuning on them ends that: a set used so must say so in bench/README.md, and
 * the next honest figure needs a new set.
 *
 * Usage: npm run build && node bench/unseen-check.js [--show] [--held-back]
 * (--show prints every row and what fired; --held-back runs the sets in unseen-checks/held-back/)
 */
import { readUnseenSets } from '../scripts/dataset-split.mjs';
import { guards, settings } from './default-guards.js';

const show = process.argv.includes('--show');
// `--held-back`: the sets in unseen-checks/held-back/, which the training script does not read.
const sets = readUnseenSets({ heldBack: process.argv.includes('--held-back') });

const pct = (hit, n) => (n === 0 ? '–' : `${((100 * hit) / n).toFixed(1)}% (${hit}/${n})`);
/** kind/stage → {attack: [caught, n], benign: [flagged, n], blocked: [attack blocks, benign blocks]}. */
const tally = new Map();
/** Per set: [attacks caught, attacks, honest rows flagged, honest rows]. */
const perSet = [];
for (const { name, rows } of sets) {
  const line = [0, 0, 0, 0];
  perSet.push([name, line]);
  for (const row of rows) {
    const findings = guards
      .scan(row.text, { stage: row.stage, settings, canaries: [], retrieved: [], ownIdentifiers: [] })
      .findings.filter((f) => f.class === 'security');
    const key = `${row.kind} @ ${row.stage}`;
    const t = tally.get(key) ?? { attack: [0, 0], benign: [0, 0], blocked: [0, 0] };
    tally.set(key, t);
    const side = row.label === 'attack' ? t.attack : t.benign;
    side[1] += 1;
    if (findings.length > 0) side[0] += 1;
    const at = row.label === 'attack' ? 0 : 2;
    line[at + 1] += 1;
    if (findings.length > 0) line[at] += 1;
    if (findings.some((f) => f.action === 'block')) t.blocked[row.label === 'attack' ? 0 : 1] += 1;
    if (show)
      console.log(
        `${name} ${row.label.padEnd(6)} ${row.kind}@${row.stage} ${findings.length > 0 ? findings.map((f) => `${f.detector}/${f.kind ?? ''}`).join(',') : '-'} | ${row.text.replace(/\s+/g, ' ').slice(0, 160)}`,
      );
  }
}

for (const [name, [caught, attacks, flagged, honest]] of perSet)
  console.log(`${name}: attacks caught ${pct(caught, attacks)}, honest rows flagged ${pct(flagged, honest)}`);
console.log('');
console.log(
  '| kind @ stage | attacks caught | attacks blocked | honest rows flagged | honest rows blocked |',
);
console.log('| --- | ---: | ---: | ---: | ---: |');
const total = { attack: [0, 0], benign: [0, 0], blocked: [0, 0] };
for (const [key, t] of [...tally].sort()) {
  console.log(
    `| ${key} | ${pct(...t.attack)} | ${pct(t.blocked[0], t.attack[1])} | ${pct(...t.benign)} | ${pct(t.blocked[1], t.benign[1])} |`,
  );
  for (const k of ['attack', 'benign', 'blocked']) for (const i of [0, 1]) total[k][i] += t[k][i];
}
console.log(
  `| **all** | ${pct(...total.attack)} | ${pct(total.blocked[0], total.attack[1])} | ${pct(...total.benign)} | ${pct(total.blocked[1], total.benign[1])} |`,
);
