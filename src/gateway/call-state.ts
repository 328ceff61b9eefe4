import { withFields } from '../core/with-fields.js';
import type { GatewayPrincipal } from '../auth/credential-index.js';
import { resolveFlags, type EffectiveFlags } from '../core/flags.js';
import { releaseName, type Release, type SafeMode } from '../core/release.js';
import type { CallTrace } from './call-trace.js';
import { CallGuards } from './call-guards.js';
import type { ActiveRelease, Enforced } from './control-state.js';
import type { GatewayContext } from './gateway-context.js';
import type { RequestIdentity } from './request-identity.js';

/**
 * What is in force for one call, read from memory (the request path never reads the database): the
 * control state, the app/env's active release (stamped on the trace with its deployment and the state
 * version), and the flags for this user and tenant, with the store-loss safe mode folded in. The chat
 * pipeline and `/v1/tools/authorize` judge calls against the same state.
 */
export interface CallState {
  readonly enforced: Enforced;
  /** `<app>/<env>`: the key of releases and known-good marks in the control state. */
  readonly key: string;
  readonly active: ActiveRelease | undefined;
  readonly release: Release | undefined;
  readonly flags: EffectiveFlags;
  readonly now: number;
}

export function callState(
  ctx: GatewayContext,
  principal: GatewayPrincipal,
  identity: RequestIdentity,
  trace: CallTrace,
): CallState {
  const enforced = ctx.control.current();
  const key = `${principal.app}/${principal.env}`;
  const now = ctx.now();
  const resolved = resolveFlags(
    enforced.flags,
    { app: principal.app, env: principal.env, tenant: identity.tenantId, user: identity.userId },
    now,
  );
  const storeLoss = storeLossSafeMode(ctx, principal.app, now);
  const flags: EffectiveFlags = storeLoss
    ? withFields(resolved, { safeMode: storeLoss, safeModeFlag: 'store-unreachable' })
    : resolved;
  const active = enforced.releases.get(key);
  trace.notes.stateVersion = enforced.version;
  if (active) {
    trace.release = releaseName(active.release.app, active.release.version);
    trace.deployment = active.deployment.id;
  }
  return { enforced, key, active, release: active?.release, flags, now };
}

/**
 * The call's guards: the release's guard set, the system prompt in force, the caller's own identifiers,
 * and the app's other users and tenants (the caller is noted among them first).
 */
export function guardsFor(
  ctx: GatewayContext,
  app: string,
  release: Release | undefined,
  system: string,
  identity: RequestIdentity,
): CallGuards {
  ctx.identities?.note(app, identity.userId, identity.tenantId);
  const known = ctx.identities?.of(app);
  return new CallGuards(ctx.guardSets.forRelease(release), {
    system,
    ownIdentifiers: [identity.userId, identity.tenantId].filter((v): v is string => v !== null),
    ...(identity.tenantId !== null ? { tenant: identity.tenantId } : {}),
    ...(known ? { known } : {}),
  });
}

/** Opt-in (apps.<app>.storeLossSafeMode): safe mode once the store has been unreachable long enough. */
export function storeLossSafeMode(ctx: GatewayContext, app: string, now: number): SafeMode | undefined {
  const rule = ctx.config.apps[app]?.storeLossSafeMode;
  if (!rule) return undefined;
  const s = ctx.control.stats();
  if (s.storeReachable || s.lastContact === null) return undefined;
  return now - s.lastContact >= rule.afterSeconds * 1000 ? rule.mode : undefined;
}
