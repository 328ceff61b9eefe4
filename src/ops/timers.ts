import { FirebreakError } from '../core/errors.js';
import type { Timer } from '../store/port.js';
import type { OpsContext } from './context.js';

/**
 * Durable timers for operations (escalations, reminders, clocks): a timer is a row, run by a control
 * replica's scheduler (server/timers.ts) once it is due, by the handler registered for its kind
 * (`fb.timers.registerTimerHandler(kind, fn)`). Scheduling is idempotent on `key`: scheduling the same
 * key again moves the timer (a done one stays done). A handler may run twice after a replica crash, so
 * it must check the state it would change (e.g. "is the page still unacknowledged?") before acting.
 */
export interface ScheduleTimerArgs {
  readonly kind: string;
  /** Names the timer, e.g. `escalation:INC-7:page-1`; up to 300 characters. */
  readonly key: string;
  /** Epoch ms on the injected clock. */
  readonly dueAt: number;
  /** JSON the handler receives. */
  readonly payload?: unknown;
}

function check(field: string, ok: boolean, message: string): void {
  if (!ok) throw new FirebreakError('validation_failed', `${field}: ${message}`, { path: field });
}

/** Throws validation_failed naming the field when the timer is not one the store can keep. */
export function checkTimer(args: ScheduleTimerArgs): void {
  check('kind', /^[a-z0-9][a-z0-9_.:-]{0,63}$/.test(args.kind), 'lower-case letters, digits, _ . : -');
  check('key', args.key.length > 0 && args.key.length <= 300, 'from 1 to 300 characters');
  check('dueAt', Number.isSafeInteger(args.dueAt) && args.dueAt >= 0, 'epoch milliseconds');
}

export async function scheduleTimer(ctx: OpsContext, args: ScheduleTimerArgs): Promise<Timer> {
  checkTimer(args);
  return ctx.store.timers.schedule(
    { kind: args.kind, key: args.key, dueAt: args.dueAt, payload: args.payload ?? null },
    ctx.now(),
  );
}

/** Stops a pending timer (or a running one from being retried); false when there was none. */
export function cancelTimer(ctx: OpsContext, key: string): Promise<boolean> {
  return ctx.store.timers.cancel(key, ctx.now());
}
