import { describe, expect, it } from 'vitest';
import { FirebreakError } from '../../src/core/errors.js';
import {
  defaultUpdateCadence,
  lastInternalUpdateAt,
  nextUpdateDue,
  overdue,
  resolveCadence,
} from '../../src/core/incidents/cadence.js';
import {
  deadlines,
  reminderEvent,
  reminders,
  reminderSchedule,
  type Deadline,
} from '../../src/core/incidents/compliance-clocks.js';
import type { Incident, IncidentClass, Severity } from '../../src/core/incidents/incident.js';
import { classify } from '../../src/core/incidents/classification.js';
import { applyContainment, revertContainment } from '../../src/core/incidents/containment.js';
import type { Change } from '../../src/core/incidents/lifecycle-change.js';
import { openIncident, transition, triage } from '../../src/core/incidents/lifecycle.js';
import { addResponder, assignRole, removeResponder } from '../../src/core/incidents/roles.js';
import {
  aggregate,
  aggregateMetrics,
  incidentMetrics,
  metricsReport,
  percentile,
  type IncidentHistory,
} from '../../src/core/incidents/metrics.js';
import {
  externalUpdate,
  formatCount,
  internalUpdate,
  publicStatus,
  responderUpdate,
} from '../../src/core/incidents/templates.js';
import { describeEvent, timelineEventTypes, type TimelineEvent } from '../../src/core/incidents/timeline.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
/** 2026-11-27 10:00 UTC */
const T0 = Date.UTC(2026, 10, 27, 10, 0);

function refusal(fn: () => unknown): { code: string; status: number; message: string; path?: string } {
  try {
    fn();
  } catch (e) {
    if (e instanceof FirebreakError)
      return {
        code: e.code,
        status: e.status,
        message: e.message,
        ...(e.details.path ? { path: e.details.path } : {}),
      };
    throw e;
  }
  throw new Error('expected a refusal');
}

function detected(extra: { class?: IncidentClass; severity?: Severity } = {}): Incident {
  return openIncident({
    id: 'INC-7',
    app: 'support-bot',
    env: 'prod',
    title: 'Canary leaked in streamed answers',
    at: T0,
    actor: 'rule:canary-leak',
    ...extra,
  }).incident;
}

function triaged(): Incident {
  return triage(detected(), {
    at: T0 + 5 * MIN,
    actor: 'alice',
    class: 'privacy',
    severity: 'SEV1',
    commander: 'alice',
  }).incident;
}

function contained(): Incident {
  return applyContainment(triaged(), {
    at: T0 + 10 * MIN,
    actor: 'alice',
    ref: 'flag-1',
    action: 'safe-mode handoff',
  }).incident;
}

function resolved(): Incident {
  let i = contained();
  i = transition(i, 'remediated', { at: T0 + 2 * HOUR, actor: 'alice' }).incident;
  return transition(i, 'resolved', { at: T0 + 3 * HOUR, actor: 'alice' }).incident;
}

describe('opening an incident', () => {
  it('starts detected, with the event that opens the timeline', () => {
    const { incident, events } = openIncident({
      id: 'INC-7',
      app: 'support-bot',
      title: '  Canary leaked  ',
      at: T0,
      actor: 'rule:canary-leak',
      class: 'privacy',
      severity: 'SEV1',
      impactStartedAt: T0 - 4 * MIN,
    });
    expect(incident).toEqual({
      id: 'INC-7',
      app: 'support-bot',
      env: null,
      title: 'Canary leaked',
      status: 'detected',
      class: 'privacy',
      severity: 'SEV1',
      commander: null,
      communicationsLead: null,
      responders: [],
      containment: [],
      impactStartedAt: T0 - 4 * MIN,
      detectedAt: T0,
      triagedAt: null,
      statusAt: T0,
      postmortem: null,
      noPostmortemReason: null,
    });
    expect(events).toEqual([
      { type: 'status_change', at: T0, actor: 'rule:canary-leak', from: null, to: 'detected' },
    ]);
  });

  it('refuses a malformed id, a blank title, an unknown class and impact after detection', () => {
    const base = { app: 'a', title: 't', at: T0, actor: 'x' };
    expect(refusal(() => openIncident({ ...base, id: 'INC-0' }))).toEqual({
      code: 'validation_failed',
      status: 400,
      message: 'incident id "INC-0" is not INC-<n>',
      path: 'id',
    });
    expect(refusal(() => openIncident({ ...base, id: 'inc-3' })).message).toBe(
      'incident id "inc-3" is not INC-<n>',
    );
    expect(refusal(() => openIncident({ ...base, id: 'INC-1', title: ' ' })).message).toBe(
      'an incident needs a title',
    );
    expect(
      refusal(() => openIncident({ ...base, id: 'INC-1', class: 'outage' as IncidentClass })).message,
    ).toBe('class "outage" is not one of integrity | security | privacy | compliance | reputation');
    expect(refusal(() => openIncident({ ...base, id: 'INC-1', impactStartedAt: T0 + 1 })).message).toBe(
      'impact cannot start after the incident was detected',
    );
  });
});

