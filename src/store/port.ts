import type { ApprovalStore } from './port-approvals.js';
import type { ControlStore } from './port-control.js';
import type { CredentialStore } from './port-credentials.js';
import type { DetectionStore } from './port-detection.js';
import type { IncidentStore } from './port-incidents.js';
import type { DeliveryStore, TimerStore } from './port-timers.js';
import type { TraceStore } from './port-traces.js';

export type * from './port-credentials.js';
export type * from './port-traces.js';
export type * from './port-approvals.js';
export type * from './port-control.js';
export type * from './port-timers.js';
export type * from './port-incidents.js';
export type * from './port-detection.js';

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
