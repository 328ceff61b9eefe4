import type { Selectable } from 'kysely';
import type { AuditEntry } from '../core/audit.js';
import type { Flag } from '../core/flags.js';
import type { Release, ReleaseSpec } from '../core/release.js';
import type { DeploymentRecord, KnownGood, ReplicaRow } from './port.js';
import type {
  AuditLogTable,
  DeploymentsTable,
  FlagsTable,
  KnownGoodTable,
  ReleasesTable,
  ReplicasTable,
} from './schema.js';

/** Row ↔ domain mappings for the control-plane tables. */
export const toRelease = (r: Selectable<ReleasesTable>): Release => ({
  app: r.app,
  version: r.version,
  hash: r.hash,
  spec: JSON.parse(r.spec) as ReleaseSpec,
  createdAt: r.created_at,
  createdBy: r.created_by,
  ...(r.canary !== null ? { canary: r.canary } : {}),
});

export const toDeployment = (r: Selectable<DeploymentsTable>): DeploymentRecord => ({
  id: r.id,
  app: r.app,
  env: r.env,
  version: r.version,
  kind: r.kind === 'rollback' ? 'rollback' : 'deploy',
  actor: r.actor,
  reason: r.reason,
  incident: r.incident,
  stateVersion: r.state_version,
  createdAt: r.created_at,
});

export const toKnownGood = (r: Selectable<KnownGoodTable>): KnownGood => ({
  app: r.app,
  env: r.env,
  version: r.version,
  markedBy: r.marked_by,
  markedAt: r.marked_at,
});

export const toFlag = (r: Selectable<FlagsTable>): Flag => ({
  id: r.id,
  key: r.key,
  value: r.value,
  app: r.app,
  env: r.env,
  tenant: r.tenant,
  user: r.user_id,
  reason: r.reason,
  actor: r.actor,
  incident: r.incident,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
});

export const flagRow = (f: Flag): FlagsTable => ({
  id: f.id,
  key: f.key,
  value: f.value,
  app: f.app,
  env: f.env,
  tenant: f.tenant,
  user_id: f.user,
  reason: f.reason,
  actor: f.actor,
  incident: f.incident,
  created_at: f.createdAt,
  expires_at: f.expiresAt,
  removed_at: null,
  removed_by: null,
});

const json = (text: string | null): unknown => (text === null ? null : JSON.parse(text));

export const toAudit = (r: Selectable<AuditLogTable>): AuditEntry => ({
  seq: r.seq,
  ts: r.ts,
  actor: r.actor,
  action: r.action,
  target: r.target,
  before: json(r.before),
  after: json(r.after),
  reason: r.reason,
  incident: r.incident,
  prevHash: r.prev_hash,
  hash: r.hash,
});

export const toReplica = (r: Selectable<ReplicasTable>): ReplicaRow => ({
  id: r.id,
  role: r.role,
  stateVersion: r.state_version,
  startedAt: r.started_at,
  seenAt: r.seen_at,
  host: r.host,
  pid: r.pid,
});
