import { randomBytes } from 'node:crypto';
import { FirebreakError } from '../core/errors.js';
import { isIncidentId } from '../core/incidents/incident.js';
import { classify, parseIncidentClass, parseSeverity } from '../core/incidents/classification.js';
import type { Change } from '../core/incidents/lifecycle-change.js';
import {
  openIncident as openCore,
  parseIncidentStatus,
  transition,
  triage,
} from '../core/incidents/lifecycle.js';
import { addResponder, assignRole, removeResponder } from '../core/incidents/roles.js';
import {
  incidentMetrics,
  metricsReport,
  type GroupBy,
  type IncidentMetrics,
  type MetricsGroup,
} from '../core/incidents/metrics.js';
import type { SignalSource, TimelineEvent } from '../core/incidents/timeline.js';
import { parseTimeSpec } from '../core/time-spec.js';
import type { ControlTx, IncidentFilter, IncidentRecord } from '../store/port.js';
import type { OpsContext } from './context.js';
import {
  QUIET,
  changeIncident,
  commitChange,
  incidentView,
  noIncident,
  refuseClosed,
  viewInTx,
  type IncidentView,
} from './incident-change.js';
import { revertInTx } from './incident-containment.js';
import { requireApp, requireEnv } from './releases.js';

export type { IncidentView, TimelineItem, DeadlineView } from './incident-change.js';
export { postIncidentUpdate, setIncidentCompliance, appendIncidentEvents } from './incident-updates.js';
export { containIncident, revertIncidentContainment } from './incident-containment.js';

/**
 * Incidents (issue 5): thin operations over the pure lifecycle in core/incidents. Each change is one
 * control-plane transaction holding the incident row, its new timeline events and an audit entry, so a
 * refused or failed operation leaves nothing behind. Class, severity and status arrive as text and are
 * checked by the core, whose messages the API and CLI show as they are.
 */
interface Actor {
  readonly actor: string;
}

const cls = (text: string | undefined) => (text === undefined ? undefined : parseIncidentClass(text));
const sev = (text: string | undefined) => (text === undefined ? undefined : parseSeverity(text));

function scope(ctx: OpsContext, app: string, env: string | null | undefined): void {
  if (env !== undefined && env !== null) requireEnv(ctx, app, env);
  else requireApp(ctx, app);
}

export interface OpenIncidentArgs extends Actor {
  readonly app: string;
  readonly env?: string | undefined;
  readonly title: string;
  readonly class?: string | undefined;
  readonly severity?: string | undefined;
  /** What the reporter saw; recorded as the incident's first note. */
  readonly summary?: string | undefined;
  /** When the harm started, if known and earlier than now: the start of MTTD. */
  readonly impactStartedAt?: number | undefined;
}

async function openInTx(
  ctx: OpsContext,
  tx: ControlTx,
  args: OpenIncidentArgs & { dedupKey?: string | undefined },
  /** What opened it, after the opening event: the signal, or the reporter's words. */
  first: (at: number) => TimelineEvent | null,
): Promise<IncidentRecord> {
  const at = ctx.now();
  const id = `INC-${(await tx.incidents.lastNumber()) + 1}`;
  const opened = openCore({
    id,
    app: args.app,
    env: args.env ?? null,
    title: args.title,
    at,
    actor: args.actor,
    ...(args.class !== undefined ? { class: parseIncidentClass(args.class) } : {}),
    ...(args.severity !== undefined ? { severity: parseSeverity(args.severity) } : {}),
    ...(args.impactStartedAt !== undefined ? { impactStartedAt: args.impactStartedAt } : {}),
  });
  const record: IncidentRecord = {
    ...opened.incident,
    compliance: null,
    dedupKey: args.dedupKey ?? null,
    openedBy: args.actor,
    updatedAt: at,
  };
  const event = first(at);
  const change = { incident: record, events: event === null ? opened.events : [...opened.events, event] };
  return commitChange(ctx, tx, null, change, { actor: args.actor, action: 'open', at });
}

/** A manual report: a new incident in `detected`, numbered `INC-<n>`, the report's words its first note. */
export async function openIncident(ctx: OpsContext, args: OpenIncidentArgs): Promise<IncidentView> {
  scope(ctx, args.app, args.env);
  const { value } = await ctx.store.control.change(async (tx) => {
    // The report is a note, not a signal: a signal's time counts as harm seen (MTTD), and a report at
    // detection says nothing about when the harm started (impactStartedAt does).
    const summary = args.summary?.trim();
    const incident = await openInTx(ctx, tx, args, (at) =>
      summary ? { type: 'note', at, actor: args.actor, text: `reported: ${summary}` } : null,
    );
    return viewInTx(ctx, tx, incident.id);
  }, QUIET);
  return value;
}

