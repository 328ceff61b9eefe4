import { randomBytes } from 'node:crypto';
import { FirebreakError } from '../core/errors.js';
import { releaseName } from '../core/release.js';
import type { ControlTx as Tx, DeploymentRecord, KnownGood } from '../store/port.js';
import type { OpsContext } from './context.js';
import { parseRelease, requireApp, requireEnv } from './releases.js';

/** Deployments (append-only), known-good marks and rollback. Each is one audited control-plane change. */
interface ChangeArgs {
  readonly actor: string;
  readonly reason: string;
  readonly incident?: string | undefined;
}

function requireReason(reason: string): void {
  if (reason.trim() === '')
    throw new FirebreakError('validation_failed', 'a reason is required (--reason)', { path: 'reason' });
}

export async function deploy(
  ctx: OpsContext,
  args: ChangeArgs & { release: string; env: string },
): Promise<DeploymentRecord> {
  requireReason(args.reason);
  const { app, version } = parseRelease(args.release);
  requireEnv(ctx, app, args.env);
  const { value } = await ctx.store.control.change(async (tx) => {
    if (!(await tx.release(app, version)))
      throw new FirebreakError('not_found', `no release ${args.release}`, { path: 'release' });
    return writeDeployment(ctx, tx, { ...args, app, version, kind: 'deploy' });
  });
  return value;
}

async function writeDeployment(
  ctx: OpsContext,
  tx: Tx,
  d: ChangeArgs & { app: string; env: string; version: number; kind: 'deploy' | 'rollback' },
): Promise<DeploymentRecord> {
  const before = await tx.currentDeployment(d.app, d.env);
  const record = await tx.insertDeployment({
    id: `dep_${randomBytes(6).toString('hex')}`,
    app: d.app,
    env: d.env,
    version: d.version,
    kind: d.kind,
    actor: d.actor,
    reason: d.reason,
    incident: d.incident ?? null,
    createdAt: ctx.now(),
  });
  await tx.audit({
    ts: record.createdAt,
    actor: d.actor,
    action: d.kind,
    target: `${d.app}/${d.env}`,
    before: before ? { release: releaseName(d.app, before.version), deployment: before.id } : null,
    after: { release: releaseName(d.app, d.version), deployment: record.id },
    reason: d.reason,
    incident: d.incident ?? null,
  });
  return record;
}

export async function markKnownGood(
  ctx: OpsContext,
  args: ChangeArgs & { release: string; env: string },
): Promise<KnownGood> {
  const { app, version } = parseRelease(args.release);
  requireEnv(ctx, app, args.env);
  const { value } = await ctx.store.control.change(async (tx) => {
    if (!(await tx.release(app, version)))
      throw new FirebreakError('not_found', `no release ${args.release}`, { path: 'release' });
    const before = await tx.knownGood(app, args.env);
    const mark: KnownGood = { app, env: args.env, version, markedBy: args.actor, markedAt: ctx.now() };
    await tx.setKnownGood(mark);
    await tx.audit({
      ts: mark.markedAt,
      actor: args.actor,
      action: 'release.mark-known-good',
      target: `${app}/${args.env}`,
      before: before ? { release: releaseName(app, before.version) } : null,
      after: { release: releaseName(app, version) },
      reason: args.reason || null,
      incident: args.incident ?? null,
    });
    return mark;
  });
  return value;
}

/** One command: a new deployment of the known-good release (or of `to`). */
export async function rollback(
  ctx: OpsContext,
  args: ChangeArgs & { app: string; env: string; to?: number | undefined },
): Promise<DeploymentRecord> {
  requireReason(args.reason);
  requireEnv(ctx, args.app, args.env);
  const { value } = await ctx.store.control.change(async (tx) => {
    let version = args.to;
    if (version === undefined) {
      const good = await tx.knownGood(args.app, args.env);
      if (!good)
        throw new FirebreakError(
          'not_found',
          `no known-good release for ${args.app}/${args.env}: mark one (firebreak release mark-known-good) or pass --to`,
        );
      version = good.version;
    }
    if (!(await tx.release(args.app, version)))
      throw new FirebreakError('not_found', `no release ${releaseName(args.app, version)}`, { path: 'to' });
    return writeDeployment(ctx, tx, { ...args, version, kind: 'rollback' });
  });
  return value;
}

export async function listDeployments(
  ctx: OpsContext,
  args: { app: string; env?: string; limit?: number },
): Promise<DeploymentRecord[]> {
  if (args.env !== undefined) requireEnv(ctx, args.app, args.env);
  else requireApp(ctx, args.app);
  return ctx.store.control.deployments({
    app: args.app,
    ...(args.env !== undefined ? { env: args.env } : {}),
    limit: args.limit ?? 50,
  });
}
