import { createHash } from 'node:crypto';
import { verifyChain, type AuditEntry, type AuditProblem } from '../core/audit.js';
import type { OpsContext } from './context.js';

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
const PAGE = 5_000;

export async function listAudit(
  ctx: OpsContext,
  args: { afterSeq?: number; limit?: number },
): Promise<AuditEntry[]> {
  return ctx.store.control.auditLog({
    ...(args.afterSeq !== undefined ? { afterSeq: args.afterSeq } : {}),
    limit: Math.min(args.limit ?? 100, 1000),
  });
}

export interface AuditVerification {
  readonly ok: boolean;
  readonly entries: number;
  readonly problems: AuditProblem[];
}

/** Walks the whole chain in pages; any edited, inserted or deleted row is named. */
export async function verifyAudit(ctx: OpsContext): Promise<AuditVerification> {
  const all: AuditEntry[] = [];
  for (;;) {
    const page = await ctx.store.control.auditLog({ afterSeq: all.at(-1)?.seq ?? 0, limit: PAGE });
    all.push(...page);
    if (page.length < PAGE) break;
  }
  const problems = verifyChain(all, sha256, await ctx.store.control.auditHead());
  return { ok: problems.length === 0, entries: all.length, problems };
}
