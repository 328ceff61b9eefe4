import type { Kysely } from 'kysely';
import { toAudit, toDeployment, toFlag, toKnownGood, toRelease, toReplica } from './control-rows.js';
import { controlTx, Unchanged } from './control-tx.js';
import type { ControlStore, Capabilities } from './port.js';
import type { Database } from './schema.js';

export interface StateNotifier {
  /** Called inside the change's transaction (PostgreSQL: NOTIFY is delivered on commit). */
  inTransaction(trx: Kysely<Database>, version: number): Promise<void>;
  /** Called after commit (SQLite: tell this process's listeners). */
  afterCommit(version: number): void;
  subscribe(listener: (version: number) => void): () => void;
  close(): Promise<void>;
}

export function controlQueries(
  db: Kysely<Database>,
  caps: Capabilities,
  notifier: StateNotifier,
): ControlStore {
  return {
    async change(fn, options = {}) {
      const quiet = options.quiet === true;
      let result;
      let version = 0;
      try {
        result = await db.transaction().execute(async (trx) => {
          // The first statement takes the lock that serialises control-plane changes across replicas
          // (the row lock on PostgreSQL, the database write lock on SQLite) and gives the change a version;
          // a quiet change takes the same lock and leaves the version as it is.
          const row = await trx
            .updateTable('control_state')
            .set((eb) => ({ version: quiet ? eb.ref('version') : eb('version', '+', 1) }))
            .where('id', '=', 1)
            .returning('version')
            .executeTakeFirstOrThrow();
          version = row.version;
          const value = await fn(controlTx(trx, version, { quiet }));
          if (!quiet) await notifier.inTransaction(trx, version);
          return { value, version };
        });
      } catch (error) {
        // tx.unchanged(): roll back the version bump too, so replicas are not told to reload for nothing.
        if (error instanceof Unchanged)
          return { value: error.value as never, version: quiet ? version : version - 1 };
        throw error;
      }
      if (!quiet) notifier.afterCommit(result.version);
      return result;
    },
    async version() {
      const r = await db
        .selectFrom('control_state')
        .select('version')
        .where('id', '=', 1)
        .executeTakeFirstOrThrow();
      return r.version;
    },
    async snapshot() {
      // One read transaction so the version and the rows agree (a change committing meanwhile is either
      // fully in or fully out; the next notification brings it).
      const tx = caps.snapshotReads
        ? db.transaction().setIsolationLevel(caps.snapshotReads)
        : db.transaction();
      return tx.execute(async (trx) => {
        const { version } = await trx
          .selectFrom('control_state')
          .select('version')
          .where('id', '=', 1)
          .executeTakeFirstOrThrow();
        const latest = trx
          .selectFrom('deployments')
          .select(['app', 'env', (eb) => eb.fn.max('state_version').as('sv')])
          .groupBy(['app', 'env'])
          .as('latest');
        const deployments = (
          await trx
            .selectFrom('deployments')
            .innerJoin(latest, (j) =>
              j
                .onRef('deployments.app', '=', 'latest.app')
                .onRef('deployments.env', '=', 'latest.env')
                .onRef('deployments.state_version', '=', 'latest.sv'),
            )
            .selectAll('deployments')
            .execute()
        ).map(toDeployment);
        const knownGood = (await trx.selectFrom('known_good').selectAll().execute()).map(toKnownGood);
        const wanted = [...deployments, ...knownGood];
        const releases =
          wanted.length === 0
            ? []
            : (
                await trx
                  .selectFrom('releases')
                  .selectAll()
                  .where((eb) =>
                    eb.or(wanted.map((w) => eb.and([eb('app', '=', w.app), eb('version', '=', w.version)]))),
                  )
                  .execute()
              ).map(toRelease);
        const flags = (
          await trx.selectFrom('flags').selectAll().where('removed_at', 'is', null).execute()
        ).map(toFlag);
        return { version, deployments, releases, knownGood, flags };
      });
    },
    async releases(app) {
      let q = db.selectFrom('releases').selectAll();
      if (app !== undefined) q = q.where('app', '=', app);
      return (await q.orderBy('app').orderBy('version').execute()).map(toRelease);
    },
    async release(app, version) {
      return controlTx(db, 0).release(app, version);
    },
    async deployments(f) {
      let q = db.selectFrom('deployments').selectAll();
      if (f.app !== undefined) q = q.where('app', '=', f.app);
      if (f.env !== undefined) q = q.where('env', '=', f.env);
      return (await q.orderBy('state_version', 'desc').limit(f.limit).execute()).map(toDeployment);
    },
    async knownGood() {
      return (await db.selectFrom('known_good').selectAll().orderBy('app').orderBy('env').execute()).map(
        toKnownGood,
      );
    },
    async flags(f) {
      let q = db.selectFrom('flags').selectAll();
      if (!f.includeRemoved) q = q.where('removed_at', 'is', null);
      return (await q.orderBy('created_at').execute()).map(toFlag);
    },
    async auditLog(f) {
      return (
        await db
          .selectFrom('audit_log')
          .selectAll()
          .where('seq', '>', f.afterSeq ?? 0)
          .orderBy('seq')
          .limit(f.limit)
          .execute()
      ).map(toAudit);
    },
    async auditHead() {
      const r = await db
        .selectFrom('control_state')
        .select(['audit_seq', 'audit_hash'])
        .where('id', '=', 1)
        .executeTakeFirstOrThrow();
      return { seq: r.audit_seq, hash: r.audit_hash };
    },
    async heartbeat(r) {
      const values = {
        id: r.id,
        role: r.role,
        state_version: r.stateVersion,
        started_at: r.startedAt,
        seen_at: r.seenAt,
        host: r.host,
        pid: r.pid,
      };
      await db
        .insertInto('replicas')
        .values(values)
        .onConflict((oc) =>
          oc.column('id').doUpdateSet({ state_version: r.stateVersion, seen_at: r.seenAt, role: r.role }),
        )
        .execute();
    },
    async replicas() {
      return (await db.selectFrom('replicas').selectAll().orderBy('started_at').execute()).map(toReplica);
    },
    subscribe: (listener) => notifier.subscribe(listener),
  };
}
