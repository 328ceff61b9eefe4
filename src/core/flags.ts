import { FirebreakError } from './errors.js';
import { safeModes, type SafeMode } from './release.js';

/**
 * Flags: runtime overrides that need no release (product.md §2). A flag has a key, a value and a scope
 * (app, optionally environment, tenant, user); for each key the most specific matching scope wins.
 */
export type FlagKind = 'tool' | 'model' | 'safe-mode' | 'retrieval' | 'user' | 'tenant';

export interface FlagKey {
  readonly kind: FlagKind;
  /** Tool name, model family, source, user or tenant id; empty for `safe-mode`. */
  readonly name: string;
}

const valuesOf: Record<FlagKind, readonly string[]> = {
  tool: ['off', 'on'],
  model: ['off', 'on'],
  'safe-mode': safeModes,
  retrieval: ['off', 'on'],
  user: ['blocked', 'allowed'],
  tenant: ['blocked', 'allowed'],
};

export function parseFlagKey(text: string): FlagKey {
  if (text === 'safe-mode') return { kind: 'safe-mode', name: '' };
  const m = /^(tool|model|retrieval|user|tenant):(.{1,256})$/.exec(text);
  if (!m?.[1] || !m[2])
    throw new FirebreakError(
      'validation_failed',
      `flag "${text}" is not one of tool:<name>, model:<family>, safe-mode, retrieval:<source>, user:<id>, tenant:<id>`,
      { path: 'key' },
    );
  return { kind: m[1] as FlagKind, name: m[2] };
}

export function validateFlagValue(key: FlagKey, value: string): void {
  const allowed = valuesOf[key.kind];
  if (!allowed.includes(value))
    throw new FirebreakError(
      'validation_failed',
      `value "${value}" is not valid for ${key.kind} flags (use ${allowed.join(' | ')})`,
      {
        path: 'value',
      },
    );
}

export function formatFlagKey(key: FlagKey): string {
  return key.kind === 'safe-mode' ? 'safe-mode' : `${key.kind}:${key.name}`;
}

export interface FlagScope {
  readonly app: string;
  /** null: every environment of the app. */
  readonly env: string | null;
  readonly tenant: string | null;
  readonly user: string | null;
}

export interface Flag extends FlagScope {
  readonly id: string;
  readonly key: string;
  readonly value: string;
  readonly reason: string;
  readonly actor: string;
  readonly incident: string | null;
  readonly createdAt: number;
  /** Epoch ms after which the flag no longer applies (and is reverted in the audit log). */
  readonly expiresAt: number | null;
}

/** What the flags mean for one request. */
export interface EffectiveFlags {
  readonly disabledTools: ReadonlySet<string>;
  readonly disabledModelFamilies: ReadonlySet<string>;
  readonly disabledSources: ReadonlySet<string>;
  readonly safeMode: SafeMode;
  /** The flag that put the request in safe mode, for the trace. */
  readonly safeModeFlag: string | null;
  readonly blocked: { readonly by: string; readonly reason: string } | null;
}

export interface RequestScope {
  readonly app: string;
  readonly env: string;
  readonly tenant: string | null;
  readonly user: string | null;
}

function specificity(f: FlagScope): number {
  return (f.env !== null ? 1 : 0) + (f.tenant !== null ? 2 : 0) + (f.user !== null ? 4 : 0);
}

function matches(f: Flag, r: RequestScope, now: number): boolean {
  return (
    f.app === r.app &&
    (f.env === null || f.env === r.env) &&
    (f.tenant === null || f.tenant === r.tenant) &&
    (f.user === null || f.user === r.user) &&
    (f.expiresAt === null || f.expiresAt > now)
  );
}

/** What no flag means; shared, since nearly every call matches none (read-only sets). */
const NO_FLAGS: EffectiveFlags = Object.freeze({
  disabledTools: new Set<string>(),
  disabledModelFamilies: new Set<string>(),
  disabledSources: new Set<string>(),
  safeMode: 'off',
  safeModeFlag: null,
  blocked: null,
});

export function resolveFlags(flags: readonly Flag[], r: RequestScope, now: number): EffectiveFlags {
  let winner: Map<string, Flag> | undefined;
  for (const f of flags) {
    if (!matches(f, r, now)) continue;
    winner ??= new Map<string, Flag>();
    const cur = winner.get(f.key);
    if (
      !cur ||
      specificity(f) > specificity(cur) ||
      (specificity(f) === specificity(cur) && f.createdAt > cur.createdAt)
    )
      winner.set(f.key, f);
  }
  if (!winner) return NO_FLAGS;
  const disabledTools = new Set<string>();
  const disabledModelFamilies = new Set<string>();
  const disabledSources = new Set<string>();
  let safeMode: SafeMode = 'off';
  let safeModeFlag: string | null = null;
  let blocked: EffectiveFlags['blocked'] = null;
  for (const [key, f] of winner) {
    const k = parseFlagKey(key);
    switch (k.kind) {
      case 'tool':
        if (f.value === 'off') disabledTools.add(k.name);
        break;
      case 'model':
        if (f.value === 'off') disabledModelFamilies.add(k.name);
        break;
      case 'retrieval':
        if (f.value === 'off') disabledSources.add(k.name);
        break;
      case 'safe-mode':
        safeMode = f.value as SafeMode;
        safeModeFlag = safeMode === 'off' ? null : f.id;
        break;
      case 'user':
        if (f.value === 'blocked' && k.name === r.user) blocked = { by: key, reason: f.reason };
        break;
      case 'tenant':
        if (f.value === 'blocked' && k.name === r.tenant) blocked ??= { by: key, reason: f.reason };
        break;
    }
  }
  return { disabledTools, disabledModelFamilies, disabledSources, safeMode, safeModeFlag, blocked };
}
