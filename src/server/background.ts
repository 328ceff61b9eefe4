import type { FastifyBaseLogger } from 'fastify';
import type { OpsContext } from '../ops/context.js';
import { expireFlags } from '../ops/flags.js';

/**
 * Timers that belong to the control plane. Flag expiry: resolution already ignores an expired flag, so
 * enforcement never waits for this sweep; it records the revert in the audit log (exactly once across
 * replicas, see expireFlags). State lives in the database, so nothing is lost across restarts.
 */
export function startBackground(ops: OpsContext, log: FastifyBaseLogger, intervalMs = 1_000): () => void {
  let failing = false;
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    expireFlags(ops)
      .then((expired) => {
        for (const f of expired)
          log.info({ flag: f.key, app: f.app, env: f.env }, 'flag expired and reverted');
        failing = false;
      })
      .catch((error: unknown) => {
        if (!failing)
          log.warn(
            { err: error instanceof Error ? error.message : String(error) },
            'flag expiry sweep failed; will retry',
          );
        failing = true;
      })
      .finally(() => {
        running = false;
      });
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
