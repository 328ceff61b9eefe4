import type { Kysely, Migration } from 'kysely';

/** Tool calls held by a release's policy (`require-approval`) and what people decided about them. */
export const approvalsMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('approvals')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('app', 'varchar(64)', (c) => c.notNull())
      .addColumn('env', 'varchar(64)', (c) => c.notNull())
      .addColumn('release', 'varchar(128)', (c) => c.notNull())
      .addColumn('trace_id', 'varchar(128)', (c) => c.notNull())
      .addColumn('tool', 'varchar(64)', (c) => c.notNull())
      // Redacted JSON: what a reviewer sees. The hash of the unredacted canonical form is what matches.
      .addColumn('arguments', 'text', (c) => c.notNull())
      .addColumn('arguments_hash', 'varchar(64)', (c) => c.notNull())
      .addColumn('user_id', 'varchar(256)')
      .addColumn('tenant_id', 'varchar(256)')
      .addColumn('reasons', 'text', (c) => c.notNull())
      .addColumn('status', 'varchar(16)', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('decided_by', 'varchar(256)')
      .addColumn('decided_at', 'bigint')
      .addColumn('decision_reason', 'text')
      .addColumn('used_at', 'bigint')
      .addColumn('used_trace_id', 'varchar(128)')
      .execute();
    // The review queue (status, app, newest first) and the lookup an identical call makes when it
    // comes back after approval.
    await db.schema
      .createIndex('approvals_status_created')
      .on('approvals')
      .columns(['status', 'created_at'])
      .execute();
    await db.schema
      .createIndex('approvals_match')
      .on('approvals')
      .columns(['app', 'env', 'tool', 'arguments_hash', 'status'])
      .execute();
  },
};
