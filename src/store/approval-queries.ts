import { sql, type Kysely, type Selectable, type SqlBool, type Transaction } from 'kysely';
import type { Approval, ApprovalStatus } from '../core/policy/approval.js';
import type { ApprovalMatch, ApprovalStore } from './port.js';
import type { ApprovalsTable, Database } from './schema.js';

/** Approvals of held tool calls: rows ↔ domain, and the queries the gateway and the API use. */
const status = (s: string): ApprovalStatus =>
  s === 'approved' || s === 'denied' || s === 'used' || s === 'expired' ? s : 'pending';

export const toApproval = (r: Selectable<ApprovalsTable>): Approval => ({
  id: r.id,
  app: r.app,
  env: r.env,
  release: r.release,
  traceId: r.trace_id,
  tool: r.tool,
  arguments: JSON.parse(r.arguments) as unknown,
  argumentsHash: r.arguments_hash,
  user: r.user_id,
  tenant: r.tenant_id,
  reasons: JSON.parse(r.reasons) as string[],
  status: status(r.status),
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  decidedBy: r.decided_by,
  decidedAt: r.decided_at,
  decisionReason: r.decision_reason,
  usedAt: r.used_at,
  usedTraceId: r.used_trace_id,
});

export async function approvalById(
  db: Kysely<Database> | Transaction<Database>,
  id: string,
): Promise<Approval | undefined> {
  const r = await db.selectFrom('approvals').selectAll().where('id', '=', id).executeTakeFirst();
  return r && toApproval(r);
}

export function approvalQueries(db: Kysely<Database>): ApprovalStore {
  return {
    async create(a) {
      const row: ApprovalsTable = {
        id: a.id,
        app: a.app,
        env: a.env,
        release: a.release,
        trace_id: a.traceId,
        tool: a.tool,
        arguments: JSON.stringify(a.arguments ?? null),
        arguments_hash: a.argumentsHash,
        user_id: a.user,
        tenant_id: a.tenant,
        reasons: JSON.stringify(a.reasons),
        status: 'pending',
        created_at: a.createdAt,
        expires_at: a.expiresAt,
        decided_by: null,
        decided_at: null,
        decision_reason: null,
        used_at: null,
        used_trace_id: null,
      };
      const match: ApprovalMatch & { now: number } = { ...a, now: a.createdAt };
      // Insert or get: the partial unique index (migration 0008) admits one pending row per call, so of
      // identical calls racing here one inserts and the others read its row. A round that finds neither
      // (the winner was decided in between) tries again.
      for (let round = 0; round < 3; round++) {
        // A pending approval that expired unanswered no longer holds the call's place.
        await db
          .updateTable('approvals')
          .set({ status: 'expired' })
          .where('app', '=', a.app)
          .where('env', '=', a.env)
          .where('tool', '=', a.tool)
          .where('arguments_hash', '=', a.argumentsHash)
          .where('user_id', a.user === null ? 'is' : '=', a.user)
          .where('status', '=', 'pending')
          .where('expires_at', '<=', a.createdAt)
          .execute();
        const inserted = await db
          .insertInto('approvals')
          .values(row)
          .onConflict((oc) => oc.doNothing())
          .returningAll()
          .executeTakeFirst();
        if (inserted) return toApproval(inserted);
        const waiting = await pendingFor(db, match);
        if (waiting) return waiting;
      }
      throw new Error(`could not record or find the pending approval for ${a.tool} (kept changing)`);
    },
    get: (id) => approvalById(db, id),
    async list(f) {
      let q = db.selectFrom('approvals').selectAll();
      if (f.app !== undefined) q = q.where('app', '=', f.app);
      switch (f.status) {
        case undefined:
          break;
        case 'expired': {
          const now = f.now;
          q = q.where((eb) =>
            eb.or([
              eb('status', '=', 'expired'),
              eb.and([eb('status', 'in', ['pending', 'approved']), eb('expires_at', '<=', now)]),
            ]),
          );
          break;
        }
        case 'pending':
        case 'approved':
          q = q.where('status', '=', f.status).where('expires_at', '>', f.now);
          break;
        case 'denied':
        case 'used':
          q = q.where('status', '=', f.status);
          break;
      }
      const rows = await q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(f.limit).execute();
      return rows.map(toApproval);
    },
    async consume(c) {
      // One statement: the row is picked and marked used atomically, and the outer condition is checked
      // again on the row it updates, so two identical calls racing for one approval cannot both get it.
      const pick = sameCall(db, c)
        .select('id')
        .where('status', '=', 'approved')
        .where('expires_at', '>', c.now)
        .orderBy('created_at')
        .limit(1);
      const r = await db
        .updateTable('approvals')
        .set({ status: 'used', used_at: c.now, used_trace_id: c.traceId })
        .where('id', '=', pick)
        .where('status', '=', 'approved')
        .where('expires_at', '>', c.now)
        .returningAll()
        .executeTakeFirst();
      return r && toApproval(r);
    },
    pending: (c) => pendingFor(db, c),
    async denied(c) {
      // A denial refuses the identical call for the approval's own TTL, counted from the decision.
      const r = await sameCall(db, c)
        .selectAll()
        .where('status', '=', 'denied')
        .where(sql<SqlBool>`decided_at + (expires_at - created_at) > ${c.now}`)
        .orderBy('decided_at', 'desc')
        .limit(1)
        .executeTakeFirst();
      return r && toApproval(r);
    },
  };
}

async function pendingFor(
  db: Kysely<Database>,
  c: ApprovalMatch & { now: number },
): Promise<Approval | undefined> {
  const r = await sameCall(db, c)
    .selectAll()
    .where('status', '=', 'pending')
    .where('expires_at', '>', c.now)
    .orderBy('created_at', 'desc')
    .limit(1)
    .executeTakeFirst();
  return r && toApproval(r);
}

const sameCall = (db: Kysely<Database>, c: ApprovalMatch) =>
  db
    .selectFrom('approvals')
    .where('app', '=', c.app)
    .where('env', '=', c.env)
    .where('tool', '=', c.tool)
    .where('arguments_hash', '=', c.argumentsHash)
    .where('user_id', c.user === null ? 'is' : '=', c.user);
