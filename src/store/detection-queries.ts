import { sql, type Kysely, type Selectable } from 'kysely';
import { incidentClasses } from '../core/guards/types.js';
import type { AnomalySeries, CountedSignal, DetectionStore, IntervalCounts } from './port.js';
import type { Database, DetectionSignalsTable } from './schema.js';

/** Detection's tables (migrations-detection.ts) and the anomaly detector's read of traces. */

type Count = number | string | bigint;
type Num = Count | null;

function fromRow(r: Selectable<DetectionSignalsTable>): CountedSignal {
  return {
    dedupKey: r.dedup_key,
    fingerprint: r.fingerprint,
    rule: r.rule,
    app: r.app,
    source: r.source,
    summary: r.summary,
    traceId: r.trace_id,
    observedAt: r.observed_at,
    at: r.at,
    expiresAt: r.expires_at,
    incident: r.incident,
  };
}

const parseState = (text: string): unknown => {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null; // read back as a fresh series (readAnomalyState), never a failure
  }
};

export function detectionQueries(db: Kysely<Database>): DetectionStore {
  return {
    async countSignal(s, since, now) {
      await db
        .insertInto('detection_signals')
        .values({
          dedup_key: s.dedupKey,
          fingerprint: s.fingerprint,
          rule: s.rule,
          app: s.app,
          source: s.source,
          summary: s.summary,
          trace_id: s.traceId,
          observed_at: s.observedAt,
          at: s.at,
          expires_at: s.expiresAt,
          incident: null,
        })
        .onConflict((oc) => oc.columns(['dedup_key', 'fingerprint']).doNothing())
        .execute();
      await db.deleteFrom('detection_signals').where('expires_at', '<=', now).execute();
      const rows = await db
        .selectFrom('detection_signals')
        .selectAll()
        .where('dedup_key', '=', s.dedupKey)
        .where('at', '>', since)
        .where('incident', 'is', null)
        .orderBy('at')
        .orderBy('fingerprint')
        .execute();
      return rows.map(fromRow);
    },

    async markCounted(dedupKey, fingerprints, incident) {
      if (fingerprints.length === 0) return;
      await db
        .updateTable('detection_signals')
        .set({ incident })
        .where('dedup_key', '=', dedupKey)
        .where('fingerprint', 'in', [...fingerprints])
        .where('incident', 'is', null)
        .execute();
    },

    async intervalCounts(q) {
      // One range of the covering index traces_app_ts (app, ts, env, release, status, …): no trace row
      // is read unless tokens are asked for.
      const calls = await db
        .selectFrom('traces')
        .where('app', '=', q.app)
        .where('ts', '>=', q.since)
        .where('ts', '<', q.until)
        .groupBy(['env', 'release'])
        .select(({ fn }) => [
          'env',
          'release',
          fn.countAll<Count>().as('requests'),
          sql<Num>`sum(case when status = 'blocked' then 1 else 0 end)`.as('blocked'),
          sql<Num>`sum(case when status = 'error' then 1 else 0 end)`.as('errors'),
          sql<Num>`sum(case when status = 'safe_mode' then 1 else 0 end)`.as('safe_mode'),
        ])
        .$if(q.tokens, (b) =>
          b.select(sql<Num>`sum(coalesce(prompt_tokens, 0) + coalesce(completion_tokens, 0))`.as('tokens')),
        )
        .execute();
      if (calls.length === 0) return [];
      // Calls with findings: every finding has a class, so the class marks (trace_marks key: kind,
      // value, ts) hold each such call; one short key range per class.
      const marked = await db
        .selectFrom('trace_marks')
        .where('kind', '=', 'class')
        .where('value', 'in', [...incidentClasses])
        .where('ts', '>=', q.since)
        .where('ts', '<', q.until)
        .where('app', '=', q.app)
        .groupBy(['env', 'release'])
        .select(({ fn }) => ['env', 'release', fn.count<Count>('trace_row').distinct().as('findings')])
        .execute();
      const findings = new Map(marked.map((m) => [`${m.env}\u0000${m.release}`, Number(m.findings)]));
      return calls.map((c): IntervalCounts => ({
        env: c.env,
        release: c.release,
        requests: Number(c.requests),
        findings: findings.get(`${c.env}\u0000${c.release}`) ?? 0,
        blocked: Number(c.blocked ?? 0),
        errors: Number(c.errors ?? 0),
        safeMode: Number(c.safe_mode ?? 0),
        tokens: 'tokens' in c ? Number(c.tokens ?? 0) : null,
      }));
    },

    async anomalySeries(app) {
      const rows = await db.selectFrom('anomaly_series').selectAll().where('app', '=', app).execute();
      return rows.map((r): AnomalySeries => ({
        app: r.app,
        env: r.env,
        release: r.release,
        metric: r.metric,
        state: parseState(r.state),
        lastAt: r.last_at,
      }));
    },

    async saveAnomalySeries(s, now) {
      await db
        .insertInto('anomaly_series')
        .values({
          app: s.app,
          env: s.env,
          release: s.release,
          metric: s.metric,
          state: JSON.stringify(s.state),
          last_at: s.lastAt,
          updated_at: now,
        })
        .onConflict((oc) =>
          oc
            .columns(['app', 'env', 'release', 'metric'])
            .doUpdateSet((eb) => ({
              state: eb.ref('excluded.state'),
              last_at: eb.ref('excluded.last_at'),
              updated_at: eb.ref('excluded.updated_at'),
            }))
            // An interval is learned once: a replayed or older state never overwrites a newer one.
            .where((eb) => eb('anomaly_series.last_at', '<', eb.ref('excluded.last_at'))),
        )
        .execute();
    },
  };
}
