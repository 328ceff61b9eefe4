import { FirebreakError } from '../errors.js';
import { resolveLevel, type LevelOnCall } from './escalation.js';
import type { OnCallConfig } from './oncall-config.js';

/** Who is on the hook at each level of a policy at an instant (`firebreak oncall now`). */
export function whoIsOnCall(config: OnCallConfig, policyId: string, at: number): LevelOnCall[] {
  const policy = config.policies.find((p) => p.id === policyId);
  if (!policy) throw new FirebreakError('not_found', `unknown escalation policy "${policyId}"`);
  return policy.levels.map((level, i) => resolveLevel(level, i + 1, at));
}

/** The escalation policy an app pages (`oncall.apps`), if it has one. */
export function policyForApp(config: OnCallConfig, app: string): string | undefined {
  // hasOwn: an app called "constructor" must not find Object.prototype's.
  return Object.hasOwn(config.apps, app) ? config.apps[app] : undefined;
}

/** `firebreak oncall now --app A`: the app's policy and who is on the hook at each of its levels. */
export function whoIsOnCallForApp(
  config: OnCallConfig,
  app: string,
  at: number,
): { policy: string; levels: LevelOnCall[] } {
  const policy = policyForApp(config, app);
  if (policy === undefined) {
    throw new FirebreakError('not_found', `app "${app}" has no escalation policy (oncall.apps)`);
  }
  return { policy, levels: whoIsOnCall(config, policy, at) };
}
