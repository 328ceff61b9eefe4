import { layerShifts, type Interval, type Layer } from './layer.js';

export type { Layer, Restriction } from './layer.js';

/** Someone standing in for a schedule from `start` to `end` (epoch ms, half-open): beats every layer. */
export interface Override {
  readonly user: string;
  readonly start: number;
  readonly end: number;
}

export interface Schedule {
  readonly id: string;
  /** IANA zone the layers' hand-off times, dates and restriction windows are read in. */
  readonly timeZone: string;
  /** Lowest first: a later layer overrides earlier ones wherever it has someone on call (PagerDuty's order). */
  readonly layers: readonly Layer[];
  /**
   * Config refuses overlapping overrides; should overlapping ones reach here anyway (e.g. from a store),
   * the one listed later wins where they overlap.
   */
  readonly overrides: readonly Override[];
}

/** The layer's name, or `override`. Layer names cannot be `override` (oncall-config.ts refuses it). */
export type ShiftSource = string;

export interface Shift {
  readonly user: string;
  readonly start: number;
  readonly end: number;
  readonly source: ShiftSource;
}

export interface OnCall {
  readonly user: string;
  readonly source: ShiftSource;
}

export const OVERRIDE = 'override';

/**
 * The final schedule over [from, to): who is on call when, and why. Shifts are clipped to the range, in
 * time order, never overlap; gaps are times with nobody on call. Adjacent pieces with the same person and
 * source are joined, so a shift interrupted by nothing reads as one.
 */
export function shifts(schedule: Schedule, from: number, to: number): Shift[] {
  if (!(from < to)) return [];
  const layers = schedule.layers.map((layer) => layerShifts(layer, schedule.timeZone, from, to));
  const overrides: Interval[] = schedule.overrides
    .filter((o) => o.end > from && o.start < to && o.end > o.start)
    .map((o) => ({ user: o.user, start: Math.max(o.start, from), end: Math.min(o.end, to) }));

  // Every point where the answer can change; between two neighbours it cannot.
  const cuts = new Set<number>([from, to]);
  for (const list of [...layers, overrides]) for (const s of list) cuts.add(s.start).add(s.end);
  const points = [...cuts].sort((a, b) => a - b);

  // Layer shift lists are sorted and disjoint, so one cursor per layer walks each list once.
  const cursors = layers.map(() => 0);
  const out: Shift[] = [];
  for (let i = 0; i + 1 < points.length; i++) {
    const start = points[i] ?? from;
    const end = points[i + 1] ?? to;
    const who = overrideAt(overrides, start) ?? layerAt(layers, cursors, schedule.layers, start);
    if (!who) continue;
    const last = out.at(-1);
    if (last && last.end === start && last.user === who.user && last.source === who.source) {
      out[out.length - 1] = { ...last, end };
    } else {
      out.push({ user: who.user, start, end, source: who.source });
    }
  }
  return out;
}

function overrideAt(overrides: readonly Interval[], at: number): OnCall | undefined {
  // Overrides are few and may (outside config) overlap, so a scan from the end finds the later one.
  const hit = overrides.findLast((o) => o.start <= at && at < o.end);
  return hit && { user: hit.user, source: OVERRIDE };
}

function layerAt(
  layers: readonly (readonly Interval[])[],
  cursors: number[],
  defs: readonly Layer[],
  at: number,
): OnCall | undefined {
  let found: OnCall | undefined;
  layers.forEach((list, i) => {
    let c = cursors[i] ?? 0;
    while ((list[c]?.end ?? Infinity) <= at) c++;
    cursors[i] = c;
    const s = list[c];
    const name = defs[i]?.name;
    // Later layers sit on top, so the last one covering `at` wins.
    if (s && s.start <= at && name !== undefined) found = { user: s.user, source: name };
  });
  return found;
}

/** Who is on call at an instant, and which layer (or an override) puts them there; undefined if nobody. */
export function onCallAt(schedule: Schedule, at: number): OnCall | undefined {
  // The same code as the schedule view, so `oncall now` and the view can never disagree.
  const [first] = shifts(schedule, at, at + 1);
  return first ? { user: first.user, source: first.source } : undefined;
}
