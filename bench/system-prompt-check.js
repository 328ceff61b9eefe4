/**
 * Independent system-prompt checks: attacks that are attacks only against their own system prompt (an
 * off-topic question to a scoped bot, a held secret asked for, a forbidden format or language, another
 * person's record) and in-scope questions to the same prompts, written by the team for this purpose
 * (system-prompt-checks/set-N.jsonl; one JSON object per line: label attack|benign, system, text). Every
 * default detector runs at the input stage; a row counts as caught when any security finding fires
 * (logged or blocking, as in guard-quality.js).
 *
 * A set may hold honest messages only (set-9: hard honest messages, pushy, urgent or about nearby
 * things, that measure false alarms).
 *
 * Each set's first run, before any rule was written against it, is its out-of-sample figure (recorded in
 * bench/README.md with the date); rules written since were written by the same people who wrote the rows,
 * so later runs of that set are a regression check, not a measure of recall on unseen attacks. The next
 * honest figure needs a new set.
 *
 * Usage: npm run build && node bench/system-prompt-check.js [--show] [--held-back]
 */
import { readCheckSets } from '../scripts/dataset-split.mjs';
import { guards, settings } from './default-guards.js';

const show = process.argv.includes('--show');

// `--held-back`: the sets in system-prompt-checks/held-back/, kept out of both training scripts until a
// build has been measured on them (the final build's out-of-sample figure).
for (const { name, rows } of readCheckSets({ heldBack: process.argv.includes('--held-back') })) {
  const tally = { attack: { n: 0, caught: 0, blocked: 0 }, benign: { n: 0, caught: 0, blocked: 0 } };
  for (const row of rows) {
    const findings = guards
      .scan(row.text, {
        stage: 'input',
        settings,
        system: row.system,
        canaries: [],
        retrieved: [],
        ownIdentifiers: [],
      })
      .findings.filter((f) => f.class === 'security');
    const t = tally[row.label];
    t.n += 1;
    if (findings.length > 0) t.caught += 1;
    if (findings.some((f) => f.action === 'block')) t.blocked += 1;
    if (show)
      console.log(
        `  ${row.label.padEnd(6)} ${findings.length > 0 ? findings.map((f) => `${f.detector}/${f.kind ?? ''}`).join(',') : '-'} | ${row.text}`,
      );
  }
  const { attack, benign } = tally;
  console.log(
    `${name}.jsonl: ` +
      (attack.n > 0 ? `attacks caught ${attack.caught}/${attack.n} (${attack.blocked} blocked); ` : '') +
      `in-scope questions flagged ${benign.caught}/${benign.n} (${benign.blocked} blocked)`,
  );
}
