import type { Kysely, Selectable, Transaction } from 'kysely';
import type {
  ActiveContainment,
  IncidentClass,
  IncidentStatus,
  Severity,
} from '../core/incidents/incident.js';
import type { TimelineEvent } from '../core/incidents/timeline.js';
import type {
  Capabilities,
  ContainmentEffects,
  ContainmentRecord,
  IncidentCompliance,
  IncidentFilter,
  IncidentRecord,
  IncidentStore,
  IncidentTx,
  TimelineEntry,
} from './port.js';
import type { Database, IncidentContainmentTable, IncidentEventsTable, IncidentsTable } from './schema.js';

/**
 * Incidents: rows ↔ domain, the writes a control-plane change makes (incidentTx) and the reads the API
 * and CLI make (incidentQueries). The status, class and severity columns hold only what the core's
 * lifecycle produced, so they are cast back, not re-validated.
 */
type Db = Kysely<Database> | Transaction<Database>;

const parse = (text: string): unknown => JSON.parse(text);

export const toIncident = (r: Selectable<IncidentsTable>): IncidentRecord => ({
  id: r.id,
  app: r.app,
  env: r.env,
  title: r.title,
  status: r.status as IncidentStatus,
  class: r.class as IncidentClass | null,
  severity: r.severity as Severity | null,
  commander: r.commander,
  communicationsLead: r.communications_lead,
  responders: parse(r.responders) as string[],
  containment: parse(r.containment) as ActiveContainment[],
  impactStartedAt: r.impact_started_at,
  detectedAt: r.detected_at,
  triagedAt: r.triaged_at,
  statusAt: r.status_at,
  postmortem: r.postmortem,
  noPostmortemReason: r.no_postmortem_reason,
  compliance: r.compliance === null ? null : (parse(r.compliance) as IncidentCompliance),
  dedupKey: r.dedup_key,
  openedBy: r.opened_by,
  updatedAt: r.updated_at,
});

/** The number in `INC-<n>` (ids are checked by the core when the incident is opened). */
const numberOf = (id: string): number => Number(id.slice('INC-'.length));

function incidentRow(i: IncidentRecord): IncidentsTable {
  return {
    id: i.id,
    number: numberOf(i.id),
    app: i.app,
    env: i.env,
    title: i.title,
    status: i.status,
    class: i.class,
    severity: i.severity,
    commander: i.commander,
    communications_lead: i.communicationsLead,
    responders: JSON.stringify(i.responders),
    containment: JSON.stringify(i.containment),
    impact_started_at: i.impactStartedAt,
    detected_at: i.detectedAt,
    triaged_at: i.triagedAt,
    status_at: i.statusAt,
    postmortem: i.postmortem,
    no_postmortem_reason: i.noPostmortemReason,
    compliance: i.compliance === null ? null : JSON.stringify(i.compliance),
    dedup_key: i.dedupKey,
    opened_by: i.openedBy,
    updated_at: i.updatedAt,
  };
}

const toEntry = (r: Selectable<IncidentEventsTable>): TimelineEntry => ({
  seq: r.seq,
  event: parse(r.event) as TimelineEvent,
});

const toContainment = (r: Selectable<IncidentContainmentTable>): ContainmentRecord => ({
  ref: r.ref,
  incident: r.incident,
  action: r.action,
  effects: parse(r.effects) as ContainmentEffects,
  appliedAt: r.applied_at,
  appliedBy: r.applied_by,
  revertedAt: r.reverted_at,
  revertedBy: r.reverted_by,
});

async function incidentById(db: Db, id: string): Promise<IncidentRecord | undefined> {
  const r = await db.selectFrom('incidents').selectAll().where('id', '=', id).executeTakeFirst();
  return r && toIncident(r);
}

async function timelineOf(db: Db, id: string): Promise<TimelineEntry[]> {
  const rows = await db
    .selectFrom('incident_events')
    .selectAll()
    .where('incident', '=', id)
    .orderBy('seq')
    .execute();
  return rows.map(toEntry);
}

async function containmentOf(db: Db, id: string): Promise<ContainmentRecord[]> {
  const rows = await db
    .selectFrom('incident_containment')
    .selectAll()
    .where('incident', '=', id)
    .orderBy('applied_at')
    .orderBy('ref')
    .execute();
  return rows.map(toContainment);
}

