/** Rules are stated near the start of a system prompt; the rest of a long one is documents. */
export const READ_LIMIT = 8192;

/**
 * A reading of system prompts, memoised for the prompts seen last (least recently used evicted): a
 * release's prompt is the same on every call, and a process serving several apps sees theirs in turn.
 * Keys are the first READ_LIMIT characters, copied flat: a slice would keep a huge prompt alive.
 */
export class PromptMemo<V> {
  private readonly entries = new Map<string, V>();
  /** The last prompt asked about: one turn asks several times, and building the key costs a copy. */
  private last: { readonly system: string; readonly extra: string; readonly value: V } | undefined;

  constructor(
    private readonly size: number,
    /** `head`: the prompt's first READ_LIMIT characters; `extra` as passed to `get`. */
    private readonly compute: (head: string, extra: string) => V,
  ) {}

  /** The reading of `system` (and of `extra`, when the reading depends on more than the prompt). */
  get(system: string, extra = ''): V {
    const last = this.last;
    if (last !== undefined && last.system === system && last.extra === extra) return last.value;
    const value = this.lookUp(system, extra);
    this.last = { system, extra, value };
    return value;
  }

  private lookUp(system: string, extra: string): V {
    const head = system.length > READ_LIMIT ? system.slice(0, READ_LIMIT) : system;
    const key = extra === '' ? head : `${head}\u0000${extra}`;
    const hit = this.entries.get(key);
    if (hit !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit;
    }
    const value = this.compute(head, extra);
    if (this.entries.size >= this.size) {
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
    this.entries.set(key === system ? key : (JSON.parse(JSON.stringify(key)) as string), value);
    return value;
  }
}
