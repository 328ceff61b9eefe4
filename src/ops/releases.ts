import { createHash, randomBytes } from 'node:crypto';
import { FirebreakError } from '../core/errors.js';
import { modelKnown } from '../core/model-catalog.js';
import {
  diffSpecs,
  parseReleaseName,
  releaseContent,
  releaseName,
  releaseSpecSchema,
  textDiff,
  type Release,
  type ReleaseChange,
  type ReleaseSpec,
} from '../core/release.js';
import { parseWith } from '../core/validation.js';
import { compilePolicy } from '../policy/engine.js';
import type { OpsContext } from './context.js';

/** Releases: create (content-hashed, versioned per app), list, show, diff, and `apply` from firebreak.yaml. */
export function requireApp(ctx: OpsContext, app: string): void {
  if (!(app in ctx.config.apps))
    throw new FirebreakError(
      'not_found',
      `unknown app "${app}" (configured: ${Object.keys(ctx.config.apps).join(', ') || 'none'})`,
      {
        path: 'app',
      },
    );
}

export function requireEnv(ctx: OpsContext, app: string, env: string): void {
  requireApp(ctx, app);
  const envs = ctx.config.apps[app]?.environments ?? [];
  if (!envs.includes(env))
    throw new FirebreakError(
      'not_found',
      `app "${app}" has no environment "${env}" (has ${envs.join(', ')})`,
      { path: 'env' },
    );
}