export interface SignalArgs extends Actor {
  readonly source: SignalSource;
  readonly summary: string;
  /** The signal's own id (a finding id, an alert's fingerprint); generated when absent. */
  readonly signal?: string | undefined;
  readonly observedAt?: number | undefined;
  readonly trace?: string | undefined;
  /** To open an incident when none is given or found by dedup key. */
  readonly app: string;
  readonly env?: string | undefined;
  readonly title: string;
  readonly class?: string | undefined;
  readonly severity?: string | undefined;
}

function signalEvent(
  s: Omit<SignalArgs, 'app' | 'title' | 'actor'>,
  actor: string,
  at: number,
): TimelineEvent {
  return {
    type: 'signal',
    at,
    actor,
    signal: s.signal ?? `sig_${randomBytes(6).toString('hex')}`,
    source: s.source,
    summary: s.summary,
    ...(s.observedAt !== undefined && s.observedAt <= at ? { observedAt: s.observedAt } : {}),
    ...(s.trace !== undefined ? { trace: s.trace } : {}),
  };
}

/**
 * The hook for detection rules and external alerts: records a signal on `incident`, or on the open
 * (not resolved or closed) incident opened with the same `dedupKey` within `windowMs`, or else opens a
 * new incident with it. One transaction, so two signals racing with one key open one incident. A signal
 * with its own id that is on the timeline already (a rerun after a crash, or a racing detection put it
 * there among its counted signals) adds nothing and is reported `duplicate`: checked under the same lock
 * that adds it, so it is never added twice.
 */
export async function recordSignal(
  ctx: OpsContext,
  args: SignalArgs & {
    readonly incident?: string | undefined;
    readonly dedupKey?: string | undefined;
    readonly windowMs?: number | undefined;
  },
): Promise<{ incident: IncidentView; opened: boolean; duplicate: boolean }> {
  scope(ctx, args.app, args.env);
  if (!args.summary.trim())
    throw new FirebreakError('validation_failed', 'a signal needs a summary', { path: 'summary' });
  const { value } = await ctx.store.control.change(async (tx) => {
    const now = ctx.now();
    const existing =
      args.incident !== undefined
        ? ((await tx.incidents.get(args.incident)) ?? raise(noIncident(args.incident)))
        : args.dedupKey !== undefined
          ? await tx.incidents.openByDedupKey(args.dedupKey, now - (args.windowMs ?? 3_600_000))
          : undefined;
    if (existing === undefined) {
      const opened = await openInTx(ctx, tx, args, (at) => signalEvent(args, args.actor, at));
      return { incident: await viewInTx(ctx, tx, opened.id), opened: true, duplicate: false };
    }
    if (args.signal !== undefined && (await hasSignal(tx, existing.id, args.signal)))
      tx.unchanged({ incident: await viewInTx(ctx, tx, existing.id), opened: false, duplicate: true });
    refuseClosed(existing);
    await commitChange(
      ctx,
      tx,
      existing,
      { incident: existing, events: [signalEvent(args, args.actor, now)] },
      { actor: args.actor, action: 'signal', at: now },
    );
    return { incident: await viewInTx(ctx, tx, existing.id), opened: false, duplicate: false };
  }, QUIET);
  return value;
}

async function hasSignal(tx: ControlTx, incidentId: string, signal: string): Promise<boolean> {
  return (await tx.incidents.timeline(incidentId)).some(
    ({ event }) => event.type === 'signal' && event.signal === signal,
  );
}

function raise(error: Error): never {
  throw error;
}

export async function getIncident(ctx: OpsContext, id: string): Promise<IncidentView> {
  const found = isIncidentId(id) ? await ctx.store.incidents.get(id) : undefined;
  if (!found) throw noIncident(id);
  return incidentView(ctx, found.incident, found.timeline, found.containment);
}

export interface IncidentListArgs {
  readonly status?: string | undefined;
  readonly app?: string | undefined;
  readonly env?: string | undefined;
  readonly severity?: string | undefined;
  readonly class?: string | undefined;
  /** The `nextCursor` of the previous page: incidents numbered below it. */
  readonly cursor?: string | undefined;
  readonly limit?: number | undefined;
}

