import { randomBytes } from 'node:crypto';
import { FirebreakError } from '../core/errors.js';
import type { Flag } from '../core/flags.js';
import { isIncidentId } from '../core/incidents/incident.js';
import { applyContainment, revertContainment } from '../core/incidents/containment.js';
import type { TimelineEvent } from '../core/incidents/timeline.js';
import { releaseName, safeModes } from '../core/release.js';
import type {
  ContainmentEffects,
  ContainmentFlagEffect,
  ContainmentRecord,
  ControlStore,
  ControlTx,
  IncidentRecord,
} from '../store/port.js';
import type { OpsContext } from './context.js';
import { deploy, rollback } from './deployments.js';
import { scopeText, setFlag, unsetFlag } from './flags.js';
import { commitChange, loadIncident, viewInTx, type IncidentView } from './incident-change.js';

/**
 * Containment bound to an incident (issue 5 item 4): each action is executed by the existing flag and
 * rollback operations, inside the same control-plane transaction as the incident's own change, so the
 * flag (or deployment), its audit entry, the incident's timeline event and the containment record commit
 * together or not at all. Revert undoes exactly what the action did, and restores what it replaced.
 *
 * `narrow-retrieval --allow a,b`: a `retrieval:<source>` flag can only switch a source off, so "only
 * these" becomes one `off` flag for every other source in the retrieval scope of the release deployed
 * (in the incident's environment, or in each of the app's environments). A release whose scope is
 * empty allows any source, which flags cannot narrow: that is refused, and `--deny a,b` switches named
 * sources off instead. A source added by a later release is not covered (the flags name sources).
 */
export const containmentKinds = [
  'disable-tool',
  'safe-mode',
  'rollback',
  'narrow-retrieval',
  'disable-model',
  'block-user',
  'block-tenant',
] as const;
export type ContainmentKind = (typeof containmentKinds)[number];

/** How the API and CLI name an action: `{action: "disable-tool", target: "send_email"}`. */
export interface ContainmentInput {
  readonly action: string;
  /** Tool, safe mode, model family, user or tenant. */
  readonly target?: string | undefined;
  /** rollback: the release version to return to (default: known-good). */
  readonly to?: number | undefined;
  /** narrow-retrieval: the sources to keep, or the sources to switch off. */
  readonly allow?: readonly string[] | undefined;
  readonly deny?: readonly string[] | undefined;
}

const targetOf: Partial<Record<ContainmentKind, string>> = {
  'disable-tool': 'a tool name',
  'safe-mode': `a safe mode (${safeModes.filter((m) => m !== 'off').join(' | ')})`,
  'disable-model': 'a model family',
  'block-user': 'a user id',
  'block-tenant': 'a tenant id',
};

function invalid(message: string, path: string): FirebreakError {
  return new FirebreakError('validation_failed', message, { path });
}

/** Checks the input's shape for its kind; names (tools, families, environments) are checked by the flag operations. */
export function parseContainment(input: ContainmentInput): ContainmentInput & { action: ContainmentKind } {
  const kind = containmentKinds.find((k) => k === input.action);
  if (kind === undefined)
    throw invalid(`action "${input.action}" is not one of ${containmentKinds.join(', ')}`, 'action');
  const wants = targetOf[kind];
  if (wants !== undefined && !input.target?.trim()) throw invalid(`${kind} needs ${wants}`, 'target');
  if (wants === undefined && input.target !== undefined)
    throw invalid(`${kind} takes no target (got "${input.target}")`, 'target');
  if (kind === 'safe-mode' && (input.target === 'off' || !safeModes.some((m) => m === input.target)))
    throw invalid(`safe-mode needs ${wants ?? ''}; "${input.target ?? ''}" is not one`, 'target');
  if (kind !== 'rollback' && input.to !== undefined) throw invalid(`only rollback takes "to"`, 'to');
  const lists = [input.allow, input.deny].filter((l) => l !== undefined);
  if (kind !== 'narrow-retrieval' && lists.length > 0)
    throw invalid('only narrow-retrieval takes allow or deny', input.allow ? 'allow' : 'deny');
  if (kind === 'narrow-retrieval' && (lists.length !== 1 || lists[0]?.length === 0))
    throw invalid('narrow-retrieval needs either allow or deny, with at least one source', 'allow');
  return { ...input, action: kind };
}