/** Validates a spec against the configuration and resolves tool risks, so the stored release is complete. */
export function normaliseSpec(ctx: OpsContext, input: unknown): ReleaseSpec {
  const spec = parseWith(releaseSpecSchema, input, 'invalid release');
  for (const [i, name] of [spec.model.name, ...spec.model.fallbacks].entries())
    if (!modelKnown(ctx.config, name))
      throw new FirebreakError(
        'validation_failed',
        `invalid release: ${i === 0 ? 'model.name' : `model.fallbacks[${i - 1}]`}: unknown model or provider "${name}"`,
        { path: i === 0 ? 'model.name' : `model.fallbacks[${i - 1}]` },
      );
  const seen = new Set<string>();
  const tools = spec.tools.map((t, i) => {
    const name = typeof t === 'string' ? t : t.name;
    const declared = ctx.config.tools[name];
    if (!declared)
      throw new FirebreakError(
        'validation_failed',
        `invalid release: tools[${i}]: unknown tool "${name}" (declared in firebreak.yaml tools: ${Object.keys(ctx.config.tools).join(', ') || 'none'})`,
        { path: `tools[${i}]` },
      );
    if (seen.has(name))
      throw new FirebreakError(
        'validation_failed',
        `invalid release: tools[${i}]: "${name}" is listed twice`,
        { path: `tools[${i}]` },
      );
    seen.add(name);
    const description =
      typeof t === 'string' ? declared.description : (t.description ?? declared.description);
    return {
      name,
      risk: typeof t === 'string' ? declared.risk : (t.risk ?? declared.risk),
      ...(description !== undefined ? { description } : {}),
    };
  });
  // The tool-call policy must compile (Cedar: parse and validate against the schema) before anything is
  // created; OPA settings are only checked for shape, the server need not be up yet.
  try {
    compilePolicy(spec.policy);
  } catch (error) {
    if (!(error instanceof FirebreakError)) throw error;
    throw new FirebreakError('validation_failed', `invalid release: ${error.message}`, error.details);
  }
  if (spec.guards.plantCanary === true && spec.prompt.system === undefined && !spec.retrieval.useInPrompt)
    throw new FirebreakError(
      'validation_failed',
      'invalid release: guards.plantCanary: there is nowhere to plant it (no prompt.system, and retrieval.useInPrompt is off)',
      { path: 'guards.plantCanary' },
    );
  return { ...spec, tools };
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

export interface CreatedRelease {
  readonly release: Release;
  /** False when a release with the same content already existed (it is returned instead). */
  readonly created: boolean;
}

export async function createRelease(
  ctx: OpsContext,
  args: { app: string; spec: unknown; actor: string; reason?: string },
): Promise<CreatedRelease> {
  requireApp(ctx, args.app);
  const spec = normaliseSpec(ctx, args.spec);
  const hash = sha256(releaseContent(spec));
  const { value } = await ctx.store.control.change(async (tx) => {
    const existing = await tx.releaseByHash(args.app, hash);
    if (existing) return tx.unchanged({ release: existing, created: false });
    const release: Release = {
      app: args.app,
      version: (await tx.latestReleaseVersion(args.app)) + 1,
      hash,
      spec,
      createdAt: ctx.now(),
      createdBy: args.actor,
      // Random, not derived from the spec: anyone who can read the spec must not be able to make it.
      ...(spec.guards.plantCanary === true ? { canary: `fbcanary-${randomBytes(10).toString('hex')}` } : {}),
    };
    await tx.insertRelease(release);
    await tx.audit({
      ts: release.createdAt,
      actor: args.actor,
      action: 'release.create',
      target: releaseName(release.app, release.version),
      before: null,
      // Only a digest of the canary: the audit log is read by every viewer and can never be edited.
      after: {
        hash,
        spec,
        ...(release.canary !== undefined ? { canarySha256: sha256(release.canary).slice(0, 16) } : {}),
      },
      reason: args.reason ?? null,
      incident: null,
    });
    return { release, created: true };
  });
  return value;
}

/** `firebreak apply`: a release for every app whose firebreak.yaml entry has one. */
export async function applyConfig(ctx: OpsContext, args: { actor: string }): Promise<CreatedRelease[]> {
  // Every spec is checked before any is created: one bad app must not leave the others half applied.
  for (const [app, cfg] of Object.entries(ctx.config.apps))
    if (cfg.release)
      try {
        normaliseSpec(ctx, cfg.release);
      } catch (error) {
        if (!(error instanceof FirebreakError)) throw error;
        throw new FirebreakError('validation_failed', `apps.${app}.release: ${error.message}`, error.details);
      }
  const out: CreatedRelease[] = [];
  for (const [app, cfg] of Object.entries(ctx.config.apps))
    if (cfg.release)
      out.push(
        await createRelease(ctx, { app, spec: cfg.release, actor: args.actor, reason: 'firebreak apply' }),
      );
  return out;
}

export function parseRelease(text: string): { app: string; version: number } {
  const r = parseReleaseName(text);
  if (!r)
    throw new FirebreakError('validation_failed', `"${text}" is not a release name like support-bot@7`, {
      path: 'release',
    });
  return r;
}

export async function getRelease(ctx: OpsContext, name: string): Promise<Release> {
  const { app, version } = parseRelease(name);
  requireApp(ctx, app);
  const release = await ctx.store.control.release(app, version);
  if (!release) throw new FirebreakError('not_found', `no release ${name}`, { path: 'release' });
  return release;
}

export async function listReleases(ctx: OpsContext, args: { app?: string }): Promise<Release[]> {
  if (args.app !== undefined) requireApp(ctx, args.app);
  return ctx.store.control.releases(args.app);
}

export interface ReleaseDiff {
  readonly from: string;
  readonly to: string;
  readonly changes: ReleaseChange[];
  /** The system prompt as a line diff, when it changed. */
  readonly promptDiff: string[] | null;
}

export async function diffReleases(
  ctx: OpsContext,
  args: { from: string; to: string },
): Promise<ReleaseDiff> {
  const a = await getRelease(ctx, args.from);
  const b = await getRelease(ctx, args.to);
  const changes = diffSpecs(a.spec, b.spec);
  const pa = a.spec.prompt.system ?? '';
  const pb = b.spec.prompt.system ?? '';
  return { from: args.from, to: args.to, changes, promptDiff: pa === pb ? null : textDiff(pa, pb) };
}