describe('triage', () => {
  it('sets class, severity and commander and moves to triaged, each on the timeline', () => {
    const { incident, events } = transition(detected(), 'triaged', {
      at: T0 + 5 * MIN,
      actor: 'alice',
      class: 'privacy',
      severity: 'SEV1',
      commander: 'alice',
    });
    expect(incident).toMatchObject({
      status: 'triaged',
      class: 'privacy',
      severity: 'SEV1',
      commander: 'alice',
      triagedAt: T0 + 5 * MIN,
      statusAt: T0 + 5 * MIN,
    });
    expect(events).toEqual([
      { type: 'status_change', at: T0 + 5 * MIN, actor: 'alice', from: 'detected', to: 'triaged' },
      {
        type: 'classification_change',
        at: T0 + 5 * MIN,
        actor: 'alice',
        from: { class: null, severity: null },
        to: { class: 'privacy', severity: 'SEV1' },
      },
      { type: 'role_change', at: T0 + 5 * MIN, actor: 'alice', role: 'commander', from: null, to: 'alice' },
    ]);
  });

  it('keeps the class and severity a detection rule set, recording only what changed', () => {
    const { incident, events } = triage(detected({ class: 'privacy', severity: 'SEV1' }), {
      at: T0 + MIN,
      actor: 'bob',
      commander: 'bob',
    });
    expect(incident).toMatchObject({
      status: 'triaged',
      class: 'privacy',
      severity: 'SEV1',
      commander: 'bob',
    });
    expect(events.map((e) => e.type)).toEqual(['status_change', 'role_change']);
  });

  it('refuses triage without a class, a severity or a commander', () => {
    const at = { at: T0 + MIN, actor: 'bob' };
    expect(
      refusal(() => transition(detected(), 'triaged', { ...at, severity: 'SEV2', commander: 'bob' })),
    ).toEqual({
      code: 'validation_failed',
      status: 400,
      message: 'triage needs a class (integrity | security | privacy | compliance | reputation)',
      path: 'class',
    });
    expect(refusal(() => triage(detected(), { ...at, class: 'security', commander: 'bob' }))).toEqual({
      code: 'validation_failed',
      status: 400,
      message: 'triage needs a severity (SEV1 | SEV2 | SEV3 | SEV4)',
      path: 'severity',
    });
    expect(refusal(() => triage(detected(), { ...at, class: 'security', severity: 'SEV2' })).message).toBe(
      'triage needs a commander',
    );
    expect(
      refusal(() =>
        triage(detected(), { ...at, class: 'security', severity: 'SEV5' as Severity, commander: 'bob' }),
      ).message,
    ).toBe('severity "SEV5" is not one of SEV1 | SEV2 | SEV3 | SEV4');
  });

  it('refuses triaging twice', () => {
    expect(refusal(() => triage(contained(), { at: T0, actor: 'a', commander: 'a' }))).toEqual({
      code: 'conflict',
      status: 409,
      message: 'INC-7 is already triaged (it is contained)',
    });
    expect(refusal(() => transition(triaged(), 'triaged', { at: T0, actor: 'a' })).message).toBe(
      'INC-7 is already triaged',
    );
  });
});

describe('transitions', () => {
  it('walks the whole chain in order', () => {
    const statuses: string[] = [];
    let i = detected();
    statuses.push(i.status);
    i = triaged();
    statuses.push(i.status);
    i = applyContainment(i, {
      at: T0 + 10 * MIN,
      actor: 'alice',
      ref: 'f1',
      action: 'disable-tool send_email',
    }).incident;
    statuses.push(i.status);
    for (const [to, dt] of [
      ['remediated', 2],
      ['resolved', 3],
    ] as const) {
      i = transition(i, to, { at: T0 + dt * HOUR, actor: 'alice' }).incident;
      statuses.push(i.status);
    }
    i = transition(i, 'closed', { at: T0 + 3 * DAY, actor: 'alice', postmortem: 'PM-3' }).incident;
    statuses.push(i.status);
    expect(statuses).toEqual(['detected', 'triaged', 'contained', 'remediated', 'resolved', 'closed']);
    expect(i.postmortem).toBe('PM-3');
  });

  it('refuses skipping a status, naming the next one', () => {
    expect(refusal(() => transition(triaged(), 'resolved', { at: T0, actor: 'a' }))).toEqual({
      code: 'conflict',
      status: 409,
      message:
        'INC-7 cannot go from triaged to resolved: the next status is contained (detected → triaged → contained → remediated → resolved → closed)',
    });
    expect(refusal(() => transition(detected(), 'remediated', { at: T0, actor: 'a' })).message).toBe(
      'INC-7 cannot go from detected to remediated: the next status is triaged (detected → triaged → contained → remediated → resolved → closed)',
    );
    expect(
      refusal(() => transition(contained(), 'closed', { at: T0, actor: 'a', postmortem: 'PM-1' })).message,
    ).toBe(
      'INC-7 cannot go from contained to closed: the next status is remediated (detected → triaged → contained → remediated → resolved → closed)',
    );
  });

  it('refuses going back except by reopening a resolved incident', () => {
    expect(refusal(() => transition(contained(), 'triaged', { at: T0, actor: 'a', reason: 'x' }))).toEqual({
      code: 'conflict',
      status: 409,
      message:
        'INC-7 cannot go back from contained to triaged; only a resolved incident can be reopened (to triaged, with a reason)',
    });
    expect(refusal(() => transition(resolved(), 'contained', { at: T0, actor: 'a' })).message).toBe(
      'INC-7 cannot go back from resolved to contained; only a resolved incident can be reopened (to triaged, with a reason)',
    );
    expect(refusal(() => transition(triaged(), 'detected', { at: T0, actor: 'a' })).message).toBe(
      'INC-7 cannot go back from triaged to detected; only a resolved incident can be reopened (to triaged, with a reason)',
    );
  });

  it('refuses an unknown status', () => {
    expect(refusal(() => transition(triaged(), 'mitigated' as 'contained', { at: T0, actor: 'a' }))).toEqual({
      code: 'validation_failed',
      status: 400,
      message:
        'status "mitigated" is not one of detected | triaged | contained | remediated | resolved | closed',
      path: 'status',
    });
  });

  it('refuses contained without a containment action in force', () => {
    expect(refusal(() => transition(triaged(), 'contained', { at: T0, actor: 'a' }))).toEqual({
      code: 'conflict',
      status: 409,
      message:
        'INC-7 has no containment action in force: apply one (disable a tool or model, safe mode, rollback, narrow retrieval, block a user) to contain it',
    });
  });

  it('reopens a resolved incident only with a reason, and triage starts again', () => {
    expect(refusal(() => transition(resolved(), 'triaged', { at: T0 + 4 * HOUR, actor: 'a' }))).toEqual({
      code: 'validation_failed',
      status: 400,
      message: 'reopening INC-7 needs a reason',
      path: 'reason',
    });
    const { incident, events } = transition(resolved(), 'triaged', {
      at: T0 + 4 * HOUR,
      actor: 'bob',
      reason: 'leak seen again',
    });
    expect(incident).toMatchObject({ status: 'triaged', triagedAt: T0 + 4 * HOUR, statusAt: T0 + 4 * HOUR });
    expect(events).toEqual([
      {
        type: 'status_change',
        at: T0 + 4 * HOUR,
        actor: 'bob',
        from: 'resolved',
        to: 'triaged',
        reason: 'leak seen again',
      },
    ]);
    // The containment applied before resolution is still in force, so it can be marked contained again.
    expect(transition(incident, 'contained', { at: T0 + 5 * HOUR, actor: 'bob' }).incident.status).toBe(
      'contained',
    );
  });
});

