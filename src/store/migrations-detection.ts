import type { Kysely, Migration } from 'kysely';

/**
 * Detection's durable memory (issue 5 items 1–2), plain rows shared by every control replica:
 *
 * - detection_signals: the signals a rule with `minSignals` above 1 has seen under each dedup key, one
 *   row per (key, fingerprint), so a signal offered twice counts once. `at` is when the signal was
 *   received (the window is measured on it), `expires_at` when its window ends (rows are pruned from
 *   there), `incident` the incident it went to (counted rows are not counted again).
 * - anomaly_series: the anomaly detector's state (core/detection/anomaly.ts, JSON) per app, env,
 *   release and metric, and the last interval it learned (`last_at`), so an interval is learned once.
 */
export const detectionMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('detection_signals')
      // Same width as incidents.dedup_key: a key that fits one fits the other.
      .addColumn('dedup_key', 'varchar(256)', (c) => c.notNull())
      .addColumn('fingerprint', 'varchar(64)', (c) => c.notNull())
      .addColumn('rule', 'varchar(64)', (c) => c.notNull())
      .addColumn('app', 'varchar(64)', (c) => c.notNull())
      .addColumn('source', 'varchar(16)', (c) => c.notNull())
      .addColumn('summary', 'text', (c) => c.notNull())
      .addColumn('trace_id', 'varchar(128)')
      .addColumn('observed_at', 'bigint', (c) => c.notNull())
      .addColumn('at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('incident', 'varchar(64)')
      .addPrimaryKeyConstraint('detection_signals_pk', ['dedup_key', 'fingerprint'])
      .execute();
    await db.schema
      .createIndex('detection_signals_key_at')
      .on('detection_signals')
      .columns(['dedup_key', 'at'])
      .execute();
    await db.schema
      .createIndex('detection_signals_expires')
      .on('detection_signals')
      .columns(['expires_at'])
      .execute();

    await db.schema
      .createTable('anomaly_series')
      .addColumn('app', 'varchar(64)', (c) => c.notNull())
      .addColumn('env', 'varchar(64)', (c) => c.notNull())
      .addColumn('release', 'varchar(128)', (c) => c.notNull())
      .addColumn('metric', 'varchar(16)', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('last_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('anomaly_series_pk', ['app', 'env', 'release', 'metric'])
      .execute();
  },
};
