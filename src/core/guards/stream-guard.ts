import type { GuardSet } from './engine.js';
import { redactSpans } from './engine.js';
import type { Finding, GuardContext, Span } from './types.js';
import { withFields } from '../with-fields.js';

/**
 * Output guards for a streamed answer. Text arrives in small deltas; each is scanned together with the
 * last WINDOW characters before it (so a match split across chunks is seen whole), and only text that can
 * no longer turn into a blocking or redacting match is released to the client: detectors that act on
 * output say, through `pendingFrom`, from where the tail could still grow into one of their matches (a
 * trailing digit run, a canary's first letters, what follows a key format's public prefix, a word that
 * may be an address's local part). Ordinary words are released at once, or a chunk later where they
 * could begin such a match, which keeps the added time to first token near zero; a violation found in held text
 * stops the stream before that text is sent, and a redaction is applied to held text as it is released
 * (a match that reaches the end of the text is held whole until it cannot grow any more).
 *
 * Fail closed: a redaction or block whose match starts in text already released (a hold-back that
 * missed it) can no longer be kept from the client whole, so the stream stops there, as for a block,
 * rather than send the rest of it.
 *
 * Work per delta is bounded by WINDOW + the delta + what is held, so a long answer costs linear time.
 * Detectors that judge only a whole text (`wholeText`: support) are not run on the windows, where a
 * piece of the answer would be scored as if it were all of it; they read the answer once it has ended,
 * so a streamed answer gets the same findings from them as the same answer unstreamed. Their findings
 * carry no span; one set to `block` can then only stop what is still held (usually nothing) and end the
 * stream with the error rather than a normal finish.
 */
const WINDOW = 256;
const NONE: readonly Finding[] = [];
/** The longest redaction held whole while it grows (past a detector's own hold-back: 1 100 for keys). */
const MAX_GROWING = 4096;

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
  /** Redactions found in text not yet released (applied, and dropped, as it is released). */
  redactions: Finding[];
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
    this.judgesWhole = guards.judgesWholeAt('output');
  }

  private readonly judgesWhole: boolean;

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
    const n = s.text.length;
    let release = n;
    if (!final)
      for (const h of this.holders)
        release = Math.min(release, from + (h.detector.pendingFrom?.(tail, this.ctx) ?? tail.length));
    if (release <= s.sent && !final) return { emit: '', findings: [], blocked: undefined };

    const fresh: Finding[] = [];
    const accept = (f: Finding): void => {
      s.seen.add(keyOf(f));
      fresh.push(f);
      this.findings.push(f);
      if (f.action === 'redact' && f.span) s.redactions.push(f);
    };
    /** Complete matches that act on the text, judged once the release point is settled. */
    const acting: Finding[] = [];
    let stop: Finding | undefined;
    const windowed = this.guards.scan(tail, this.ctx, undefined, 'windowed').findings;
    // The answer is complete: what judges only whole texts (support) reads it now, once, in its own
    // coordinates (the windowed findings are moved from the window's into the answer's).
    const whole =
      final && this.judgesWhole ? this.guards.scan(s.text, this.ctx, undefined, 'whole').findings : NONE;
    const found = whole.length === 0 ? windowed : [...windowed, ...whole];
    for (const [i, f] of found.entries()) {
      const abs =
        i < windowed.length && f.span
          ? withFields(f, { span: { start: f.span.start + from, end: f.span.end + from } })
          : f;
      // Text already released was judged when it was released (a match cut by the window start is a
      // truncated repeat of one found then).
      if (s.seen.has(keyOf(abs)) || (abs.span && abs.span.end <= s.sent)) continue;
      // A logged match that reaches the end of the text so far may still grow (`usr_1234` of
      // `usr_12345`): recorded when more text has come, whole, as the unstreamed answer would have it.
      if (abs.action === 'log' && !final && abs.span && abs.span.end >= n) continue;
      if (abs.action === 'log' || !abs.span) {
        accept(abs);
        continue;
      }
      // A redaction that reaches the end of the text may still grow (`bob@corp.co` → `.com`, a longer
      // password): judged, whole, when more text has come. One that grows past MAX_GROWING (formats
      // without an upper length) and that no hold-back keeps stops the stream instead, so held text, and
      // the work per delta, stay bounded.
      if (abs.action === 'redact' && !final && abs.span.end >= n) {
        if (n - abs.span.start > MAX_GROWING && release > abs.span.start)
          stop ??= failClosed(abs, 'it was still growing');
        else release = Math.min(release, Math.max(s.sent, abs.span.start));
        continue;
      }
      // Part of the match already went out, so it can no longer be cut out: stop the stream rather than
      // send the rest of it (fail closed). The hold-back is meant to make this unreachable.
      if (abs.span.start < s.sent) {
        stop ??= abs.action === 'block' ? abs : failClosed(abs, 'its start had already been streamed');
        continue;
      }
      acting.push(abs);
    }
    // A match that runs past the release point is held whole; holding it may cut another one in two,
    // so this settles (each pass only moves the release point back, to a match's start).
    for (let moved = true; moved;) {
      moved = false;
      for (const f of acting) {
        const span = f.span as Span;
        if (span.start < release && span.end > release) {
          release = Math.max(s.sent, span.start);
          moved = true;
        }
      }
    }
    for (const f of acting) if ((f.span as Span).end <= release) accept(f);
    if (stop) accept(stop);
    const block = stop ?? fresh.find((f) => f.action === 'block');
    if (block) {
      s.blocked = block;
      // Release what precedes the violation when it was found inside held text; nothing after it.
      const cut = block.span ? Math.max(s.sent, Math.min(release, block.span.start)) : s.sent;
      return { emit: this.releaseTo(s, cut), findings: fresh, blocked: block };
    }
    return { emit: this.releaseTo(s, release), findings: fresh, blocked: undefined };
  }

  /**
   * Releases text[sent, to) with the redactions that fall in it applied. A redaction that `to` would cut
   * in two (a block found inside it) stops the release at its start: no part of a redacted value is sent.
   */
  private releaseTo(s: ChoiceState, to: number): string {
    // Most deltas of most answers have no redaction pending: the text goes out as it is.
    if (s.redactions.length === 0) {
      if (to <= s.sent) return '';
      const plain = s.text.slice(s.sent, to);
      s.sent = to;
      return plain;
    }
    s.redactions = s.redactions.filter((f) => (f.span?.end ?? 0) > s.sent);
    for (const f of s.redactions) if (f.span && f.span.start < to && f.span.end > to) to = f.span.start;
    if (to <= s.sent) return '';
    const part = s.text.slice(s.sent, to);
    const inPart = s.redactions
      .filter((f) => f.span && f.span.start >= s.sent && f.span.end <= to)
      .map((f) =>
        withFields(f, { span: { start: (f.span?.start ?? 0) - s.sent, end: (f.span?.end ?? 0) - s.sent } }),
      );
    s.sent = to;
    return inPart.length === 0 ? part : redactSpans(part, inPart);
  }
}

const keyOf = (f: Finding): string =>
  `${f.detector}:${f.kind ?? ''}:${f.span ? `${f.span.start}-${f.span.end}` : ''}`;

/** A redaction that can no longer be made whole becomes a block; `why` says why, for the trace. */
function failClosed(f: Finding, why: string): Finding {
  return withFields(f, {
    action: 'block' as const,
    message: `${f.message}; ${why}, so the answer was stopped`,
  });
}
