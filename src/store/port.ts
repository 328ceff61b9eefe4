import type { AuditContent, AuditEntry } from '../core/audit.js';
import type { Role } from '../core/config.js';
import type { Flag } from '../core/flags.js';
import type { ComplianceFlags } from '../core/incidents/compliance-clocks.js';
import type { Incident, IncidentClass, IncidentStatus, Severity } from '../core/incidents/incident.js';
import type { TimelineEvent } from '../core/incidents/timeline.js';
import type { Approval, ApprovalViewStatus } from '../core/policy/approval.js';
import type { Release } from '../core/release.js';
import type { TraceFilter, TracePageRequest, TraceRecord, TraceStatus } from '../core/trace.js';

/**
 * The storage port: small and aggregate-shaped. Both adapters (sqlite/, postgres/) provide a Kysely
 * instance; the queries in this folder are shared, and dialect differences are capability flags.
 */
export interface Capabilities {
  readonly dialect: 'sqlite' | 'postgres';
  /** Several processes can share this store (PostgreSQL); SQLite is one process. */
  readonly multiProcess: boolean;
  /**
   * The isolation level a multi-statement read needs to see one consistent state (PostgreSQL's default,
   * read committed, does not give that; a SQLite transaction always does).
   */
  readonly snapshotReads?: 'repeatable read';
}

export interface CredentialRow {
  readonly id: string;
  readonly kind: 'gateway' | 'token';
  readonly hash: string;
  readonly name: string;
  readonly app: string | null;
  readonly env: string | null;
  readonly role: Role | null;
  readonly createdAt: number;
  /** Epoch ms after which the credential is refused; null: never. */
  readonly expiresAt: number | null;
}

export interface TraceStore {
  insertBatch(records: readonly TraceRecord[]): Promise<void>;
  /** All calls recorded under a trace id (or the one call with that row id), oldest first. */
  getByTraceId(id: string): Promise<TraceRecord[]>;
  page(request: TracePageRequest): Promise<TraceRecord[]>;
  count(filter: TraceFilter): Promise<number>;
  /** Exact distinct users, tenants and calls matching a blast radius filter (blast-radius-queries.ts). */
  blastRadius(query: BlastRadiusQuery): Promise<BlastRadiusCounts>;
  /**
   * The affected users, one row per (user, tenant) in that order, in pages of `pageSize`. The matching
   * calls are aggregated once; stop iterating to end early (what it holds is released).
   */
  affectedUsers(query: BlastRadiusQuery, pageSize: number): AsyncGenerator<AffectedUser[]>;
}

/** A blast radius filter as the store runs it: the window resolved to epoch ms, `[since, until)`. */
export interface BlastRadiusQuery {
  readonly since: number;
  readonly until: number;
  readonly app?: string;
  readonly env?: string;
  /** `app@N`; its app is implied. */
  readonly release?: string;
  readonly status?: TraceStatus;
  readonly detector?: string;
  readonly tool?: string;
  readonly class?: string;
}

export interface BlastRadiusCounts {
  /** Calls (trace rows). */
  readonly traces: number;
  readonly users: number;
  readonly tenants: number;
  /** Calls that named no user (not in `users`, not in the export). */
  readonly tracesWithoutUser: number;
}

export interface AffectedUser {
  readonly userId: string;
  readonly tenantId: string | null;
  readonly firstSeen: number;
  readonly lastSeen: number;
  readonly traces: number;
  /** The X-AI-Trace-Id of the user's latest matching call. */
  readonly exampleTraceId: string;
}

export interface CredentialStore {
  insert(row: CredentialRow): Promise<void>;
  list(): Promise<CredentialRow[]>;
}

/** A held call to record: pending, with no decision yet. */
export type NewApproval = Omit<
  Approval,
  'status' | 'decidedBy' | 'decidedAt' | 'decisionReason' | 'usedAt' | 'usedTraceId'
>;

/**
 * Approvals of held tool calls. Creating and consuming one happens on the gateway's path and is not a
 * control-plane change; deciding one is (ControlTx.decideApproval, audited).
 */
export interface ApprovalStore {
  /**
   * Insert or get: records the held call as pending, or, when an identical call (ApprovalMatch) already
   * waits, returns that one instead; concurrent identical calls end up with one pending approval. A
   * pending one for the call that expired unanswered is retired (stored `expired`) first.
   */
  create(a: NewApproval): Promise<Approval>;
  get(id: string): Promise<Approval | undefined>;
  /** Newest first. `status` is as shown (`expired`: pending or approved past `expiresAt` at `now`). */
  list(filter: {
    status?: ApprovalViewStatus | undefined;
    app?: string | undefined;
    now: number;
    limit: number;
  }): Promise<Approval[]>;
  /**
   * Atomically takes one approved, unexpired, unused approval for exactly this call and marks it used;
   * undefined when there is none. Two identical calls racing for one approval: one gets it.
   */
  consume(call: ApprovalMatch & { now: number; traceId: string }): Promise<Approval | undefined>;
  /** The newest pending, unexpired approval for exactly this call (a retried call shares it). */
  pending(call: ApprovalMatch & { now: number }): Promise<Approval | undefined>;
  /**
   * The newest denial of exactly this call still in force at `now`: a denial refuses the identical call
   * for the approval's own TTL (`expiresAt - createdAt`), counted from the decision.
   */
  denied(call: ApprovalMatch & { now: number }): Promise<Approval | undefined>;
}

