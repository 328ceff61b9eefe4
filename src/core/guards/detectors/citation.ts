/**
 * The `citation` integrity detector (OWASP LLM09): an answer that cites a document id
 * ([source:id], [doc-id], (source: id)) that was not retrieved for the call. Holds the bracket and
 * parenthesis citation parsing and the per-call index of retrieved ids.
 */
import { matchesOf } from '../regex-matches.js';
import type { Detection, Detector, GuardContext } from '../types.js';

export type Retrieved = GuardContext['retrieved'];

/*
 * Citation syntaxes recognised (the gateway puts documents into the prompt as `[source:id] text`, see
 * core/call-plan.ts, so models cite them the same way):
 *   [kb:doc-9]                 source and id, exactly as the prompt showed it
 *   [source:doc-9] [doc:doc-9] a generic prefix (source, doc, document, ref, id, citation) and an id
 *   [doc-9]                    a bare id: only when documents were retrieved, and only ids with a letter
 *                              and a digit, so `[x]`, `[TODO]`, `[in-progress]`, `[v1.2.0]` are not taken
 *                              for citations
 *   [kb:doc-9, kb:doc-12]      several, separated by `,` or `;`
 *   (source: doc-9) (sources: kb:doc-9; doc-12) (ref: …) (doc: …)
 * Not taken for citations: markdown links `[text](url)` and reference definitions `[id]: url`, footnotes
 * `[^1]`, indexing `items[0]` / `a[i]` and addresses `user@[host:port]` (a bracket right after a word, a
 * closing bracket or one of `@/:=`), anything with spaces inside, and numeric footnotes `[1]` (they
 * name a position in some list, not a document id).
 */
const BRACKET = /(?<![\p{L}\p{N}_\])@/:=])\[([^[\]\n]{1,200})\](?![([:])/gu;
const PAREN = /\((?:sources?|refs?|references?|citations?|docs?|documents?)\s*:\s*([^()\n]{1,200})\)/giu;
/** One cited reference: an optional `prefix:` and an id without spaces. */
const TOKEN = /^(?:([A-Za-z][\w.-]{0,63}):)?(\w[\w./#:-]{0,127})$/u;
const GENERIC_PREFIXES = new Set(['source', 'src', 'doc', 'document', 'ref', 'id', 'citation', 'cite']);
const MAX_CITATION_FINDINGS = 20;

interface RetrievedIndex {
  /** `source:id`, lower case. */
  readonly full: ReadonlySet<string>;
  /** `id`, lower case. */
  readonly ids: ReadonlySet<string>;
}

/** The gateway builds one retrieved array per call and passes it to every scan of that call. */
const retrievedIndexes = new WeakMap<Retrieved, RetrievedIndex>();

function indexOf(retrieved: Retrieved): RetrievedIndex {
  let index = retrievedIndexes.get(retrieved);
  if (!index) {
    index = {
      full: new Set(retrieved.map((d) => `${d.source}:${d.id}`.toLowerCase())),
      ids: new Set(retrieved.map((d) => d.id.toLowerCase())),
    };
    retrievedIndexes.set(retrieved, index);
  }
  return index;
}

/**
 * Whether a cited token names a retrieved document; undefined when the token is not read as a citation.
 * `bare`: how an unprefixed token is read: `never`, `id-like` (has a letter and a digit) or `always`
 * (inside an explicit `(source: …)`).
 */
function citesRetrieved(
  token: string,
  index: RetrievedIndex,
  bare: 'never' | 'id-like' | 'always',
): boolean | undefined {
  const whole = token.trim().toLowerCase();
  const m = TOKEN.exec(whole);
  if (!m) return undefined;
  if (index.full.has(whole) || index.ids.has(whole)) return true;
  const prefix = m[1];
  const id = m[2] ?? '';
  if (prefix === undefined) {
    if (bare === 'never' || (bare === 'id-like' && !idLike(id))) return undefined;
    return false;
  }
  if (GENERIC_PREFIXES.has(prefix)) return index.ids.has(id) || index.full.has(id);
  return false;
}

/** A letter and a digit, and not a version number (`v1.2.0`). */
function idLike(id: string): boolean {
  return /\p{L}/u.test(id) && /\p{N}/u.test(id) && !/^v?\d+(?:\.\d+)+$/i.test(id);
}

function citationDetections(
  text: string,
  re: RegExp,
  retrieved: Retrieved,
  explicit: boolean,
  out: Detection[],
): void {
  const index = indexOf(retrieved);
  for (const m of matchesOf(re, text)) {
    const tokens = (m[1] ?? '').split(/[,;]/);
    const bare = explicit ? 'always' : retrieved.length > 0 ? 'id-like' : 'never';
    const verdicts = tokens.map((t) => citesRetrieved(t, index, bare));
    // A bracket is a citation only if every part of it reads as one (`[see note 3]` is prose).
    if (verdicts.some((v) => v === undefined)) continue;
    const prefixed = tokens.some((t) => t.includes(':'));
    const missing = verdicts.filter((v) => v === false).length;
    if (missing === 0) continue;
    out.push({
      kind: retrieved.length === 0 ? 'nothing-retrieved' : 'not-retrieved',
      score: explicit || prefixed ? 1 : 0.7,
      span: { start: m.index, end: m.index + m[0].length },
      message:
        retrieved.length === 0
          ? 'the answer cites a document, but no documents were retrieved for this call'
          : `the answer cites ${missing === 1 ? 'a document' : `${missing} documents`} not among those retrieved for this call`,
    });
    if (out.length >= MAX_CITATION_FINDINGS) return;
  }
}

export const citation: Detector = {
  id: 'citation',
  class: 'integrity',
  owasp: 'LLM09',
  stages: ['output'],
  defaultAction: 'log',
  defaultThreshold: 0.5,
  description: 'the answer cites a document id ([source:id], [doc-id], (source: id)) that was not retrieved',
  detect(text, ctx) {
    // Cheap exits: most answers contain no bracket or parenthesis at all.
    if (!text.includes('[') && !text.includes('(')) return [];
    const out: Detection[] = [];
    if (text.includes('[')) citationDetections(text, BRACKET, ctx.retrieved, false, out);
    if (out.length < MAX_CITATION_FINDINGS && text.includes('('))
      citationDetections(text, PAREN, ctx.retrieved, true, out);
    return out;
  },
};
