import { FirebreakError } from '../core/errors.js';
import type { Incident } from '../core/incidents/incident.js';
import type { TimelineEvent } from '../core/incidents/timeline.js';
import {
  escalationPlan,
  nextEscalationAt,
  type EscalationPolicy,
  type LevelOnCall,
  type Notification,
} from '../core/oncall/escalation.js';
import { policyForApp, whoIsOnCallForApp } from '../core/oncall/oncall-now.js';
import type { OpsContext } from './context.js';
import type { ControlTx, IncidentRecord } from '../store/port.js';
import { buildDelivery, channelAccepts } from './deliveries.js';
import { commitChange, loadIncident, QUIET } from './incident-change.js';
import { checkTimer } from './timers.js';

/**
 * Paging (issue 5 item 7): an incident's page notifies level 1 of an escalation policy on the policy's
 * channels, and an `escalate` timer notifies each next level after the level's wait (then the next
 * round, `repeat` times) until someone acknowledges. The schedule arithmetic is the pure core
 * (core/oncall/escalation.ts); this layer sends, records and schedules.
 *
 * Pages are numbered per incident (`page-1`, `page-2` after an acknowledged page is paged again). The
 * timer that sends a page's notification n (1-based in escalationPlan order; n = 1 goes out with the
 * page) has the key `escalate:<incident>:<page>:<n>`. The handler is idempotent by that key: it does
 * nothing once the page is acknowledged, and does not send notification n twice (it counts the page's
 * `escalated` events first), so a run repeated after a replica crash only schedules the next timer.
 */
export const ESCALATE_TIMER_KIND = 'escalate';

/** The record left in the `escalate` timer's payload: enough to recompute the plan. */
export interface EscalateTimerPayload {
  readonly incident: string;
  readonly page: string;
  readonly policy: string;
  readonly pagedAt: number;
  /** The notification this timer sends, 1-based (2 is the first escalation). */
  readonly n: number;
}

export interface PageIncidentArgs {
  readonly incidentId: string;
  readonly app: string;
  /** An escalation policy id; default: the app's (`oncall.apps`). */
  readonly policy?: string | undefined;
  /** When the page goes out (epoch ms); level 1 is resolved through the schedules at this instant. */
  readonly at: number;
  /** Who pages: `detection:<rule id>`, `token:<name>`, `cli:<user>`; default `system`. */
  readonly actor?: string | undefined;
}

export interface PageResult {
  readonly incident: string;
  readonly page: string;
  readonly policy: string;
  readonly level: number;
  readonly users: readonly string[];
  readonly channels: readonly string[];
  /** Delivery ids enqueued for this notification (empty when the page was already out). */
  readonly deliveries: readonly string[];
  /** When level 2 (or the next round) is due unless acknowledged; null when nothing follows. */
  readonly nextEscalationAt: number | null;
  /** False when the incident already had an unacknowledged page: nothing new was sent. */
  readonly sent: boolean;
}

/** Where no channel is configured on the policy, the page is still recorded on the timeline. */
const NO_CHANNEL = 'none';

const timerKey = (incident: string, page: string, n: number) => `escalate:${incident}:${page}:${n}`;
const who = (users: readonly string[]) => (users.length ? users.join(', ') : 'nobody on call');

function policyById(ctx: OpsContext, id: string): EscalationPolicy {
  const policy = ctx.config.oncall.policies.find((p) => p.id === id);
  if (!policy) {
    const known = ctx.config.oncall.policies.map((p) => p.id);
    throw new FirebreakError(
      'not_found',
      `unknown escalation policy "${id}" (configured: ${known.length ? known.join(', ') : 'none'})`,
      { path: 'policy' },
    );
  }
  return policy;
}

interface PageState {
  readonly page: string;
  readonly pagedAt: number;
  /** Distinct channels the page went to, in order. */
  readonly channels: readonly string[];
  readonly acknowledged: boolean;
  /** Notifications sent so far: the page itself plus its escalations. */
  readonly sent: number;
}

