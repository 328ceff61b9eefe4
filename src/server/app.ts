import { GuardSets } from '../gateway/call-guards.js';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { registerApiRoutes } from '../api/routes.js';
import { CredentialIndex } from '../auth/credential-index.js';
import type { FirebreakConfig } from '../core/config.js';
import { toFirebreakError } from '../core/error-mapping.js';
import { FirebreakError } from '../core/errors.js';
import { ModelRouter } from '../gateway/model-router.js';
import { ControlState } from '../gateway/control-state.js';
import { TraceRecorder } from '../gateway/recorder.js';
import { registerGatewayRoutes } from '../gateway/routes.js';
import { gatewayFrontDoor, isGatewayUrl } from '../gateway/front-door.js';
import { surfaceForPath } from '../gateway/surface.js';
import { parseJsonBody } from '../core/json-body.js';
import { ToolPolicyGate } from '../gateway/tool-policy.js';
import { apiError } from '../api/routes.js';
import { buildProviders } from '../providers/registry.js';
import type { Store } from '../store/port.js';
import type { OpsContext } from '../ops/context.js';
import { startFlagExpiry } from './flag-expiry.js';
import { DeliverySender, deliveryTimerOptions } from './deliveries.js';
import { TimerScheduler, type TimerSchedulerSettings } from './timers.js';
import { DELIVERY_TIMER_KIND } from '../store/delivery-queries.js';
import { ESCALATE_TIMER_KIND, runEscalation } from '../ops/paging.js';
import { registerHealthRoutes } from './health.js';
import { recordDeliveryFailure } from '../ops/delivery-failures.js';
import { INCIDENT_REMINDER_TIMER_KIND } from '../ops/incident-outbox.js';
import { runIncidentReminder } from '../ops/incident-reminders.js';
import { SignalOutbox } from '../gateway/signal-outbox.js';
import { IdentityDirectory, startIdentityRefresh } from '../gateway/identity-directory.js';
import { registerSignalTimerHandler, SIGNAL_TIMER_KIND, signalTimerKey } from '../ops/detection.js';
import { registerAnomalyJob } from '../ops/anomaly-job.js';

export type ServerRole = 'all' | 'gateway' | 'control';

export interface AppDeps {
  readonly store: Store;
  readonly logger: FastifyBaseLogger;
  readonly role?: ServerRole;
  readonly now?: () => number;
  /** Timer loop settings (tests turn the loop off with `tickMs: 0` and call `timers.runDue()`). */
  readonly timers?: TimerSchedulerSettings;
}

export interface FirebreakApp {
  readonly app: FastifyInstance;
  readonly recorder: TraceRecorder;
  readonly control: ControlState;
  readonly ops: OpsContext;
  /**
   * Durable timers: `registerTimerHandler(kind, fn)`, `scheduleTimer`, `cancelTimer`, `runDue`. The loop
   * runs on control replicas (role `all` or `control`); the `delivery` kind sends channel messages.
   */
  readonly timers: TimerScheduler;
  /** Findings on their way to the `signal` timers (detection); `drain()` waits until they are stored. */
  readonly signals: SignalOutbox;
  /** Stops accepting requests, waits for in-flight ones, flushes pending traces. Does not close the store. */
  close(flushDeadlineMs?: number): Promise<{ unflushed: number }>;
}

/**
 * The app factory: everything wired, nothing listening (tests inject requests in-process or listen on
 * an ephemeral port; server/serve.ts listens for real). Config is already parsed and validated.
 */
