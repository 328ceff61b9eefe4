import { FirebreakError } from '../core/errors.js';
import {
  approvalViewStatus,
  approvalViewStatuses,
  type Approval,
  type ApprovalViewStatus,
} from '../core/policy/approval.js';
import type { OpsContext } from './context.js';
import { requireApp } from './releases.js';

/**
 * Approvals of tool calls a release's policy held (`require-approval`): list, show, approve, deny.
 * A decision is one audited control-plane change; only a pending, unexpired approval can be decided,
 * and refusing a second decision changes nothing.
 */
export interface ApprovalView extends Omit<Approval, 'status'> {
  /** As of now: a pending or approved approval past its expiry is `expired`. */
  readonly status: ApprovalViewStatus;
}

const view = (a: Approval, now: number): ApprovalView => ({ ...a, status: approvalViewStatus(a, now) });

export function parseApprovalStatus(text: string): ApprovalViewStatus {
  const found = approvalViewStatuses.find((s) => s === text);
  if (found === undefined)
    throw new FirebreakError(
      'validation_failed',
      `status: "${text}" is not one of ${approvalViewStatuses.join(', ')}`,
      { path: 'status' },
    );
  return found;
}

export async function listApprovals(
  ctx: OpsContext,
  args: { status?: string | undefined; app?: string | undefined; limit?: number | undefined },
): Promise<ApprovalView[]> {
  if (args.app !== undefined) requireApp(ctx, args.app);
  const now = ctx.now();
  const rows = await ctx.store.approvals.list({
    status: args.status === undefined ? undefined : parseApprovalStatus(args.status),
    app: args.app,
    now,
    limit: args.limit ?? 100,
  });
  return rows.map((a) => view(a, now));
}

export async function getApproval(ctx: OpsContext, id: string): Promise<ApprovalView> {
  const a = await ctx.store.approvals.get(id);
  if (!a) throw new FirebreakError('not_found', `no approval ${id}`, { path: 'id' });
  return view(a, ctx.now());
}

const iso = (ms: number) => new Date(ms).toISOString();

const expired = (a: Approval) =>
  new FirebreakError(
    'conflict',
    `approval ${a.id} expired at ${iso(a.expiresAt)}; the call must be made again to be held for a new approval`,
  );

export async function decideApproval(
  ctx: OpsContext,
  args: { id: string; decision: 'approve' | 'deny'; actor: string; reason: string },
): Promise<ApprovalView> {
  if (args.reason.trim() === '')
    throw new FirebreakError('validation_failed', 'a reason is required (--reason)', { path: 'reason' });
  const status = args.decision === 'approve' ? 'approved' : 'denied';
  const { value } = await ctx.store.control.change(async (tx) => {
    const a = await tx.approval(args.id);
    if (!a) throw new FirebreakError('not_found', `no approval ${args.id}`, { path: 'id' });
    const now = ctx.now();
    // A pending approval that expired unanswered may have been retired (stored `expired`) since.
    if (a.status === 'expired') throw expired(a);
    if (a.status !== 'pending')
      throw new FirebreakError(
        'conflict',
        `approval ${a.id} was already ${a.status}${a.decidedBy !== null ? ` by ${a.decidedBy}` : ''}${
          a.decidedAt !== null ? ` at ${iso(a.decidedAt)}` : ''
        }; only a pending approval can be ${status}`,
      );
    if (a.expiresAt <= now) throw expired(a);
    // Under the control-plane lock nothing else decides it meanwhile; the guard is for the write itself.
    if (!(await tx.decideApproval(a.id, { status, by: args.actor, reason: args.reason, at: now })))
      throw new FirebreakError('conflict', `approval ${a.id} is no longer pending`);
    await tx.audit({
      ts: now,
      actor: args.actor,
      action: `approval.${args.decision}`,
      target: `approval ${a.id}: ${a.tool} @ ${a.app}/${a.env}`,
      before: { status: a.status },
      after: {
        status,
        tool: a.tool,
        argumentsHash: a.argumentsHash,
        user: a.user,
        release: a.release,
        expiresAt: a.expiresAt,
      },
      reason: args.reason,
      incident: null,
    });
    const decided: Approval = {
      ...a,
      status,
      decidedBy: args.actor,
      decidedAt: now,
      decisionReason: args.reason,
    };
    return decided;
  });
  return view(value, ctx.now());
}