/** The action in words, as typed on the command line: `disable-tool send_email`, `rollback --to 3`. */
export function describeContainment(a: ContainmentInput): string {
  if (a.action === 'rollback') return a.to === undefined ? 'rollback' : `rollback --to ${a.to}`;
  if (a.action === 'narrow-retrieval')
    return a.allow
      ? `narrow-retrieval --allow ${a.allow.join(',')}`
      : `narrow-retrieval --deny ${(a.deny ?? []).join(',')}`;
  return `${a.action} ${a.target ?? ''}`;
}

/**
 * The operations' context with `change()` joining the enclosing transaction: setFlag, unsetFlag,
 * rollback and deploy then run unchanged, with their checks and audit entries, as part of the incident
 * change. (`unchanged()` would end the whole change, so inside it is an error instead.)
 */
function joinTransaction(ctx: OpsContext, tx: ControlTx): OpsContext {
  const inner: ControlTx = {
    ...tx,
    unchanged() {
      throw new FirebreakError('conflict', 'the containment action would change nothing');
    },
  };
  const control: ControlStore = {
    ...ctx.store.control,
    async change(fn) {
      return { value: await fn(inner), version: tx.stateVersion };
    },
  };
  return { ...ctx, store: { ...ctx.store, control } };
}

interface Exec {
  readonly ops: OpsContext;
  readonly tx: ControlTx;
  readonly incident: IncidentRecord;
  readonly env: string | null;
  readonly actor: string;
  readonly reason: string;
}

async function setContainmentFlag(x: Exec, key: string, value: string): Promise<ContainmentFlagEffect> {
  const { app } = x.incident;
  const replaced = (await x.tx.activeFlags()).find(
    (f) => f.key === key && f.app === app && f.env === x.env && f.tenant === null && f.user === null,
  );
  const flag = await setFlag(x.ops, {
    key,
    value,
    app,
    env: x.env ?? undefined,
    actor: x.actor,
    reason: x.reason,
    incident: x.incident.id,
  });
  return { ...flag, replaced: replaced ?? null };
}

/** The sources the release(s) deployed for the app may retrieve from; refused when any is unbounded. */
async function retrievalScope(x: Exec): Promise<Set<string>> {
  const { app } = x.incident;
  const envs = x.env !== null ? [x.env] : (x.ops.config.apps[app]?.environments ?? []);
  const sources = new Set<string>();
  for (const env of envs) {
    const deployed = await x.tx.currentDeployment(app, env);
    const release = deployed && (await x.tx.release(app, deployed.version));
    if (!release)
      throw new FirebreakError(
        'conflict',
        `narrow-retrieval --allow needs the deployed release's retrieval sources, and ${app}/${env} has no deployed release; flags can only switch named sources off: use --deny <source,...>`,
      );
    if (release.spec.retrieval.sources.length === 0)
      throw new FirebreakError(
        'conflict',
        `${releaseName(app, release.version)} allows any retrieval source (retrieval.sources is empty), and flags can only switch named sources off, so "only these" cannot be enforced: use --deny <source,...>, or deploy a release that lists its sources`,
      );
    for (const s of release.spec.retrieval.sources) sources.add(s);
  }
  return sources;
}

async function execute(
  x: Exec,
  a: ContainmentInput & { action: ContainmentKind },
): Promise<ContainmentEffects> {
  const one = async (key: string, value: string) => ({
    flags: [await setContainmentFlag(x, key, value)],
    deployment: null,
  });
  const target = a.target?.trim() ?? '';
  switch (a.action) {
    case 'disable-tool':
      return one(`tool:${target}`, 'off');
    case 'disable-model':
      return one(`model:${target}`, 'off');
    case 'safe-mode':
      return one('safe-mode', target);
    case 'block-user':
      return one(`user:${target}`, 'blocked');
    case 'block-tenant':
      return one(`tenant:${target}`, 'blocked');
    case 'narrow-retrieval': {
      let off = a.deny ?? [];
      if (a.allow) {
        const scope = await retrievalScope(x);
        const unknown = a.allow.find((s) => !scope.has(s));
        if (unknown !== undefined)
          throw invalid(
            `retrieval source "${unknown}" is not in the retrieval scope of ${x.incident.app} (${[...scope].join(', ')})`,
            'allow',
          );
        off = [...scope].filter((s) => !a.allow?.includes(s));
        if (off.length === 0)
          throw new FirebreakError(
            'conflict',
            `nothing to narrow: ${x.incident.app} retrieves only from ${[...scope].join(', ')} already`,
          );
      }
      const flags: ContainmentFlagEffect[] = [];
      for (const source of new Set(off))
        flags.push(await setContainmentFlag(x, `retrieval:${source}`, 'off'));
      return { flags, deployment: null };
    }
    case 'rollback': {
      const env = x.env;
      if (env === null)
        throw invalid(
          `rollback needs an environment: ${x.incident.id} is not bound to one; pass env (--env)`,
          'env',
        );
      const previous = await x.tx.currentDeployment(x.incident.app, env);
      const d = await rollback(x.ops, {
        app: x.incident.app,
        env,
        to: a.to,
        actor: x.actor,
        reason: x.reason,
        incident: x.incident.id,
      });
      return {
        flags: [],
        deployment: {
          id: d.id,
          app: d.app,
          env: d.env,
          version: d.version,
          previous: previous ? { id: previous.id, version: previous.version } : null,
        },
      };
    }
  }
}

