import { defaultDetectors } from './detectors/index.js';
import { withFields } from '../with-fields.js';
import type {
  Detector,
  DetectorSettings,
  Finding,
  GuardAction,
  GuardContext,
  GuardSettings,
  Stage,
} from './types.js';

/**
 * Runs the detectors in force for a stage over one text and applies the release's settings. A guard set
 * is compiled once per release (which detectors run at which stage, with what threshold and action) so
 * the per-call work is only the detectors themselves.
 */
export interface ScanResult {
  readonly findings: readonly Finding[];
  /** The strongest action among the findings (`log` when there are none). */
  readonly action: GuardAction;
  /** The text with every `redact` finding's span replaced; the same string when nothing was redacted. */
  readonly text: string;
}

export type ScanPart = 'all' | 'windowed' | 'whole';

interface Armed {
  readonly detector: Detector;
  readonly settings: DetectorSettings;
}

export class GuardSet {
  private readonly byStage: ReadonlyMap<Stage, readonly Armed[]>;

  constructor(
    readonly settings: GuardSettings,
    detectors: readonly Detector[] = defaultDetectors,
  ) {
    const byStage = new Map<Stage, Armed[]>();
    for (const detector of detectors) {
      const s = effectiveSettings(detector, settings);
      if (!s.enabled) continue;
      for (const stage of s.stages)
        byStage.set(stage, [...(byStage.get(stage) ?? []), { detector, settings: s }]);
    }
    this.byStage = byStage;
  }

  /** Whether anything runs at this stage (the gateway skips building contexts when nothing does). */
  runsAt(stage: Stage): boolean {
    return (this.byStage.get(stage)?.length ?? 0) > 0;
  }

  /** Detectors armed at a stage whose action holds streamed text back (block or redact with spans). */
  holding(stage: Stage): readonly Armed[] {
    return (this.byStage.get(stage) ?? []).filter(
      (a) => a.settings.action !== 'log' && a.detector.pendingFrom !== undefined,
    );
  }

  /** Whether a detector that judges only whole texts (`wholeText`) runs at this stage. */
  judgesWholeAt(stage: Stage): boolean {
    return (this.byStage.get(stage) ?? []).some((a) => a.detector.wholeText === true);
  }

  /**
   * `part`: `all` for a whole text; a streamed answer is scanned `windowed` as it arrives (the detectors
   * that read pieces) and `whole` once it has ended (those that only judge the whole, `wholeText`).
   */
  scan(text: string, ctx: GuardContext, location?: string, part: ScanPart = 'all'): ScanResult {
    const armed = this.byStage.get(ctx.stage);
    if (!armed || text.length === 0) return { findings: [], action: 'log', text };
    const findings: Finding[] = [];
    for (const { detector, settings } of armed) {
      if (part !== 'all' && (detector.wholeText === true) !== (part === 'whole')) continue;
      for (const d of detector.detect(text, ctx)) {
        if (d.score < settings.threshold) continue;
        const action =
          d.maxAction && rank[d.maxAction] < rank[settings.action] ? d.maxAction : settings.action;
        // withFields, not `{ ...d, detector, … }` (see with-fields.ts): same keys in the same order.
        findings.push(
          withFields(d, {
            detector: detector.id,
            class: detector.class,
            stage: ctx.stage,
            action,
            ...(detector.owasp ? { owasp: detector.owasp } : {}),
            ...(location !== undefined ? { location } : {}),
          }),
        );
      }
    }
    return { findings, action: strongest(findings), text: redactSpans(text, findings) };
  }
}

export function effectiveSettings(detector: Detector, settings: GuardSettings): DetectorSettings {
  const o = settings.detectors[detector.id] ?? {};
  return {
    enabled: o.enabled ?? true,
    threshold: o.threshold ?? detector.defaultThreshold,
    action: o.action ?? detector.defaultAction,
    stages: o.stages ?? detector.stages,
  };
}

const rank: Record<GuardAction, number> = { log: 0, redact: 1, block: 2 };

export function strongest(findings: readonly { readonly action: GuardAction }[]): GuardAction {
  let best: GuardAction = 'log';
  for (const f of findings) if (rank[f.action] > rank[best]) best = f.action;
  return best;
}

/** Replaces each redact finding's span with `[REDACTED:<kind>]`; overlapping spans are merged. */
export function redactSpans(text: string, findings: readonly Finding[]): string {
  // Most scans find nothing to redact: no arrays built for them.
  if (!findings.some((f) => f.action === 'redact' && f.span)) return text;
  const spans = findings
    .filter((f) => f.action === 'redact' && f.span)
    .map((f) => ({ start: f.span?.start ?? 0, end: f.span?.end ?? 0, label: f.kind ?? f.detector }))
    .sort((a, b) => a.start - b.start);
  if (spans.length === 0) return text;
  let out = '';
  let at = 0;
  for (const s of spans) {
    if (s.end <= at) continue;
    out += text.slice(at, Math.max(at, s.start)) + `[REDACTED:${s.label}]`;
    at = s.end;
  }
  return out + text.slice(at);
}
