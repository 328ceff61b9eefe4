import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import { approvalsMigration } from './migrations-approvals.js';
import { approvalsOnePendingMigration } from './migrations-approvals-pending.js';
import { blastRadiusMigration } from './migrations-blast-radius.js';
import { controlPlaneMigration } from './migrations-control.js';
import { detectionMigration } from './migrations-detection.js';
import { incidentsMigration } from './migrations-incidents.js';
import { timersMigration } from './migrations-timers.js';

/**
 * Migrations in code, shared by both dialects (Kysely's schema builder emits each dialect's DDL).
 * Kysely's Migrator takes a lock first (a lock row, and on PostgreSQL a table lock), so several replicas
 * starting at once apply each migration exactly once.
 */
const migrations: Record<string, Migration> = {
  '0001_traces_and_credentials': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('traces')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('trace_id', 'varchar(128)', (c) => c.notNull())
        .addColumn('ts', 'bigint', (c) => c.notNull())
        .addColumn('app', 'varchar(64)', (c) => c.notNull())
        .addColumn('env', 'varchar(64)', (c) => c.notNull())
        .addColumn('user_id', 'varchar(256)')
        .addColumn('tenant_id', 'varchar(256)')
        .addColumn('session_id', 'varchar(256)')
        .addColumn('endpoint', 'varchar(32)', (c) => c.notNull())
        .addColumn('model', 'varchar(256)')
        .addColumn('provider', 'varchar(64)')
        .addColumn('release', 'varchar(128)', (c) => c.notNull())
        .addColumn('deployment', 'varchar(64)')
        .addColumn('status', 'varchar(16)', (c) => c.notNull())
        .addColumn('http_status', 'integer', (c) => c.notNull())
        .addColumn('error_code', 'varchar(64)')
        .addColumn('stream', 'integer', (c) => c.notNull())
        .addColumn('latency_ms', 'double precision', (c) => c.notNull())
        .addColumn('upstream_ms', 'double precision')
        .addColumn('overhead_ms', 'double precision', (c) => c.notNull())
        .addColumn('ttft_ms', 'double precision')
        .addColumn('prompt_tokens', 'integer')
        .addColumn('completion_tokens', 'integer')
        .addColumn('body', 'text', (c) => c.notNull())
        .execute();
      // "Which users were affected": every filter the API offers leads with its column, then time.
      for (const [name, cols] of [
        ['traces_ts', ['ts', 'id']],
        ['traces_app_env_ts', ['app', 'env', 'ts']],
        ['traces_user_ts', ['user_id', 'ts']],
        ['traces_tenant_ts', ['tenant_id', 'ts']],
        ['traces_trace_id', ['trace_id']],
        ['traces_release_ts', ['release', 'ts']],
        ['traces_status_ts', ['status', 'ts']],
        ['traces_model_ts', ['model', 'ts']],
      ] as const) {
        await db.schema
          .createIndex(name)
          .on('traces')
          .columns([...cols])
          .execute();
      }
      await db.schema
        .createTable('credentials')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('kind', 'varchar(16)', (c) => c.notNull())
        .addColumn('hash', 'varchar(64)', (c) => c.notNull().unique())
        .addColumn('name', 'varchar(128)', (c) => c.notNull())
        .addColumn('app', 'varchar(64)')
        .addColumn('env', 'varchar(64)')
        .addColumn('role', 'varchar(16)')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('revoked_at', 'bigint')
        .addColumn('seq', 'integer', (c) => c.notNull().defaultTo(sql`0`))
        .execute();
    },
  },
  '0002_control_plane': controlPlaneMigration,
  '0003_approvals': approvalsMigration,
  '0004_incidents': incidentsMigration,
  '0005_blast_radius': blastRadiusMigration,
  '0006_timers_and_deliveries': timersMigration,
  '0007_detection': detectionMigration,
  '0008_approvals_one_pending': approvalsOnePendingMigration,
  // The canary Firebreak plants for a release (guards.plantCanary); null for every release before it.
  '0009_release_canary': {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('releases').addColumn('canary', 'varchar(64)').execute();
    },
  },
};

export const migrationProvider: MigrationProvider = {
  getMigrations: () => Promise.resolve(migrations),
};
