import { canonicalJson } from '../canonical-json.js';
import { truncate } from '../channels/truncate.js';
import { FirebreakError } from '../errors.js';
import type { Finding, GuardAction, IncidentClass, Stage } from '../guards/types.js';
import { guardActions } from '../guards/types.js';
import type { Severity } from '../incidents/incident.js';
import type { SignalSource } from '../incidents/timeline.js';
import { fingerprintOf } from './fingerprint.js';

export { signalSources, type SignalSource } from '../incidents/timeline.js';

/**
 * A signal: one observation that something may be wrong (product.md §2), from wherever it came —
 * a guard finding, a user's "this answer is wrong" report, an evaluation failure, an anomaly, an
 * external alert or a person. Detection rules (rules.ts) match signals and group them into incidents;
 * the incident's timeline records each one as a `signal` event (incidents/timeline.ts).
 *
 * Absent facts are null rather than missing, so a stored signal has the same shape whatever its source,
 * and grouping can treat "no env" as a value of its own. Times are epoch milliseconds.
 */
export interface Signal {
  readonly source: SignalSource;
  readonly app: string;
  readonly env: string | null;
  /** `<app>@<version>` as traces record it. */
  readonly release: string | null;
  readonly traceId: string | null;
  readonly userId: string | null;
  readonly tenantId: string | null;
  readonly class: IncidentClass | null;
  /** A hint only: a rule decides the incident's severity, and may take it from here. */
  readonly severity: Severity | null;
  /** The guard detector behind a finding. */
  readonly detector: string | null;
  /** A sub-kind: the detector's (`email`, `card`), the feedback kind, the anomaly's metric. */
  readonly kind: string | null;
  readonly stage: Stage | null;
  /** What the guard did (findings only): rules can ask for "at least redact". */
  readonly action: GuardAction | null;
  /** The tool the signal is about (a tool call's arguments), so containment can switch that tool off. */
  readonly tool: string | null;
  /** An external alert's name (Alertmanager `alertname`, the generic webhook's `name`). */
  readonly alert: string | null;
  /** The sender's own key for the alert (PagerDuty dedup_key, Alertmanager fingerprint): what a later resolve names. */
  readonly externalKey: string | null;
  /** One line, never quoting sensitive text (finding messages are written that way). */
  readonly title: string;
  readonly details: Readonly<Record<string, unknown>>;
  /** When the harm was observed: the trace's time, the alert's start. Never after `receivedAt`. */
  readonly observedAt: number;
  /** When Firebreak received the signal: detection time, the end of MTTD. */
  readonly receivedAt: number;
  readonly fingerprint: string;
}

export const SIGNAL_LIMITS = { title: 300, detailsBytes: 16 * 1024, comment: 2000 } as const;

type Nullable<T> = { readonly [K in keyof T]?: T[K] | null | undefined };

/** What `buildSignal` needs; every fact that may be absent may be left out. */
export type SignalInput = Pick<Signal, 'source' | 'app' | 'title' | 'observedAt' | 'receivedAt'> &
  Nullable<
    Omit<Signal, 'source' | 'app' | 'title' | 'observedAt' | 'receivedAt' | 'details' | 'fingerprint'>
  > & {
    readonly details?: Readonly<Record<string, unknown>> | undefined;
    /**
     * What makes this signal the same as another (hashed into the fingerprint). Defaults to every field
     * except `receivedAt` and `details`: the same report received twice is one signal.
     */
    readonly identity?: unknown;
  };

function invalid(message: string, path: string): FirebreakError {
  return new FirebreakError('validation_failed', message, { path });
}

/** Details are kept with every signal; an oversized blob (a PagerDuty custom_details may be 512 KB) is not. */
function boundedDetails(details: Readonly<Record<string, unknown>>): Readonly<Record<string, unknown>> {
  const bytes = new TextEncoder().encode(canonicalJson(details)).length;
  if (bytes <= SIGNAL_LIMITS.detailsBytes) return details;
  return { truncated: `details were ${bytes} bytes; a signal keeps at most ${SIGNAL_LIMITS.detailsBytes}` };
}

export function buildSignal(input: SignalInput): Signal {
  if (!input.app.trim()) throw invalid('a signal needs an app', 'app');
  if (!input.title.trim()) throw invalid('a signal needs a title', 'title');
  for (const key of ['observedAt', 'receivedAt'] as const)
    if (!Number.isFinite(input[key])) throw invalid(`${key} must be a time in epoch milliseconds`, key);
  const fields = {
    source: input.source,
    app: input.app,
    env: input.env ?? null,
    release: input.release ?? null,
    traceId: input.traceId ?? null,
    userId: input.userId ?? null,
    tenantId: input.tenantId ?? null,
    class: input.class ?? null,
    severity: input.severity ?? null,
    detector: input.detector ?? null,
    kind: input.kind ?? null,
    stage: input.stage ?? null,
    action: input.action ?? null,
    tool: input.tool ?? null,
    alert: input.alert ?? null,
    externalKey: input.externalKey ?? null,
    title: truncate(input.title.trim().replace(/\s+/g, ' '), SIGNAL_LIMITS.title),
    details: boundedDetails(input.details ?? {}),
    // A sender whose clock runs ahead must not put the harm after its detection (MTTD would go negative).
    observedAt: Math.min(input.observedAt, input.receivedAt),
    receivedAt: input.receivedAt,
  };
  const { receivedAt: _r, details: _d, ...rest } = fields;
  return { ...fields, fingerprint: fingerprintOf(fields.source, input.identity ?? rest) };
}

