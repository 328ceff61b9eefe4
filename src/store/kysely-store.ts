import { Migrator, sql, type Kysely } from 'kysely';
import { approvalQueries } from './approval-queries.js';
import { controlQueries, type StateNotifier } from './control-queries.js';
import { credentialQueries } from './credential-queries.js';
import { incidentQueries } from './incident-queries.js';
import { deliveryQueries } from './delivery-queries.js';
import { detectionQueries } from './detection-queries.js';
import { migrationProvider } from './migrations.js';
import type { Capabilities, Store } from './port.js';
import type { Database, TraceMarksTable, TracesTable } from './schema.js';
import { timerQueries } from './timer-queries.js';
import { traceQueries } from './trace-queries.js';

/** Builds the Store over any Kysely instance; each dialect folder only knows how to connect. */
export interface DialectHooks {
  /** Runs the migrations under the dialect's own cross-process lock where Kysely takes none. */
  readonly withMigrationLock?: <T>(migrate: () => Promise<T>) => Promise<T>;
  /** Writes a batch of trace rows idempotently (a retried batch may already be there). */
  readonly insertTraces: (rows: readonly TracesTable[], marks: readonly TraceMarksTable[]) => Promise<void>;
  /** How replicas hear about control-plane changes. */
  readonly notifier: StateNotifier;
}

export async function kyselyStore(
  db: Kysely<Database>,
  capabilities: Capabilities,
  hooks: DialectHooks,
): Promise<Omit<Store, 'url'>> {
  const withMigrationLock = hooks.withMigrationLock ?? ((migrate) => migrate());
  const { error, results } = await withMigrationLock(() =>
    new Migrator({ db, provider: migrationProvider }).migrateToLatest(),
  );
  if (error !== undefined) {
    await db.destroy();
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(
      `database migration ${failed} failed: ${error instanceof Error ? error.message : JSON.stringify(error)}`,
    );
  }
  return {
    capabilities,
    traces: traceQueries(db, hooks.insertTraces),
    credentials: credentialQueries(db),
    control: controlQueries(db, capabilities, hooks.notifier),
    approvals: approvalQueries(db),
    incidents: incidentQueries(db, capabilities),
    timers: timerQueries(db, capabilities),
    deliveries: deliveryQueries(db),
    detection: detectionQueries(db),
    async ping() {
      await sql`select 1`.execute(db);
    },
    async close() {
      await hooks.notifier.close();
      await db.destroy();
    },
  };
}
