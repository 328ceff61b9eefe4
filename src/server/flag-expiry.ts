import type { FastifyBaseLogger } from 'fastify';
import type { OpsContext } from '../ops/context.js';
import { armFlagExpiry, FLAG_EXPIRY_TIMER_KIND, runFlagExpiry } from '../ops/flags.js';
import type { TimerScheduler } from './timers.js';

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * Flag expiry on the durable timers (ops/flags.ts): the handler reverts a flag when its time comes.
 * At start, a control replica gives a timer to every expiring flag that has none (flags set before
 * expiry ran on timers), retrying every few seconds while the store is unreachable. Returns a stop
 * function for the retry.
 */
export function startFlagExpiry(
  timers: TimerScheduler,
  ops: OpsContext,
  log: FastifyBaseLogger,
  retryMs = 5_000,
): () => void {
  timers.registerTimerHandler(FLAG_EXPIRY_TIMER_KIND, async (t) => {
    const { expired, next } = await runFlagExpiry(ops, t.payload);
    if (expired)
      log.info({ flag: expired.key, app: expired.app, env: expired.env }, 'flag expired and reverted');
    return next === null ? { status: 'done' } : { status: 'later', at: next };
  });
  let retry: NodeJS.Timeout | undefined;
  let stopped = false;
  const arm = () => {
    armFlagExpiry(ops).catch((error: unknown) => {
      if (stopped) return;
      log.warn({ err: errorText(error) }, 'could not arm flag expiry timers; will retry');
      retry = setTimeout(arm, retryMs);
      retry.unref();
    });
  };
  arm();
  return () => {
    stopped = true;
    clearTimeout(retry);
  };
}