/** The incident's pages, oldest first, read from its timeline. */
export function pagesOf(timeline: readonly TimelineEvent[]): PageState[] {
  const pages = new Map<
    string,
    { pagedAt: number; channels: string[]; acknowledged: boolean; sent: number }
  >();
  for (const e of timeline) {
    if (e.type === 'page_sent') {
      const p = pages.get(e.page) ?? { pagedAt: e.at, channels: [], acknowledged: false, sent: 1 };
      if (e.channel !== NO_CHANNEL && !p.channels.includes(e.channel)) p.channels.push(e.channel);
      pages.set(e.page, p);
    } else if (e.type === 'escalated') {
      const p = pages.get(e.page);
      if (p) p.sent += 1;
    } else if (e.type === 'page_acknowledged') {
      const p = pages.get(e.page);
      if (p) p.acknowledged = true;
    }
  }
  return [...pages].map(([page, p]) => ({ page, ...p }));
}

/** Sends one notification on every channel, in the change; returns the delivery ids. */
async function deliver(
  ctx: OpsContext,
  tx: ControlTx,
  incident: Incident,
  channels: readonly string[],
  event: (channel: string) => TimelineEvent,
  details?: Readonly<Record<string, unknown>>,
): Promise<string[]> {
  const ids: string[] = [];
  for (const channel of channels) {
    const d = await tx.outbox.enqueueDelivery(
      buildDelivery(ctx, {
        channel,
        incident,
        event: event(channel),
        ...(details === undefined ? {} : { details }),
      }),
    );
    ids.push(d.id);
  }
  return ids;
}

/** The incident and its timeline as this change sees them (the control lock serialises changes). */
async function loadWithTimeline(
  tx: ControlTx,
  id: string,
): Promise<{ incident: IncidentRecord; timeline: TimelineEvent[] }> {
  const incident = await loadIncident(tx, id);
  return { incident, timeline: (await tx.incidents.timeline(incident.id)).map((e) => e.event) };
}

async function scheduleEscalation(
  ctx: OpsContext,
  tx: ControlTx,
  payload: EscalateTimerPayload,
  dueAt: number,
) {
  const timer = {
    kind: ESCALATE_TIMER_KIND,
    key: timerKey(payload.incident, payload.page, payload.n),
    dueAt,
    payload,
  };
  checkTimer(timer);
  await tx.outbox.schedule(timer, ctx.now());
}

function detailsOf(policy: string, n: Notification): Record<string, unknown> {
  return { policy, level: n.level, round: n.round, on_call: n.users };
}

/**
 * Pages an incident: level 1 of the policy is notified on each of its channels (`page_sent` per channel
 * on the timeline, naming who is on call), and the first escalation is scheduled. An incident whose
 * last page is still unacknowledged is not paged again (`sent: false`); after an acknowledgement a new
 * page starts over at level 1.
 */
