import { randomBytes } from 'node:crypto';
import { FirebreakError } from '../core/errors.js';
import { parseDuration } from '../core/time-spec.js';
import { formatFlagKey, parseFlagKey, validateFlagValue, type Flag } from '../core/flags.js';
import { modelFamilies } from '../core/model-catalog.js';
import type { OpsContext } from './context.js';
import { requireApp, requireEnv } from './releases.js';

/** Flags: set, unset, list, and expiry. Each change is one audited control-plane change. */
export interface FlagArgs {
  readonly key: string;
  readonly app: string;
  readonly env?: string | undefined;
  readonly tenant?: string | undefined;
  readonly user?: string | undefined;
  readonly actor: string;
  readonly reason: string;
  readonly incident?: string | undefined;
}

/** `30m`, `2h`, `1d` from now, or an ISO time; must lie in the future. */
export function parseExpiry(text: string, now: number): number {
  const ahead = parseDuration(text);
  const at = ahead !== undefined ? now + ahead : Date.parse(text);
  if (Number.isNaN(at))
    throw new FirebreakError(
      'validation_failed',
      `expires: "${text}" is not a duration (30m, 2h, 1d) or an ISO time`,
      { path: 'expires' },
    );
  if (at <= now)
    throw new FirebreakError('validation_failed', `expires: "${text}" is not in the future`, {
      path: 'expires',
    });
  return at;
}

function scopeOf(ctx: OpsContext, a: FlagArgs) {
  if (a.env !== undefined) requireEnv(ctx, a.app, a.env);
  else requireApp(ctx, a.app);
  return { app: a.app, env: a.env ?? null, tenant: a.tenant ?? null, user: a.user ?? null };
}

function validateKey(ctx: OpsContext, text: string): string {
  const key = parseFlagKey(text);
  if (key.kind === 'tool' && !(key.name in ctx.config.tools))
    throw new FirebreakError(
      'not_found',
      `unknown tool "${key.name}" (declared: ${Object.keys(ctx.config.tools).join(', ') || 'none'})`,
      {
        path: 'key',
      },
    );
  if (key.kind === 'model') {
    const families = modelFamilies(ctx.config);
    if (!families.includes(key.name))
      throw new FirebreakError(
        'not_found',
        `unknown model family "${key.name}" (known: ${families.join(', ')})`,
        { path: 'key' },
      );
  }
  return formatFlagKey(key);
}

const sameScope = (
  f: Flag,
  s: { app: string; env: string | null; tenant: string | null; user: string | null },
  key: string,
) => f.key === key && f.app === s.app && f.env === s.env && f.tenant === s.tenant && f.user === s.user;

const describe = (f: Flag) => ({
  key: f.key,
  value: f.value,
  env: f.env,
  tenant: f.tenant,
  user: f.user,
  expiresAt: f.expiresAt,
});

export async function setFlag(
  ctx: OpsContext,
  args: FlagArgs & { value: string; expires?: string | undefined },
): Promise<Flag> {
  if (args.reason.trim() === '')
    throw new FirebreakError('validation_failed', 'a reason is required (--reason)', { path: 'reason' });
  const key = validateKey(ctx, args.key);
  validateFlagValue(parseFlagKey(key), args.value);
  const scope = scopeOf(ctx, args);
  const now = ctx.now();
  const flag: Flag = {
    id: `flag_${randomBytes(6).toString('hex')}`,
    key,
    value: args.value,
    ...scope,
    reason: args.reason,
    actor: args.actor,
    incident: args.incident ?? null,
    createdAt: now,
    expiresAt: args.expires === undefined ? null : parseExpiry(args.expires, now),
  };
  const { value } = await ctx.store.control.change(async (tx) => {
    const previous = (await tx.activeFlags()).find((f) => sameScope(f, scope, key));
    if (previous) await tx.removeFlag(previous.id, args.actor, now);
    await tx.insertFlag(flag);
    if (flag.expiresAt !== null) await tx.outbox.schedule(expiryTimer(flag), now);
    await tx.audit({
      ts: now,
      actor: args.actor,
      action: 'flag.set',
      target: `${key} @ ${scopeText(flag)}`,
      before: previous ? describe(previous) : null,
      after: describe(flag),
      reason: args.reason,
      incident: flag.incident,
    });
    return flag;
  });
  return value;
}

