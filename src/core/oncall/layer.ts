import { DAY_MS, MINUTE_MS, instantAt, startOfDay, wallAt, weekdayOf, type Weekday } from './zoned-time.js';

/**
 * One rotation layer of a schedule. Every length is measured on the local wall clock (zoned-time.ts), so
 * a daily hand-off at 09:00 stays at 09:00 through DST changes and the shift spanning the change is an
 * hour shorter or longer; `12h` hands over at 09:00 and 21:00 all year.
 */
export interface Layer {
  readonly name: string;
  /** In rotation order; the first takes the first shift. */
  readonly participants: readonly string[];
  /** Wall time of the first hand-off; before it the layer has nobody on call. */
  readonly firstHandoff: number;
  /** Wall-clock milliseconds between hand-offs (a day for `daily`, seven for `weekly`). */
  readonly rotationMs: number;
  /** When non-empty, the layer is on call only inside these windows. */
  readonly restrictions: readonly Restriction[];
}

/** A window starting on each of `days` at `startMinute` local time, `lengthMinutes` of wall clock long. */
export interface Restriction {
  readonly days: readonly Weekday[];
  readonly startMinute: number;
  /** Up to a full day; a window may run past midnight into the next day. */
  readonly lengthMinutes: number;
}

/** A half-open span [start, end) of epoch milliseconds and who is on call in it. */
export interface Interval {
  readonly user: string;
  readonly start: number;
  readonly end: number;
}

/** Instant of the k-th hand-off (k = 0 is the first). */
function handoff(layer: Layer, timeZone: string, k: number): number {
  return instantAt(timeZone, layer.firstHandoff + k * layer.rotationMs);
}

/** The rotation's shifts overlapping [from, to), clipped to it, ignoring restrictions. */
function rotationShifts(layer: Layer, timeZone: string, from: number, to: number): Interval[] {
  const n = layer.participants.length;
  if (n === 0) return [];
  let k = 0;
  if (from >= handoff(layer, timeZone, 0)) {
    // Estimate from the wall clock, then correct: near a DST change the estimate can be one off.
    k = Math.max(0, Math.floor((wallAt(timeZone, from) - layer.firstHandoff) / layer.rotationMs));
    while (handoff(layer, timeZone, k + 1) <= from) k++;
    while (k > 0 && handoff(layer, timeZone, k) > from) k--;
  }
  const out: Interval[] = [];
  let start = handoff(layer, timeZone, k);
  while (start < to) {
    const end = handoff(layer, timeZone, k + 1);
    // A hand-off inside a spring-forward gap can coincide with the next one: that shift is empty.
    const user = layer.participants[k % n];
    if (user !== undefined && end > from && end > start) {
      out.push({ user, start: Math.max(start, from), end: Math.min(end, to) });
    }
    start = end;
    k++;
  }
  return out;
}

/** The restriction windows overlapping [from, to) as instants: clipped, sorted, touching ones joined. */
function windows(layer: Layer, timeZone: string, from: number, to: number): { start: number; end: number }[] {
  const found: { start: number; end: number }[] = [];
  // A window may start the day before `from` and run past midnight into it.
  const lastDay = startOfDay(wallAt(timeZone, to));
  for (let day = startOfDay(wallAt(timeZone, from)) - DAY_MS; day <= lastDay; day += DAY_MS) {
    const weekday = weekdayOf(day);
    for (const r of layer.restrictions) {
      if (!r.days.includes(weekday)) continue;
      const wallStart = day + r.startMinute * MINUTE_MS;
      const start = Math.max(instantAt(timeZone, wallStart), from);
      const end = Math.min(instantAt(timeZone, wallStart + r.lengthMinutes * MINUTE_MS), to);
      if (start < end) found.push({ start, end });
    }
  }
  found.sort((a, b) => a.start - b.start);
  // Joined so the intersection below can walk both lists once (and Mon–Fri 00:00–24:00 is one window).
  const out: { start: number; end: number }[] = [];
  for (const w of found) {
    const last = out.at(-1);
    if (last && w.start <= last.end) last.end = Math.max(last.end, w.end);
    else out.push({ ...w });
  }
  return out;
}

/** Who this layer has on call during [from, to), in time order, clipped to it. */
export function layerShifts(layer: Layer, timeZone: string, from: number, to: number): Interval[] {
  const shifts = rotationShifts(layer, timeZone, from, to);
  if (layer.restrictions.length === 0) return shifts;
  const open = windows(layer, timeZone, from, to);
  const out: Interval[] = [];
  let i = 0;
  let j = 0;
  while (i < shifts.length && j < open.length) {
    const s = shifts[i];
    const w = open[j];
    if (!s || !w) break;
    const start = Math.max(s.start, w.start);
    const end = Math.min(s.end, w.end);
    if (start < end) out.push({ user: s.user, start, end });
    // Whichever ends first cannot meet anything further along the other list.
    if (s.end <= w.end) i++;
    else j++;
  }
  return out;
}
