import { FirebreakError } from '../core/errors.js';
import { lastInternalUpdateAt, nextUpdateDue } from '../core/incidents/cadence.js';
import { deadlines, type ComplianceFlags } from '../core/incidents/compliance-clocks.js';
import { externalUpdate, internalUpdate, responderUpdate, type Impact } from '../core/incidents/templates.js';
import {
  timelineEventTypes,
  updateAudiences,
  type TimelineEvent,
  type TimelineEventType,
  type UpdateAudience,
} from '../core/incidents/timeline.js';
import type { IncidentCompliance, IncidentRecord } from '../store/port.js';
import type { OpsContext } from './context.js';
import { changeIncident, commitChange, refuseClosed, type IncidentView } from './incident-change.js';
import { cadenceOf, updateChannels } from './incident-outbox.js';

/**
 * Communication and bookkeeping on an incident: updates written by the core's templates, compliance
 * flags (whose deadlines the view then shows), and the hook through which paging, channels and timers
 * add their own events to the timeline.
 */
export interface UpdateArgs {
  readonly id: string;
  readonly actor: string;
  readonly audience: string;
  /** internal */
  readonly summary?: string | undefined;
  readonly impact?: Impact | undefined;
  /** internal and responders */
  readonly actions?: readonly string[] | undefined;
  /** external: the public headline and message, never the internal title */
  readonly headline?: string | undefined;
  readonly message?: string | undefined;
  readonly affectedUsers?: number | undefined;
  /** responders: Conditions / Actions / Needs */
  readonly conditions?: string | undefined;
  readonly needs?: readonly string[] | undefined;
}

const fieldsOf: Record<UpdateAudience, readonly (keyof UpdateArgs)[]> = {
  internal: ['summary', 'impact', 'actions'],
  external: ['headline', 'message', 'affectedUsers'],
  responders: ['conditions', 'actions', 'needs'],
};
const allFields = [
  'summary',
  'impact',
  'actions',
  'headline',
  'message',
  'affectedUsers',
  'conditions',
  'needs',
] as const;

function audienceOf(args: UpdateArgs): UpdateAudience {
  const audience = updateAudiences.find((a) => a === args.audience);
  if (audience === undefined)
    throw new FirebreakError(
      'validation_failed',
      `audience "${args.audience}" is not one of ${updateAudiences.join(' | ')}`,
      { path: 'audience' },
    );
  // A field of another audience is a mistake worth naming (a headline would never reach the text).
  const wrong = allFields.find((f) => args[f] !== undefined && !fieldsOf[audience].includes(f));
  if (wrong !== undefined)
    throw new FirebreakError(
      'validation_failed',
      `${wrong} is not part of a${audience === 'internal' ? 'n' : ''} ${audience} update (it takes ${fieldsOf[audience].join(', ')})`,
      { path: wrong },
    );
  return audience;
}

function updateText(
  incident: IncidentRecord,
  audience: UpdateAudience,
  args: UpdateArgs,
  at: number,
  nextUpdateAt: number | null,
): string {
  switch (audience) {
    case 'internal':
      return internalUpdate(incident, {
        at,
        nextUpdateAt,
        ...(args.summary !== undefined ? { summary: args.summary } : {}),
        ...(args.impact !== undefined ? { impact: args.impact } : {}),
        ...(args.actions !== undefined ? { actions: args.actions } : {}),
      });
    case 'external':
      return externalUpdate(incident, {
        at,
        nextUpdateAt,
        headline: args.headline ?? '',
        message: args.message ?? '',
        ...(args.affectedUsers !== undefined ? { affectedUsers: args.affectedUsers } : {}),
      });
    case 'responders':
      return responderUpdate(incident, {
        at,
        conditions: args.conditions ?? '',
        actions: args.actions ?? [],
        needs: args.needs ?? [],
      });
  }
}

/**
 * Writes an update from the core's template and records it on the timeline (`update_posted`). An
 * internal update restarts the cadence; the text names when the next one is due. It goes to the
 * audience's channels (`incidents.channels`), named on the event, in the same change.
 */
export async function postIncidentUpdate(ctx: OpsContext, args: UpdateArgs): Promise<IncidentView> {
  const audience = audienceOf(args);
  return changeIncident(ctx, args.id, async (tx, incident, at) => {
    refuseClosed(incident);
    const last = lastInternalUpdateAt((await tx.incidents.timeline(incident.id)).map((e) => e.event));
    const next = nextUpdateDue(incident, audience === 'internal' ? at : last, cadenceOf(ctx.config));
    const text = updateText(incident, audience, args, at, next);
    const event: TimelineEvent = {
      type: 'update_posted',
      at,
      actor: args.actor,
      audience,
      text,
      channels: updateChannels(ctx.config, audience),
    };
    return commitChange(
      ctx,
      tx,
      incident,
      { incident, events: [event] },
      { actor: args.actor, action: 'update', at },
    );
  });
}