export function scopeText(f: {
  app: string;
  env: string | null;
  tenant: string | null;
  user: string | null;
}): string {
  return [
    f.app,
    f.env ?? '*',
    ...(f.tenant !== null ? [`tenant=${f.tenant}`] : []),
    ...(f.user !== null ? [`user=${f.user}`] : []),
  ].join('/');
}

export async function unsetFlag(ctx: OpsContext, args: FlagArgs): Promise<Flag> {
  if (args.reason.trim() === '')
    throw new FirebreakError('validation_failed', 'a reason is required (--reason)', { path: 'reason' });
  const key = validateKey(ctx, args.key);
  const scope = scopeOf(ctx, args);
  const { value } = await ctx.store.control.change(async (tx) => {
    const current = (await tx.activeFlags()).find((f) => sameScope(f, scope, key));
    if (!current)
      throw new FirebreakError('not_found', `no flag ${key} is set at ${scopeText(scope)}`, { path: 'key' });
    const now = ctx.now();
    await tx.removeFlag(current.id, args.actor, now);
    await tx.audit({
      ts: now,
      actor: args.actor,
      action: 'flag.unset',
      target: `${key} @ ${scopeText(current)}`,
      before: describe(current),
      after: null,
      reason: args.reason,
      incident: args.incident ?? null,
    });
    return current;
  });
  return value;
}

export async function listFlags(
  ctx: OpsContext,
  args: { app?: string | undefined; includeRemoved?: boolean },
): Promise<Flag[]> {
  if (args.app !== undefined) requireApp(ctx, args.app);
  const flags = await ctx.store.control.flags({ includeRemoved: args.includeRemoved ?? false });
  return args.app === undefined ? flags : flags.filter((f) => f.app === args.app);
}

/**
 * Flag expiry. Resolution already ignores an expired flag, so enforcement never waits for the revert;
 * the revert records it in the audit log, once, even with several replicas trying (only the change
 * whose update removes the row writes the entry). A flag set with an expiry gets a `flag-expiry`
 * durable timer in the same change (so it survives restarts and fires once across replicas);
 * `armFlagExpiry` at start gives timers to flags set before there were any.
 */
export const FLAG_EXPIRY_TIMER_KIND = 'flag-expiry';

const expiryTimer = (f: Flag) => ({
  kind: FLAG_EXPIRY_TIMER_KIND,
  key: `flag-expiry:${f.id}`,
  dueAt: f.expiresAt ?? 0,
  payload: { flag: f.id },
});

/** Removes the flag and writes the audit entry; false when it was already gone. */
async function expireFlag(ctx: OpsContext, f: Flag, now: number): Promise<boolean> {
  const { value } = await ctx.store.control.change(async (tx) => {
    if (!(await tx.removeFlag(f.id, 'system:expiry', now))) return tx.unchanged(false);
    await tx.audit({
      ts: now,
      actor: 'system:expiry',
      action: 'flag.expire',
      target: `${f.key} @ ${scopeText(f)}`,
      before: describe(f),
      after: null,
      reason: `expired (set by ${f.actor}: ${f.reason})`,
      incident: f.incident,
    });
    return true;
  });
  return value;
}

/**
 * The `flag-expiry` timer's work: reverts the flag if it is still set and due. Returns when to run again
 * (null: done — reverted now, or already unset, replaced or reverted elsewhere).
 */
export async function runFlagExpiry(
  ctx: OpsContext,
  payload: unknown,
): Promise<{ expired: Flag | null; next: number | null }> {
  const id = (payload as { flag?: unknown } | null)?.flag;
  const now = ctx.now();
  const f = (await ctx.store.control.flags({ includeRemoved: false })).find((x) => x.id === id);
  if (!f || f.expiresAt === null) return { expired: null, next: null };
  if (f.expiresAt > now) return { expired: null, next: f.expiresAt };
  return { expired: (await expireFlag(ctx, f, now)) ? f : null, next: null };
}

/** Schedules the expiry timer of every active flag with an expiry (idempotent by key); returns how many. */
export async function armFlagExpiry(ctx: OpsContext): Promise<number> {
  const flags = (await ctx.store.control.flags({ includeRemoved: false })).filter(
    (f) => f.expiresAt !== null,
  );
  for (const f of flags) await ctx.store.timers.schedule(expiryTimer(f), ctx.now());
  return flags.length;
}
