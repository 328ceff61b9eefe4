import type { FastifyInstance } from 'fastify';
import type { ControlState } from '../gateway/control-state.js';
import type { TraceRecorder } from '../gateway/recorder.js';
import type { Store } from '../store/port.js';

/**
 * /healthz: the process is alive. /readyz: it can serve. A store outage does not make a replica unready
 * (the gateway keeps serving and buffers traces), so /readyz says `degraded` with the reason instead of
 * failing: a load balancer pulling every replica during a database blip would turn it into an outage.
 */
export function registerHealthRoutes(
  app: FastifyInstance,
  deps: { role: string; store: Store; recorder: TraceRecorder; control: ControlState },
): void {
  app.get('/healthz', () => ({ status: 'ok' }));
  app.get('/readyz', async () => {
    let storeReachable = true;
    let storeError: string | null = null;
    try {
      await Promise.race([
        deps.store.ping(),
        new Promise((_, reject) =>
          setTimeout(() => reject(new Error('no answer within 1 s')), 1_000).unref(),
        ),
      ]);
    } catch (error) {
      storeReachable = false;
      storeError = error instanceof Error ? error.message : String(error);
    }
    const traces = deps.recorder.stats();
    const control = deps.control.stats();
    return {
      status: storeReachable && traces.storeHealthy && control.storeReachable ? 'ready' : 'degraded',
      role: deps.role,
      replica: deps.control.replicaId,
      // Fail static: while the store is unreachable the replica enforces this version, as last loaded.
      control,
      store: { dialect: deps.store.capabilities.dialect, reachable: storeReachable, error: storeError },
      traces,
    };
  });
}