export interface ContainArgs {
  readonly id: string;
  readonly action: ContainmentInput;
  readonly actor: string;
  /** Scope of the flags and the environment rolled back; default the incident's (null: every one). */
  readonly env?: string | undefined;
  readonly reason?: string | undefined;
  /** Containment before triage, on purpose (the core records it). */
  readonly override?: boolean | undefined;
}

export interface ContainResult {
  readonly containment: ContainmentRecord;
  readonly incident: IncidentView;
}

/** Executes one containment action for the incident and lists it as in force (detected/triaged → contained). */
export async function containIncident(ctx: OpsContext, args: ContainArgs): Promise<ContainResult> {
  const action = parseContainment(args.action);
  const words = describeContainment(action);
  const { value } = await ctx.store.control.change(async (tx) => {
    const incident = await loadIncident(tx, args.id);
    const at = ctx.now();
    const ref = `ctn_${randomBytes(6).toString('hex')}`;
    const reason = args.reason?.trim() ? args.reason.trim() : undefined;
    // The lifecycle decides first (before triage without override, resolved, closed): then nothing runs.
    const change = applyContainment(incident, {
      ref,
      action: words,
      at,
      actor: args.actor,
      ...(reason !== undefined ? { reason } : {}),
      ...(args.override === true ? { override: true } : {}),
    });
    const effects = await execute(
      {
        ops: joinTransaction(ctx, tx),
        tx,
        incident,
        env: args.env ?? incident.env,
        actor: args.actor,
        reason: `${incident.id}: ${reason ?? incident.title}`,
      },
      action,
    );
    const containment: ContainmentRecord = {
      ref,
      incident: incident.id,
      action: words,
      effects,
      appliedAt: at,
      appliedBy: args.actor,
      revertedAt: null,
      revertedBy: null,
    };
    await tx.incidents.insertContainment(containment);
    await commitChange(ctx, tx, incident, change, {
      actor: args.actor,
      action: 'contain',
      at,
      reason,
      extra: { ref, effects },
    });
    return { containment, incident: await viewInTx(ctx, tx, incident.id) };
  });
  return value;
}

/**
 * The flag to put back when a containment flag is reverted: the one it replaced, unless that one was
 * itself set by a containment action since reverted (then what that one replaced), or has expired.
 * `owner` is the containment action the flag belongs to, if any: it must learn the restored flag's id.
 */
async function restorable(
  tx: ControlTx,
  flag: Flag | null,
  now: number,
): Promise<{ flag: Flag; owner: ContainmentRecord | undefined } | null> {
  for (let f = flag, hops = 0; f !== null && hops < 32; hops++) {
    if (f.expiresAt !== null && f.expiresAt <= now) return null;
    const id = f.id;
    const owner =
      f.incident !== null && isIncidentId(f.incident)
        ? (await tx.incidents.containmentOf(f.incident)).find((c) => c.effects.flags.some((e) => e.id === id))
        : undefined;
    if (owner === undefined || owner.revertedAt === null) return { flag: f, owner };
    f = owner.effects.flags.find((e) => e.id === id)?.replaced ?? null;
  }
  return null;
}

