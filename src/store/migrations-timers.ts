import type { Kysely, Migration } from 'kysely';

/**
 * Durable timers (issue 5 item 10) and the channel outbox (item 8). Both are plain rows, so they survive
 * restarts; a timer is run by whichever control replica claims it first (a lease in `lease_owner` /
 * `lease_until`), and a delivery is sent by a `delivery` timer.
 */
export const timersMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('timers')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('kind', 'varchar(64)', (c) => c.notNull())
      // Scheduling is idempotent on the key: the same key is the same timer.
      .addColumn('key', 'varchar(300)', (c) => c.notNull().unique())
      .addColumn('due_at', 'bigint', (c) => c.notNull())
      .addColumn('payload', 'text', (c) => c.notNull())
      // pending | running | done | failed | cancelled
      .addColumn('status', 'varchar(16)', (c) => c.notNull())
      // Runs started (claims), so a takeover after a crash counts as an attempt too.
      .addColumn('attempts', 'integer', (c) => c.notNull())
      .addColumn('lease_owner', 'varchar(128)')
      .addColumn('lease_until', 'bigint')
      .addColumn('last_error', 'text')
      // The retry schedule is counted from the first run (core/channels/retry.ts), not from each failure.
      .addColumn('first_run_at', 'bigint')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
    // The claim: pending ones by due time, and running ones whose lease has run out.
    await db.schema.createIndex('timers_status_due').on('timers').columns(['status', 'due_at']).execute();
    await db.schema
      .createIndex('timers_status_lease')
      .on('timers')
      .columns(['status', 'lease_until'])
      .execute();

    await db.schema
      .createTable('deliveries')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('channel', 'varchar(64)', (c) => c.notNull())
      .addColumn('channel_type', 'varchar(16)', (c) => c.notNull())
      .addColumn('incident', 'varchar(64)')
      // trigger | acknowledge | resolve | update
      .addColumn('kind', 'varchar(32)', (c) => c.notNull())
      // What is sent, as built at enqueue time (webhook: the envelope, signed per attempt; PagerDuty: the
      // event without its routing key, which is added from the configuration when sending).
      .addColumn('payload', 'text', (c) => c.notNull())
      // pending | sent | failed
      .addColumn('status', 'varchar(16)', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull())
      .addColumn('next_attempt_at', 'bigint')
      .addColumn('last_status', 'integer')
      .addColumn('last_error', 'text')
      .addColumn('first_attempt_at', 'bigint')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('sent_at', 'bigint')
      .execute();
    await db.schema
      .createIndex('deliveries_incident_created')
      .on('deliveries')
      .columns(['incident', 'created_at'])
      .execute();
    await db.schema
      .createIndex('deliveries_status_created')
      .on('deliveries')
      .columns(['status', 'created_at'])
      .execute();

    // Every attempt's outcome, so a failure stays visible after a later attempt succeeds.
    await db.schema
      .createTable('delivery_attempts')
      .addColumn('delivery_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('attempt', 'integer', (c) => c.notNull())
      .addColumn('at', 'bigint', (c) => c.notNull())
      .addColumn('duration_ms', 'integer', (c) => c.notNull())
      // HTTP status; null when no response came (network error, timeout).
      .addColumn('http_status', 'integer')
      // sent | retry | failed
      .addColumn('outcome', 'varchar(16)', (c) => c.notNull())
      .addColumn('error', 'text')
      .addColumn('next_attempt_at', 'bigint')
      .addPrimaryKeyConstraint('delivery_attempts_pk', ['delivery_id', 'attempt'])
      .execute();
  },
};
