import { FirebreakError } from '../core/errors.js';
import {
  blastRadius,
  blastRadiusExport,
  parseExportFormat,
  resolveBlastRadiusFilter,
  type BlastRadius,
  type BlastRadiusFilter,
  type ResolvedBlastRadiusFilter,
} from './blast-radius.js';
import type { OpsContext } from './context.js';
import { getIncident, type IncidentView } from './incidents.js';

/**
 * The blast radius of one incident (issue 5 item 5): the plain blast radius filter derived from the
 * incident, so the counts and the export are the ordinary ones (ops/blast-radius.ts), exact.
 *
 * What the incident gives:
 *  - app: the incident's app (fixed: another app is another question, `GET /api/blast-radius`);
 *  - env: the incident's environment, when it has one;
 *  - since: the earliest of its detection, its impactStartedAt and its signals' observedAt (the trace's
 *    time for a finding), so the calls that raised the signals are inside the window;
 *  - until: when it was (last) resolved, that instant included; now while unresolved;
 *  - class: the incident's class, when it has one: calls with a finding of that class (trace marks).
 *
 * Incidents do not name detectors or tools (a signal keeps the trace it came from, not the detector),
 * so those come only from the caller. The caller may also replace env, since, until and class, add a
 * release or a status, and widen env or class back to every value with `any`.
 */
export const incidentBlastRadiusFields = [
  'env',
  'release',
  'since',
  'until',
  'detector',
  'tool',
  'class',
  'status',
] as const;
type Field = (typeof incidentBlastRadiusFields)[number];

/** The caller's narrowing or overriding, as text (query string, CLI flags). */
export type IncidentBlastRadiusOverrides = Partial<Record<Field, string>>;

/** Where a field of the filter came from: `incident: …` (derived, with what it was derived from) or `caller`. */
export type FilterSources = Partial<Record<'app' | Field, string>>;

export interface IncidentBlastRadius extends BlastRadius {
  readonly incident: string;
  readonly sources: FilterSources;
  /** The X-AI-Trace-Ids the incident's signals name (at most 20), to look at with `firebreak trace`. */
  readonly signalTraces: readonly string[];
}

/** An incident's filter, checked: the export resolves it once more at the same `now`. */
export interface PreparedIncidentFilter {
  readonly incident: string;
  readonly filter: BlastRadiusFilter;
  readonly resolved: ResolvedBlastRadiusFilter;
  readonly sources: FilterSources;
  readonly signalTraces: readonly string[];
  readonly notes: readonly string[];
}

const SIGNAL_TRACES_SHOWN = 20;
const iso = (ms: number) => new Date(ms).toISOString();

function invalid(path: string, message: string): FirebreakError {
  return new FirebreakError('validation_failed', `${path}: ${message}`, { path });
}

function overridesOf(input: unknown, app: string): IncidentBlastRadiusOverrides {
  if (input === undefined || input === null) return {};
  if (typeof input !== 'object' || Array.isArray(input))
    throw new FirebreakError('validation_failed', 'the blast radius overrides must be an object');
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(input)) {
    if (v === undefined) continue;
    if (k === 'app')
      throw invalid(
        'app',
        `an incident's blast radius is over the incident's app (${app}); for another app use the plain blast radius (GET /api/blast-radius, firebreak blast-radius)`,
      );
    if (!(incidentBlastRadiusFields as readonly string[]).includes(k))
      throw invalid(k, `unknown field (allowed: ${incidentBlastRadiusFields.join(', ')})`);
    if (typeof v !== 'string') throw invalid(k, 'must be text');
    out[k] = v;
  }
  return out;
}

/** The derived window start: the earliest moment the incident's own record says harm was seen. */
function startOf(v: IncidentView): { at: number; source: string } {
  let best = { at: v.detectedAt, source: `incident: detected ${iso(v.detectedAt)}` };
  if (v.impactStartedAt !== null && v.impactStartedAt < best.at)
    best = { at: v.impactStartedAt, source: `incident: impact started ${iso(v.impactStartedAt)}` };
  for (const e of v.timeline)
    if (e.type === 'signal' && e.observedAt !== undefined && e.observedAt < best.at)
      best = { at: e.observedAt, source: `incident: signal ${e.signal} observed ${iso(e.observedAt)}` };
  return best;
}

/** When the incident was last resolved, if it is resolved or closed now. */
function resolvedAt(v: IncidentView): number | undefined {
  if (v.status !== 'resolved' && v.status !== 'closed') return undefined;
  let at: number | undefined;
  for (const e of v.timeline) if (e.type === 'status_change' && e.to === 'resolved') at = e.at;
  return at ?? v.statusAt;
}

/**
 * Loads the incident (not_found when unknown), derives its filter, applies the caller's overrides and
 * checks the result with the plain blast radius's own rules (every error names its field).
 */
