import type { DetectionRule } from '../core/detection/rules-config.js';
import { matchSignal, type RuleMatchResult } from '../core/detection/rules.js';
import { decide, type DetectionAction, type GroupedIncident } from '../core/detection/grouping.js';
import type { Signal } from '../core/detection/signal.js';
import { FirebreakError } from '../core/errors.js';
import type { SignalEvent } from '../core/incidents/timeline.js';
import type { CountedSignal } from '../store/port.js';
import type { OpsContext } from './context.js';
import { commitChange, loadIncident, QUIET } from './incident-change.js';
import { containIncident, recordSignal } from './incidents.js';
import { pageIncident } from './paging.js';
import { requireApp, requireEnv } from './releases.js';

/**
 * Detection (issue 5 items 1–2): a signal, wherever it came from, through the `detection:` rules of
 * firebreak.yaml → attach to the live incident of its dedup key, or open one (actor `detection:<rule>`)
 * → automatic containment, applied with the before-triage override.
 *
 * Findings reach here through the `signal` durable timer (gateway/signal-outbox.ts persists one per
 * signal, off the request path), anomalies through the same timer (ops/anomaly-job.ts); feedback and
 * external alerts call `processSignal` directly from their routes. Every step is idempotent by the
 * signal's fingerprint (the timeline's signal id), since a timer may run twice after a replica crash.
 *
 * Rules with `minSignals` above 1 count in the store (`detection_signals`, one row per dedup key and
 * fingerprint, so a replayed signal counts once): the signals received within the rule's window that
 * went to no incident yet. The one that reaches the threshold opens the incident, and every counted
 * signal is put on its timeline and marked as gone to it, so a later incident of the key counts afresh.
 *
 * Why the count comes before the incidents are read: two replicas with the 3rd and 4th signal. If the
 * 4th's count misses rows the 3rd already marked, that marking (and so the 3rd's incident) committed
 * before the count, so the incident read that follows sees the incident and the 4th attaches. If the
 * count sees them, both decide to open and recordSignal's one transaction (the control-plane lock)
 * makes the later one attach. Putting counted signals on a timeline is also one locked change that
 * skips those already there, and recordSignal skips a signal already there under the same lock (the
 * 3rd's incident may have taken the 4th among its counted signals before the 4th attaches itself), so
 * racing replicas and reruns never add one twice.
 */

export const SIGNAL_TIMER_KIND = 'signal';

/** The timer key of a signal: one timer per fingerprint, so a signal offered twice is handled once. */
export const signalTimerKey = (s: Signal): string => `signal:${s.fingerprint}`;

/** Whether any rule would act on the signal: the gateway's cheap check before persisting anything. */
export function anyRuleMatches(rules: readonly DetectionRule[], s: Signal): boolean {
  return matchSignal(rules, s).length > 0;
}

/** The app (and env, when set) must exist: an unknown one is refused before anything is recorded. */
export function checkSignalScope(ctx: OpsContext, s: Pick<Signal, 'app' | 'env'>): void {
  if (s.env !== null) requireEnv(ctx, s.app, s.env);
  else requireApp(ctx, s.app);
}

export interface DetectionOutcome {
  readonly action: DetectionAction['type'];
  readonly rule: string;
  readonly dedupKey: string;
  readonly incident?: string;
  /** The containment applied when the incident was opened, in words (`safe-mode handoff`). */
  readonly contained?: string;
  /** Why the rule's containment was not applied. */
  readonly containSkipped?: string;
  /** The page sent for a new incident (its id), or why paging failed (the incident stays open). */
  readonly paged?: string;
  readonly pageError?: string;
  /** The signal was already on the incident (a rerun): nothing was added. */
  readonly duplicate?: boolean;
  /** Rules with `minSignals` above 1: the signals counted in the window, this one included. */
  readonly signals?: number;
  /** Counted signals put on the incident's timeline besides this one. */
  readonly attachedCounted?: number;
}

const finished = new Set(['resolved', 'closed']);

/** The open incidents opened under these keys, with the time of their latest signal. */
async function groupedIncidents(
  ctx: OpsContext,
  app: string,
  keys: ReadonlySet<string>,
): Promise<{ grouped: GroupedIncident[]; signalIds: Map<string, Set<string>> }> {
  const grouped: GroupedIncident[] = [];
  const signalIds = new Map<string, Set<string>>();
  const candidates = (await ctx.store.incidents.list({ app, limit: 200 })).filter(
    (i) => i.dedupKey !== null && keys.has(i.dedupKey) && !finished.has(i.status),
  );
  for (const c of candidates) {
    const found = await ctx.store.incidents.get(c.id);
    if (!found) continue;
    let last = found.incident.detectedAt;
    const ids = new Set<string>();
    for (const { event } of found.timeline)
      if (event.type === 'signal') {
        last = Math.max(last, event.at);
        ids.add(event.signal);
      }
    signalIds.set(c.id, ids);
    grouped.push({
      id: c.id,
      dedupKey: c.dedupKey,
      openedAt: found.incident.detectedAt,
      lastSignalAt: last,
      status: found.incident.status,
    });
  }
  return { grouped, signalIds };
}