describe('containment before triage', () => {
  const action = { at: T0 + MIN, actor: 'rule:canary-leak', ref: 'flag-9', action: 'safe-mode handoff' };
  const notTriaged =
    'INC-7 is not triaged: triage it first (class, severity, commander), or contain it with override, which is recorded on the timeline';

  it('is refused without the override flag, by applyContainment and by transition', () => {
    expect(refusal(() => applyContainment(detected(), action))).toEqual({
      code: 'conflict',
      status: 409,
      message: notTriaged,
    });
    expect(refusal(() => transition(detected(), 'contained', { at: T0, actor: 'a' })).message).toBe(
      notTriaged,
    );
  });

  it('is allowed with the override, which both events record', () => {
    const { incident, events } = applyContainment(detected(), {
      ...action,
      override: true,
      reason: 'canary leak',
    });
    expect(incident).toMatchObject({
      status: 'contained',
      statusAt: T0 + MIN,
      triagedAt: null,
      containment: [{ ref: 'flag-9', action: 'safe-mode handoff', at: T0 + MIN, actor: 'rule:canary-leak' }],
    });
    expect(events).toEqual([
      {
        type: 'containment_applied',
        at: T0 + MIN,
        actor: 'rule:canary-leak',
        ref: 'flag-9',
        action: 'safe-mode handoff',
        reason: 'canary leak',
        override: true,
      },
      {
        type: 'status_change',
        at: T0 + MIN,
        actor: 'rule:canary-leak',
        from: 'detected',
        to: 'contained',
        override: true,
      },
    ]);
    expect(describeEvent(events[1] as TimelineEvent)).toBe(
      'detected → contained (before triage, by override)',
    );
  });

  it('still needs triage (in place) before remediation', () => {
    const early = applyContainment(detected({ class: 'privacy', severity: 'SEV1' }), {
      ...action,
      override: true,
    }).incident;
    expect(refusal(() => transition(early, 'remediated', { at: T0 + HOUR, actor: 'a' }))).toEqual({
      code: 'conflict',
      status: 409,
      message:
        'INC-7 was contained before triage: triage it (class, severity, commander) before it can be remediated',
    });
    expect(refusal(() => transition(early, 'triaged', { at: T0 + HOUR, actor: 'a' })).message).toBe(
      'INC-7 was contained before triage: triage it (class, severity, commander) without changing its status',
    );
    const { incident, events } = triage(early, { at: T0 + 3 * MIN, actor: 'carol', commander: 'carol' });
    expect(incident).toMatchObject({
      status: 'contained',
      statusAt: T0 + MIN,
      triagedAt: T0 + 3 * MIN,
      commander: 'carol',
    });
    expect(events).toEqual([
      { type: 'role_change', at: T0 + 3 * MIN, actor: 'carol', role: 'commander', from: null, to: 'carol' },
    ]);
    expect(transition(incident, 'remediated', { at: T0 + HOUR, actor: 'carol' }).incident.status).toBe(
      'remediated',
    );
  });

  it('the direct transition with override needs containment in force too', () => {
    expect(
      refusal(() => transition(detected(), 'contained', { at: T0, actor: 'a', override: true })).message,
    ).toMatch(/^INC-7 has no containment action in force/);
  });
});

describe('containment actions', () => {
  it('adds to an already contained incident without a status change', () => {
    const { incident, events } = applyContainment(contained(), {
      at: T0 + 20 * MIN,
      actor: 'bob',
      ref: 'flag-2',
      action: 'disable-tool send_email',
    });
    expect(incident.status).toBe('contained');
    expect(incident.containment.map((c) => c.ref)).toEqual(['flag-1', 'flag-2']);
    expect(events.map((e) => e.type)).toEqual(['containment_applied']);
  });

  it('refuses a duplicate, a resolved or closed incident, and a missing reference', () => {
    const at = { at: T0, actor: 'a', action: 'rollback' };
    expect(refusal(() => applyContainment(contained(), { ...at, ref: 'flag-1' }))).toEqual({
      code: 'conflict',
      status: 409,
      message: 'containment flag-1 is already in force on INC-7',
    });
    expect(refusal(() => applyContainment(resolved(), { ...at, ref: 'd-1' })).message).toBe(
      'INC-7 is resolved: reopen it before applying containment',
    );
    expect(refusal(() => applyContainment(triaged(), { ...at, ref: ' ' }))).toMatchObject({
      code: 'validation_failed',
      message: 'a containment action needs a reference',
    });
  });

  it('reverts in any status, closed included, without moving the status back', () => {
    const closed = transition(resolved(), 'closed', {
      at: T0 + DAY,
      actor: 'a',
      postmortem: 'PM-1',
    }).incident;
    const { incident, events } = revertContainment(closed, {
      at: T0 + 2 * DAY,
      actor: 'alice',
      ref: 'flag-1',
      reason: 'fix verified',
    });
    expect(incident).toMatchObject({ status: 'closed', containment: [] });
    expect(events).toEqual([
      {
        type: 'containment_reverted',
        at: T0 + 2 * DAY,
        actor: 'alice',
        ref: 'flag-1',
        action: 'safe-mode handoff',
        reason: 'fix verified',
      },
    ]);
    expect(refusal(() => revertContainment(incident, { at: T0, actor: 'a', ref: 'flag-1' }))).toEqual({
      code: 'conflict',
      status: 409,
      message: 'no containment flag-1 is in force on INC-7',
    });
  });
});