async function undoFlag(x: Exec, e: ContainmentFlagEffect, now: number): Promise<string> {
  const where = `${e.key} @ ${scopeText(e)}`;
  const active = (await x.tx.activeFlags()).find((f) => f.id === e.id);
  if (!active) return `${where} was already removed or replaced; left as it is`;
  const scope = {
    app: e.app,
    env: e.env ?? undefined,
    tenant: e.tenant ?? undefined,
    user: e.user ?? undefined,
  };
  const previous = await restorable(x.tx, e.replaced, now);
  if (previous === null) {
    await unsetFlag(x.ops, {
      key: e.key,
      ...scope,
      actor: x.actor,
      reason: x.reason,
      incident: x.incident.id,
    });
    return `${where} removed`;
  }
  const { flag, owner } = previous;
  const restored = await setFlag(x.ops, {
    key: e.key,
    value: flag.value,
    ...scope,
    actor: x.actor,
    reason: `${x.reason} (restoring the flag it replaced, set by ${flag.actor}: ${flag.reason})`,
    incident: flag.incident ?? x.incident.id,
    ...(flag.expiresAt !== null ? { expires: new Date(flag.expiresAt).toISOString() } : {}),
  });
  // The restored flag stands in for the old one, so the action that set the old one reverts it later.
  if (owner)
    await x.tx.incidents.updateEffects(owner.ref, {
      ...owner.effects,
      flags: owner.effects.flags.map((f) => (f.id === flag.id ? { ...f, id: restored.id } : f)),
    });
  return `${where} restored to ${flag.value}`;
}

async function undoDeployment(x: Exec, e: NonNullable<ContainmentEffects['deployment']>): Promise<string> {
  const current = await x.tx.currentDeployment(e.app, e.env);
  if (current?.id !== e.id)
    return `${e.app}/${e.env} was deployed again since (now ${releaseName(e.app, current?.version ?? 0)}); left as it is`;
  if (e.previous === null)
    throw new FirebreakError(
      'conflict',
      `the rollback of ${e.app}/${e.env} has no earlier deployment to return to: deploy a release (firebreak deploy), then revert again to record it`,
    );
  await deploy(x.ops, {
    release: releaseName(e.app, e.previous.version),
    env: e.env,
    actor: x.actor,
    reason: x.reason,
    incident: x.incident.id,
  });
  return `${e.app}/${e.env} redeployed to ${releaseName(e.app, e.previous.version)}`;
}

/**
 * Undoes containment `ref` inside the caller's change and returns the incident change to commit. What
 * someone changed since (a flag replaced or removed, a newer deployment) is left alone and said so.
 */
export async function revertInTx(
  ctx: OpsContext,
  tx: ControlTx,
  incident: IncidentRecord,
  ref: string,
  args: { actor: string; at: number; reason?: string | undefined },
): Promise<{ incident: IncidentRecord; events: readonly TimelineEvent[]; record: ContainmentRecord }> {
  revertContainment(incident, { ref, at: args.at, actor: args.actor }); // refuses what is not in force
  const record = await tx.incidents.containment(ref);
  const reason = args.reason?.trim() ? args.reason.trim() : undefined;
  const x: Exec = {
    ops: joinTransaction(ctx, tx),
    tx,
    incident,
    env: null,
    actor: args.actor,
    reason: `${incident.id}: revert ${ref}${reason !== undefined ? ` (${reason})` : ''}`,
  };
  const notes: string[] = [];
  if (record) {
    for (const e of [...record.effects.flags].reverse()) notes.push(await undoFlag(x, e, args.at));
    if (record.effects.deployment) notes.push(await undoDeployment(x, record.effects.deployment));
    await tx.incidents.markReverted(ref, args.actor, args.at);
  } else notes.push('no record of what it did; nothing undone');
  const change = revertContainment(incident, {
    ref,
    at: args.at,
    actor: args.actor,
    reason: [reason, ...notes].filter((n) => n !== undefined).join('; '),
  });
  const active = incident.containment.find((c) => c.ref === ref);
  const base: ContainmentRecord = record ?? {
    ref,
    incident: incident.id,
    action: active?.action ?? ref,
    effects: { flags: [], deployment: null },
    appliedAt: active?.at ?? args.at,
    appliedBy: active?.actor ?? args.actor,
    revertedAt: null,
    revertedBy: null,
  };
  return { ...change, record: { ...base, revertedAt: args.at, revertedBy: args.actor } };
}

export interface RevertArgs {
  readonly id: string;
  readonly ref: string;
  readonly actor: string;
  readonly reason?: string | undefined;
}

/** Reverts one containment action of the incident; the status stays (the core's rule). */
export async function revertIncidentContainment(ctx: OpsContext, args: RevertArgs): Promise<ContainResult> {
  const { value } = await ctx.store.control.change(async (tx) => {
    const incident = await loadIncident(tx, args.id);
    const at = ctx.now();
    const reverted = await revertInTx(ctx, tx, incident, args.ref, { ...args, at });
    await commitChange(ctx, tx, incident, reverted, {
      actor: args.actor,
      action: 'revert',
      at,
      reason: args.reason,
      extra: { ref: args.ref },
    });
    return { containment: reverted.record, incident: await viewInTx(ctx, tx, incident.id) };
  });
  return value;
}
