import type { Kysely, Migration } from 'kysely';

/**
 * Incidents (issue 5): the incident row (the core's Incident plus compliance and bookkeeping), its
 * append-only timeline, and the containment actions executed for it. All three are written only inside
 * a control-plane change, so an incident change and the flags or deployment it made commit together.
 */
export const incidentsMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('incidents')
      .addColumn('id', 'varchar(24)', (c) => c.primaryKey())
      // INC-<number>: numbered per installation (the next is max + 1, under the control-plane lock).
      .addColumn('number', 'bigint', (c) => c.notNull().unique())
      .addColumn('app', 'varchar(64)', (c) => c.notNull())
      .addColumn('env', 'varchar(64)')
      .addColumn('title', 'text', (c) => c.notNull())
      .addColumn('status', 'varchar(16)', (c) => c.notNull())
      .addColumn('class', 'varchar(32)')
      .addColumn('severity', 'varchar(8)')
      .addColumn('commander', 'varchar(256)')
      .addColumn('communications_lead', 'varchar(256)')
      // JSON arrays: small, always read and written with the row.
      .addColumn('responders', 'text', (c) => c.notNull())
      .addColumn('containment', 'text', (c) => c.notNull())
      .addColumn('impact_started_at', 'bigint')
      .addColumn('detected_at', 'bigint', (c) => c.notNull())
      .addColumn('triaged_at', 'bigint')
      .addColumn('status_at', 'bigint', (c) => c.notNull())
      .addColumn('postmortem', 'text')
      .addColumn('no_postmortem_reason', 'text')
      // JSON {flags, awareAt, setBy, setAt}; null when no compliance clock runs.
      .addColumn('compliance', 'text')
      // Signals with the same key within a window update one incident instead of opening another.
      .addColumn('dedup_key', 'varchar(256)')
      .addColumn('opened_by', 'varchar(256)', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('incidents_status_number')
      .on('incidents')
      .columns(['status', 'number'])
      .execute();
    await db.schema.createIndex('incidents_app_number').on('incidents').columns(['app', 'number']).execute();
    await db.schema
      .createIndex('incidents_dedup')
      .on('incidents')
      .columns(['dedup_key', 'detected_at'])
      .execute();

    await db.schema
      .createTable('incident_events')
      .addColumn('incident', 'varchar(24)', (c) => c.notNull())
      // Append order within the incident: the timeline's order when two events share a millisecond.
      .addColumn('seq', 'integer', (c) => c.notNull())
      .addColumn('type', 'varchar(32)', (c) => c.notNull())
      .addColumn('at', 'bigint', (c) => c.notNull())
      .addColumn('actor', 'varchar(256)', (c) => c.notNull())
      // The core's TimelineEvent as JSON (type, at and actor included, so a row is self-contained).
      .addColumn('event', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('incident_events_pk', ['incident', 'seq'])
      .execute();

    await db.schema
      .createTable('incident_containment')
      .addColumn('ref', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('incident', 'varchar(24)', (c) => c.notNull())
      .addColumn('action', 'text', (c) => c.notNull())
      // JSON: the flags set (with the flag each replaced) and the deployment made, to revert exactly those.
      .addColumn('effects', 'text', (c) => c.notNull())
      .addColumn('applied_at', 'bigint', (c) => c.notNull())
      .addColumn('applied_by', 'varchar(256)', (c) => c.notNull())
      .addColumn('reverted_at', 'bigint')
      .addColumn('reverted_by', 'varchar(256)')
      .execute();
    await db.schema
      .createIndex('incident_containment_incident')
      .on('incident_containment')
      .columns(['incident', 'applied_at'])
      .execute();
  },
};
