import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { FirebreakError } from '../core/errors.js';
import {
  addIncidentNote,
  assignIncidentRole,
  changeIncidentResponders,
  classifyIncident,
  containIncident,
  getIncident,
  getIncidentMetrics,
  incidentMetricsReport,
  listIncidents,
  metricGroupings,
  openIncident,
  parseTimeInput,
  postIncidentUpdate,
  revertIncidentContainment,
  setIncidentCompliance,
  transitionIncident,
  triageIncident,
} from '../ops/incidents.js';
import { parseInput, queryInt, text } from './input.js';
import type { ApiContext } from './routes.js';

/**
 * Incidents under /api. Viewers read; responders open incidents, write notes and updates, contain and
 * revert; commanders triage, move the lifecycle, change roles and compliance flags. Class, severity and
 * status are plain text here: the core checks them and its message is the answer (400 or 409).
 */
const name = text(256);
const reason = text(2000);
const time = text(64);
const list = (max: number) => z.array(text(max)).max(100);

const openBody = z.strictObject({
  app: text(64),
  env: text(64).optional(),
  title: text(500),
  class: text(32).optional(),
  severity: text(8).optional(),
  summary: text(5000).optional(),
  /** When the harm started, if known (ISO time or epoch ms). */
  impactStartedAt: time.optional(),
});
const listQuery = z.strictObject({
  status: text(16).optional(),
  app: text(64).optional(),
  env: text(64).optional(),
  severity: text(8).optional(),
  class: text(32).optional(),
  cursor: text(32).optional(),
  limit: queryInt(1, 500).optional(),
});
const triageBody = z.strictObject({
  class: text(32).optional(),
  severity: text(8).optional(),
  commander: name.optional(),
});
const transitionBody = z.strictObject({
  to: text(16),
  reason: reason.optional(),
  class: text(32).optional(),
  severity: text(8).optional(),
  commander: name.optional(),
  override: z.boolean().optional(),
  postmortem: text(2000).optional(),
  noPostmortem: reason.optional(),
  revertContainment: z.boolean().optional(),
});
const classifyBody = z.strictObject({
  class: text(32).optional(),
  severity: text(8).optional(),
  reason: reason.optional(),
});
const rolesBody = z.strictObject({
  role: z.enum(['commander', 'communications_lead']),
  /** null releases the role. */
  to: name.nullable(),
  reason: reason.optional(),
});
const respondersBody = z.strictObject({
  add: name.optional(),
  remove: name.optional(),
  reason: reason.optional(),
});
const noteBody = z.strictObject({ text: text(10_000) });
const count = z.number().int().min(0).max(1e12);
const updateBody = z.strictObject({
  audience: text(16),
  summary: text(5000).optional(),
  impact: z
    .strictObject({
      users: count,
      tenants: count,
      traces: count,
      from: time.optional(),
      to: time.optional(),
    })
    .optional(),
  actions: list(1000).optional(),
  headline: text(300).optional(),
  message: text(5000).optional(),
  affectedUsers: count.optional(),
  conditions: text(5000).optional(),
  needs: list(1000).optional(),
});
const containBody = z.strictObject({
  action: text(32),
  target: text(256).optional(),
  to: z.number().int().min(1).max(999_999_999).optional(),
  allow: list(256).optional(),
  deny: list(256).optional(),
  env: text(64).optional(),
  reason: reason.optional(),
  override: z.boolean().optional(),
});
const revertBody = z.strictObject({ ref: text(64), reason: reason.optional() });
const complianceBody = z.strictObject({
  personalDataBreach: z.boolean().optional(),
  aiActSeriousIncident: z.boolean().optional(),
  widespreadInfringement: z.boolean().optional(),
  criticalInfrastructureDisruption: z.boolean().optional(),
  death: z.boolean().optional(),
  awareAt: time.optional(),
  reason: reason.optional(),
});
const emptyQuery = z.strictObject({});
const metricsQuery = z.strictObject({
  by: z.enum(metricGroupings).optional(),
  app: text(64).optional(),
  env: text(64).optional(),
  class: text(32).optional(),
  severity: text(8).optional(),
  since: time.optional(),
  until: time.optional(),
});

function actor(req: FastifyRequest): string {
  if (!req.apiPrincipal) throw new FirebreakError('unauthenticated', 'missing API token');
  return `token:${req.apiPrincipal.name}`;
}

type Params = { Params: { id: string } };