/** The row that counts `signal` under a rule's key until the rule's window has passed. */
function countedRow(m: RuleMatchResult, signal: Signal): Omit<CountedSignal, 'incident'> {
  return {
    dedupKey: m.dedupKey,
    fingerprint: signal.fingerprint,
    rule: m.rule.id,
    app: signal.app,
    source: signal.source,
    summary: signal.title,
    traceId: signal.traceId,
    observedAt: signal.observedAt,
    at: signal.receivedAt,
    expiresAt: signal.receivedAt + m.rule.group.windowMs,
  };
}

/**
 * Puts the counted signals that are not on the incident's timeline yet on it (one locked change, so
 * racing replicas add each once), then marks them all as gone to the incident. Returns how many it added.
 */
async function attachCounted(
  ctx: OpsContext,
  incidentId: string,
  dedupKey: string,
  rows: readonly CountedSignal[],
  actor: string,
  known: ReadonlySet<string>,
): Promise<number> {
  // The usual case (nothing counted that is not on the timeline already) takes no lock.
  if (rows.every((r) => known.has(r.fingerprint))) {
    await ctx.store.detection.markCounted(
      dedupKey,
      rows.map((r) => r.fingerprint),
      incidentId,
    );
    return 0;
  }
  const { value: added } = await ctx.store.control.change(async (tx) => {
    const incident = await loadIncident(tx, incidentId);
    const seen = new Set<string>();
    for (const { event } of await tx.incidents.timeline(incidentId))
      if (event.type === 'signal') seen.add(event.signal);
    const now = ctx.now();
    const events: SignalEvent[] = rows
      .filter((r) => !seen.has(r.fingerprint))
      .map((r) => ({
        type: 'signal',
        at: now,
        actor,
        signal: r.fingerprint,
        source: r.source as SignalEvent['source'],
        summary: r.summary,
        ...(r.observedAt <= now ? { observedAt: r.observedAt } : {}),
        ...(r.traceId !== null ? { trace: r.traceId } : {}),
      }));
    if (events.length === 0 || incident.status === 'closed') tx.unchanged(0);
    await commitChange(ctx, tx, incident, { incident, events }, { actor, action: 'signal', at: now });
    return events.length;
  }, QUIET);
  await ctx.store.detection.markCounted(
    dedupKey,
    rows.map((r) => r.fingerprint),
    incidentId,
  );
  return added;
}

