import { sql, type Kysely, type Migration } from 'kysely';

/** Releases, deployments, known-good marks, flags, the audit chain, the state version and replicas. */
export const controlPlaneMigration: Migration = {
  async up(db: Kysely<unknown>) {
    // API tokens may expire (roles: an expired token gets a clear 401).
    await db.schema.alterTable('credentials').addColumn('expires_at', 'bigint').execute();
    await db.schema
      .createTable('releases')
      .addColumn('app', 'varchar(64)', (c) => c.notNull())
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('hash', 'varchar(64)', (c) => c.notNull())
      .addColumn('spec', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('created_by', 'varchar(256)', (c) => c.notNull())
      .addPrimaryKeyConstraint('releases_pk', ['app', 'version'])
      .addUniqueConstraint('releases_app_hash', ['app', 'hash'])
      .execute();
    await db.schema
      .createTable('deployments')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('app', 'varchar(64)', (c) => c.notNull())
      .addColumn('env', 'varchar(64)', (c) => c.notNull())
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('kind', 'varchar(16)', (c) => c.notNull())
      .addColumn('actor', 'varchar(256)', (c) => c.notNull())
      .addColumn('reason', 'text', (c) => c.notNull())
      .addColumn('incident', 'varchar(64)')
      .addColumn('state_version', 'bigint', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('deployments_app_env')
      .on('deployments')
      .columns(['app', 'env', 'state_version'])
      .execute();
    await db.schema
      .createTable('known_good')
      .addColumn('app', 'varchar(64)', (c) => c.notNull())
      .addColumn('env', 'varchar(64)', (c) => c.notNull())
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('marked_by', 'varchar(256)', (c) => c.notNull())
      .addColumn('marked_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('known_good_pk', ['app', 'env'])
      .execute();
    await db.schema
      .createTable('flags')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('key', 'varchar(300)', (c) => c.notNull())
      .addColumn('value', 'varchar(32)', (c) => c.notNull())
      .addColumn('app', 'varchar(64)', (c) => c.notNull())
      .addColumn('env', 'varchar(64)')
      .addColumn('tenant', 'varchar(256)')
      .addColumn('user_id', 'varchar(256)')
      .addColumn('reason', 'text', (c) => c.notNull())
      .addColumn('actor', 'varchar(256)', (c) => c.notNull())
      .addColumn('incident', 'varchar(64)')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint')
      .addColumn('removed_at', 'bigint')
      .addColumn('removed_by', 'varchar(256)')
      .execute();
    await db.schema.createIndex('flags_active').on('flags').columns(['removed_at', 'app']).execute();
    await db.schema
      .createTable('audit_log')
      .addColumn('seq', 'bigint', (c) => c.primaryKey())
      .addColumn('ts', 'bigint', (c) => c.notNull())
      .addColumn('actor', 'varchar(256)', (c) => c.notNull())
      .addColumn('action', 'varchar(64)', (c) => c.notNull())
      .addColumn('target', 'varchar(512)', (c) => c.notNull())
      .addColumn('before', 'text')
      .addColumn('after', 'text')
      .addColumn('reason', 'text')
      .addColumn('incident', 'varchar(64)')
      .addColumn('prev_hash', 'varchar(64)', (c) => c.notNull())
      .addColumn('hash', 'varchar(64)', (c) => c.notNull())
      .execute();
    // One row; every control-plane change updates it first, which serialises changes across replicas
    // (row lock on PostgreSQL, the write lock on SQLite) and gives each state a version.
    await db.schema
      .createTable('control_state')
      .addColumn('id', 'integer', (c) => c.primaryKey())
      .addColumn('version', 'bigint', (c) => c.notNull())
      // The head of the audit chain: without it, deleting the newest rows would leave a valid chain.
      .addColumn('audit_seq', 'bigint', (c) => c.notNull())
      .addColumn('audit_hash', 'varchar(64)', (c) => c.notNull())
      .execute();
    await sql`insert into control_state (id, version, audit_seq, audit_hash) values (1, 0, 0, ${'0'.repeat(64)})`.execute(
      db,
    );
    await db.schema
      .createTable('replicas')
      .addColumn('id', 'varchar(128)', (c) => c.primaryKey())
      .addColumn('role', 'varchar(16)', (c) => c.notNull())
      .addColumn('state_version', 'bigint', (c) => c.notNull())
      .addColumn('started_at', 'bigint', (c) => c.notNull())
      .addColumn('seen_at', 'bigint', (c) => c.notNull())
      .addColumn('host', 'varchar(256)', (c) => c.notNull())
      .addColumn('pid', 'integer', (c) => c.notNull())
      .execute();
  },
};