export type ComplianceArgs = {
  readonly [K in keyof ComplianceFlags]?: boolean | undefined;
} & {
  readonly id: string;
  readonly actor: string;
  /** When the responder became aware (the clocks run from here); default: as before, else now. */
  readonly awareAt?: number | undefined;
  readonly reason?: string | undefined;
};

const flagNames: Record<keyof ComplianceFlags, string> = {
  personalDataBreach: 'personal-data breach (GDPR Art. 33)',
  aiActSeriousIncident: 'AI Act serious incident (Art. 73)',
  widespreadInfringement: 'widespread infringement (AI Act Art. 73(3))',
  criticalInfrastructureDisruption: 'critical-infrastructure disruption (AI Act Art. 73(3))',
  death: 'death of a person (AI Act Art. 73(4))',
};

/**
 * Sets the incident's compliance flags (replacing the previous set; none set stops the clocks). The
 * deadlines follow from the core and show on the incident; the timeline gets a note naming them, since
 * the core has no event type of its own for this.
 */
export async function setIncidentCompliance(ctx: OpsContext, args: ComplianceArgs): Promise<IncidentView> {
  const flags: Partial<Record<keyof ComplianceFlags, true>> = {};
  for (const k of Object.keys(flagNames) as (keyof ComplianceFlags)[]) if (args[k] === true) flags[k] = true;
  const names = (Object.keys(flags) as (keyof ComplianceFlags)[]).map((k) => flagNames[k]);
  return changeIncident(ctx, args.id, (tx, incident, at) => {
    refuseClosed(incident);
    const awareAt = args.awareAt ?? incident.compliance?.awareAt ?? at;
    if (awareAt > at)
      throw new FirebreakError('validation_failed', 'awareAt: awareness cannot be in the future', {
        path: 'awareAt',
      });
    const compliance: IncidentCompliance | null =
      names.length === 0 ? null : { flags, awareAt, setBy: args.actor, setAt: at };
    if (compliance === null && incident.compliance === null)
      throw new FirebreakError('conflict', `${incident.id} has no compliance flags to clear`);
    const due = compliance
      ? deadlines(compliance.flags, awareAt).map(
          (d) => `${d.regulation} ${d.article} due ${new Date(d.dueAt).toISOString()}`,
        )
      : [];
    const text =
      compliance === null
        ? 'compliance flags cleared; no compliance clock runs'
        : `compliance flags set: ${names.join(', ')}; aware since ${new Date(awareAt).toISOString()}; ${due.join('; ')}`;
    const event: TimelineEvent = { type: 'note', at, actor: args.actor, text };
    return commitChange(
      ctx,
      tx,
      incident,
      { incident: { ...incident, compliance }, events: [event] },
      { actor: args.actor, action: 'compliance', at, reason: args.reason },
    );
  });
}

/** What paging, channels, timers and signals may add directly; lifecycle events come from the operations. */
const appendable: readonly TimelineEventType[] = [
  'signal',
  'note',
  'update_posted',
  'page_sent',
  'page_acknowledged',
  'escalated',
  'delivery_failed',
  'update_overdue',
  'clock_reminder',
  'clock_due',
];

/**
 * The hook for other parts of Firebreak (paging, acknowledgements, escalation, channel deliveries,
 * compliance reminders): appends their events to the timeline in one audited change. Allowed in every
 * status, closed included: they record what happened (a resolve message that failed to deliver).
 */
export async function appendIncidentEvents(
  ctx: OpsContext,
  args: { id: string; actor: string; events: readonly TimelineEvent[] },
): Promise<IncidentView> {
  for (const e of args.events)
    if (!timelineEventTypes.includes(e.type) || !appendable.includes(e.type))
      throw new FirebreakError(
        'validation_failed',
        `${e.type} events are written by the incident operations, not appended (appendable: ${appendable.join(', ')})`,
        { path: 'events' },
      );
  return changeIncident(ctx, args.id, (tx, incident, at) =>
    commitChange(
      ctx,
      tx,
      incident,
      { incident, events: args.events },
      { actor: args.actor, action: 'events', at },
    ),
  );
}
