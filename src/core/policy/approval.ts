/**
 * An approval: a tool call a policy held (`require-approval`), waiting for a person. Approved, it lets
 * exactly one identical call (same app, environment, tool, arguments and user) through before it
 * expires; denied, it refuses the identical call for as long as an approval lasts (its own TTL, counted
 * from the denial); expired, it lets nothing through. There is at most one pending
 * approval per call (the store enforces it).
 */
export const approvalStatuses = ['pending', 'approved', 'denied', 'used', 'expired'] as const;
/**
 * As stored. `used`: an approved call went through (once). `expired` is stored only for a pending
 * approval that expired unanswered and was retired when the identical call came back for a new one.
 */
export type ApprovalStatus = (typeof approvalStatuses)[number];
/** As shown: a pending or approved approval past its expiry is `expired` too. */
export const approvalViewStatuses = approvalStatuses;
export type ApprovalViewStatus = (typeof approvalViewStatuses)[number];

export interface Approval {
  readonly id: string;
  readonly app: string;
  readonly env: string;
  /** The release whose policy held the call, e.g. `support-bot@3`. */
  readonly release: string;
  readonly traceId: string;
  readonly tool: string;
  /** The call's arguments with secrets and personal data redacted (what a reviewer sees). */
  readonly arguments: unknown;
  /** SHA-256 of the arguments' canonical form: what an identical later call is matched by. */
  readonly argumentsHash: string;
  readonly user: string | null;
  readonly tenant: string | null;
  /** Why the policy held it. */
  readonly reasons: readonly string[];
  readonly status: ApprovalStatus;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly decidedBy: string | null;
  readonly decidedAt: number | null;
  readonly decisionReason: string | null;
  readonly usedAt: number | null;
  /** The trace of the call the approval let through. */
  readonly usedTraceId: string | null;
}

/** The status a person should see at `now`. */
export function approvalViewStatus(a: Approval, now: number): ApprovalViewStatus {
  return (a.status === 'pending' || a.status === 'approved') && a.expiresAt <= now ? 'expired' : a.status;
}
