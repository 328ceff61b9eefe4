import { sql, type Kysely, type Migration } from 'kysely';

/**
 * One pending approval per call (issue 4 item 4): identical calls racing past "is one waiting?" each
 * inserted their own. A partial unique index on the approval's identity (app, environment, tool,
 * arguments hash, user; a missing user counts as one user) among pending rows makes the insert itself
 * the check: the gateway inserts with ON CONFLICT DO NOTHING and reads the winner. A pending approval
 * that expired unanswered is retired to the stored status `expired` when an identical call comes back,
 * so it does not hold the slot. PostgreSQL and SQLite both have partial expression indexes; the user is
 * folded with COALESCE because NULLs are distinct in a unique index (an empty user id is never stored:
 * it is read as no user).
 */
export const approvalsOnePendingMigration: Migration = {
  async up(db: Kysely<unknown>) {
    // Duplicates the race already left behind: keep the newest pending row per call, retire the rest.
    await sql`
      UPDATE approvals SET status = 'expired'
      WHERE status = 'pending' AND EXISTS (
        SELECT 1 FROM approvals AS b
        WHERE b.status = 'pending'
          AND b.app = approvals.app AND b.env = approvals.env AND b.tool = approvals.tool
          AND b.arguments_hash = approvals.arguments_hash
          AND COALESCE(b.user_id, '') = COALESCE(approvals.user_id, '')
          AND (b.created_at > approvals.created_at
               OR (b.created_at = approvals.created_at AND b.id > approvals.id)))
    `.execute(db);
    await sql`
      CREATE UNIQUE INDEX approvals_one_pending
      ON approvals (app, env, tool, arguments_hash, (COALESCE(user_id, '')))
      WHERE status = 'pending'
    `.execute(db);
  },
};
