import type { AuditContent, AuditEntry } from '../core/audit.js';
import type { Flag } from '../core/flags.js';
import type { Approval } from '../core/policy/approval.js';
import type { Release } from '../core/release.js';
import type { IncidentTx } from './port-incidents.js';
import type { Delivery, NewDelivery, NewTimer, ScheduleOptions, Timer } from './port-timers.js';

// The control plane: releases, deployments, flags, audit and replicas (the store port: port.ts).

/** A deployment: release `version` of `app` made active in `env` (append-only log). */
export interface DeploymentRecord {
  readonly id: string;
  readonly app: string;
  readonly env: string;
  readonly version: number;
  readonly kind: 'deploy' | 'rollback';
  readonly actor: string;
  readonly reason: string;
  readonly incident: string | null;
  /** The control-state version this deployment created. */
  readonly stateVersion: number;
  readonly createdAt: number;
}

export interface KnownGood {
  readonly app: string;
  readonly env: string;
  readonly version: number;
  readonly markedBy: string;
  readonly markedAt: number;
}

export interface ReplicaRow {
  readonly id: string;
  readonly role: string;
  readonly stateVersion: number;
  readonly startedAt: number;
  readonly seenAt: number;
  readonly host: string;
  readonly pid: number;
}

/** Everything a gateway replica enforces, at one state version. */
export interface ControlSnapshot {
  readonly version: number;
  /** The current deployment of every app/environment that has one. */
  readonly deployments: readonly DeploymentRecord[];
  /** The releases those deployments and known-good marks name. */
  readonly releases: readonly Release[];
  readonly knownGood: readonly KnownGood[];
  /** Flags not removed (expired ones included until the sweeper reverts them; resolution ignores them). */
  readonly flags: readonly Flag[];
}

export type AuditInput = Omit<AuditContent, 'seq'>;

/** The writes of one control-plane change, all in one transaction. */
export interface ControlTx {
  /** The state version this change will create. */
  readonly stateVersion: number;
  /**
   * Ends the change without changing anything: the transaction (version bump included) is rolled back,
   * no replica is notified, and `change()` returns `value` with the current version.
   */
  unchanged(value: unknown): never;
  releaseByHash(app: string, hash: string): Promise<Release | undefined>;
  release(app: string, version: number): Promise<Release | undefined>;
  latestReleaseVersion(app: string): Promise<number>;
  insertRelease(release: Release): Promise<void>;
  currentDeployment(app: string, env: string): Promise<DeploymentRecord | undefined>;
  insertDeployment(d: Omit<DeploymentRecord, 'stateVersion'>): Promise<DeploymentRecord>;
  knownGood(app: string, env: string): Promise<KnownGood | undefined>;
  setKnownGood(k: KnownGood): Promise<void>;
  activeFlags(): Promise<Flag[]>;
  insertFlag(f: Flag): Promise<void>;
  /** Marks a flag removed; false when it was already removed (another replica got there first). */
  removeFlag(id: string, by: string, at: number): Promise<boolean>;
  audit(entry: AuditInput): Promise<AuditEntry>;
  approval(id: string): Promise<Approval | undefined>;
  /** Approves or denies a pending approval; false (nothing written) when it is no longer pending. */
  decideApproval(
    id: string,
    d: { status: 'approved' | 'denied'; by: string; reason: string; at: number },
  ): Promise<boolean>;
  /** Incident writes: only inside a change, so an incident and the flags it set commit together. */
  readonly incidents: IncidentTx;
  /**
   * Timers and channel messages that belong to the change (an incident's reminders, the message about
   * an update): they commit with it, or not at all.
   */
  readonly outbox: ChangeOutbox;
}

export interface ChangeOutbox {
  schedule(t: NewTimer, now: number, options?: ScheduleOptions): Promise<Timer>;
  cancel(key: string, now: number): Promise<boolean>;
  enqueueDelivery(d: NewDelivery): Promise<Delivery>;
}

export interface ChangeOptions {
  /**
   * A change that writes nothing the replicas serve from (releases, deployments, known-good marks,
   * flags: the ControlSnapshot), such as most incident changes: it takes the same lock but keeps the
   * state version and notifies nobody, so an incident storm does not make every replica reload. Writing
   * snapshot state in a quiet change throws.
   */
  readonly quiet?: boolean;
}

export interface ControlStore {
  /**
   * Runs `fn` in one transaction that first takes the control-plane lock and bumps the state version;
   * on any error nothing is written. Replicas are notified after commit.
   */
  change<T>(
    fn: (tx: ControlTx) => Promise<T>,
    options?: ChangeOptions,
  ): Promise<{ value: T; version: number }>;
  version(): Promise<number>;
  snapshot(): Promise<ControlSnapshot>;
  releases(app?: string): Promise<Release[]>;
  release(app: string, version: number): Promise<Release | undefined>;
  deployments(filter: { app?: string; env?: string; limit: number }): Promise<DeploymentRecord[]>;
  knownGood(): Promise<KnownGood[]>;
  flags(filter: { includeRemoved: boolean }): Promise<Flag[]>;
  auditLog(filter: { afterSeq?: number; limit: number }): Promise<AuditEntry[]>;
  /** The newest entry's seq and hash as recorded with it (0 and the genesis hash when empty). */
  auditHead(): Promise<{ seq: number; hash: string }>;
  heartbeat(replica: ReplicaRow): Promise<void>;
  replicas(): Promise<ReplicaRow[]>;
  /** Push notification of new state versions (PostgreSQL LISTEN/NOTIFY; in-process on SQLite). */
  subscribe(listener: (version: number) => void): () => void;
}
