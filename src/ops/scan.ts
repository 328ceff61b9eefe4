import { FirebreakError } from '../core/errors.js';
import { GuardSet } from '../core/guards/engine.js';
import { defaultGuardSettings } from '../core/guards/guard-settings.js';
import { scanTrace } from '../core/guards/scan-input.js';
import type { Finding } from '../core/guards/types.js';
import { parseTimeSpec } from '../core/time-spec.js';
import type { TraceCursor, TraceRecord } from '../core/trace.js';
import { releaseGuardSettings, type Release } from '../core/release.js';
import type { OpsContext } from './context.js';
import { getRelease } from './releases.js';

/**
 * `firebreak scan`'s operations: which guard configuration to scan with, and the rescan of stored traces
 * after a detector changed (which calls would the new detector have caught?).
 */
export async function guardSetFor(ctx: OpsContext, release: string | undefined): Promise<GuardSet> {
  return setOf(release === undefined ? undefined : await getRelease(ctx, release));
}

/** What a release's calls were guarded with (its guards and planted canary); the defaults without one. */
const setOf = (release: Release | undefined): GuardSet =>
  new GuardSet(release ? releaseGuardSettings(release) : defaultGuardSettings);

export interface RescanOptions {
  readonly since: string;
  readonly until?: string;
  readonly app?: string;
  /** Scan every trace with this release's guards; default: each trace with its own release's guards. */
  readonly release?: string;
}

export interface RescanResult {
  readonly trace: TraceRecord;
  readonly findings: readonly Finding[];
}

export interface RescanSummary {
  readonly scanned: number;
  readonly withFindings: number;
  readonly byDetector: Readonly<Record<string, number>>;
}

const PAGE = 500;

export async function rescanTraces(
  ctx: OpsContext,
  opts: RescanOptions,
  onResult: (r: RescanResult) => void,
  onProgress: (done: number, total: number) => void,
): Promise<RescanSummary> {
  const now = ctx.now();
  const since = parseTimeSpec(opts.since, now);
  if (since === undefined)
    throw new FirebreakError(
      'validation_failed',
      `--since: "${opts.since}" is not a time (use 7d, 24h, ISO 8601)`,
    );
  const until = opts.until === undefined ? undefined : parseTimeSpec(opts.until, now);
  if (opts.until !== undefined && until === undefined)
    throw new FirebreakError(
      'validation_failed',
      `--until: "${opts.until}" is not a time (use 7d, 24h, ISO 8601)`,
    );
  const filter = {
    since,
    ...(until !== undefined ? { until } : {}),
    ...(opts.app !== undefined ? { app: opts.app } : {}),
  };
  const fixed = opts.release === undefined ? undefined : await guardSetFor(ctx, opts.release);
  // Each trace's own release, read once: its prompt was in force at call time, whichever guards scan it.
  // `app@0` (no release deployed) and releases that no longer load count as none (the defaults).
  const releases = new Map<string, Release | undefined>();
  const sets = new Map<string, GuardSet>();
  const releaseOf = async (name: string): Promise<Release | undefined> => {
    if (!releases.has(name))
      releases.set(
        name,
        name.endsWith('@0') ? undefined : await getRelease(ctx, name).catch(() => undefined),
      );
    return releases.get(name);
  };
  const ownSet = (name: string, release: Release | undefined): GuardSet => {
    let set = sets.get(name);
    if (!set) sets.set(name, (set = setOf(release)));
    return set;
  };

  const total = await ctx.store.traces.count(filter);
  let scanned = 0;
  let withFindings = 0;
  const byDetector: Record<string, number> = {};
  let cursor: TraceCursor | undefined;
  onProgress(0, total);
  for (;;) {
    const rows = await ctx.store.traces.page({ ...filter, limit: PAGE, ...(cursor ? { cursor } : {}) });
    for (const trace of rows) {
      const release = await releaseOf(trace.release);
      const set = fixed ?? ownSet(trace.release, release);
      const findings = scanTrace(set, trace, release?.spec.prompt.system ?? '');
      scanned++;
      if (findings.length > 0) withFindings++;
      for (const f of findings) byDetector[f.detector] = (byDetector[f.detector] ?? 0) + 1;
      onResult({ trace, findings });
    }
    // Only a page with traces moves the count: reporting after the empty page that ends an empty store
    // (or a total that is a multiple of PAGE) would print the last report a second time.
    // Traces recorded while the scan runs can fall inside the window: the total grows rather than the
    // display passing 100%.
    if (rows.length > 0) onProgress(scanned, Math.max(total, scanned));
    const last = rows.at(-1);
    if (rows.length < PAGE || !last) break;
    cursor = { ts: last.ts, id: last.id };
  }
  return { scanned, withFindings, byDetector };
}
