import type { AuditEntry } from '../core/audit.js';
import type { Flag } from '../core/flags.js';
import { diffSpecs, releaseName, releaseTools, type Release } from '../core/release.js';
import { defaultGuardSpec } from '../core/guards/guard-settings.js';
import type { AuditVerification } from '../ops/audit.js';
import { scopeText } from '../ops/flags.js';
import type { CreatedRelease, ReleaseDiff } from '../ops/releases.js';
import type { deploy } from '../ops/deployments.js';

/** The store's type, named through the operation (the CLI may not import the store). */
type DeploymentRecord = Awaited<ReturnType<typeof deploy>>;

/** Human-readable output for the control-plane commands; `--json` prints the API's JSON instead. */
const iso = (ms: number) => new Date(ms).toISOString();

export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  return [header, ...rows]
    .map((cols) =>
      cols
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function formatApplied(results: readonly CreatedRelease[]): string {
  if (results.length === 0) return 'no app in the configuration has a release (apps.<app>.release)';
  return results
    .map(({ release: r, created }) =>
      created
        ? `${releaseName(r.app, r.version)} created`
        : `${releaseName(r.app, r.version)} unchanged (same content)`,
    )
    .join('\n');
}

export function formatReleaseTable(releases: readonly Release[]): string {
  if (releases.length === 0) return 'no releases';
  return table(
    ['release', 'hash', 'created', 'by', 'model', 'tools'],
    releases.map((r) => [
      releaseName(r.app, r.version),
      r.hash.slice(0, 12),
      iso(r.createdAt),
      r.createdBy,
      r.spec.model.name,
      String(r.spec.tools.length),
    ]),
  );
}

export function formatRelease(r: Release): string {
  const s = r.spec;
  const out = [
    `release ${releaseName(r.app, r.version)}  hash ${r.hash}`,
    `created ${iso(r.createdAt)} by ${r.createdBy}`,
    ...(s.description !== undefined ? [`description: ${s.description}`] : []),
    `model: ${s.model.name}${s.model.fallbacks.length > 0 ? ` (fallbacks: ${s.model.fallbacks.join(', ')})` : ''}`,
    `params: ${JSON.stringify(s.model.params)}`,
    `tools (unknown tools: ${s.toolPolicy.unknownTools}): ${
      releaseTools(s)
        .map((t) => `${t.name} [${t.risk}]`)
        .join(', ') || 'none'
    }`,
    `retrieval: ${JSON.stringify(s.retrieval)}`,
  ];
  const tuned = diffSpecs({ ...s, guards: defaultGuardSpec }, s).map((c) => c.path);
  if (tuned.length > 0) out.push(`guards (changed from defaults): ${tuned.join(', ')}`);
  if (r.canary !== undefined) out.push(`planted canary: ${r.canary}`);
  out.push(`tool policy: ${s.policy.engine}${s.policy.engine === 'none' ? '' : ` (${s.policy.mode})`}`);
  if (s.prompt.system !== undefined)
    out.push('system prompt:', ...s.prompt.system.split('\n').map((l) => `  ${l}`));
  return out.join('\n');
}

const show = (v: unknown) => (v === undefined ? '(none)' : JSON.stringify(v));

/** Each changed path as `path: before → after`; the prompt as a line diff rather than two long strings. */
export function formatDiff(d: ReleaseDiff): string {
  if (d.changes.length === 0) return `${d.from} and ${d.to} have the same content`;
  const out = [`${d.from} → ${d.to}: ${d.changes.length} change(s)`];
  for (const c of d.changes)
    if (c.path === 'prompt.system' && d.promptDiff)
      out.push('prompt.system:', ...d.promptDiff.map((l) => `  ${l}`));
    else out.push(`${c.path}: ${show(c.before)} → ${show(c.after)}`);
  return out.join('\n');
}

export function formatDeployment(d: DeploymentRecord): string {
  const verb = d.kind === 'rollback' ? 'rolled back' : 'deployed';
  return `${verb} ${d.app}/${d.env} to ${releaseName(d.app, d.version)} (${d.id}, state version ${d.stateVersion})`;
}

export function formatDeploymentTable(rows: readonly DeploymentRecord[]): string {
  if (rows.length === 0) return 'no deployments';
  return table(
    ['time', 'app/env', 'release', 'kind', 'actor', 'reason'],
    rows.map((d) => [
      iso(d.createdAt),
      `${d.app}/${d.env}`,
      releaseName(d.app, d.version),
      d.kind,
      d.actor,
      d.reason,
    ]),
  );
}

export function formatFlagTable(flags: readonly Flag[]): string {
  if (flags.length === 0) return 'no flags';
  return table(
    ['key', 'value', 'scope', 'expires', 'actor', 'reason'],
    flags.map((f) => [
      f.key,
      f.value,
      scopeText(f),
      f.expiresAt === null ? '-' : iso(f.expiresAt),
      f.actor,
      f.reason,
    ]),
  );
}

export function formatFlag(verb: 'set' | 'unset', f: Flag): string {
  const expiry = verb === 'set' && f.expiresAt !== null ? ` until ${iso(f.expiresAt)}` : '';
  return verb === 'set'
    ? `flag ${f.key}=${f.value} set at ${scopeText(f)}${expiry}`
    : `flag ${f.key} unset at ${scopeText(f)} (was ${f.value})`;
}

export function formatAuditTable(rows: readonly AuditEntry[]): string {
  if (rows.length === 0) return 'no audit entries';
  return table(
    ['seq', 'time', 'actor', 'action', 'target', 'reason'],
    rows.map((e) => [String(e.seq), iso(e.ts), e.actor, e.action, e.target, e.reason ?? '-']),
  );
}

export function formatVerification(v: AuditVerification): string {
  if (v.ok) return `audit log intact: ${v.entries} entries, chain and head verified`;
  return [
    `audit log NOT intact (${v.entries} entries, ${v.problems.length} problem(s)):`,
    ...v.problems.map((p) => `  row ${p.seq}: ${p.kind}: ${p.message}`),
  ].join('\n');
}