function filterOf(ctx: OpsContext, args: Omit<IncidentListArgs, 'cursor' | 'limit'>): IncidentFilter {
  if (args.app !== undefined) scope(ctx, args.app, args.env);
  return {
    status: args.status === undefined ? undefined : parseIncidentStatus(args.status),
    app: args.app,
    env: args.env,
    severity: sev(args.severity),
    class: cls(args.class),
  };
}

/** Newest first. */
export async function listIncidents(
  ctx: OpsContext,
  args: IncidentListArgs,
): Promise<{ data: IncidentRecord[]; nextCursor: string | null }> {
  if (args.cursor !== undefined && !isIncidentId(args.cursor))
    throw new FirebreakError('validation_failed', 'cursor: not a cursor returned by this API', {
      path: 'cursor',
    });
  const limit = args.limit ?? 50;
  const data = await ctx.store.incidents.list({
    ...filterOf(ctx, args),
    before: args.cursor === undefined ? undefined : Number(args.cursor.slice('INC-'.length)),
    limit,
  });
  const last = data.at(-1);
  return { data, nextCursor: data.length === limit && last ? last.id : null };
}

/** Runs one core lifecycle function on the incident and commits what it returns. */
function lifecycleChange(
  ctx: OpsContext,
  id: string,
  action: string,
  args: Actor & { reason?: string | undefined },
  fn: (incident: IncidentRecord, at: number) => Change<IncidentRecord>,
): Promise<IncidentView> {
  return changeIncident(ctx, id, (tx, incident, at) =>
    commitChange(ctx, tx, incident, fn(incident, at), { actor: args.actor, action, at, reason: args.reason }),
  );
}

export interface TriageArgs extends Actor {
  readonly id: string;
  readonly class?: string | undefined;
  readonly severity?: string | undefined;
  /** Defaults to the incident's commander, else the one triaging. */
  readonly commander?: string | undefined;
}

/** Class and severity set, commander assigned: detected → triaged (in place after override containment). */
export async function triageIncident(ctx: OpsContext, args: TriageArgs): Promise<IncidentView> {
  return lifecycleChange(ctx, args.id, 'triage', args, (incident, at) =>
    triage(incident, {
      at,
      actor: args.actor,
      ...opt('class', cls(args.class)),
      ...opt('severity', sev(args.severity)),
      ...opt('commander', args.commander ?? (incident.commander === null ? args.actor : undefined)),
    }),
  );
}

export interface TransitionArgs extends Actor {
  readonly id: string;
  readonly to: string;
  readonly reason?: string | undefined;
  readonly class?: string | undefined;
  readonly severity?: string | undefined;
  readonly commander?: string | undefined;
  /** detected → contained: containment before triage, on purpose (recorded). */
  readonly override?: boolean | undefined;
  readonly postmortem?: string | undefined;
  readonly noPostmortem?: string | undefined;
  /** On resolve: revert the containment still in force (default: `incidents.revertContainmentOnResolve`). */
  readonly revertContainment?: boolean | undefined;
}

/** Moves the incident to `to` where the lifecycle allows it (core/incidents/lifecycle.ts). */
export async function transitionIncident(ctx: OpsContext, args: TransitionArgs): Promise<IncidentView> {
  const to = parseIncidentStatus(args.to);
  const revert = args.revertContainment ?? ctx.config.incidents.revertContainmentOnResolve;
  // Reverting containment removes flags or rolls back: the replicas must hear about that change.
  const revertsOnResolve = to === 'resolved' && revert;
  return changeIncident(
    ctx,
    args.id,
    async (tx, incident, at) => {
      const coreArgs = {
        at,
        actor: args.actor,
        ...opt('reason', args.reason),
        ...opt('class', cls(args.class)),
        ...opt('severity', sev(args.severity)),
        ...opt('commander', args.commander),
        ...opt('override', args.override),
        ...opt('postmortem', args.postmortem),
        ...opt('noPostmortem', args.noPostmortem),
      };
      // Checked first, so a refused transition reverts nothing (it would be rolled back anyway).
      let change = transition(incident, to, coreArgs);
      if (revertsOnResolve && incident.containment.length > 0) {
        let current = incident;
        const events: TimelineEvent[] = [];
        for (const c of incident.containment) {
          const reverted = await revertInTx(ctx, tx, current, c.ref, {
            actor: args.actor,
            at,
            reason: 'reverted on resolve',
          });
          current = reverted.incident;
          events.push(...reverted.events);
        }
        const resolved = transition(current, to, coreArgs);
        change = { incident: resolved.incident, events: [...events, ...resolved.events] };
      }
      return commitChange(ctx, tx, incident, change, {
        actor: args.actor,
        action: 'transition',
        at,
        reason: args.reason,
      });
    },
    { quiet: !revertsOnResolve },
  );
}

