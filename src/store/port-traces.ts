import type { TraceFilter, TracePageRequest, TraceRecord, TraceStatus } from '../core/trace.js';
import type { TraceMarksTable, TracesTable } from './schema.js';

// Trace rows and the blast-radius queries over them (the store port: port.ts).

export interface TraceStore {
  insertBatch(records: readonly TraceRecord[]): Promise<void>;
  /**
   * Rows already mapped (trace-rows.ts: rowOf, marksOf), as the recorder's trace worker makes them from
   * the JSON it keeps. Idempotent like insertBatch: rows and marks already there are left alone.
   */
  insertRows(rows: readonly TracesTable[], marks: readonly TraceMarksTable[]): Promise<void>;
  /** All calls recorded under a trace id (or the one call with that row id), oldest first. */
  getByTraceId(id: string): Promise<TraceRecord[]>;
  page(request: TracePageRequest): Promise<TraceRecord[]>;
  count(filter: TraceFilter): Promise<number>;
  /**
   * Who called each app in `[since, until)`: one row per (app, user, tenant) with a user, latest first,
   * at most `limit` (the gateway's directory of an app's users, for the cross-user check).
   */
  recentIdentities(since: number, until: number, limit: number): Promise<RecentIdentity[]>;
  /** Exact distinct users, tenants and calls matching a blast radius filter (blast-radius-queries.ts). */
  blastRadius(query: BlastRadiusQuery): Promise<BlastRadiusCounts>;
  /**
   * The affected users, one row per (user, tenant) in that order, in pages of `pageSize`. The matching
   * calls are aggregated once; stop iterating to end early (what it holds is released).
   */
  affectedUsers(query: BlastRadiusQuery, pageSize: number): AsyncGenerator<AffectedUser[]>;
}

export interface RecentIdentity {
  readonly app: string;
  readonly userId: string;
  readonly tenantId: string | null;
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
