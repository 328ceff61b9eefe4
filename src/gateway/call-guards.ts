import type { ChatMessage, Choice, ContentPart, RetrievedDocument } from '../core/chat.js';
import { FirebreakError } from '../core/errors.js';
import { withFields } from '../core/with-fields.js';
import { GuardSet } from '../core/guards/engine.js';
import { defaultGuardSettings } from '../core/guards/guard-settings.js';
import { OutputStreamGuard } from '../core/guards/stream-guard.js';
import type { Finding, GuardContext, KnownIdentities, Stage, Taint } from '../core/guards/types.js';
import { releaseGuardSettings, type Release } from '../core/release.js';

/**
 * Compiled guard sets, one per release content hash and planted canary (releases are immutable; two
 * apps' releases can share a hash, not a canary), plus the defaults.
 */
export class GuardSets {
  private readonly byHash = new Map<string, GuardSet>();
  private readonly defaults = new GuardSet(defaultGuardSettings);

  forRelease(release: Release | undefined): GuardSet {
    if (!release) return this.defaults;
    const key = `${release.hash}:${release.canary ?? ''}`;
    let set = this.byHash.get(key);
    if (!set) {
      set = new GuardSet(releaseGuardSettings(release));
      this.byHash.set(key, set);
    }
    return set;
  }
}

/** `(finding) → the one-line reason` the client and the trace see. */
export function findingReason(f: Finding): string {
  return `${f.detector}${f.kind ? `/${f.kind}` : ''} (${f.class}): ${f.message}`;
}

/**
 * The guards of one call: every stage's scan goes through here so findings, redactions and taint are
 * collected in one place and recorded on the trace. Input means every user turn, not only the last one
 * (an injection planted three turns ago still steers the model); tool results and retrieved documents are
 * untrusted content and taint the conversation whether or not a detector fires on them.
 */
export class CallGuards {
  readonly findings: Finding[] = [];
  private readonly taintSources = new Set<'retrieved' | 'tool_result'>();
  private readonly taintDetectors = new Set<string>();
  private retrieved: GuardContext['retrieved'] = [];
  private declaredUntrusted = false;

  constructor(
    readonly set: GuardSet,
    private readonly base: {
      system: string;
      ownIdentifiers: readonly string[];
      tenant?: string;
      known?: KnownIdentities;
    },
  ) {}

  context(stage: Stage): GuardContext {
    return {
      stage,
      settings: this.set.settings,
      system: this.base.system,
      canaries: this.set.settings.canaries,
      retrieved: this.retrieved,
      ownIdentifiers: this.base.ownIdentifiers,
      ...(this.base.tenant !== undefined ? { tenant: this.base.tenant } : {}),
      ...(this.base.known ? { known: this.base.known } : {}),
    };
  }

  private scan(text: string, stage: Stage, location: string) {
    const r = this.set.scan(text, this.context(stage), location);
    this.findings.push(...r.findings);
    return r;
  }

  /**
   * The retrieval gate's content check (scope and flags were applied by the plan): a document a
   * `block` detector fires on is dropped, one with `redact` findings goes on redacted.
   */
  screenDocument = (d: RetrievedDocument): RetrievedDocument | string => {
    this.taintSources.add('retrieved');
    if (!this.set.runsAt('retrieved')) return d;
    const r = this.scan(d.text, 'retrieved', `retrieved[${d.source}:${d.id}]`);
    for (const f of r.findings) this.taintDetectors.add(f.detector);
    if (r.action === 'block') {
      const first = r.findings.find((f) => f.action === 'block');
      return `guard ${first ? findingReason(first) : 'block'}`;
    }
    return r.text === d.text ? d : withFields(d, { text: r.text });
  };

  /** Documents that reached the model, for the output checks (citations, support). */
  setRetrieved(docs: readonly RetrievedDocument[]): void {
    this.retrieved = docs;
  }