export async function pageIncident(ctx: OpsContext, args: PageIncidentArgs): Promise<PageResult> {
  if (!Number.isSafeInteger(args.at) || args.at < 0)
    throw new FirebreakError('validation_failed', 'at: epoch milliseconds', { path: 'at' });
  // One change: the check for a page already out and the new page (events, messages, the first
  // escalation) are serialised with every other incident change, so two racing pages send one.
  const { value } = await ctx.store.control.change(async (tx): Promise<PageResult> => {
    const { incident, timeline } = await loadWithTimeline(tx, args.incidentId);
    if (incident.app !== args.app)
      throw new FirebreakError(
        'validation_failed',
        `${incident.id} belongs to app "${incident.app}", not "${args.app}"`,
        { path: 'app' },
      );
    const policyId = args.policy ?? policyForApp(ctx.config.oncall, args.app);
    if (policyId === undefined)
      throw new FirebreakError('not_found', `app "${args.app}" has no escalation policy (oncall.apps)`, {
        path: 'app',
      });
    const policy = policyById(ctx, policyId);
    const channels = policy.channels ?? [];

    const pages = pagesOf(timeline);
    const open = pages.find((p) => !p.acknowledged);
    if (open) {
      const first = escalationPlan(policy, open.pagedAt)[0];
      return tx.unchanged({
        incident: incident.id,
        page: open.page,
        policy: policy.id,
        level: first?.level ?? 1,
        users: first?.users ?? [],
        channels: open.channels,
        deliveries: [],
        nextEscalationAt: nextEscalationAt(policy, open.pagedAt, ctx.now()) ?? null,
        sent: false,
      } satisfies PageResult);
    }

    const page = `page-${pages.length + 1}`;
    const plan = escalationPlan(policy, args.at);
    const first = plan[0];
    if (!first) throw new Error(`escalation policy "${policy.id}" has no levels`);
    const actor = args.actor ?? 'system';
    const eventFor = (channel: string): TimelineEvent => ({
      type: 'page_sent',
      at: args.at,
      actor,
      page,
      target: who(first.users),
      level: first.level,
      channel,
    });
    const events = (channels.length ? channels : [NO_CHANNEL]).map(eventFor);
    await commitChange(ctx, tx, incident, { incident, events }, { actor, action: 'page', at: ctx.now() });
    const deliveries = await deliver(ctx, tx, incident, channels, eventFor, detailsOf(policy.id, first));
    const next = nextEscalationAt(policy, args.at, args.at);
    if (next !== undefined)
      await scheduleEscalation(
        ctx,
        tx,
        { incident: incident.id, page, policy: policy.id, pagedAt: args.at, n: 2 },
        next,
      );
    return {
      incident: incident.id,
      page,
      policy: policy.id,
      level: first.level,
      users: first.users,
      channels,
      deliveries,
      nextEscalationAt: next ?? null,
      sent: true,
    };
  }, QUIET);
  return value;
}

function isPayload(value: unknown): value is EscalateTimerPayload {
  if (value === null || typeof value !== 'object') return false;
  const p = value as Record<string, unknown>;
  return (
    typeof p['incident'] === 'string' &&
    typeof p['page'] === 'string' &&
    typeof p['policy'] === 'string' &&
    typeof p['pagedAt'] === 'number' &&
    typeof p['n'] === 'number'
  );
}

export type EscalationOutcome =
  | { readonly status: 'escalated'; readonly level: number; readonly users: readonly string[] }
  | { readonly status: 'stopped'; readonly reason: string };

/**
 * The `escalate` timer's work: unless the page was acknowledged, notify the next level (deliveries and
 * an `escalated` event naming who it reaches) and schedule the one after; after the last level of the
 * last round, nothing more. Idempotent by the timer's key (see the module comment).
 */
export async function runEscalation(ctx: OpsContext, payload: unknown): Promise<EscalationOutcome> {
  if (!isPayload(payload)) return { status: 'stopped', reason: 'escalate timer without a valid payload' };
  const stop = (tx: ControlTx, reason: string): never => tx.unchanged({ status: 'stopped', reason });
  try {
    const { value } = await ctx.store.control.change(async (tx): Promise<EscalationOutcome> => {
      const { incident, timeline } = await loadWithTimeline(tx, payload.incident);
      const state = pagesOf(timeline).find((p) => p.page === payload.page);
      if (!state) return stop(tx, `${payload.incident} has no ${payload.page}`);
      if (state.acknowledged) return stop(tx, 'acknowledged');
      // A resolved incident needs nobody woken up, acknowledged or not.
      if (incident.status === 'resolved' || incident.status === 'closed')
        return stop(tx, `${incident.id} is ${incident.status}`);
      const policy = ctx.config.oncall.policies.find((p) => p.id === payload.policy);
      if (!policy) return stop(tx, `escalation policy "${payload.policy}" is no longer configured`);

      const plan = escalationPlan(policy, payload.pagedAt);
      const current = plan[payload.n - 1];
      const previous = plan[payload.n - 2];
      if (!current || !previous) return stop(tx, 'no notification left');
      // Already sent (a run repeated after a crash): nothing to do; the next timer is scheduled.
      if (state.sent >= payload.n) return stop(tx, 'already escalated');
      const channels = state.channels.length ? state.channels : (policy.channels ?? []);
      const event: TimelineEvent = {
        type: 'escalated',
        at: current.at,
        actor: 'system',
        page: payload.page,
        fromLevel: previous.level,
        toLevel: current.level,
        target: who(current.users),
      };
      await commitChange(
        ctx,
        tx,
        incident,
        { incident, events: [event] },
        { actor: 'system', action: 'escalate', at: ctx.now() },
      );
      await deliver(ctx, tx, incident, channels, () => event, detailsOf(policy.id, current));
      const next = plan[payload.n];
      if (next) await scheduleEscalation(ctx, tx, { ...payload, n: payload.n + 1 }, next.at);
      return { status: 'escalated', level: current.level, users: current.users };
    }, QUIET);
    return value;
  } catch (error) {
    if (error instanceof FirebreakError && error.code === 'not_found')
      return { status: 'stopped', reason: error.message };
    throw error; // the store: the scheduler retries
  }
}