describe('closing', () => {
  const at = { at: T0 + DAY, actor: 'alice' };

  it('needs a postmortem reference or a reason for having none, not both', () => {
    expect(refusal(() => transition(resolved(), 'closed', at))).toEqual({
      code: 'validation_failed',
      status: 400,
      message: 'closing INC-7 needs a postmortem reference, or a reason for having none (SEV3 and SEV4 only)',
      path: 'postmortem',
    });
    expect(
      refusal(() => transition(resolved(), 'closed', { ...at, postmortem: 'PM-1', noPostmortem: 'x' }))
        .message,
    ).toBe('closing INC-7: give a postmortem or a reason for having none, not both');
  });

  it('refuses closing a SEV1 or SEV2 without a postmortem', () => {
    expect(
      refusal(() => transition(resolved(), 'closed', { ...at, noPostmortem: 'false positive' })),
    ).toEqual({
      code: 'conflict',
      status: 409,
      message:
        'INC-7 is SEV1: it closes with a postmortem (postmortems are due for SEV1 and SEV2); closing without one is for SEV3 and SEV4',
    });
  });

  it('closes a SEV3 without a postmortem, recording why', () => {
    const sev3 = classify(resolved(), {
      at: T0 + 4 * HOUR,
      actor: 'alice',
      severity: 'SEV3',
      reason: 'one user',
    }).incident;
    const { incident, events } = transition(sev3, 'closed', { ...at, noPostmortem: 'near miss, guard held' });
    expect(incident).toMatchObject({
      status: 'closed',
      postmortem: null,
      noPostmortemReason: 'near miss, guard held',
    });
    expect(events).toEqual([
      {
        type: 'status_change',
        at: T0 + DAY,
        actor: 'alice',
        from: 'resolved',
        to: 'closed',
        noPostmortemReason: 'near miss, guard held',
      },
    ]);
  });

  it('makes the incident final', () => {
    const closed = transition(resolved(), 'closed', { ...at, postmortem: 'PM-4' });
    expect(closed.events[0]).toMatchObject({ postmortem: 'PM-4' });
    const final = 'INC-7 is closed; a closed incident does not change (open a new incident)';
    expect(refusal(() => transition(closed.incident, 'triaged', { ...at, reason: 'again' }))).toEqual({
      code: 'conflict',
      status: 409,
      message: final,
    });
    expect(refusal(() => assignRole(closed.incident, { ...at, role: 'commander', to: 'bob' })).message).toBe(
      final,
    );
    expect(refusal(() => classify(closed.incident, { ...at, severity: 'SEV2' })).message).toBe(final);
  });
});

describe('roles', () => {
  const at = { at: T0 + 30 * MIN, actor: 'alice' };

  it('records a hand-over of command with from and to', () => {
    const { incident, events } = assignRole(contained(), {
      ...at,
      role: 'commander',
      to: 'bob',
      reason: 'shift change',
    });
    expect(incident.commander).toBe('bob');
    expect(events).toEqual([
      { type: 'role_change', ...at, role: 'commander', from: 'alice', to: 'bob', reason: 'shift change' },
    ]);
    expect(describeEvent(events[0] as TimelineEvent)).toBe(
      'commander handed over from alice to bob (shift change)',
    );
  });

  it('refuses a hand-over to the holder, and leaving a triaged incident without a commander', () => {
    expect(refusal(() => assignRole(contained(), { ...at, role: 'commander', to: 'alice' }))).toEqual({
      code: 'conflict',
      status: 409,
      message: 'alice is already commander of INC-7',
    });
    expect(refusal(() => assignRole(contained(), { ...at, role: 'commander', to: null })).message).toBe(
      'INC-7 needs a commander from triage on: hand command over to someone instead',
    );
  });

  it('assigns and releases the communications lead', () => {
    const withLead = assignRole(contained(), { ...at, role: 'communications_lead', to: 'dana' });
    expect(withLead.incident.communicationsLead).toBe('dana');
    expect(withLead.events[0]).toMatchObject({ role: 'communications_lead', from: null, to: 'dana' });
    const released = assignRole(withLead.incident, { ...at, role: 'communications_lead', to: null });
    expect(released.incident.communicationsLead).toBeNull();
    expect(describeEvent(released.events[0] as TimelineEvent)).toBe('dana is no longer communications lead');
    expect(
      refusal(() => assignRole(released.incident, { ...at, role: 'communications_lead', to: null })).message,
    ).toBe('INC-7 has no communications lead');
  });

  it('adds and removes responders, refusing duplicates and strangers', () => {
    const added = addResponder(contained(), { ...at, name: 'erin' });
    expect(added.incident.responders).toEqual(['erin']);
    expect(added.events[0]).toMatchObject({ type: 'role_change', role: 'responder', from: null, to: 'erin' });
    expect(refusal(() => addResponder(added.incident, { ...at, name: 'erin' })).message).toBe(
      'erin is already a responder on INC-7',
    );
    const removed = removeResponder(added.incident, { ...at, name: 'erin' });
    expect(removed.incident.responders).toEqual([]);
    expect(removed.events[0]).toMatchObject({ from: 'erin', to: null });
    expect(refusal(() => removeResponder(removed.incident, { ...at, name: 'erin' })).message).toBe(
      'erin is not a responder on INC-7',
    );
  });

  it('refuses assigning the responder role', () => {
    expect(
      refusal(() => assignRole(contained(), { ...at, role: 'responder' as 'commander', to: 'x' })),
    ).toEqual({
      code: 'validation_failed',
      status: 400,
      message: 'responders are added and removed, not assigned',
      path: 'role',
    });
  });
});

