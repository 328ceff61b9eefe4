import { incidentHeadline } from '../core/incidents/templates.js';
import type { IncidentMetrics, MetricsGroup } from '../core/incidents/metrics.js';
import type { containIncident, IncidentView, listIncidents } from '../ops/incidents.js';
import { table } from './control-format.js';

/** Human-readable incidents for the CLI; `--json` prints the API's JSON instead. Times in UTC (ISO). */
type IncidentRow = Awaited<ReturnType<typeof listIncidents>>['data'][number];
type ContainResult = Awaited<ReturnType<typeof containIncident>>;

const iso = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString());

/** 95 000 → `1m 35s`; days, hours and minutes for longer spans. */
export function duration(ms: number | null): string {
  if (ms === null) return '-';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

export function formatIncidentTable(rows: readonly IncidentRow[]): string {
  if (rows.length === 0) return 'no incidents';
  return table(
    ['id', 'status', 'severity', 'class', 'app/env', 'commander', 'detected', 'title'],
    rows.map((i) => [
      i.id,
      i.status,
      i.severity ?? '-',
      i.class ?? '-',
      `${i.app}/${i.env ?? '*'}`,
      i.commander ?? '-',
      iso(i.detectedAt),
      i.title,
    ]),
  );
}

const metricLine = (m: IncidentMetrics) =>
  `MTTD ${duration(m.mttd)} · MTTA ${duration(m.mtta)} · MTTC ${duration(m.mttc)} · MTTR ${duration(m.mttr)}`;

export function formatIncident(v: IncidentView): string {
  const lines = [
    `${incidentHeadline(v)} — ${v.title}`,
    `app: ${v.app}/${v.env ?? '*'}  opened by ${v.openedBy}`,
    `status: ${v.status} since ${iso(v.statusAt)}; detected ${iso(v.detectedAt)}; triaged ${iso(v.triagedAt)}`,
    `roles: commander ${v.commander ?? '-'} · communications lead ${v.communicationsLead ?? '-'} · responders ${v.responders.join(', ') || '-'}`,
    'containment in force:',
    ...(v.containment.length === 0
      ? ['  none']
      : v.containment.map((c) => `  ${c.ref}  ${c.action}  since ${iso(c.at)} by ${c.actor}`)),
  ];
  if (v.deadlines.length > 0)
    lines.push(
      'compliance deadlines:',
      ...v.deadlines.map(
        (d) =>
          `  ${d.regulation} ${d.article}: due ${iso(d.dueAt)}${d.overdue ? ' (OVERDUE)' : ''} — ${d.label}`,
      ),
    );
  lines.push(
    v.updates.nextDueAt === null
      ? 'updates: none owed'
      : `updates: next internal update due ${iso(v.updates.nextDueAt)}${v.updates.overdue ? ' (OVERDUE)' : ''}`,
  );
  if (v.postmortem !== null) lines.push(`postmortem: ${v.postmortem}`);
  if (v.noPostmortemReason !== null) lines.push(`no postmortem: ${v.noPostmortemReason}`);
  lines.push(`metrics: ${metricLine(v.metrics)}`, 'timeline:');
  lines.push(...v.timeline.map((e) => `  ${iso(e.at)}  ${e.actor}  ${e.description}`));
  return lines.join('\n');
}

/** The newest update's text (what `incident update` wrote). */
export function formatUpdate(v: IncidentView): string {
  const last = v.timeline.findLast((e) => e.type === 'update_posted');
  return last?.type === 'update_posted' ? last.text : formatIncident(v);
}

function effectsOf(r: ContainResult['containment']): string[] {
  const flags = r.effects.flags.map((f) => `  flag ${f.key}=${f.value} @ ${f.app}/${f.env ?? '*'} (${f.id})`);
  const d = r.effects.deployment;
  const deployment = d ? [`  deployment ${d.id}: ${d.app}/${d.env} → ${d.app}@${d.version}`] : [];
  return [...flags, ...deployment];
}

export function formatContained(r: ContainResult): string {
  return [
    `${r.incident.id} ${r.incident.status}: ${r.containment.action} (${r.containment.ref})`,
    ...effectsOf(r.containment),
  ].join('\n');
}

export function formatReverted(r: ContainResult): string {
  const event = r.incident.timeline.findLast(
    (e) => e.type === 'containment_reverted' && e.ref === r.containment.ref,
  );
  const detail = event?.type === 'containment_reverted' && event.reason ? `: ${event.reason}` : '';
  return `${r.incident.id}: reverted ${r.containment.ref} (${r.containment.action})${detail}`;
}

export function formatMetrics(m: IncidentMetrics): string {
  return `${m.id}: ${metricLine(m)}`;
}

export function formatMetricsReport(r: { by: string; groups: readonly MetricsGroup[] }): string {
  if (r.groups.length === 0) return 'no incidents';
  const cell = (a: MetricsGroup['metrics']['mttd']) =>
    a.count === 0 ? '-' : `${duration(a.median)} / ${duration(a.p90)} (${a.count})`;
  return [
    'median / p90 (incidents with a value)',
    table(
      [r.by === 'all' ? 'group' : r.by, 'incidents', 'MTTD', 'MTTA', 'MTTC', 'MTTR'],
      r.groups.map((g) => [
        g.group,
        String(g.incidents),
        cell(g.metrics.mttd),
        cell(g.metrics.mtta),
        cell(g.metrics.mttc),
        cell(g.metrics.mttr),
      ]),
    ),
  ].join('\n');
}