export interface AcknowledgeArgs {
  readonly incidentId: string;
  readonly actor: string;
  readonly at: number;
}

export interface AcknowledgeResult {
  readonly incident: string;
  /** The pages this acknowledged. */
  readonly pages: readonly string[];
  readonly deliveries: readonly string[];
  readonly acknowledgedAt: number;
}

/**
 * Acknowledges the incident's unacknowledged page: `page_acknowledged` on the timeline, the pending
 * escalation cancelled, and an `acknowledge` sent to the page's PagerDuty channels (webhook and Slack
 * channels get the event too). An incident with no page waiting is a conflict (nothing changes).
 */
export async function acknowledgeIncident(
  ctx: OpsContext,
  args: AcknowledgeArgs,
): Promise<AcknowledgeResult> {
  const { value } = await ctx.store.control.change(async (tx): Promise<AcknowledgeResult> => {
    const { incident, timeline } = await loadWithTimeline(tx, args.incidentId);
    const pages = pagesOf(timeline);
    const open = pages.filter((p) => !p.acknowledged);
    if (open.length === 0)
      throw new FirebreakError(
        'conflict',
        `${incident.id} has no unacknowledged page${pages.length ? ' (already acknowledged)' : ''}`,
      );
    const events = open.map((p): TimelineEvent => ({
      type: 'page_acknowledged',
      at: args.at,
      actor: args.actor,
      page: p.page,
    }));
    await commitChange(
      ctx,
      tx,
      incident,
      { incident, events },
      { actor: args.actor, action: 'acknowledge', at: ctx.now() },
    );
    const deliveries: string[] = [];
    for (const [i, p] of open.entries()) {
      // The pending timer is the next notification; its neighbours too, in case one was mid-run.
      for (const n of [p.sent, p.sent + 1, p.sent + 2])
        await tx.outbox.cancel(timerKey(incident.id, p.page, n), ctx.now());
      const event = events[i];
      if (!event) continue;
      const accepting = p.channels.filter((channel) => {
        const type = ctx.config.channels[channel]?.type;
        return type !== undefined && channelAccepts(type, 'acknowledge');
      });
      deliveries.push(...(await deliver(ctx, tx, incident, accepting, () => event)));
    }
    return { incident: incident.id, pages: open.map((p) => p.page), deliveries, acknowledgedAt: args.at };
  }, QUIET);
  return value;
}

export interface OnCallNow {
  readonly app: string;
  readonly policy: string;
  readonly at: number;
  readonly levels: readonly LevelOnCall[];
}

/** `firebreak oncall now --app A`: who is on the hook at each level of the app's policy at `at`. */
export function onCallNow(ctx: OpsContext, app: string, at = ctx.now()): OnCallNow {
  if (!Object.hasOwn(ctx.config.apps, app)) {
    const known = Object.keys(ctx.config.apps);
    throw new FirebreakError(
      'not_found',
      `unknown app "${app}" (configured: ${known.join(', ') || 'none'})`,
      {
        path: 'app',
      },
    );
  }
  const { policy, levels } = whoIsOnCallForApp(ctx.config.oncall, app, at);
  return { app, policy, at, levels };
}