describe('classification changes', () => {
  it('records from and to, and refuses a change that changes nothing', () => {
    const { incident, events } = classify(contained(), { at: T0 + HOUR, actor: 'alice', severity: 'SEV2' });
    expect(incident.severity).toBe('SEV2');
    expect(describeEvent(events[0] as TimelineEvent)).toBe('SEV1 privacy → SEV2 privacy');
    expect(
      refusal(() => classify(incident, { at: T0, actor: 'a', class: 'privacy', severity: 'SEV2' })),
    ).toEqual({
      code: 'conflict',
      status: 409,
      message: 'INC-7 is already SEV2 privacy',
    });
    expect(refusal(() => classify(incident, { at: T0, actor: 'a' })).message).toBe(
      'give a class or a severity to change on INC-7',
    );
  });

  it('keeps a richer record’s own fields (the functions are generic)', () => {
    const row = { ...contained(), tenantCount: 3 };
    const next: Change<typeof row> = classify(row, { at: T0, actor: 'a', class: 'security' });
    expect(next.incident.tenantCount).toBe(3);
  });
});

describe('timeline', () => {
  it('lists every event type once and describes each', () => {
    expect(timelineEventTypes).toHaveLength(15);
    const base = { at: T0, actor: 'system' };
    const lines = (
      [
        { ...base, type: 'signal', signal: 's-1', source: 'finding', summary: 'canary in output' },
        { ...base, type: 'note', text: 'looking at traces' },
        { ...base, type: 'update_posted', audience: 'internal', text: '…', channels: ['slack-ops'] },
        { ...base, type: 'page_sent', page: 'p-1', target: 'alice', level: 1, channel: 'pagerduty' },
        { ...base, type: 'page_acknowledged', page: 'p-1', actor: 'alice' },
        { ...base, type: 'escalated', page: 'p-1', fromLevel: 1, toLevel: 2, target: 'bob' },
        {
          ...base,
          type: 'delivery_failed',
          delivery: 'd-1',
          channel: 'slack-ops',
          attempt: 8,
          error: 'HTTP 503',
          nextAttemptAt: null,
        },
        { ...base, type: 'update_overdue', dueAt: T0, reminder: 1 },
        { ...base, type: 'update_overdue', dueAt: T0, reminder: 2 },
        { ...base, type: 'clock_reminder', clock: 'gdpr-art33', dueAt: T0 + 72 * HOUR, reminder: '50%' },
        { ...base, type: 'clock_due', clock: 'gdpr-art33', dueAt: T0 + 72 * HOUR },
      ] satisfies TimelineEvent[]
    ).map(describeEvent);
    expect(lines).toEqual([
      'signal s-1 (finding): canary in output',
      'note: looking at traces',
      'internal update posted to slack-ops',
      'paged alice (level 1) via pagerduty',
      'page p-1 acknowledged by alice',
      'escalated from level 1 to level 2: bob',
      'delivery to slack-ops failed (attempt 8): HTTP 503; no attempt left',
      'internal update overdue since 2026-11-27T10:00:00.000Z',
      'internal update overdue since 2026-11-27T10:00:00.000Z (reminder 2)',
      'gdpr-art33 reminder: 50% of the time to 2026-11-30T10:00:00.000Z has passed',
      'gdpr-art33 deadline reached (2026-11-30T10:00:00.000Z)',
    ]);
  });
});

/** A full history: harm at T0-12m, first signal at T0-2m (observed T0-9m), detected T0, paged T0+1m. */
function history(opts: {
  id?: string;
  app?: string;
  severity?: Severity;
  cls?: IncidentClass;
  ackAfter?: number;
  containAfter?: number;
  resolveAfter?: number | null;
}): IncidentHistory {
  const id = opts.id ?? 'INC-1';
  const timeline: TimelineEvent[] = [];
  const take = (c: Change): Incident => {
    timeline.push(...c.events);
    return c.incident;
  };
  let i = take(
    openIncident({
      id,
      app: opts.app ?? 'support-bot',
      title: 't',
      at: T0,
      actor: 'rule:r',
      impactStartedAt: T0 - 12 * MIN,
    }),
  );
  timeline.push(
    {
      type: 'signal',
      at: T0 - 2 * MIN,
      actor: 'rule:r',
      signal: 's1',
      source: 'finding',
      summary: 'x',
      observedAt: T0 - 9 * MIN,
    },
    // Linked later and observed after detection: does not move MTTD.
    { type: 'signal', at: T0 + 50 * MIN, actor: 'bob', signal: 's2', source: 'feedback', summary: 'y' },
    {
      type: 'page_sent',
      at: T0 + MIN,
      actor: 'system',
      page: 'p1',
      target: 'alice',
      level: 1,
      channel: 'pd',
    },
    { type: 'page_acknowledged', at: T0 + MIN + (opts.ackAfter ?? 3 * MIN), actor: 'alice', page: 'p1' },
  );
  i = take(
    triage(i, {
      at: T0 + 5 * MIN,
      actor: 'alice',
      class: opts.cls ?? 'privacy',
      severity: opts.severity ?? 'SEV1',
      commander: 'alice',
    }),
  );
  i = take(
    applyContainment(i, {
      at: T0 + (opts.containAfter ?? 20 * MIN),
      actor: 'alice',
      ref: 'f',
      action: 'safe-mode handoff',
    }),
  );
  if (opts.resolveAfter !== null) {
    const r = opts.resolveAfter ?? 2 * HOUR;
    i = take(transition(i, 'remediated', { at: T0 + r - MIN, actor: 'alice' }));
    i = take(transition(i, 'resolved', { at: T0 + r, actor: 'alice' }));
  }
  return { incident: i, timeline };
}

