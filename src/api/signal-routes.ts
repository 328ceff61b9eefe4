import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { parseAlertmanagerWebhook } from '../core/detection/alertmanager-alerts.js';
import {
  parseGenericAlert,
  type ExternalAlerts,
  type ExternalAlertOptions,
} from '../core/detection/external-alerts.js';
import { parsePagerDutyAlert } from '../core/detection/pagerduty-alerts.js';
import { signalsFromEvaluation } from '../core/detection/evaluation-signals.js';
import { feedbackKinds, signalFromFeedback, type Signal } from '../core/detection/signal.js';
import { incidentClasses, severities } from '../core/incidents/incident.js';
import { checkSignalScope, processSignal, type DetectionOutcome } from '../ops/detection.js';
import { getTrace } from '../ops/traces.js';
import { parseInput, text } from './input.js';
import type { ApiContext } from './routes.js';

/**
 * Signals from outside the gateway (issue 5 item 1), through the same detection rules as findings:
 *
 * - `POST /api/feedback` `{trace_id, kind: wrong|harmful|other, comment?}`: the "this answer is wrong"
 *   button. The app's backend calls it with an API token of role **responder**: a report can open an
 *   incident (as `POST /api/incidents` can, which is responder too), which a read-only viewer token must
 *   not; the end user never holds the token, and the trace id ties the report to a real answer.
 * - `POST /api/alerts/generic|pagerduty|alertmanager?app=A&env=E` (responder): another monitoring
 *   system's webhook, parsed by the core parsers (core/detection/*-alerts.ts).
 * - `POST /api/evaluations` (responder): a suite's results against a release; each failed case is a
 *   signal of source `evaluation` (core/detection/evaluation-signals.ts).
 *
 * Each is checked whole (body, app, environment) before anything is recorded, so a bad payload is a 400
 * with the parser's message and nothing else happens. The rules run in the request, so the answer names
 * the incident each signal opened or joined.
 */

const feedbackBody = z.object({
  trace_id: text(128),
  kind: z.enum(feedbackKinds),
  comment: z.string().max(10_000).optional(),
});

const alertQuery = z.object({
  app: text(63).optional(),
  env: text(63).optional(),
});

const evaluationBody = z.object({
  app: text(63),
  env: text(63).optional(),
  release: text(130).optional(),
  suite: text(200),
  ran_at: z.iso.datetime({ offset: true }).optional(),
  results: z
    .array(
      z.strictObject({
        case: text(200),
        passed: z.boolean(),
        score: z.number().optional(),
        threshold: z.number().optional(),
        message: z.string().max(2_000).optional(),
        trace_id: text(128).optional(),
        class: z.enum(incidentClasses).optional(),
        severity: z.enum(severities).optional(),
      }),
    )
    .min(1, 'a run needs at least one result')
    .max(10_000),
});

const parsers: Record<string, (body: unknown, opts: ExternalAlertOptions) => ExternalAlerts> = {
  generic: parseGenericAlert,
  pagerduty: parsePagerDutyAlert,
  alertmanager: parseAlertmanagerWebhook,
};

function outcomeJson(signal: Signal, outcomes: readonly DetectionOutcome[]) {
  return { signal: signal.fingerprint, source: signal.source, app: signal.app, outcomes };
}

export function registerSignalRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { ops } = ctx;
  const responder = { config: { minRole: 'responder' as const } };

  app.post('/feedback', responder, async (req, reply) => {
    const b = parseInput(feedbackBody, req.body, 'invalid feedback');
    const { calls } = await getTrace(ops, b.trace_id);
    const first = calls[0];
    if (!first) throw new Error('getTrace returned no call');
    const signal = signalFromFeedback({
      traceId: first.traceId,
      app: first.app,
      env: first.env,
      kind: b.kind,
      comment: b.comment,
      release: first.release,
      userId: first.userId,
      tenantId: first.tenantId,
      observedAt: first.ts,
      at: ops.now(),
    });
    checkSignalScope(ops, signal);
    const outcomes = await processSignal(ops, signal);
    return reply.code(202).send(outcomeJson(signal, outcomes));
  });

  app.post('/evaluations', responder, async (req, reply) => {
    const b = parseInput(evaluationBody, req.body, 'invalid evaluation run');
    const signals = signalsFromEvaluation({
      app: b.app,
      env: b.env,
      release: b.release,
      suite: b.suite,
      ranAt: b.ran_at === undefined ? undefined : Date.parse(b.ran_at),
      receivedAt: ops.now(),
      results: b.results.map((r) => ({
        case: r.case,
        passed: r.passed,
        score: r.score,
        threshold: r.threshold,
        message: r.message,
        traceId: r.trace_id,
        class: r.class,
        severity: r.severity,
      })),
    });
    // The app and environment first (also when every case passed): a typo is a 400, not a silent pass.
    checkSignalScope(ops, signals[0] ?? { app: b.app, env: b.env ?? null });
    const results = [];
    for (const s of signals) results.push(outcomeJson(s, await processSignal(ops, s)));
    return reply.code(202).send({
      suite: b.suite,
      passed: b.results.length - signals.length,
      failed: signals.length,
      signals: results,
    });
  });

  for (const [format, parse] of Object.entries(parsers))
    app.post(`/alerts/${format}`, responder, async (req, reply) => {
      const q = parseInput(alertQuery, req.query, 'invalid alert query');
      const alerts = parse(req.body, { receivedAt: ops.now(), app: q.app, env: q.env });
      // Every signal's app and environment first: an unknown one refuses the whole payload.
      for (const s of alerts.signals) checkSignalScope(ops, s);
      const results = [];
      for (const s of alerts.signals) results.push(outcomeJson(s, await processSignal(ops, s)));
      // Acknowledge/resolve hints are passed back, not acted on: the incident's lifecycle stays with people.
      return reply.code(202).send({ signals: results, hints: alerts.hints });
    });
}