/** What makes a later call the same call as the one approved. */
export interface ApprovalMatch {
  readonly app: string;
  readonly env: string;
  readonly tool: string;
  readonly argumentsHash: string;
  readonly user: string | null;
}

export interface Store {
  /** The URL the store was opened from (a worker thread opens its own connection with it). */
  readonly url: string;
  readonly capabilities: Capabilities;
  readonly traces: TraceStore;
  readonly credentials: CredentialStore;
  readonly control: ControlStore;
  readonly approvals: ApprovalStore;
  readonly incidents: IncidentStore;
  readonly timers: TimerStore;
  readonly deliveries: DeliveryStore;
  readonly detection: DetectionStore;
  /** Cheap round trip, for readiness. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

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

/**
 * Durable timers (issue 5 item 10). `cancelled` is kept rather than deleted so "what stopped this
 * escalation, when" stays answerable.
 */
export type TimerStatus = 'pending' | 'running' | 'done' | 'failed' | 'cancelled';

export interface Timer {
  readonly id: string;
  readonly kind: string;
  readonly key: string;
  readonly dueAt: number;
  readonly payload: unknown;
  readonly status: TimerStatus;
  /** Runs started; a run taken over after its replica died counts too. */
  readonly attempts: number;
  readonly leaseOwner: string | null;
  readonly leaseUntil: number | null;
  readonly lastError: string | null;
  readonly firstRunAt: number | null;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface NewTimer {
  readonly kind: string;
  /** Idempotency key: scheduling the same key again moves the same timer. */
  readonly key: string;
  readonly dueAt: number;
  readonly payload: unknown;
}

/** What a run ends in. `pending` puts the timer back to run again at `dueAt` (a retry). */
export type TimerFinish =
  | { readonly status: 'done' }
  | { readonly status: 'pending'; readonly dueAt: number; readonly error: string }
  /** Put off, not failed: pending again at `dueAt`, the run not counted as an attempt, `lastError` kept. */
  | { readonly status: 'later'; readonly dueAt: number }
  | { readonly status: 'failed'; readonly error: string };

/** The claim a run holds: its owner and the attempt it was claimed as (a later claim fences it off). */
export interface TimerLease {
  readonly owner: string;
  readonly attempts: number;
  /**
   * The due time the run was claimed at. A timer scheduled again while it ran (moved to another time)
   * ends pending at that time whatever the run's outcome: the newer schedule wins.
   */
  readonly dueAt: number;
}

export interface ScheduleOptions {
  /**
   * Revive a done timer too. For timers that stand for a state rather than a one-shot event (an
   * incident's "next update due" reminder), which fire, end, and are armed again when the state returns.
   */
  readonly rearm?: boolean;
}

export interface TimerStore {
  /**
   * Creates the timer, or moves the one with this key: due time and payload are replaced and a failed or
   * cancelled timer is pending again (attempts reset); a done timer is left as it is, and a running one
   * keeps running (its run ends it). Returns the row as it stands.
   */
  schedule(t: NewTimer, now: number, options?: ScheduleOptions): Promise<Timer>;
  /** Cancels a pending or running timer; false when there is none (unknown, done, failed, cancelled). */
  cancel(key: string, now: number): Promise<boolean>;
  get(key: string): Promise<Timer | undefined>;
  /** Newest due first. */
  list(filter: { kind?: string; status?: TimerStatus; limit: number }): Promise<Timer[]>;
  /**
   * Atomically takes up to `limit` timers of these kinds that are due (pending with `dueAt <= now`, or
   * running with an expired lease): each becomes running under `owner` until `now + leaseMs`, attempts + 1.
   * Replicas claiming at once get disjoint sets.
   */
  claim(c: {
    owner: string;
    kinds: readonly string[];
    now: number;
    leaseMs: number;
    limit: number;
  }): Promise<Timer[]>;
  /** Ends a run; false (nothing written) when the lease was lost (taken over, or cancelled meanwhile). */
  finish(id: string, lease: TimerLease, outcome: TimerFinish, now: number): Promise<boolean>;
  /**
   * Deletes up to `limit` timers in one of `statuses` that last changed before `before`
   * (finished timers no one needs any more); returns how many.
   */
  prune(p: { statuses: readonly TimerStatus[]; before: number; limit: number }): Promise<number>;
}

/** Channel deliveries (issue 5 item 8): an outbox row per message, sent by a `delivery` timer. */
export type DeliveryStatus = 'pending' | 'sent' | 'failed';
export type ChannelType = 'webhook' | 'slack' | 'pagerduty';
export type DeliveryKind = 'trigger' | 'acknowledge' | 'resolve' | 'update';

export interface DeliveryAttempt {
  /** 1-based. */
  readonly attempt: number;
  readonly at: number;
  readonly durationMs: number;
  /** Null when no response came (network error, timeout). */
  readonly httpStatus: number | null;
  readonly outcome: 'sent' | 'retry' | 'failed';
  readonly error: string | null;
  readonly nextAttemptAt: number | null;
}

export interface Delivery {
  readonly id: string;
  readonly channel: string;
  readonly channelType: ChannelType;
  readonly incident: string | null;
  readonly kind: DeliveryKind;
  readonly payload: unknown;
  readonly status: DeliveryStatus;
  readonly attempts: number;
  readonly nextAttemptAt: number | null;
  readonly lastStatus: number | null;
  readonly lastError: string | null;
  readonly firstAttemptAt: number | null;
  readonly createdAt: number;
  readonly sentAt: number | null;
}

export type NewDelivery = Pick<
  Delivery,
  'id' | 'channel' | 'channelType' | 'incident' | 'kind' | 'payload' | 'createdAt'
>;

export interface DeliveryStore {
  /** Writes the delivery and the `delivery` timer that sends it (due now), in one transaction. */
  enqueue(d: NewDelivery): Promise<Delivery>;
  get(id: string): Promise<Delivery | undefined>;
  /** Newest first. */
  list(filter: {
    incident?: string;
    channel?: string;
    status?: DeliveryStatus;
    limit: number;
  }): Promise<Delivery[]>;
  /**
   * The oldest delivery still pending to the same channel about the same incident that was enqueued
   * before `d` (ids sort in enqueue order): messages about one incident go out in order, so a PagerDuty
   * acknowledge never overtakes the trigger it follows while that is being retried.
   */
  pendingBefore(d: Pick<Delivery, 'id' | 'channel' | 'incident'>): Promise<Delivery | undefined>;
  /** The attempts of these deliveries, by delivery id, oldest first. */
  attempts(ids: readonly string[]): Promise<Map<string, DeliveryAttempt[]>>;
  /**
   * Records one attempt and its effect on the delivery (sent, failed, or pending until `nextAttemptAt`),
   * in one transaction; false (nothing written) when this attempt was already recorded or the delivery
   * is no longer pending (another replica got there first).
   */
  recordAttempt(id: string, a: DeliveryAttempt): Promise<boolean>;
}

/** The compliance clocks an incident runs (opt-in): which flags, and since when the responder was aware. */
export interface IncidentCompliance {
  readonly flags: ComplianceFlags;
  readonly awareAt: number;
  readonly setBy: string;
  readonly setAt: number;
}

/** The core's Incident plus what the store keeps beside it. */
export interface IncidentRecord extends Incident {
  readonly compliance: IncidentCompliance | null;
  /** Signals with this key (within a window) update this incident rather than open another. */
  readonly dedupKey: string | null;
  readonly openedBy: string;
  readonly updatedAt: number;
}

/** A timeline event with its place in the incident's append order. */
export interface TimelineEntry {
  readonly seq: number;
  readonly event: TimelineEvent;
}

/** A flag a containment action set, and the flag at the same key and scope it replaced (to restore). */
export interface ContainmentFlagEffect {
  readonly id: string;
  readonly key: string;
  readonly value: string;
  readonly app: string;
  readonly env: string | null;
  readonly tenant: string | null;
  readonly user: string | null;
  readonly replaced: Flag | null;
}

/** A deployment a containment action made, and the one it replaced (to return to). */
export interface ContainmentDeploymentEffect {
  readonly id: string;
  readonly app: string;
  readonly env: string;
  readonly version: number;
  readonly previous: { readonly id: string; readonly version: number } | null;
}

export interface ContainmentEffects {
  readonly flags: readonly ContainmentFlagEffect[];
  readonly deployment: ContainmentDeploymentEffect | null;
}

/** A containment action executed for an incident: what it did, and whether it has been reverted. */
export interface ContainmentRecord {
  readonly ref: string;
  readonly incident: string;
  readonly action: string;
  readonly effects: ContainmentEffects;
  readonly appliedAt: number;
  readonly appliedBy: string;
  readonly revertedAt: number | null;
  readonly revertedBy: string | null;
}

export interface IncidentFilter {
  readonly status?: IncidentStatus | undefined;
  readonly app?: string | undefined;
  readonly env?: string | undefined;
  readonly severity?: Severity | undefined;
  readonly class?: IncidentClass | undefined;
  /** Detected at or after / before (epoch ms). */
  readonly since?: number | undefined;
  readonly until?: number | undefined;
}

export interface IncidentTx {
  get(id: string): Promise<IncidentRecord | undefined>;
  /** The highest INC number so far (0 when none); the lock of the change makes max + 1 safe. */
  lastNumber(): Promise<number>;
  insert(incident: IncidentRecord): Promise<void>;
  update(incident: IncidentRecord): Promise<void>;
  /** Appends after the incident's last event, in the order given. */
  append(id: string, events: readonly TimelineEvent[]): Promise<void>;
  timeline(id: string): Promise<TimelineEntry[]>;
  /** The newest incident with this dedup key detected at or after `since` that is not resolved or closed. */
  openByDedupKey(key: string, since: number): Promise<IncidentRecord | undefined>;
  containment(ref: string): Promise<ContainmentRecord | undefined>;
  /** Every containment action applied to the incident, reverted ones included, oldest first. */
  containmentOf(id: string): Promise<ContainmentRecord[]>;
  insertContainment(c: ContainmentRecord): Promise<void>;
  markReverted(ref: string, by: string, at: number): Promise<void>;
  /** After a revert restored a flag this action had set: the action now owns the restored flag. */
  updateEffects(ref: string, effects: ContainmentEffects): Promise<void>;
}

/** Incident reads outside a change; every write goes through ControlTx.incidents. */
export interface IncidentStore {
  /** The incident, its timeline (append order) and every containment action ever applied, in one read. */
  get(id: string): Promise<
    | {
        incident: IncidentRecord;
        timeline: TimelineEntry[];
        containment: ContainmentRecord[];
      }
    | undefined
  >;
  /** Newest first; `before`: only incidents numbered below it (the cursor). */
  list(filter: IncidentFilter & { before?: number | undefined; limit: number }): Promise<IncidentRecord[]>;
  /** Incidents and their timelines, for aggregate metrics. */
  histories(filter: IncidentFilter): Promise<{ incident: IncidentRecord; timeline: TimelineEvent[] }[]>;
}

/** A signal kept towards a rule's `minSignals` (detection_signals): enough to put it on a timeline later. */
export interface CountedSignal {
  readonly dedupKey: string;
  readonly fingerprint: string;
  readonly rule: string;
  readonly app: string;
  readonly source: string;
  readonly summary: string;
  readonly traceId: string | null;
  readonly observedAt: number;
  /** When the signal was received: windows are measured on it. */
  readonly at: number;
  /** When its window ends; the row is pruned after that. */
  readonly expiresAt: number;
  /** The incident it went to; null while it only counts. */
  readonly incident: string | null;
}

/** One app's traces in one interval, per env and release (the anomaly detector's input). */
export interface IntervalCounts {
  readonly env: string;
  readonly release: string;
  readonly requests: number;
  /** Calls with at least one guard finding (a `class` mark). */
  readonly findings: number;
  readonly blocked: number;
  readonly errors: number;
  /** Calls answered in safe mode (status `safe_mode`). */
  readonly safeMode: number;
  /** Prompt plus completion tokens; null unless asked for (it reads the trace rows). */
  readonly tokens: number | null;
}

/** The anomaly detector's state of one series (app, env, release, metric). */
export interface AnomalySeries {
  readonly app: string;
  readonly env: string;
  readonly release: string;
  readonly metric: string;
  /** JSON-safe state (core/detection/anomaly.ts AnomalyState). */
  readonly state: unknown;
  readonly lastAt: number;
}

/** Detection's durable memory (issue 5 items 1–2), shared by every control replica. */
export interface DetectionStore {
  /**
   * Keeps `s` under its key (a fingerprint already kept there is left as it was: a replay counts once),
   * drops every row whose window ended at or before `now`, and returns the key's rows received after
   * `since` that went to no incident yet, oldest first (`s` included unless it already went to one).
   */
  countSignal(s: Omit<CountedSignal, 'incident'>, since: number, now: number): Promise<CountedSignal[]>;
  /** Marks these signals of the key as gone to `incident` (those already marked keep theirs). */
  markCounted(dedupKey: string, fingerprints: readonly string[], incident: string): Promise<void>;
  /** Counts of one app's calls with `since <= ts < until`, per env and release that had any. */
  intervalCounts(q: {
    readonly app: string;
    readonly since: number;
    readonly until: number;
    readonly tokens: boolean;
  }): Promise<IntervalCounts[]>;
  anomalySeries(app: string): Promise<AnomalySeries[]>;
  /** Writes the series' state unless a state for the same or a later interval is already there. */
  saveAnomalySeries(s: AnomalySeries, now: number): Promise<void>;
}