describe('metrics', () => {
  it('computes MTTD, MTTA, MTTC and MTTR from the timeline', () => {
    const h = history({});
    expect(incidentMetrics(h.incident, h.timeline)).toEqual({
      id: 'INC-1',
      app: 'support-bot',
      class: 'privacy',
      severity: 'SEV1',
      mttd: 12 * MIN, // impactStartedAt is earlier than the first signal's observedAt
      mtta: 3 * MIN,
      mttc: 20 * MIN,
      mttr: 2 * HOUR,
    });
  });

  it('falls back to signals for MTTD, and leaves unknown metrics null', () => {
    const h = history({ resolveAfter: null });
    const noImpact = { ...h.incident, impactStartedAt: null };
    const withoutPage = h.timeline.filter((e) => e.type !== 'page_sent');
    expect(incidentMetrics(noImpact, withoutPage)).toMatchObject({
      mttd: 9 * MIN,
      mtta: null,
      mttc: 20 * MIN,
      mttr: null,
    });
    const bare = openIncident({ id: 'INC-2', app: 'a', title: 't', at: T0, actor: 'x' });
    expect(incidentMetrics(bare.incident, bare.events)).toMatchObject({
      mttd: null,
      mtta: null,
      mttc: null,
      mttr: null,
    });
  });

  it('counts MTTR to the last resolution, and not at all while reopened', () => {
    const h = history({ resolveAfter: HOUR });
    const timeline = [...h.timeline];
    const reopened = transition(h.incident, 'triaged', {
      at: T0 + 2 * HOUR,
      actor: 'bob',
      reason: 'recurred',
    });
    timeline.push(...reopened.events);
    expect(incidentMetrics(reopened.incident, timeline).mttr).toBeNull();
    let i = transition(reopened.incident, 'contained', { at: T0 + 3 * HOUR, actor: 'bob' });
    timeline.push(...i.events);
    i = transition(i.incident, 'remediated', { at: T0 + 4 * HOUR, actor: 'bob' });
    timeline.push(...i.events);
    i = transition(i.incident, 'resolved', { at: T0 + 5 * HOUR, actor: 'bob' });
    timeline.push(...i.events);
    expect(incidentMetrics(i.incident, timeline)).toMatchObject({ mttc: 20 * MIN, mttr: 5 * HOUR });
  });

  it('interpolates percentiles (median of an even count is the mean of the middle two)', () => {
    const ten = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect(percentile(ten, 0.5)).toBe(5.5);
    expect(percentile(ten, 0.9)).toBeCloseTo(9.1, 10);
    expect(percentile([], 0.5)).toBeNull();
    expect(aggregate([30, 10, 20])).toEqual({ count: 3, mean: 20, median: 20, p90: 28 });
    expect(aggregate([])).toEqual({ count: 0, mean: null, median: null, p90: null });
  });

  it('aggregates per app, class and severity, leaving missing values out', () => {
    const histories = [
      history({ id: 'INC-1', app: 'bot', severity: 'SEV1', containAfter: 10 * MIN, resolveAfter: HOUR }),
      history({ id: 'INC-2', app: 'bot', severity: 'SEV2', containAfter: 20 * MIN, resolveAfter: 3 * HOUR }),
      history({
        id: 'INC-3',
        app: 'search',
        severity: 'SEV1',
        cls: 'integrity',
        containAfter: 30 * MIN,
        resolveAfter: null,
      }),
    ];
    const byApp = metricsReport(histories, 'app');
    expect(byApp.map((g) => [g.group, g.incidents])).toEqual([
      ['bot', 2],
      ['search', 1],
    ]);
    expect(byApp[0]?.metrics.mttc).toEqual({ count: 2, mean: 15 * MIN, median: 15 * MIN, p90: 19 * MIN });
    expect(byApp[0]?.metrics.mttr).toEqual({ count: 2, mean: 2 * HOUR, median: 2 * HOUR, p90: 2.8 * HOUR });
    expect(byApp[1]?.metrics.mttr).toEqual({ count: 0, mean: null, median: null, p90: null });

    const bySeverity = metricsReport(histories, 'severity');
    expect(bySeverity.map((g) => [g.group, g.metrics.mttc.mean])).toEqual([
      ['SEV1', 20 * MIN],
      ['SEV2', 20 * MIN],
    ]);
    const byClass = aggregateMetrics(
      histories.map((h) => incidentMetrics(h.incident, h.timeline)),
      'class',
    );
    expect(byClass.map((g) => g.group)).toEqual(['integrity', 'privacy']);
    const all = metricsReport(histories, 'all');
    expect(all).toHaveLength(1);
    expect(all[0]?.metrics.mtta).toEqual({ count: 3, mean: 3 * MIN, median: 3 * MIN, p90: 3 * MIN });
    const untriaged = openIncident({ id: 'INC-9', app: 'bot', title: 't', at: T0, actor: 'x' });
    expect(
      metricsReport([{ incident: untriaged.incident, timeline: untriaged.events }], 'class')[0]?.group,
    ).toBe('unset');
  });
});

