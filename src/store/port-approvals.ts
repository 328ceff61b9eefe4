import type { Approval, ApprovalViewStatus } from '../core/policy/approval.js';

// Approvals of held tool calls (the store port: port.ts).

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
