import { createHash } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import { auditHashInput, GENESIS_HASH } from '../core/audit.js';
import { canonicalJson } from '../core/canonical-json.js';
import { approvalById } from './approval-queries.js';
import { flagRow, toDeployment, toFlag, toKnownGood, toRelease } from './control-rows.js';
import { insertDelivery } from './delivery-queries.js';
import { incidentTx } from './incident-queries.js';
import { cancelTimerRow, scheduleTimerRow } from './timer-queries.js';
import type { ControlTx } from './port.js';
import type { Database } from './schema.js';

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/** Thrown by `tx.unchanged(value)`: `change()` rolls the transaction back and returns `value`. */
export class Unchanged extends Error {
  constructor(readonly value: unknown) {
    super('control-plane change made no change');
  }
}

/** The writes of one control-plane change, bound to its transaction and its new state version. */
/** A quiet change (ChangeOptions.quiet) must not write what replicas serve from: a bug, not input. */
function refuseQuiet(quiet: boolean, what: string): void {
  if (quiet) throw new Error(`a quiet control-plane change cannot ${what}: the replicas would not reload`);
}

export function controlTx(
  trx: Transaction<Database> | Kysely<Database>,
  stateVersion: number,
  options: { quiet?: boolean } = {},
): ControlTx {
  const quiet = options.quiet === true;
  return {
    stateVersion,
    unchanged(value) {
      throw new Unchanged(value);
    },
    async releaseByHash(app, hash) {
      const r = await trx
        .selectFrom('releases')
        .selectAll()
        .where('app', '=', app)
        .where('hash', '=', hash)
        .executeTakeFirst();
      return r && toRelease(r);
    },
    async release(app, version) {
      const r = await trx
        .selectFrom('releases')
        .selectAll()
        .where('app', '=', app)
        .where('version', '=', version)
        .executeTakeFirst();
      return r && toRelease(r);
    },
    async latestReleaseVersion(app) {
      const r = await trx
        .selectFrom('releases')
        .select((eb) => eb.fn.max('version').as('v'))
        .where('app', '=', app)
        .executeTakeFirst();
      return r?.v ?? 0;
    },
    async insertRelease(r) {
      refuseQuiet(quiet, 'create a release');
      await trx
        .insertInto('releases')
        .values({
          app: r.app,
          version: r.version,
          hash: r.hash,
          spec: JSON.stringify(r.spec),
          created_at: r.createdAt,
          created_by: r.createdBy,
          canary: r.canary ?? null,
        })
        .execute();
    },
    async currentDeployment(app, env) {
      const r = await trx
        .selectFrom('deployments')
        .selectAll()
        .where('app', '=', app)
        .where('env', '=', env)
        .orderBy('state_version', 'desc')
        .limit(1)
        .executeTakeFirst();
      return r && toDeployment(r);
    },
    async insertDeployment(d) {
      refuseQuiet(quiet, 'deploy');
      const row = {
        id: d.id,
        app: d.app,
        env: d.env,
        version: d.version,
        kind: d.kind,
        actor: d.actor,
        reason: d.reason,
        incident: d.incident,
        state_version: stateVersion,
        created_at: d.createdAt,
      };
      await trx.insertInto('deployments').values(row).execute();
      return toDeployment(row);
    },
    async knownGood(app, env) {
      const r = await trx
        .selectFrom('known_good')
        .selectAll()
        .where('app', '=', app)
        .where('env', '=', env)
        .executeTakeFirst();
      return r && toKnownGood(r);
    },
    async setKnownGood(k) {
      refuseQuiet(quiet, 'mark a release known-good');
      await trx.deleteFrom('known_good').where('app', '=', k.app).where('env', '=', k.env).execute();
      await trx
        .insertInto('known_good')
        .values({ app: k.app, env: k.env, version: k.version, marked_by: k.markedBy, marked_at: k.markedAt })
        .execute();
    },
    async activeFlags() {
      const rows = await trx
        .selectFrom('flags')
        .selectAll()
        .where('removed_at', 'is', null)
        .orderBy('created_at')
        .execute();
      return rows.map(toFlag);
    },
    async insertFlag(f) {
      refuseQuiet(quiet, 'set a flag');
      await trx.insertInto('flags').values(flagRow(f)).execute();
    },
    async removeFlag(id, by, at) {
      refuseQuiet(quiet, 'remove a flag');
      const r = await trx
        .updateTable('flags')
        .set({ removed_at: at, removed_by: by })
        .where('id', '=', id)
        .where('removed_at', 'is', null)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    async audit(entry) {
      // Serialised by the control-state lock taken at the start of the change, so seq and the chain
      // cannot fork even with several replicas writing.
      const last = await trx
        .selectFrom('audit_log')
        .select(['seq', 'hash'])
        .orderBy('seq', 'desc')
        .limit(1)
        .executeTakeFirst();
      const content = { ...entry, seq: (last?.seq ?? 0) + 1 };
      const prevHash = last?.hash ?? GENESIS_HASH;
      const hash = sha256(auditHashInput(prevHash, content));
      await trx
        .insertInto('audit_log')
        .values({
          seq: content.seq,
          ts: content.ts,
          actor: content.actor,
          action: content.action,
          target: content.target,
          before:
            content.before === undefined || content.before === null ? null : canonicalJson(content.before),
          after: content.after === undefined || content.after === null ? null : canonicalJson(content.after),
          reason: content.reason,
          incident: content.incident,
          prev_hash: prevHash,
          hash,
        })
        .execute();
      await trx
        .updateTable('control_state')
        .set({ audit_seq: content.seq, audit_hash: hash })
        .where('id', '=', 1)
        .execute();
      return { ...content, prevHash, hash };
    },
    approval: (id) => approvalById(trx, id),
    async decideApproval(id, d) {
      const r = await trx
        .updateTable('approvals')
        .set({ status: d.status, decided_by: d.by, decided_at: d.at, decision_reason: d.reason })
        .where('id', '=', id)
        .where('status', '=', 'pending')
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    incidents: incidentTx(trx),
    outbox: {
      schedule: (t, now, options) => scheduleTimerRow(trx, t, now, options),
      cancel: (key, now) => cancelTimerRow(trx, key, now),
      enqueueDelivery: (d) => insertDelivery(trx, d),
    },
  };
}