describe('update cadence', () => {
  it('is owed from triage on the severity’s interval', () => {
    const i = triaged(); // SEV1, triaged at T0+5m
    expect(nextUpdateDue(i, null)).toBe(T0 + 35 * MIN);
    expect(nextUpdateDue(i, T0 + 20 * MIN)).toBe(T0 + 50 * MIN);
    expect(overdue(i, T0 + 20 * MIN, T0 + 50 * MIN)).toBe(false);
    expect(overdue(i, T0 + 20 * MIN, T0 + 50 * MIN + 1)).toBe(true);
    const sev2 = { ...i, severity: 'SEV2' as const };
    expect(nextUpdateDue(sev2, null)).toBe(T0 + 65 * MIN);
    expect(nextUpdateDue({ ...i, severity: 'SEV3' }, null)).toBe(T0 + 5 * MIN + 4 * HOUR);
  });

  it('is not owed for SEV4, before triage or once resolved', () => {
    expect(nextUpdateDue({ ...triaged(), severity: 'SEV4' }, null)).toBeNull();
    expect(nextUpdateDue(detected({ severity: 'SEV1' }), null)).toBeNull();
    expect(nextUpdateDue(resolved(), T0)).toBeNull();
    expect(overdue(resolved(), T0, T0 + DAY)).toBe(false);
  });

  it('restarts on reopen, and takes configured intervals', () => {
    const reopened = transition(resolved(), 'triaged', {
      at: T0 + 5 * HOUR,
      actor: 'a',
      reason: 'again',
    }).incident;
    expect(nextUpdateDue(reopened, T0 + 2 * HOUR)).toBe(T0 + 5 * HOUR + 30 * MIN);
    const cadence = resolveCadence({ SEV1: 15 * MIN, SEV4: 24 * HOUR });
    expect(cadence).toEqual({ ...defaultUpdateCadence, SEV1: 15 * MIN, SEV4: 24 * HOUR });
    expect(nextUpdateDue(triaged(), null, cadence)).toBe(T0 + 20 * MIN);
  });

  it('finds the last internal update on the timeline', () => {
    const base = { actor: 'dana', channels: [] };
    expect(
      lastInternalUpdateAt([
        { ...base, type: 'update_posted', at: T0 + 10 * MIN, audience: 'internal', text: 'a' },
        { ...base, type: 'update_posted', at: T0 + 40 * MIN, audience: 'external', text: 'b' },
        { ...base, type: 'update_posted', at: T0 + 30 * MIN, audience: 'internal', text: 'c' },
      ]),
    ).toBe(T0 + 30 * MIN);
    expect(lastInternalUpdateAt([])).toBeNull();
  });
});

describe('update templates', () => {
  const incident = addResponder(
    assignRole(contained(), { at: T0, actor: 'a', role: 'communications_lead', to: 'dana' }).incident,
    {
      at: T0,
      actor: 'a',
      name: 'erin',
    },
  ).incident;

  it('writes the internal update', () => {
    expect(
      internalUpdate(incident, {
        at: T0 + 30 * MIN,
        summary: 'A planted canary appeared in streamed answers; safe mode is on.',
        impact: { users: 1204, tenants: 1, traces: 5678, from: T0 - 12 * MIN, to: T0 + 10 * MIN },
        actions: ['Canary rotated', ' '],
        nextUpdateAt: T0 + 60 * MIN,
      }),
    ).toBe(
      [
        'INC-7 · SEV1 privacy · contained — Canary leaked in streamed answers',
        'Update of 2026-11-27 10:30 UTC',
        'App: support-bot (prod)',
        'Status: contained since 2026-11-27 10:10 UTC; detected 2026-11-27 10:00 UTC',
        'Summary: A planted canary appeared in streamed answers; safe mode is on.',
        'Impact: 1,204 users, 1 tenant, 5,678 traces affected between 2026-11-27 09:48 UTC and 2026-11-27 10:10 UTC',
        'Containment in force:',
        '- safe-mode handoff (since 2026-11-27 10:10 UTC, by alice)',
        'Actions taken:',
        '- Canary rotated',
        'Commander: alice · Communications: dana · Responders: erin',
        'Next update: by 2026-11-27 11:00 UTC',
      ].join('\n'),
    );
  });

  it('says what is unknown in the internal update rather than leaving it out', () => {
    const text = internalUpdate(detected(), { at: T0, nextUpdateAt: null });
    expect(text.split('\n')).toEqual([
      'INC-7 · untriaged · detected — Canary leaked in streamed answers',
      'Update of 2026-11-27 10:00 UTC',
      'App: support-bot (prod)',
      'Status: detected since 2026-11-27 10:00 UTC; detected 2026-11-27 10:00 UTC',
      'Impact: being assessed',
      'Containment in force:',
      '- none',
      'Commander: unassigned · Communications: unassigned',
      'Next update: none scheduled',
    ]);
  });

  it('writes the external update without internal details', () => {
    const text = externalUpdate(incident, {
      at: T0 + 30 * MIN,
      headline: 'Support assistant answers',
      message:
        'Some answers showed text that was not meant for customers. The assistant now hands chats to our team.',
      affectedUsers: 1204,
      nextUpdateAt: T0 + 60 * MIN,
    });
    expect(text).toBe(
      [
        'Identified: Support assistant answers',
        'Some answers showed text that was not meant for customers. The assistant now hands chats to our team.',
        'Users affected: 1,204.',
        'We will post the next update by 2026-11-27 11:00 UTC.',
        'Posted 2026-11-27 10:30 UTC.',
      ].join('\n'),
    );
    for (const internal of ['INC-7', 'privacy', 'SEV1', 'alice', 'canary', 'Canary'])
      expect(text).not.toContain(internal);
    expect(
      externalUpdate(resolved(), { at: T0, headline: 'h', message: 'Fixed.', nextUpdateAt: T0 + HOUR }).split(
        '\n',
      ),
    ).toEqual(['Resolved: h', 'Fixed.', 'Posted 2026-11-27 10:00 UTC.']);
    expect(
      refusal(() => externalUpdate(incident, { at: T0, headline: 'h', message: ' ', nextUpdateAt: null })),
    ).toMatchObject({
      code: 'validation_failed',
      message: 'an external update needs a message',
    });
  });

  it('maps the lifecycle to status-page wording', () => {
    expect(
      (['detected', 'triaged', 'contained', 'remediated', 'resolved', 'closed'] as const).map(publicStatus),
    ).toEqual(['Investigating', 'Investigating', 'Identified', 'Monitoring', 'Resolved', 'Resolved']);
  });

  it('writes a Conditions / Actions / Needs report', () => {
    expect(
      responderUpdate(incident, {
        at: T0 + 15 * MIN,
        conditions: 'Safe mode holds; no new canary hits since 10:10.',
        actions: ['Reviewing the 12 traces with hits', 'Diffing release 7 against 6'],
        needs: [],
      }),
    ).toBe(
      [
        'INC-7 · SEV1 privacy · contained — CAN report 2026-11-27 10:15 UTC',
        'Conditions: Safe mode holds; no new canary hits since 10:10.',
        'Actions:',
        '- Reviewing the 12 traces with hits',
        '- Diffing release 7 against 6',
        'Needs:',
        '- nothing',
      ].join('\n'),
    );
  });

  it('groups thousands without locale data', () => {
    expect([0, 999, 1000, 1234567, -4200, 1.5].map(formatCount)).toEqual([
      '0',
      '999',
      '1,000',
      '1,234,567',
      '-4,200',
      '1.5',
    ]);
  });
});

