import type { GuardSet } from './engine.js';
import { redactSpans } from './engine.js';
import type { Finding, GuardContext } from './types.js';
import { withFields } from '../with-fields.js';

/**
 * Output guards for a streamed answer. Text arrives in small deltas; each is scanned together with the
 * last WINDOW characters before it (so a match split across chunks is seen whole), and only text that can
 * no longer turn into a blocking or redacting match is released to the client: detectors that act on
 * output say, through `pendingFrom`, from where the tail could still grow into one of their matches (a
 * trailing digit run, a canary's first letters). Ordinary words are released at once, which keeps the
 * added time to first token near zero; a violation found in held text stops the stream before that text
 * is sent (fail closed).
 *
 * Work per delta is bounded by WINDOW + the delta + what is held, so a long answer costs linear time.
 */
const WINDOW = 256;

export interface StreamGuardStep {
  /** Text that may be sent now (already redacted). */
  readonly emit: string;
  /** Findings new in this step. */
  readonly findings: readonly Finding[];
  /** A `block` finding: send `emit`, then end the stream. */
  readonly blocked: Finding | undefined;
}

interface ChoiceState {
  text: string;
  /** How much of `text` has been released (or judged) so far. */
  sent: number;
  readonly seen: Set<string>;
  readonly redactions: Finding[];
  blocked: Finding | undefined;
}

export class OutputStreamGuard {
  private readonly choices = new Map<number, ChoiceState>();
  private readonly holders;

  constructor(
    private readonly guards: GuardSet,
    private readonly ctx: GuardContext,
  ) {
    this.holders = guards.holding('output');
  }

  /** Every finding so far, in the order found. */
  readonly findings: Finding[] = [];

  push(index: number, delta: string): StreamGuardStep {
    const s = this.state(index);
    if (s.blocked) return { emit: '', findings: [], blocked: s.blocked };
    s.text += delta;
    return this.step(s, false);
  }

  /** The choice finished: nothing can grow any more, so everything held is judged and released. */
  end(index: number): StreamGuardStep {
    const s = this.state(index);
    if (s.blocked) return { emit: '', findings: [], blocked: s.blocked };
    return this.step(s, true);
  }

  /** Choices that have text not yet judged (a stream that ended without finishing them). */
  unfinished(): number[] {
    return [...this.choices].filter(([, s]) => !s.blocked && s.sent < s.text.length).map(([i]) => i);
  }

  private state(index: number): ChoiceState {
    let s = this.choices.get(index);
    if (!s) {
      s = { text: '', sent: 0, seen: new Set(), redactions: [], blocked: undefined };
      this.choices.set(index, s);
    }
    return s;
  }

  private step(s: ChoiceState, final: boolean): StreamGuardStep {
    const from = Math.max(0, s.sent - WINDOW);
    const tail = s.text.slice(from);
    let release = s.text.length;
    if (!final)
      for (const h of this.holders)
        release = Math.min(release, from + (h.detector.pendingFrom?.(tail, this.ctx) ?? tail.length));
    if (release <= s.sent && !final) return { emit: '', findings: [], blocked: undefined };

    const fresh: Finding[] = [];
    for (const f of this.guards.scan(tail, this.ctx).findings) {
      const abs = f.span
        ? withFields(f, { span: { start: f.span.start + from, end: f.span.end + from } })
        : f;
      const key = `${abs.detector}:${abs.kind ?? ''}:${abs.span ? `${abs.span.start}-${abs.span.end}` : ''}`;
      // Text already released was judged when it was released (a match cut by the window start is a
      // truncated repeat of one found then).
      if (s.seen.has(key) || (abs.span && abs.span.end <= s.sent)) continue;
      // A match still growing past what we release is judged when it is complete.
      if (abs.span && abs.span.end > release && abs.action !== 'log') {
        release = Math.min(release, Math.max(s.sent, abs.span.start));
        continue;
      }
      s.seen.add(key);
      fresh.push(abs);
      this.findings.push(abs);
      if (abs.action === 'redact' && abs.span) s.redactions.push(abs);
    }
    const block = fresh.find((f) => f.action === 'block');
    if (block) {
      s.blocked = block;
      // Release what precedes the violation when it was found inside held text; nothing after it.
      const cut = block.span ? Math.max(s.sent, Math.min(release, block.span.start)) : s.sent;
      const emit = this.redacted(s, cut);
      s.sent = cut;
      return { emit, findings: fresh, blocked: block };
    }
    const emit = this.redacted(s, release);
    s.sent = Math.max(s.sent, release);
    return { emit, findings: fresh, blocked: undefined };
  }

  /** text[sent, to) with the redact findings that fall in it applied. */
  private redacted(s: ChoiceState, to: number): string {
    if (to <= s.sent) return '';
    const part = s.text.slice(s.sent, to);
    const inPart = s.redactions
      .filter((f) => f.span && f.span.start >= s.sent && f.span.end <= to)
      .map((f) =>
        withFields(f, { span: { start: (f.span?.start ?? 0) - s.sent, end: (f.span?.end ?? 0) - s.sent } }),
      );
    return inPart.length === 0 ? part : redactSpans(part, inPart);
  }
}