/** The incident writes of one control-plane change, on its transaction. */
export function incidentTx(trx: Db): IncidentTx {
  return {
    get: (id) => incidentById(trx, id),
    async lastNumber() {
      const r = await trx
        .selectFrom('incidents')
        .select((eb) => eb.fn.max('number').as('n'))
        .executeTakeFirst();
      return r?.n ?? 0;
    },
    async insert(i) {
      await trx.insertInto('incidents').values(incidentRow(i)).execute();
    },
    async update(i) {
      const { id: _id, number: _number, opened_by: _openedBy, ...row } = incidentRow(i);
      await trx.updateTable('incidents').set(row).where('id', '=', i.id).execute();
    },
    async append(id, events) {
      if (events.length === 0) return;
      const last = await trx
        .selectFrom('incident_events')
        .select((eb) => eb.fn.max('seq').as('seq'))
        .where('incident', '=', id)
        .executeTakeFirst();
      const first = (last?.seq ?? 0) + 1;
      await trx
        .insertInto('incident_events')
        .values(
          events.map((e, i) => ({
            incident: id,
            seq: first + i,
            type: e.type,
            at: e.at,
            actor: e.actor,
            event: JSON.stringify(e),
          })),
        )
        .execute();
    },
    timeline: (id) => timelineOf(trx, id),
    async openByDedupKey(key, since) {
      const r = await trx
        .selectFrom('incidents')
        .selectAll()
        .where('dedup_key', '=', key)
        .where('detected_at', '>=', since)
        .where('status', 'not in', ['resolved', 'closed'])
        .orderBy('number', 'desc')
        .limit(1)
        .executeTakeFirst();
      return r && toIncident(r);
    },
    async containment(ref) {
      const r = await trx
        .selectFrom('incident_containment')
        .selectAll()
        .where('ref', '=', ref)
        .executeTakeFirst();
      return r && toContainment(r);
    },
    containmentOf: (id) => containmentOf(trx, id),
    async insertContainment(c) {
      await trx
        .insertInto('incident_containment')
        .values({
          ref: c.ref,
          incident: c.incident,
          action: c.action,
          effects: JSON.stringify(c.effects),
          applied_at: c.appliedAt,
          applied_by: c.appliedBy,
          reverted_at: c.revertedAt,
          reverted_by: c.revertedBy,
        })
        .execute();
    },
    async updateEffects(ref, effects) {
      await trx
        .updateTable('incident_containment')
        .set({ effects: JSON.stringify(effects) })
        .where('ref', '=', ref)
        .execute();
    },
    async markReverted(ref, by, at) {
      await trx
        .updateTable('incident_containment')
        .set({ reverted_at: at, reverted_by: by })
        .where('ref', '=', ref)
        .execute();
    },
  };
}

function filtered(db: Db, f: IncidentFilter) {
  let q = db.selectFrom('incidents');
  if (f.status !== undefined) q = q.where('status', '=', f.status);
  if (f.app !== undefined) q = q.where('app', '=', f.app);
  if (f.env !== undefined) q = q.where('env', '=', f.env);
  if (f.severity !== undefined) q = q.where('severity', '=', f.severity);
  if (f.class !== undefined) q = q.where('class', '=', f.class);
  if (f.since !== undefined) q = q.where('detected_at', '>=', f.since);
  if (f.until !== undefined) q = q.where('detected_at', '<', f.until);
  return q;
}

export function incidentQueries(db: Kysely<Database>, caps: Capabilities): IncidentStore {
  // The incident row and its timeline must agree (a change committing between the reads would show a
  // status without the event that set it): one read transaction, snapshot isolation on PostgreSQL.
  const read = () =>
    caps.snapshotReads ? db.transaction().setIsolationLevel(caps.snapshotReads) : db.transaction();
  return {
    get: (id) =>
      read().execute(async (trx) => {
        const incident = await incidentById(trx, id);
        if (!incident) return undefined;
        return {
          incident,
          timeline: await timelineOf(trx, id),
          containment: await containmentOf(trx, id),
        };
      }),
    async list(f) {
      let q = filtered(db, f).selectAll();
      if (f.before !== undefined) q = q.where('number', '<', f.before);
      return (await q.orderBy('number', 'desc').limit(f.limit).execute()).map(toIncident);
    },
    histories: (f) =>
      read().execute(async (trx) => {
        const incidents = (await filtered(trx, f).selectAll().orderBy('number').execute()).map(toIncident);
        if (incidents.length === 0) return [];
        // One query for every timeline (joined on the same filter), grouped here.
        const rows = await filtered(trx, f)
          .innerJoin('incident_events', 'incident_events.incident', 'incidents.id')
          .select(['incident_events.incident', 'incident_events.event'])
          .orderBy('incident_events.incident')
          .orderBy('incident_events.seq')
          .execute();
        const byIncident = new Map<string, TimelineEvent[]>();
        for (const r of rows) {
          const list = byIncident.get(r.incident) ?? [];
          list.push(parse(r.event) as TimelineEvent);
          byIncident.set(r.incident, list);
        }
        return incidents.map((incident) => ({ incident, timeline: byIncident.get(incident.id) ?? [] }));
      }),
  };
}