describe('compliance clocks', () => {
  const aware = T0;

  it('runs GDPR Art. 33 for 72 hours from awareness', () => {
    expect(deadlines({ personalDataBreach: true }, aware)).toEqual([
      {
        clock: 'gdpr-art33',
        regulation: 'GDPR',
        article: 'Art. 33(1)',
        awareAt: aware,
        dueAt: aware + 72 * HOUR,
        label: 'notify the supervisory authority of the personal-data breach within 72 hours of awareness',
      },
    ]);
  });

  it('runs AI Act Art. 73 for 15, 10 or 2 days by what happened, the earliest binding', () => {
    const ai = (flags: Parameters<typeof deadlines>[0]) => {
      const [d] = deadlines(flags, aware);
      return d && [d.article, (d.dueAt - aware) / DAY, d.label];
    };
    expect(ai({ aiActSeriousIncident: true })).toEqual([
      'Art. 73(2)',
      15,
      'report the serious incident (serious incident) to the market surveillance authority within 15 days of awareness',
    ]);
    expect(ai({ death: true })).toEqual([
      'Art. 73(4)',
      10,
      'report the serious incident (death of a person) to the market surveillance authority within 10 days of awareness',
    ]);
    expect(ai({ aiActSeriousIncident: true, widespreadInfringement: true })?.slice(0, 2)).toEqual([
      'Art. 73(3)',
      2,
    ]);
    expect(ai({ criticalInfrastructureDisruption: true, death: true })).toEqual([
      'Art. 73(3)',
      2,
      'report the serious incident (critical-infrastructure disruption) to the market surveillance authority within 2 days of awareness',
    ]);
    expect(ai({ widespreadInfringement: true, criticalInfrastructureDisruption: true })?.[2]).toBe(
      'report the serious incident (widespread infringement, critical-infrastructure disruption) to the market surveillance authority within 2 days of awareness',
    );
    expect(deadlines({}, aware)).toEqual([]);
    expect(deadlines({ personalDataBreach: false, aiActSeriousIncident: false }, aware)).toEqual([]);
  });

  it('lists both clocks, earliest first', () => {
    expect(
      deadlines({ personalDataBreach: true, aiActSeriousIncident: true }, aware).map((d) => d.clock),
    ).toEqual(['gdpr-art33', 'ai-act-art73']);
    expect(
      deadlines({ personalDataBreach: true, widespreadInfringement: true }, aware).map((d) => d.clock),
    ).toEqual(['ai-act-art73', 'gdpr-art33']);
  });

  it('reminds at 50%, 75% and 90% of the time and when it runs out', () => {
    const gdpr = deadlines({ personalDataBreach: true }, aware)[0] as Deadline;
    expect(reminderSchedule(gdpr).map((r) => [r.kind, (r.at - aware) / HOUR, r.key])).toEqual([
      ['50%', 36, 'gdpr-art33:50%'],
      ['75%', 54, 'gdpr-art33:75%'],
      ['90%', 64.8, 'gdpr-art33:90%'],
      ['overdue', 72, 'gdpr-art33:overdue'],
    ]);
    expect(reminders(gdpr, aware + 36 * HOUR - 1)).toEqual([]);
    expect(reminders(gdpr, aware + 60 * HOUR).map((r) => r.kind)).toEqual(['50%', '75%']);
    expect(reminders(gdpr, aware + 100 * HOUR)).toHaveLength(4);
    const [first] = reminders(gdpr, aware + 60 * HOUR);
    expect(first?.label).toBe(
      'GDPR Art. 33(1): 50% of the time used; notify the supervisory authority of the personal-data breach within 72 hours of awareness',
    );
    const twoDays = deadlines({ widespreadInfringement: true }, aware)[0] as Deadline;
    expect(reminderSchedule(twoDays).map((r) => (r.at - aware) / HOUR)).toEqual([24, 36, 43.2, 48]);
  });

  it('turns a fired reminder into its timeline event', () => {
    const gdpr = deadlines({ personalDataBreach: true }, aware)[0] as Deadline;
    const [half, , , due] = reminderSchedule(gdpr);
    expect(half && reminderEvent(half)).toEqual({
      type: 'clock_reminder',
      at: aware + 36 * HOUR,
      actor: 'system',
      clock: 'gdpr-art33',
      dueAt: aware + 72 * HOUR,
      reminder: '50%',
    });
    expect(due && reminderEvent(due, 'timer')).toEqual({
      type: 'clock_due',
      at: aware + 72 * HOUR,
      actor: 'timer',
      clock: 'gdpr-art33',
      dueAt: aware + 72 * HOUR,
    });
  });
});