export function registerIncidentRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const ops = ctx.ops;
  const viewer = { config: { minRole: 'viewer' as const } };
  const responder = { config: { minRole: 'responder' as const } };
  const commander = { config: { minRole: 'commander' as const } };

  app.post('/incidents', responder, async (req, reply) => {
    const b = parseInput(openBody, req.body, 'invalid incident');
    const incident = await openIncident(ops, {
      ...b,
      impactStartedAt: parseTimeInput('impactStartedAt', b.impactStartedAt, ops.now()),
      actor: actor(req),
    });
    return reply.code(201).send(incident);
  });

  app.get('/incidents', viewer, async (req) => {
    const q = parseInput(listQuery, req.query, 'invalid incident list');
    const page = await listIncidents(ops, q);
    return { data: page.data, next_cursor: page.nextCursor };
  });

  app.get<Params>('/incidents/:id', viewer, (req) => getIncident(ops, req.params.id));

  app.post<Params>('/incidents/:id/triage', commander, (req) => {
    const b = parseInput(triageBody, req.body, 'invalid triage');
    return triageIncident(ops, { ...b, id: req.params.id, actor: actor(req) });
  });

  app.post<Params>('/incidents/:id/transition', commander, (req) => {
    const b = parseInput(transitionBody, req.body, 'invalid transition');
    return transitionIncident(ops, { ...b, id: req.params.id, actor: actor(req) });
  });

  app.post<Params>('/incidents/:id/classify', commander, (req) => {
    const b = parseInput(classifyBody, req.body, 'invalid classification');
    return classifyIncident(ops, { ...b, id: req.params.id, actor: actor(req) });
  });

  app.post<Params>('/incidents/:id/roles', commander, (req) => {
    const b = parseInput(rolesBody, req.body, 'invalid role change');
    return assignIncidentRole(ops, { ...b, id: req.params.id, actor: actor(req) });
  });

  app.post<Params>('/incidents/:id/responders', commander, (req) => {
    const b = parseInput(respondersBody, req.body, 'invalid responder change');
    const who = b.add ?? b.remove;
    if (who === undefined || (b.add !== undefined && b.remove !== undefined))
      throw new FirebreakError(
        'validation_failed',
        'invalid responder change: give exactly one of add or remove',
        {
          path: 'add',
        },
      );
    return changeIncidentResponders(ops, {
      id: req.params.id,
      name: who,
      remove: b.remove !== undefined,
      reason: b.reason,
      actor: actor(req),
    });
  });

  app.post<Params>('/incidents/:id/notes', responder, (req) => {
    const b = parseInput(noteBody, req.body, 'invalid note');
    return addIncidentNote(ops, { id: req.params.id, text: b.text, actor: actor(req) });
  });

  app.post<Params>('/incidents/:id/updates', responder, (req) => {
    const { impact, ...b } = parseInput(updateBody, req.body, 'invalid update');
    const now = ops.now();
    const from = parseTimeInput('impact.from', impact?.from, now);
    const to = parseTimeInput('impact.to', impact?.to, now);
    return postIncidentUpdate(ops, {
      ...b,
      ...(impact !== undefined
        ? {
            impact: {
              users: impact.users,
              tenants: impact.tenants,
              traces: impact.traces,
              ...(from !== undefined ? { from } : {}),
              ...(to !== undefined ? { to } : {}),
            },
          }
        : {}),
      id: req.params.id,
      actor: actor(req),
    });
  });

  app.post<Params>('/incidents/:id/contain', responder, async (req, reply) => {
    const b = parseInput(containBody, req.body, 'invalid containment');
    const { env, reason, override, ...action } = b;
    const result = await containIncident(ops, {
      id: req.params.id,
      action,
      env,
      reason,
      override,
      actor: actor(req),
    });
    return reply.code(201).send(result);
  });

  app.post<Params>('/incidents/:id/revert', responder, (req) => {
    const b = parseInput(revertBody, req.body, 'invalid revert');
    return revertIncidentContainment(ops, { ...b, id: req.params.id, actor: actor(req) });
  });

  app.post<Params>('/incidents/:id/compliance', commander, (req) => {
    const b = parseInput(complianceBody, req.body, 'invalid compliance flags');
    return setIncidentCompliance(ops, {
      ...b,
      awareAt: parseTimeInput('awareAt', b.awareAt, ops.now()),
      id: req.params.id,
      actor: actor(req),
    });
  });

  app.get<Params>('/incidents/:id/metrics', viewer, (req) => {
    parseInput(emptyQuery, req.query, 'invalid metrics query');
    return getIncidentMetrics(ops, req.params.id);
  });

  app.get('/incident-metrics', viewer, (req) => {
    const q = parseInput(metricsQuery, req.query, 'invalid metrics query');
    const now = ops.now();
    return incidentMetricsReport(ops, {
      ...q,
      since: parseTimeInput('since', q.since, now),
      until: parseTimeInput('until', q.until, now),
    });
  });
}