export async function prepareIncidentBlastRadius(
  ctx: OpsContext,
  id: string,
  input: unknown,
): Promise<PreparedIncidentFilter> {
  const v = await getIncident(ctx, id);
  const o = overridesOf(input, v.app);
  const sources: Record<string, string> = {};
  const notes: string[] = [];
  const from = (field: Field, derived: string | undefined, source: string) => {
    const given = o[field];
    if (given !== undefined) {
      if (given === 'any' && (field === 'env' || field === 'class')) {
        sources[field] = 'caller: any';
        return undefined;
      }
      sources[field] = 'caller';
      return given;
    }
    if (derived !== undefined) sources[field] = source;
    return derived;
  };

  sources['app'] = 'incident';
  const start = startOf(v);
  const since = o.since ?? start.at;
  sources['since'] = o.since !== undefined ? 'caller' : start.source;
  const resolved = resolvedAt(v);
  // `until` is exclusive; the resolving instant is still part of the incident.
  const until = o.until ?? (resolved === undefined ? undefined : resolved + 1);
  sources['until'] =
    o.until !== undefined
      ? 'caller'
      : resolved === undefined
        ? `incident: unresolved (${v.status}), so now`
        : `incident: resolved ${iso(resolved)}`;
  const env = from('env', v.env ?? undefined, 'incident');
  const cls = from('class', v.class ?? undefined, 'incident');
  const filter: BlastRadiusFilter = {
    app: v.app,
    since,
    ...(until !== undefined ? { until } : {}),
    ...(env !== undefined ? { env } : {}),
    ...(cls !== undefined ? { class: cls } : {}),
    ...(o.release !== undefined ? { release: o.release } : {}),
    ...(o.detector !== undefined ? { detector: o.detector } : {}),
    ...(o.tool !== undefined ? { tool: o.tool } : {}),
    ...(o.status !== undefined ? { status: o.status } : {}),
  };
  for (const f of ['release', 'detector', 'tool', 'status'] as const)
    if (o[f] !== undefined) sources[f] = 'caller';

  const checked = resolveBlastRadiusFilter(ctx, filter);
  if (
    checked.class === undefined &&
    checked.detector === undefined &&
    checked.tool === undefined &&
    (checked.status === undefined || checked.status === 'ok')
  )
    notes.push(
      v.class === null && o.class === undefined
        ? `${v.id} has no class yet: every call of ${v.app}${checked.env !== undefined ? `/${checked.env}` : ''} in the window counts; narrow with class, detector, tool or status`
        : `no class, detector, tool or status: every call of ${v.app}${checked.env !== undefined ? `/${checked.env}` : ''} in the window counts`,
    );
  const signalTraces = [
    ...new Set(v.timeline.flatMap((e) => (e.type === 'signal' && e.trace !== undefined ? [e.trace] : []))),
  ];
  if (signalTraces.length > SIGNAL_TRACES_SHOWN)
    notes.push(`${signalTraces.length} traces named by signals; the first ${SIGNAL_TRACES_SHOWN} are listed`);
  // The window as resolved (numbers), so the export and the counts use the same `now`.
  const fixed: BlastRadiusFilter = { ...filter, since: checked.since, until: checked.until };
  return {
    incident: v.id,
    filter: fixed,
    resolved: checked,
    sources,
    signalTraces: signalTraces.slice(0, SIGNAL_TRACES_SHOWN),
    notes,
  };
}

/** Exact distinct users, tenants and calls of the incident (see prepareIncidentBlastRadius). */
export async function incidentBlastRadius(
  ctx: OpsContext,
  id: string,
  overrides?: unknown,
): Promise<IncidentBlastRadius> {
  const p = await prepareIncidentBlastRadius(ctx, id, overrides);
  const r = await blastRadius(ctx, p.filter);
  return {
    incident: p.incident,
    ...r,
    sources: p.sources,
    signalTraces: p.signalTraces,
    notes: [...p.notes, ...r.notes],
  };
}

/**
 * The incident's affected users as CSV or JSON (blastRadiusExport); the JSON carries the incident id
 * and where each filter field came from. Validation and not_found are thrown before the first write.
 */
export async function incidentBlastRadiusExport(
  ctx: OpsContext,
  id: string,
  overrides: unknown,
  format: string,
  write: (chunk: string) => void | Promise<void>,
): Promise<{ users: number }> {
  const fmt = parseExportFormat(format);
  const p = await prepareIncidentBlastRadius(ctx, id, overrides);
  return exportPrepared(ctx, p, fmt, write);
}

/** The export of an already prepared filter (the API prepares first, to answer errors with a 400). */
export function exportPrepared(
  ctx: OpsContext,
  p: PreparedIncidentFilter,
  format: 'csv' | 'json',
  write: (chunk: string) => void | Promise<void>,
): Promise<{ users: number }> {
  return blastRadiusExport(ctx, p.filter, format, write, { incident: p.incident, sources: p.sources });
}
