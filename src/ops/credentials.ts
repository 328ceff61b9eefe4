import { parseExpiry } from './flags.js';
import { generateSecret, hashSecret, newId } from '../auth/secrets.js';
import { roles, type Role } from '../core/config.js';
import { FirebreakError } from '../core/errors.js';
import type { OpsContext } from './context.js';

export interface CreatedSecret {
  readonly id: string;
  /** Shown once; only its digest is stored. */
  readonly secret: string;
  readonly name: string;
}

export async function createGatewayKey(
  ctx: OpsContext,
  args: { app: string; env: string; name?: string; id?: string },
): Promise<CreatedSecret & { app: string; env: string }> {
  const app = ctx.config.apps[args.app];
  if (!app)
    throw new FirebreakError(
      'not_found',
      `unknown app "${args.app}" (configured: ${Object.keys(ctx.config.apps).join(', ') || 'none'})`,
    );
  if (!app.environments.includes(args.env))
    throw new FirebreakError(
      'not_found',
      `app "${args.app}" has no environment "${args.env}" (has ${app.environments.join(', ')})`,
    );
  const secret = generateSecret('fbk');
  const id = args.id ?? newId('key');
  const name = args.name ?? `${args.app}/${args.env}`;
  await ctx.store.credentials.insert({
    id,
    kind: 'gateway',
    hash: hashSecret(secret),
    name,
    app: args.app,
    env: args.env,
    role: null,
    createdAt: ctx.now(),
    expiresAt: null,
  });
  return { id, secret, name, app: args.app, env: args.env };
}

export async function createApiToken(
  ctx: OpsContext,
  args: { role: string; name: string; id?: string; expires?: string | undefined },
): Promise<CreatedSecret & { role: Role; expiresAt: number | null }> {
  const role = roles.find((r) => r === args.role);
  if (!role)
    throw new FirebreakError('validation_failed', `role "${args.role}" is not one of ${roles.join(', ')}`, {
      path: 'role',
    });
  if (args.name.trim() === '')
    throw new FirebreakError('validation_failed', 'a token needs a name', { path: 'name' });
  const expiresAt = args.expires === undefined ? null : parseExpiry(args.expires, ctx.now());
  const secret = generateSecret('fbt');
  const id = args.id ?? newId('tok');
  await ctx.store.credentials.insert({
    id,
    kind: 'token',
    hash: hashSecret(secret),
    name: args.name,
    app: null,
    env: null,
    role,
    createdAt: ctx.now(),
    expiresAt,
  });
  return { id, secret, name: args.name, role, expiresAt };
}

/**
 * First start with no keys anywhere: create one gateway key (first app, first environment) and one admin
 * token so `npm start` is usable at once. Fixed ids make this safe when several replicas start together:
 * the loser's insert conflicts and it creates nothing.
 */
export async function bootstrapCredentials(
  ctx: OpsContext,
): Promise<
  { gatewayKey: CreatedSecret & { app: string; env: string }; adminToken: CreatedSecret } | undefined
> {
  if (ctx.config.keys.length > 0 || ctx.config.tokens.length > 0) return undefined;
  if ((await ctx.store.credentials.list()).length > 0) return undefined;
  const [app, appConfig] = Object.entries(ctx.config.apps)[0] ?? [];
  const env = appConfig?.environments[0];
  if (app === undefined || env === undefined) return undefined;
  try {
    const gatewayKey = await createGatewayKey(ctx, { app, env, id: 'key_bootstrap' });
    const adminToken = await createApiToken(ctx, {
      role: 'admin',
      name: 'bootstrap-admin',
      id: 'tok_bootstrap',
    });
    return { gatewayKey, adminToken };
  } catch {
    return undefined; // another replica bootstrapped first
  }
}
