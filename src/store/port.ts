import type { Role } from '../core/config.js';
import type { TraceFilter, TracePageRequest, TraceRecord } from '../core/trace.js';

/**
 * The storage port: small and aggregate-shaped. Both adapters (sqlite/, postgres/) provide a Kysely
 * instance; the queries in this folder are shared, and dialect differences are capability flags.
 */
export interface Capabilities {
  readonly dialect: 'sqlite' | 'postgres';
  /** Several processes can share this store (PostgreSQL); SQLite is one process. */
  readonly multiProcess: boolean;
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
}

export interface TraceStore {
  insertBatch(records: readonly TraceRecord[]): Promise<void>;
  /** All calls recorded under a trace id (or the one call with that row id), oldest first. */
  getByTraceId(id: string): Promise<TraceRecord[]>;
  page(request: TracePageRequest): Promise<TraceRecord[]>;
  count(filter: TraceFilter): Promise<number>;
}

export interface CredentialStore {
  insert(row: CredentialRow): Promise<void>;
  list(): Promise<CredentialRow[]>;
}

export interface Store {
  readonly capabilities: Capabilities;
  readonly traces: TraceStore;
  readonly credentials: CredentialStore;
  /** Cheap round trip, for readiness. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
