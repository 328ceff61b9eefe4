import { z } from 'zod';
import { FirebreakError } from '../core/errors.js';
import { findingDetectorIds as detectorIds } from '../core/detection/finding-detectors.js';
import { incidentClasses, type IncidentClass } from '../core/guards/types.js';
import { parseReleaseName } from '../core/release.js';
import { parseTimeSpec } from '../core/time-spec.js';
import { traceStatuses, type TraceStatus } from '../core/trace.js';
import { hasControlCharacters, parseWith } from '../core/validation.js';
import type { AffectedUser, BlastRadiusQuery } from '../store/port.js';
import type { OpsContext } from './context.js';

/**
 * Blast radius (issue 5): who was affected — exact distinct users, tenants and calls for an app,
 * environment, release, time window, detector, tool, incident class and status — and the affected
 * users as CSV or JSON for communications. One plain filter object, so the API, the CLI and an
 * incident (its window and filters) all call the same thing.
 */

/**
 * The filter. Every field is optional but `since`; times are epoch ms (numbers) or text (ISO 8601,
 * epoch ms, or `30m` / `24h` / `7d` back from now). The window is `[since, until)`, `until` defaulting
 * to now. Fields combine with AND: `{app, detector: 'canary', tool: 'send_email'}` is the app's calls
 * in the window on which the canary detector fired AND the model called send_email.
 */
export interface BlastRadiusFilter {
  readonly app?: string | undefined;
  readonly env?: string | undefined;
  /** `app@N` (as on traces; `app@0` when no release was deployed). Implies its app. */
  readonly release?: string | undefined;
  readonly since: number | string;
  readonly until?: number | string | undefined;
  /** A detector id (`firebreak guards`): calls on which it fired, at any stage and any action. */
  readonly detector?: string | undefined;
  /** A tool name: calls on which the model called it (allowed, held or blocked). */
  readonly tool?: string | undefined;
  /** An incident class: calls with a finding of that class. */
  readonly class?: string | undefined;
  /** A trace status: ok, blocked, safe_mode, error. */
  readonly status?: string | undefined;
}

/** The filter as applied: the window resolved to epoch ms, the app filled in from a release. */
export interface ResolvedBlastRadiusFilter {
  readonly since: number;
  readonly until: number;
  readonly app?: string;
  readonly env?: string;
  readonly release?: string;
  readonly detector?: string;
  readonly tool?: string;
  readonly class?: IncidentClass;
  readonly status?: TraceStatus;
}

export interface BlastRadius {
  /** Distinct user ids among the matching calls. */
  readonly users: number;
  /** Distinct tenant ids among the matching calls. */
  readonly tenants: number;
  /** Matching calls (trace rows; an agent reusing one X-AI-Trace-Id for several calls counts each). */
  readonly traces: number;
  /** Matching calls that named no user: in `traces`, not in `users` nor in the export. */
  readonly tracesWithoutUser: number;
  readonly window: { readonly since: number; readonly until: number };
  readonly filters: ResolvedBlastRadiusFilter;
  /** Things worth knowing about the answer (a tool firebreak.yaml does not declare…). */
  readonly notes: readonly string[];
}

export type BlastRadiusExportFormat = 'csv' | 'json';

/** The widest window accepted: the ≤ 1 s target was measured on 1,000,000 traces over 30 days. */
export const MAX_WINDOW_DAYS = 90;
const DAY_MS = 86_400_000;
/** Users per export page: memory stays at one page whatever the number of users. */
export const EXPORT_PAGE = 5_000;

const fields = ['app', 'env', 'release', 'since', 'until', 'detector', 'tool', 'class', 'status'] as const;

const free = (max: number) =>
  z
    .string()
    .trim()
    .min(1, 'must not be empty')
    .max(max)
    .refine((t) => !hasControlCharacters(t), 'must not contain control characters');
const time = z.union([z.number().int().min(0).max(8_640_000_000_000_000), free(64)]);
const schema = z.strictObject({
  app: free(64).optional(),
  env: free(64).optional(),
  release: free(128).optional(),
  since: time.optional(),
  until: time.optional(),
  detector: free(64).optional(),
  tool: free(128).optional(),
  class: free(32).optional(),
  status: free(16).optional(),
});

function invalid(path: string, message: string): FirebreakError {
  return new FirebreakError('validation_failed', `${path}: ${message}`, { path });
}