/**
 * What a finding's signal needs to know about the call it came from. A TraceRecord fits as it is;
 * the gateway can build one before the trace is written.
 */
export interface TraceContext {
  readonly traceId: string;
  readonly app: string;
  readonly env: string;
  readonly release?: string | null | undefined;
  readonly userId?: string | null | undefined;
  readonly tenantId?: string | null | undefined;
  /** When the call arrived: the harm's time. */
  readonly ts: number;
}

const TOOL_LOCATION = /^tool_call\[([^\]]{1,64})\]$/;

/** `tool_call[send_email]` → `send_email` (the location call-guards and scan give tool-call findings). */
export function toolOfLocation(location: string | undefined): string | null {
  return (location !== undefined && TOOL_LOCATION.exec(location)?.[1]) || null;
}

/**
 * One finding as a signal. The identity is the trace, detector, kind, stage and location — not the span —
 * so a canary appearing three times in one answer is one signal, and rescanning a trace adds nothing.
 */
export function signalFromFinding(trace: TraceContext, finding: Finding, receivedAt = trace.ts): Signal {
  const where = finding.location ? `${finding.stage} ${finding.location}` : finding.stage;
  return buildSignal({
    source: 'finding',
    app: trace.app,
    env: trace.env,
    release: trace.release,
    traceId: trace.traceId,
    userId: trace.userId,
    tenantId: trace.tenantId,
    class: finding.class,
    severity: finding.severity,
    detector: finding.detector,
    kind: finding.kind,
    stage: finding.stage,
    action: finding.action,
    tool: toolOfLocation(finding.location),
    title: `${finding.detector}${finding.kind ? `/${finding.kind}` : ''} (${finding.action}) in ${where}: ${finding.message}`,
    details: {
      message: finding.message,
      score: finding.score,
      ...(finding.location !== undefined ? { location: finding.location } : {}),
      ...(finding.owasp !== undefined ? { owasp: finding.owasp } : {}),
    },
    observedAt: trace.ts,
    receivedAt,
    identity: [
      trace.traceId,
      finding.detector,
      finding.kind ?? null,
      finding.stage,
      finding.location ?? null,
    ],
  });
}

const severityRank = (s: Severity | null): number => (s === null ? 9 : Number(s.slice(3)));

/**
 * A trace's findings as signals, one per fingerprint: repeats of one finding collapse into the strongest
 * (action, then severity, then score), with the number of occurrences in `details.occurrences`, so a
 * rule's `minSignals` counts distinct problems rather than matches within one answer.
 */
export function signalsFromFindings(
  trace: TraceContext,
  findings: readonly Finding[],
  receivedAt = trace.ts,
): Signal[] {
  const byFingerprint = new Map<string, { signal: Signal; finding: Finding; count: number }>();
  for (const finding of findings) {
    const signal = signalFromFinding(trace, finding, receivedAt);
    const seen = byFingerprint.get(signal.fingerprint);
    if (!seen) {
      byFingerprint.set(signal.fingerprint, { signal, finding, count: 1 });
      continue;
    }
    seen.count += 1;
    const a = guardActions.indexOf(finding.action) - guardActions.indexOf(seen.finding.action);
    const s = severityRank(seen.signal.severity) - severityRank(signal.severity);
    if (a > 0 || (a === 0 && (s > 0 || (s === 0 && finding.score > seen.finding.score)))) {
      seen.signal = signal;
      seen.finding = finding;
    }
  }
  return [...byFingerprint.values()].map(({ signal, count }) =>
    count === 1 ? signal : { ...signal, details: { ...signal.details, occurrences: count } },
  );
}

/** The answer-level buttons of `POST /api/feedback`. */
export const feedbackKinds = ['wrong', 'harmful', 'other'] as const;
export type FeedbackKind = (typeof feedbackKinds)[number];

const feedbackTitle: Record<FeedbackKind, string> = {
  wrong: 'a user reported a wrong answer',
  harmful: 'a user reported a harmful answer',
  other: 'a user reported a problem with an answer',
};

export interface FeedbackInput {
  readonly traceId: string;
  readonly app: string;
  readonly env: string | null;
  readonly kind: string;
  readonly comment?: string | undefined;
  readonly release?: string | null | undefined;
  /** Whose answer it was (the trace's user and tenant). */
  readonly userId?: string | null | undefined;
  readonly tenantId?: string | null | undefined;
  /** When the answer was given (the trace's time), if known. */
  readonly observedAt?: number | undefined;
  /** When the report arrived. */
  readonly at: number;
}

/**
 * A user's report on one answer. One report per trace, kind and user: pressing the button twice is
 * one signal. The comment is the user's own text, kept in details (bounded), never in the title, which
 * travels to channels and pages.
 */
export function signalFromFeedback(input: FeedbackInput): Signal {
  const kind = feedbackKinds.find((k) => k === input.kind);
  if (kind === undefined)
    throw invalid(`feedback kind "${input.kind}" is not one of ${feedbackKinds.join(', ')}`, 'kind');
  if (!input.traceId.trim()) throw invalid('feedback needs the trace id of the answer', 'traceId');
  const comment = input.comment?.trim();
  return buildSignal({
    source: 'feedback',
    app: input.app,
    env: input.env,
    release: input.release,
    traceId: input.traceId,
    userId: input.userId,
    tenantId: input.tenantId,
    kind,
    title: `${feedbackTitle[kind]} (trace ${input.traceId})`,
    details: comment ? { comment: truncate(comment, SIGNAL_LIMITS.comment) } : {},
    observedAt: input.observedAt ?? input.at,
    receivedAt: input.at,
    identity: [input.traceId, kind, input.userId ?? null],
  });
}