export async function buildApp(config: FirebreakConfig, deps: AppDeps): Promise<FirebreakApp> {
  const role = deps.role ?? 'all';
  const now = deps.now ?? Date.now;
  const ops: OpsContext = { config, store: deps.store, now };
  const credentials = new CredentialIndex(config, deps.store.credentials);
  await credentials.reload();
  // The URL lets the recorder write from a worker thread with its own connection; it checks that the
  // URL reaches the same database as `deps.store` before using it (tests pass a store opened elsewhere).
  const recorder = new TraceRecorder(deps.store.traces, config.recording, deps.logger, deps.store.url);
  // Releases and flags in memory before the first request; start fails if the store cannot be read.
  const control = new ControlState(
    deps.store.control,
    { role, reconcileIntervalMs: config.control.reconcileIntervalMs, now },
    deps.logger,
  );
  await control.start();

  // The gateway's front door (gateway/front-door.ts) takes /v1 requests before Fastify routing does;
  // set below when this replica serves the gateway. Request targets the quick check does not see as
  // /v1 (absolute form, a percent-encoded prefix) reach it through Fastify's /v1 catch-all instead.
  let front: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  let closing = false;
  const app = Fastify({
    loggerInstance: deps.logger,
    // Per-request log lines would cost the hot path; the trace store is the request log.
    logController: new LogController({ disableRequestLogging: true }),
    // No per-request child logger (about 1% of the gateway's time): errors are logged with the trace id.
    childLoggerFactory: (logger) => logger,
    bodyLimit: config.server.bodyLimitBytes,
    // Trace ids are up to 128 characters (X-AI-Trace-Id); longer ids reach getTrace and get its message.
    routerOptions: { maxParamLength: 1024 },
    // Errors Fastify raises before routing (broken %-encoding, over-long path parameters) are answered
    // like every other error, in the format of the interface the URL belongs to.
    frameworkErrors: (error, req: FastifyRequest, reply: FastifyReply) => {
      const err = toFirebreakError(error);
      const url = req.raw.url ?? '';
      const body = isGatewayUrl(url) ? surfaceForPath(url).renderError(err) : apiError(err);
      void reply.code(err.status).send(body);
    },
    return503OnClosing: true,
    serverFactory: (fastifyHandler) => {
      const server = createServer((req, res) => {
        if (front !== undefined && isGatewayUrl(req.url ?? '')) front(req, res);
        else fastifyHandler(req, res);
      });
      // Fastify's defaults for the server it would have created (keep-alive 72 s, no request or socket
      // timeout): upstream calls and streams can run long.
      server.keepAliveTimeout = 72_000;
      server.requestTimeout = 0;
      server.setTimeout(0);
      return server;
    },
    forceCloseConnections: 'idle',
  });

  // /api bodies are parsed once, as JSON, whatever the content type (curl -d sends form-encoded); /v1
  // bodies are read by the front door, with the same parser.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, parseJsonBody(typeof body === 'string' ? body : body.toString('utf8')));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
  // Shutting down: new /v1 calls get a 503, and a keep-alive connection is closed as soon as its call in
  // flight is answered (Fastify closes the idle ones once, at the start; without this a client whose
  // call was still running kept the server waiting for its 72 s keep-alive timeout).
  let closeIdle: NodeJS.Timeout | undefined;
  app.addHook('preClose', (done) => {
    closing = true;
    closeIdle = setInterval(() => app.server.closeIdleConnections(), 50);
    closeIdle.unref();
    done();
  });
  app.addHook('onClose', (_instance, done) => {
    clearInterval(closeIdle);
    done();
  });

  app.setErrorHandler((error, _req, reply) => {
    const err = toFirebreakError(error, config.server.bodyLimitBytes);
    return reply.code(err.status).send(apiError(err));
  });
  app.setNotFoundHandler((req, reply) => {
    const err = new FirebreakError('not_found', `no route ${req.method} ${req.url.split('?')[0] ?? ''}`);
    return reply.code(err.status).send(apiError(err));
  });

  registerHealthRoutes(app, { role, store: deps.store, recorder, control });
  // Findings a detection rule could act on become `signal` timers (gateway replicas included).
  const signals = new SignalOutbox({
    persist: (s) => {
      const at = now();
      return deps.store.timers.schedule(
        { kind: SIGNAL_TIMER_KIND, key: signalTimerKey(s), dueAt: at, payload: s },
        at,
      );
    },
    rules: config.detection.rules,
    now,
    log: deps.logger,
  });
  const identities = new IdentityDirectory();
  let stopIdentityRefresh = (): void => undefined;
  if (role !== 'control') {
    stopIdentityRefresh = startIdentityRefresh(identities, deps.store.traces, now, deps.logger);
    const router = new ModelRouter(config, buildProviders(config));
    const gatewayFront = gatewayFrontDoor(
      {
        config,
        router,
        credentials,
        recorder,
        control,
        now,
        log: deps.logger,
        guardSets: new GuardSets(),
        toolPolicy: new ToolPolicyGate({ approvals: deps.store.approvals, now, log: deps.logger }),
        signals,
        identities,
      },
      { bodyLimitBytes: config.server.bodyLimitBytes, closing: () => closing },
    );
    front = gatewayFront;
    await app.register((v1) => registerGatewayRoutes(v1, gatewayFront), { prefix: '/v1' });
  }
  if (role !== 'gateway') {
    await app.register(
      (api) => registerApiRoutes(api, { ops, credentials, bodyLimitBytes: config.server.bodyLimitBytes }),
      {
        prefix: '/api',
      },
    );
  }
  await app.ready();
  recorder.start();
  const timers = new TimerScheduler(deps.store.timers, now, deps.logger, deps.timers);
  const deliveries = new DeliverySender({
    config,
    deliveries: deps.store.deliveries,
    now,
    log: deps.logger,
    onAttempt: (d, attempt) => recordDeliveryFailure(ops, d, attempt).then(() => undefined),
  });
  timers.registerTimerHandler(DELIVERY_TIMER_KIND, deliveries.handle, deliveryTimerOptions);
  // Escalations of unacknowledged pages (ops/paging.ts); idempotent by the timer's key.
  timers.registerTimerHandler(ESCALATE_TIMER_KIND, async (t) => {
    const outcome = await runEscalation(ops, t.payload);
    if (outcome.status === 'stopped' && outcome.reason !== 'acknowledged')
      deps.logger.info({ timer: t.key, reason: outcome.reason }, 'escalation stopped');
    return { status: 'done' };
  });
  // Overdue-update and compliance-clock reminders (ops/incident-reminders.ts); idempotent.
  timers.registerTimerHandler(INCIDENT_REMINDER_TIMER_KIND, async (t) => {
    const next = await runIncidentReminder(ops, t.payload);
    return next === null ? { status: 'done' } : { status: 'later', at: next };
  });
  if (role !== 'gateway') registerSignalTimerHandler(timers, ops, deps.logger);
  // The anomaly detector, once per interval across replicas (ops/anomaly-job.ts).
  if (role !== 'gateway') await registerAnomalyJob(timers, ops, deps.logger);
  const stopFlagExpiry = role === 'gateway' ? () => undefined : startFlagExpiry(timers, ops, deps.logger);
  if (role !== 'gateway') timers.start();

  return {
    app,
    recorder,
    control,
    ops,
    timers,
    signals,
    async close(flushDeadlineMs = 10_000) {
      stopFlagExpiry();
      stopIdentityRefresh();
      await timers.stop();
      await deliveries.close();
      control.stop();
      await app.close();
      await signals.close(flushDeadlineMs);
      return { unflushed: await recorder.drain(flushDeadlineMs) };
    },
  };
}