/** Runs the rules on one signal and carries out what they decide. */
export async function processSignal(ctx: OpsContext, signal: Signal): Promise<DetectionOutcome[]> {
  const rules = ctx.config.detection.rules;
  const matches = matchSignal(rules, signal);
  if (matches.length === 0) return [];
  checkSignalScope(ctx, signal);
  // Counted first, incidents read after: see the note at the top.
  const counted = new Map<string, CountedSignal[]>();
  for (const m of matches)
    if (m.rule.minSignals > 1)
      counted.set(
        m.dedupKey,
        await ctx.store.detection.countSignal(
          countedRow(m, signal),
          signal.receivedAt - m.rule.group.windowMs,
          ctx.now(),
        ),
      );
  const priorSignals = new Map(
    [...counted].map(([key, rows]) => [key, rows.filter((r) => r.fingerprint !== signal.fingerprint).length]),
  );
  const { grouped, signalIds } = await groupedIncidents(
    ctx,
    signal.app,
    new Set(matches.map((m) => m.dedupKey)),
  );
  const actions = decide({ rules, signal, openIncidents: grouped, priorSignals, now: ctx.now() });
  const out: DetectionOutcome[] = [];
  for (const a of actions) {
    const rule = rules.find((r) => r.id === a.rule);
    const actor = `detection:${a.rule}`;
    const rows = counted.get(a.dedupKey);
    const countedOn = async (incidentId: string) =>
      rows === undefined
        ? {}
        : {
            signals: rows.length,
            attachedCounted: await attachCounted(
              ctx,
              incidentId,
              a.dedupKey,
              rows,
              actor,
              new Set([signal.fingerprint, ...(signalIds.get(incidentId) ?? [])]),
            ),
          };
    const base = {
      actor,
      source: signal.source,
      summary: signal.title,
      signal: signal.fingerprint,
      observedAt: signal.observedAt,
      ...(signal.traceId !== null ? { trace: signal.traceId } : {}),
    };
    if (a.type === 'count') {
      out.push({ action: 'count', rule: a.rule, dedupKey: a.dedupKey, signals: a.signals });
      continue;
    }
    if (a.type === 'attach') {
      const { incident, duplicate } = await recordSignal(ctx, {
        ...base,
        incident: a.incidentId,
        app: signal.app,
        title: signal.title,
      });
      out.push({
        action: 'attach',
        rule: a.rule,
        dedupKey: a.dedupKey,
        incident: incident.id,
        ...(duplicate ? { duplicate } : {}),
        // On a rerun after a crash between opening and attaching the counted signals, this finishes the job.
        ...(await countedOn(incident.id)),
      });
      continue;
    }
    // open: recordSignal's own dedup (one transaction) makes two racing signals open one incident.
    const { incident, opened, duplicate } = await recordSignal(ctx, {
      ...base,
      app: a.app,
      ...(a.env !== null ? { env: a.env } : {}),
      title: a.title,
      ...(a.class !== null ? { class: a.class } : {}),
      ...(a.severity !== null ? { severity: a.severity } : {}),
      dedupKey: a.dedupKey,
      windowMs: rule?.group.windowMs,
    });
    const counts = await countedOn(incident.id);
    if (!opened) {
      out.push({
        action: 'attach',
        rule: a.rule,
        dedupKey: a.dedupKey,
        incident: incident.id,
        ...(duplicate ? { duplicate } : {}),
        ...counts,
      });
      continue;
    }
    let contained: string | undefined;
    if (a.contain !== null) {
      const result = await containIncident(ctx, {
        id: incident.id,
        action: {
          action: a.contain.action,
          ...(a.contain.target !== undefined ? { target: a.contain.target } : {}),
        },
        actor,
        override: true,
        reason: `automatic containment by detection rule ${a.rule}`,
      });
      contained = result.containment.action;
    }
    // Paging never undoes detection: a failure is reported (and logged by the caller), not thrown.
    let paged: string | undefined;
    let pageError: string | undefined;
    if (a.page.kind !== 'none') {
      try {
        const page = await pageIncident(ctx, {
          incidentId: incident.id,
          app: a.app,
          policy: a.page.kind === 'policy' ? a.page.policy : undefined,
          at: ctx.now(),
          actor,
        });
        paged = page.page;
      } catch (error) {
        pageError = error instanceof Error ? error.message : String(error);
      }
    }
    out.push({
      action: 'open',
      ...(paged !== undefined ? { paged } : {}),
      ...(pageError !== undefined ? { pageError } : {}),
      rule: a.rule,
      dedupKey: a.dedupKey,
      incident: incident.id,
      ...counts,
      ...(contained !== undefined ? { contained } : {}),
      ...(a.containSkipped !== undefined ? { containSkipped: a.containSkipped } : {}),
    });
  }
  return out;
}

/** Refusals that a retry cannot fix (unknown app, bad signal): the timer ends failed rather than retrying. */
export function isPermanent(error: unknown): boolean {
  return (
    error instanceof FirebreakError && (error.code === 'validation_failed' || error.code === 'not_found')
  );
}

/** What registering the handler needs of the scheduler (server/timers.ts). */
interface TimerRegistry {
  registerTimerHandler(
    kind: string,
    handler: (t: {
      readonly key: string;
      readonly payload: unknown;
    }) => Promise<
      { readonly status: 'done' } | { readonly status: 'failed'; readonly error: string } | undefined
    >,
  ): void;
}

/**
 * The `signal` timer handler, registered on every control replica: the stored signal through the rules.
 * A refusal no retry can fix (an app no longer in the config) ends the timer failed; anything else
 * (the store) throws and is retried by the scheduler.
 */
export function registerSignalTimerHandler(
  timers: TimerRegistry,
  ctx: OpsContext,
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void },
): void {
  timers.registerTimerHandler(SIGNAL_TIMER_KIND, async (t) => {
    const signal = t.payload as Signal;
    try {
      const outcomes = await processSignal(ctx, signal);
      for (const o of outcomes) {
        if (o.action === 'open') log.info({ signal: t.key, ...o }, 'detection opened an incident');
        if (o.pageError !== undefined) log.warn({ signal: t.key, ...o }, 'detection could not page');
      }
      return { status: 'done' };
    } catch (error) {
      if (!isPermanent(error)) throw error;
      const message = error instanceof Error ? error.message : String(error);
      log.warn({ signal: t.key, err: message }, 'signal refused');
      return { status: 'failed', error: message };
    }
  });
}
