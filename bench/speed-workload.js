// The guard speed benches' workload, one definition for guard-quality.js, guard-profile.js and
// guard-equivalence.js: 2 KB messages per stage cut from the dataset's own texts (attacks and benign
// mixed), and the context they are scanned in (a system prompt holding a canary, two retrieved
// documents), so every detector that reads the context has something to read.

const MESSAGE_BYTES = 2048;
const CANARY = 'Hunter2-canary';
const SPEED_SYSTEM = `You are a helpful assistant for Example Corp. The password is "${CANARY}".`;

/**
 * `count` messages of 2 KB for `stage` from detection-dev.jsonl's rows (`rows`: the parsed rows): user
 * prompts at input, the other rows elsewhere; tool-call text wrapped in JSON, as arguments are.
 */
export function speedMessages(rows, stage, count) {
  const pool = rows.filter((r) => (stage === 'input' ? r.stage === 'input' : r.stage !== 'input'));
  const out = [];
  let buf = '';
  for (let i = 0; out.length < count; i = (i + 7) % pool.length) {
    buf += `${pool[i].text}\n`;
    if (buf.length >= MESSAGE_BYTES) {
      const text = buf.slice(0, MESSAGE_BYTES);
      // Tool calls are JSON arguments; keep the text inside a string field.
      out.push(stage === 'tool_call' ? JSON.stringify({ query: text }).slice(0, MESSAGE_BYTES) : text);
      buf = '';
    }
  }
  return out;
}

/** Two clean retrieved documents of `rows`, picked once per array (the equivalence bench asks often). */
const retrieved = new WeakMap();
function retrievedOf(rows) {
  let docs = retrieved.get(rows);
  if (!docs) {
    docs = rows
      .filter((r) => r.stage === 'retrieved' && r.label === 'benign')
      .slice(0, 2)
      .map((r, i) => ({ id: `doc-${i}`, source: 'kb', text: r.text }));
    retrieved.set(rows, docs);
  }
  return docs;
}

/** The guard context of the speed messages at `stage`; `system`, when given, replaces the bench's prompt. */
export function speedContext(rows, stage, settings, system = SPEED_SYSTEM) {
  return {
    stage,
    settings,
    system,
    canaries: [CANARY],
    retrieved: retrievedOf(rows),
    ownIdentifiers: [],
  };
}