function resolveTime(field: 'since' | 'until', value: number | string, now: number): number {
  if (typeof value === 'number') return value;
  const ms = parseTimeSpec(value, now);
  if (ms === undefined)
    throw invalid(
      field,
      `"${value}" is not a time (use ISO 8601, epoch ms, or 30m / 24h / 7d back from now)`,
    );
  return ms;
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Checks and resolves a filter; every error is one precise `validation_failed` naming the field.
 * Throws before anything is read, so an export never starts with a bad filter.
 */
export function resolveBlastRadiusFilter(ctx: OpsContext, input: unknown): ResolvedBlastRadiusFilter {
  if (input !== null && typeof input === 'object' && !Array.isArray(input)) {
    const unknownField = Object.keys(input).find((k) => !(fields as readonly string[]).includes(k));
    if (unknownField !== undefined)
      throw invalid(unknownField, `unknown field (allowed: ${fields.join(', ')})`);
  }
  const f = parseWith(schema, input ?? {}, 'invalid blast radius filter');
  const now = ctx.now();
  if (f.since === undefined)
    throw invalid(
      'since',
      'required: the start of the window (ISO 8601, epoch ms, or 30m / 24h / 7d back from now)',
    );
  const since = resolveTime('since', f.since, now);
  const until = f.until === undefined ? now : resolveTime('until', f.until, now);
  if (since > now) throw invalid('since', `${iso(since)} is in the future`);
  if (until <= since) throw invalid('until', `${iso(until)} is not after since (${iso(since)})`);
  if (until - since > MAX_WINDOW_DAYS * DAY_MS)
    throw invalid(
      'since',
      `the window ${iso(since)} → ${iso(until)} is ${((until - since) / DAY_MS).toFixed(1)} days; at most ${MAX_WINDOW_DAYS} (narrow since/until)`,
    );

  const apps = ctx.config.apps;
  let app = f.app;
  if (app !== undefined && !Object.hasOwn(apps, app))
    throw invalid('app', `unknown app "${app}" (configured: ${Object.keys(apps).join(', ') || 'none'})`);
  if (f.release !== undefined) {
    const r = parseReleaseName(f.release);
    if (!r)
      throw invalid('release', `"${f.release}" is not a release name (app@version, e.g. support-bot@3)`);
    if (app !== undefined && r.app !== app)
      throw invalid('release', `${f.release} is a release of ${r.app}, not of app ${app}`);
    if (!Object.hasOwn(apps, r.app)) throw invalid('release', `unknown app "${r.app}" in ${f.release}`);
    app = r.app;
  }
  if (f.env !== undefined) {
    const envs =
      app !== undefined
        ? (apps[app]?.environments ?? [])
        : [...new Set(Object.values(apps).flatMap((a) => a.environments))];
    if (!envs.includes(f.env))
      throw invalid(
        'env',
        `"${f.env}" is not an environment ${app !== undefined ? `of ${app}` : 'of any app'} (${envs.join(', ')})`,
      );
  }
  if (f.detector !== undefined && !detectorIds.includes(f.detector))
    throw invalid('detector', `unknown detector "${f.detector}" (${detectorIds.join(', ')})`);
  if (f.class !== undefined && !(incidentClasses as readonly string[]).includes(f.class))
    throw invalid('class', `unknown incident class "${f.class}" (${incidentClasses.join(', ')})`);
  if (f.status !== undefined && !(traceStatuses as readonly string[]).includes(f.status))
    throw invalid('status', `unknown status "${f.status}" (${traceStatuses.join(', ')})`);
  const status = f.status as TraceStatus | undefined;
  if (
    app === undefined &&
    f.detector === undefined &&
    f.tool === undefined &&
    f.class === undefined &&
    (status === undefined || status === 'ok')
  )
    throw new FirebreakError(
      'validation_failed',
      'blast radius needs a scope: an app (or a release), a detector, a tool, a class, or a status other than ok; without one every user in the window counts as affected',
    );
  return {
    since,
    until,
    ...(app !== undefined ? { app } : {}),
    ...(f.env !== undefined ? { env: f.env } : {}),
    ...(f.release !== undefined ? { release: f.release } : {}),
    ...(f.detector !== undefined ? { detector: f.detector } : {}),
    ...(f.tool !== undefined ? { tool: f.tool } : {}),
    ...(f.class !== undefined ? { class: f.class as IncidentClass } : {}),
    ...(status !== undefined ? { status } : {}),
  };
}

const toQuery = (f: ResolvedBlastRadiusFilter): BlastRadiusQuery => f;

/**
 * Exact counts for one filter (see BlastRadiusFilter). The filter is checked at run time whatever its
 * static type (the API passes its query string as it came), with precise errors before any read.
 */
export async function blastRadius(ctx: OpsContext, filter: BlastRadiusFilter): Promise<BlastRadius> {
  const f = resolveBlastRadiusFilter(ctx, filter);
  const counts = await ctx.store.traces.blastRadius(toQuery(f));
  const notes: string[] = [];
  if (f.tool !== undefined && !Object.hasOwn(ctx.config.tools, f.tool))
    notes.push(
      `tool "${f.tool}" is not declared in firebreak.yaml tools; calls of it are counted if a model made them`,
    );
  if (counts.tracesWithoutUser > 0)
    notes.push(
      `${counts.tracesWithoutUser} matching call(s) named no user (X-Firebreak-User or the body's user): counted in traces, not in users`,
    );
  return {
    users: counts.users,
    tenants: counts.tenants,
    traces: counts.traces,
    tracesWithoutUser: counts.tracesWithoutUser,
    window: { since: f.since, until: f.until },
    filters: f,
    notes,
  };
}

export const CSV_HEADER = 'user_id,tenant_id,first_seen,last_seen,traces,example_trace_id';

/**
 * A CSV field: quoted when it holds a comma, quote or line break (RFC 4180); an id that a spreadsheet
 * would run as a formula (= + - @, tab, CR first: user ids come from request headers) gets a leading '.
 */
export function csvField(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

function csvLine(u: AffectedUser): string {
  return `${[
    csvField(u.userId),
    csvField(u.tenantId ?? ''),
    iso(u.firstSeen),
    iso(u.lastSeen),
    String(u.traces),
    csvField(u.exampleTraceId),
  ].join(',')}\r\n`;
}

function jsonUser(u: AffectedUser): string {
  return JSON.stringify({
    userId: u.userId,
    tenantId: u.tenantId,
    firstSeen: iso(u.firstSeen),
    lastSeen: iso(u.lastSeen),
    traces: u.traces,
    exampleTraceId: u.exampleTraceId,
  });
}

export function parseExportFormat(value: unknown): BlastRadiusExportFormat {
  if (value === 'csv' || value === 'json') return value;
  throw invalid(
    'format',
    value === undefined ? 'required: csv or json' : `${JSON.stringify(value)} is not csv or json`,
  );
}

/**
 * The affected users, one line per (user, tenant) in that order: user id, tenant, first and last
 * matching call (ISO 8601), number of matching calls, and the X-AI-Trace-Id of the latest one. Written
 * through `write` a page at a time (awaited, so a slow reader holds the next page back): memory stays
 * at one page, and the store aggregates the matching calls once (affectedUsers). CSV: a header line,
 * CRLF line ends. JSON: `{...meta, window, filters, users: [...]}`, times as ISO 8601. Returns how many lines
 * were written. Validation errors are thrown before the first write.
 */
export async function blastRadiusExport(
  ctx: OpsContext,
  filter: BlastRadiusFilter,
  format: string,
  write: (chunk: string) => void | Promise<void>,
  /** JSON only: fields written before `window` (an incident's id and where its filter came from). */
  meta: Readonly<Record<string, unknown>> = {},
): Promise<{ users: number }> {
  const fmt = parseExportFormat(format);
  const f = resolveBlastRadiusFilter(ctx, filter);
  const query = toQuery(f);
  if (fmt === 'csv') await write(`${CSV_HEADER}\r\n`);
  else {
    const head = JSON.stringify(meta).slice(1, -1);
    await write(
      `{${head === '' ? '' : `${head},`}"window":${JSON.stringify({ since: iso(f.since), until: iso(f.until) })},"filters":${JSON.stringify(f)},"users":[`,
    );
  }
  let n = 0;
  for await (const page of ctx.store.traces.affectedUsers(query, EXPORT_PAGE)) {
    let chunk = '';
    for (const u of page) {
      chunk += fmt === 'csv' ? csvLine(u) : `${n === 0 ? '\n' : ',\n'}${jsonUser(u)}`;
      n += 1;
    }
    await write(chunk);
  }
  if (fmt === 'json') await write(n === 0 ? ']}\n' : '\n]}\n');
  return { users: n };
}