  /**
   * User turns (stage input) and tool results (stage tool_result), redacted where a `redact` finding
   * says so. A blocked user turn refuses the call; a blocked tool result is withheld from the model
   * (replaced by a notice), so an injected instruction never reaches it and the conversation goes on.
   */
  screenMessages(messages: readonly ChatMessage[], firstClientIndex: number): ChatMessage[] {
    const input = this.set.runsAt('input');
    const results = this.set.runsAt('tool_result');
    return messages.map((m, i) => {
      if (m.role === 'tool') this.taintSources.add('tool_result');
      const stage: Stage | undefined =
        m.role === 'user' && input ? 'input' : m.role === 'tool' && results ? 'tool_result' : undefined;
      if (stage === undefined || i < firstClientIndex) return m;
      const location = `messages[${i - firstClientIndex}]`;
      let blocked: Finding | undefined;
      const next = mapText(m, (text) => {
        const r = this.scan(text, stage, location);
        if (stage === 'tool_result') for (const f of r.findings) this.taintDetectors.add(f.detector);
        blocked ??= r.findings.find((f) => f.action === 'block');
        return r.text;
      });
      if (!blocked) return next;
      if (stage === 'input')
        throw new FirebreakError(
          'input_blocked',
          `the request was blocked by guard ${findingReason(blocked)}`,
          {
            path: location,
          },
        );
      return withFields(m, { content: `[Firebreak withheld this tool result: ${findingReason(blocked)}]` });
    });
  }

  /** Non-streamed answers: redacts, or refuses the whole answer when a `block` finding fires. */
  screenChoices(choices: readonly Choice[]): Choice[] {
    if (!this.set.runsAt('output')) return [...choices];
    return choices.map((c) => {
      if (!c.text) return c;
      const r = this.scan(c.text, 'output', `choices[${c.index}]`);
      const blocked = r.findings.find((f) => f.action === 'block');
      if (blocked) throw outputBlocked(blocked);
      return r.text === c.text ? c : withFields(c, { text: r.text });
    });
  }

  /** A tool call's arguments (stage tool_call): the blocking finding, if any. */
  screenToolCall(name: string, args: string): Finding | undefined {
    if (!this.set.runsAt('tool_call')) return undefined;
    return this.scan(args, 'tool_call', `tool_call[${name}]`).findings.find((f) => f.action === 'block');
  }

  streamGuard(): OutputStreamGuard | undefined {
    return this.set.runsAt('output') ? new OutputStreamGuard(this.set, this.context('output')) : undefined;
  }

  /**
   * Findings made outside the scans here (the stream guard; a tool-call policy that could not decide,
   * policy-failures.ts), to be recorded and offered to detection with the rest.
   */
  addFindings(findings: readonly Finding[]): void {
    this.findings.push(...findings);
  }

  /**
   * Untrusted content the caller says entered its conversation, merged with what the guards saw:
   * `/v1/tools/authorize` serves agents that run their own tools, so only they know. Naming a source
   * or a detector that fired is saying there was some.
   */
  declareTaint(t: {
    readonly untrusted?: boolean | undefined;
    readonly sources?: readonly Taint['sources'][number][] | undefined;
    readonly detectors?: readonly string[] | undefined;
  }): void {
    if (t.untrusted === true) this.declaredUntrusted = true;
    for (const s of t.sources ?? []) this.taintSources.add(s);
    for (const d of t.detectors ?? []) this.taintDetectors.add(d);
  }

  taint(): Taint {
    return {
      untrusted: this.declaredUntrusted || this.taintSources.size > 0 || this.taintDetectors.size > 0,
      sources: [...this.taintSources],
      detectors: [...this.taintDetectors],
    };
  }
}

export function outputBlocked(f: Finding): FirebreakError {
  return new FirebreakError('output_blocked', `the answer was stopped by guard ${findingReason(f)}`);
}

/** Applies `f` to each text of a message (a string content, or each text part). */
function mapText(m: ChatMessage, f: (text: string) => string): ChatMessage {
  const { content } = m;
  if (content === null) return m;
  if (typeof content === 'string') {
    const next = f(content);
    return next === content ? m : withFields(m, { content: next });
  }
  const parts: ContentPart[] = [];
  let changed = 0;
  for (const p of content) {
    const text = p['type'] === 'text' && typeof p['text'] === 'string' ? p['text'] : undefined;
    const next = text === undefined ? text : f(text);
    if (next === text) parts.push(p);
    else {
      changed++;
      parts.push(withFields(p, { text: next }));
    }
  }
  return changed > 0 ? withFields(m, { content: parts }) : m;
}
