// Paraphrased copies of training rows for the injection classifier's direct head
// (scripts/train-injection-classifier.mjs): each word found in one of the classes below is swapped, with
// probability `share`, for another member of its class ("print your hidden instructions" → "display
// your internal guidelines"). Attack writers paraphrase, and a head of n-grams knows only the words it
// was shown; honest rows get the same swaps, so a rare synonym does not become an attack word by itself.
// Some members are other languages' words and a few are short phrases: a code-switched copy still
// teaches the head that the structure, not the English word, is the attack.
//
// Deterministic: the swaps come from a generator seeded by the row's id.
import { createHash } from 'node:crypto';
import { rng } from './seeded-random.mjs';

/** Word classes: members are interchangeable in an instruction to a model (space-separated; `|` phrases). */
const CLASSES = [
  'ignore disregard forget skip drop override bypass discard abandon dismiss overlook neglect ignora oublie vergiss|set aside|throw out',
  'previous prior earlier above preceding original initial former existing old foregoing current',
  'instructions rules guidelines directives prompt configuration setup settings policies constraints programming guardrails restrictions briefing orders commands instrucciones Anweisungen consignes',
  'reveal show print display output share disclose dump leak expose recite repeat echo paste provide list type|spell out|write out|read out',
  'hidden secret internal confidential private underlying concealed',
  'assistant AI model bot chatbot agent GPT LLM',
  'developer administrator admin engineer owner operator creator maintainer supervisor moderator',
  'unrestricted unfiltered uncensored unlimited unbound unconstrained limitless',
  'pretend imagine act roleplay play simulate suppose',
  'now henceforth immediately instead',
  'tell give send|pass on|hand over',
  'must should need|have to|are required to|are obligated to',
  // Not "secret": it is in the class of "hidden" above ("your secret instructions"), and a word in two
  // classes is swapped only within the later one.
  'password passcode passphrase key token credentials',
  'user customer client person account member',
  'email message note letter memo text',
].map((line) => {
  const [words, ...phrases] = line.split('|');
  return [...words.split(' '), ...phrases];
});

/** Lower-cased single word → its class. */
const classOf = new Map();
for (const [i, members] of CLASSES.entries())
  for (const m of members) if (!m.includes(' ')) classOf.set(m.toLowerCase(), i);

const capitalised = (w) => w[0] !== w[0].toLowerCase();

/** Up to `count` distinct paraphrased copies of `text` (fewer when it has no word of a class). */
export function paraphrases(id, text, count, share) {
  const next = rng(createHash('sha256').update(`paraphrase\0${id}`).digest().readUInt32BE(0));
  const out = new Set();
  for (let k = 0; k < count; k++) {
    const copy = text.replace(/[A-Za-z]+/g, (w) => {
      const c = classOf.get(w.toLowerCase());
      if (c === undefined || next() >= share) return w;
      const members = CLASSES[c];
      const r = members[Math.floor(next() * members.length)];
      return capitalised(w) ? r[0].toUpperCase() + r.slice(1) : r;
    });
    if (copy !== text) out.add(copy);
  }
  return [...out];
}