export interface ClassifyArgs extends Actor {
  readonly id: string;
  readonly class?: string | undefined;
  readonly severity?: string | undefined;
  readonly reason?: string | undefined;
}

/** Changes class and/or severity after triage (an upgrade when in doubt). */
export async function classifyIncident(ctx: OpsContext, args: ClassifyArgs): Promise<IncidentView> {
  return lifecycleChange(ctx, args.id, 'classify', args, (incident, at) =>
    classify(incident, {
      at,
      actor: args.actor,
      ...opt('class', cls(args.class)),
      ...opt('severity', sev(args.severity)),
      ...opt('reason', args.reason),
    }),
  );
}

export interface AssignRoleArgs extends Actor {
  readonly id: string;
  readonly role: 'commander' | 'communications_lead';
  /** The new holder; null releases the role (never the commander of a triaged incident). */
  readonly to: string | null;
  readonly reason?: string | undefined;
}

/** Assigns, hands over or releases the commander or communications lead; the timeline records from → to. */
export async function assignIncidentRole(ctx: OpsContext, args: AssignRoleArgs): Promise<IncidentView> {
  return lifecycleChange(ctx, args.id, 'role', args, (incident, at) =>
    assignRole(incident, {
      at,
      actor: args.actor,
      role: args.role,
      to: args.to,
      ...opt('reason', args.reason),
    }),
  );
}

export interface ResponderArgs extends Actor {
  readonly id: string;
  readonly name: string;
  readonly remove?: boolean | undefined;
  readonly reason?: string | undefined;
}

export async function changeIncidentResponders(ctx: OpsContext, args: ResponderArgs): Promise<IncidentView> {
  return lifecycleChange(ctx, args.id, 'responder', args, (incident, at) => {
    const r = { at, actor: args.actor, name: args.name, ...opt('reason', args.reason) };
    return args.remove === true ? removeResponder(incident, r) : addResponder(incident, r);
  });
}

export async function addIncidentNote(
  ctx: OpsContext,
  args: Actor & { id: string; text: string },
): Promise<IncidentView> {
  if (!args.text.trim()) throw new FirebreakError('validation_failed', 'a note needs text', { path: 'text' });
  return changeIncident(ctx, args.id, (tx, incident, at) => {
    refuseClosed(incident);
    const event: TimelineEvent = { type: 'note', at, actor: args.actor, text: args.text.trim() };
    return commitChange(
      ctx,
      tx,
      incident,
      { incident, events: [event] },
      { actor: args.actor, action: 'note', at },
    );
  });
}

export async function getIncidentMetrics(ctx: OpsContext, id: string): Promise<IncidentMetrics> {
  const view = await getIncident(ctx, id);
  return incidentMetrics(view, view.timeline);
}

export const metricGroupings = ['app', 'class', 'severity', 'all'] as const;

/** MTTD/MTTA/MTTC/MTTR aggregated per app, class or severity over the incidents matching the filter. */
export async function incidentMetricsReport(
  ctx: OpsContext,
  args: Omit<IncidentListArgs, 'cursor' | 'limit' | 'status'> & {
    by?: GroupBy | undefined;
    since?: number | undefined;
    until?: number | undefined;
  },
): Promise<{ by: GroupBy; groups: MetricsGroup[] }> {
  const by = args.by ?? 'all';
  const histories = await ctx.store.incidents.histories({
    ...filterOf(ctx, args),
    since: args.since,
    until: args.until,
  });
  return { by, groups: metricsReport(histories, by) };
}

/** Optional fields only when set (exactOptionalPropertyTypes: absent, never `undefined`). */
function opt<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/** Times as people type them (ISO 8601, epoch ms, or `30m`/`24h` back from now), for the API and CLI. */
export function parseTimeInput(field: string, text: string | undefined, now: number): number | undefined {
  if (text === undefined) return undefined;
  const ms = parseTimeSpec(text, now);
  if (ms === undefined)
    throw new FirebreakError(
      'validation_failed',
      `${field}: "${text}" is not a time (use ISO 8601, epoch ms, or 30m / 24h / 7d)`,
      { path: field },
    );
  return ms;
}
