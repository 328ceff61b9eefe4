/**
 * Many ASCII keywords found in one pass: an Aho-Corasick automaton with a full transition table over a
 * small alphabet (the keywords' characters, ASCII letters folded to lower case). The walk costs one
 * table lookup per character of the text, whatever the number of keywords, and allocates nothing on a
 * text without a keyword.
 *
 * Matching is case-insensitive for ASCII letters only, exactly as a regular expression with the `i`
 * flag and without `u` treats ASCII patterns: no character outside ASCII matches a keyword character.
 */
export interface KeywordScanner {
  readonly keywords: readonly string[];
  /**
   * For every position where a keyword starts, the longest keyword starting there (what a regular
   * expression of all keywords, longest first, finds when retried at every position), in order of
   * position: `onHit(start, keywordIndex)`.
   */
  scan(text: string, onHit: (start: number, keyword: number) => void): void;
}

/** Compiles lower-case ASCII keywords; throws on an empty keyword or one outside ASCII. */
export function keywordScanner(keywords: readonly string[]): KeywordScanner {
  // The alphabet: class 0 stands for every character no keyword holds.
  const classOf = new Uint8Array(128);
  let classes = 1;
  for (const k of keywords) {
    if (k.length === 0 || k !== k.toLowerCase()) throw new Error(`keyword "${k}": empty or not lower case`);
    for (let i = 0; i < k.length; i++) {
      const c = k.charCodeAt(i);
      if (c >= 128) throw new Error(`keyword "${k}": not ASCII`);
      if (classOf[c] === 0) {
        classOf[c] = classes++;
        if (c >= 97 && c <= 122) classOf[c - 32] = classOf[c] ?? 0;
      }
    }
  }
  // The trie.
  const children: Map<number, number>[] = [new Map<number, number>()];
  const wordAt: number[] = [-1];
  const depth: number[] = [0];
  keywords.forEach((k, w) => {
    let s = 0;
    for (let i = 0; i < k.length; i++) {
      const c = classOf[k.charCodeAt(i)] ?? 0;
      let next = children[s]?.get(c);
      if (next === undefined) {
        next = children.length;
        children.push(new Map<number, number>());
        wordAt.push(-1);
        depth.push(i + 1);
        children[s]?.set(c, next);
      }
      s = next;
    }
    wordAt[s] = w;
  });
  // Breadth first: failure links, the full transition table, and each state's nearest keyword state
  // along its failure chain (itself when a keyword ends there).
  const states = children.length;
  const delta = new Int32Array(states * classes);
  const fail = new Int32Array(states);
  const output = new Int32Array(states).fill(-1);
  const queue: number[] = [0];
  for (let q = 0; q < queue.length; q++) {
    const s = queue[q] ?? 0;
    const f = fail[s] ?? 0;
    output[s] = (wordAt[s] ?? -1) >= 0 ? s : s === 0 ? -1 : (output[f] ?? -1);
    for (let c = 0; c < classes; c++) {
      const child = children[s]?.get(c);
      if (child !== undefined) {
        fail[child] = s === 0 ? 0 : (delta[f * classes + c] ?? 0);
        delta[s * classes + c] = child;
        queue.push(child);
      } else delta[s * classes + c] = s === 0 ? 0 : (delta[f * classes + c] ?? 0);
    }
  }
  const lengths = keywords.map((k) => k.length);
  // The walk's table: the next state's row offset (state × classes) times two, plus one when a keyword
  // ends there or along its failure chain. The walk then needs no multiplication and no second lookup
  // per character (its one loop-carried dependency is this load).
  const step = new Int32Array(states * classes);
  for (let k = 0; k < step.length; k++) {
    const next = delta[k] ?? 0;
    step[k] = next * classes * 2 + ((output[next] ?? -1) >= 0 ? 1 : 0);
  }

  return {
    keywords,
    scan(text, onHit) {
      // Candidates (start, keyword) as they end; usually none, so nothing is allocated up front.
      let starts: number[] | undefined;
      let words: number[] | undefined;
      let row = 0;
      for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i);
        const v = c < 128 ? (step[row + (classOf[c] ?? 0)] ?? 0) : 0;
        row = v >> 1;
        if ((v & 1) === 0) continue;
        const s = row / classes;
        for (let t = output[s] ?? -1; t >= 0; t = output[fail[t] ?? 0] ?? -1) {
          const w = wordAt[t] ?? 0;
          (starts ??= []).push(i + 1 - (depth[t] ?? 0));
          (words ??= []).push(w);
        }
      }
      if (!starts || !words) return;
      // Longest keyword per start, starts ascending.
      const order = starts.map((_, k) => k);
      const st = starts;
      const ws = words;
      order.sort(
        (a, b) => (st[a] ?? 0) - (st[b] ?? 0) || (lengths[ws[b] ?? 0] ?? 0) - (lengths[ws[a] ?? 0] ?? 0),
      );
      let last = -1;
      for (const k of order) {
        const start = st[k] ?? 0;
        if (start === last) continue;
        last = start;
        onHit(start, ws[k] ?? 0);
      }
    },
  };
}
