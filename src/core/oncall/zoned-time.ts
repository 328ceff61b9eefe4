/**
 * Local time ↔ UTC for IANA time zones, with nothing but `Intl.DateTimeFormat` (no tz database of our own).
 *
 * Local times are handled as *wall time*: the milliseconds a local date and time would be if it were UTC
 * (`Date.UTC(2026, 2, 29, 9)` stands for "29 March 2026, 09:00 on the wall clock"). Wall time has no DST,
 * so "the next day at the same time" is plain addition; only turning it into an instant needs the zone.
 *
 * Rule for local times a DST change makes non-existent or ambiguous (RFC 5545 §3.3.5, the same as
 * Temporal's `disambiguation: 'compatible'` and java.time):
 * - non-existent (spring forward, e.g. 02:30 on 29 March 2026 in Europe/Berlin): read with the offset in
 *   force before the gap, so it lands the gap's length later (03:30 CEST);
 * - ambiguous (fall back, e.g. 02:30 on 25 October 2026 in Europe/Berlin): the first occurrence (02:30 CEST).
 * Both are monotonic, so a later wall time never becomes an earlier instant.
 */

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

export const weekdays = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof weekdays)[number];

/** Building a formatter costs far more than using one, and shifts() converts thousands of instants. */
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      // h23, not hour12: false, which some ICU versions render as "24" at midnight.
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    // Only zones Intl accepted get here, but each spelling (`europe/berlin`, `EUROPE/BERLIN`) is its own key.
    if (formatters.size >= 1_000) formatters.clear();
    formatters.set(timeZone, f);
  }
  return f;
}

/** Whether the runtime knows this IANA zone (`Europe/Berlin`, `UTC`; names are matched case-insensitively). */
export function isTimeZone(timeZone: string): boolean {
  return canonicalTimeZone(timeZone) !== undefined;
}

/** The runtime's own spelling of a zone (`europe/berlin` → `Europe/Berlin`), or undefined if unknown. */
export function canonicalTimeZone(timeZone: string): string | undefined {
  if (timeZone === '') return undefined;
  try {
    return formatter(timeZone).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

/** Wall time from calendar fields; unlike Date.UTC, years 0–99 are not taken as 1900–1999. */
export function wallTime(year: number, month: number, day: number, minuteOfDay = 0, second = 0): number {
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  return d.getTime() + minuteOfDay * MINUTE_MS + second * 1000;
}

/** UTC offset in force at an instant, in milliseconds (east of Greenwich is positive). */
export function offsetAt(timeZone: string, instant: number): number {
  const fields: Record<string, number> = {};
  for (const part of formatter(timeZone).formatToParts(instant)) {
    if (part.type !== 'literal') fields[part.type] = Number(part.value);
  }
  const wall = wallTime(
    fields['year'] ?? 1970,
    fields['month'] ?? 1,
    fields['day'] ?? 1,
    (fields['hour'] ?? 0) * 60 + (fields['minute'] ?? 0),
    fields['second'] ?? 0,
  );
  // The formatter drops milliseconds; offsets are whole seconds, so compare with the instant's second.
  const wholeSecond = instant - (((instant % 1000) + 1000) % 1000);
  return wall - wholeSecond;
}

/** What the wall clock in the zone shows at an instant. */
export function wallAt(timeZone: string, instant: number): number {
  return instant + offsetAt(timeZone, instant);
}

/** The instant a wall time happens in the zone, by the rule at the top of this file. */
export function instantAt(timeZone: string, wall: number): number {
  // The true instant lies within ±14 h of the wall time, so the offsets a day either side are the
  // offsets before and after any transition near it (zones change offset at most once in two days).
  const before = offsetAt(timeZone, wall - DAY_MS);
  const after = offsetAt(timeZone, wall + DAY_MS);
  const first = Math.min(wall - before, wall - after);
  const second = Math.max(wall - before, wall - after);
  if (wallAt(timeZone, first) === wall) return first;
  if (wallAt(timeZone, second) === wall) return second;
  // In a gap: the offset from before the gap carries the time forward by the gap's length.
  return wall - before;
}

/** Day of the week of a wall time. */
export function weekdayOf(wall: number): Weekday {
  // getUTCDay: 0 is Sunday; our list starts on Monday (ISO 8601).
  return weekdays[(new Date(wall).getUTCDay() + 6) % 7] ?? 'mon';
}

/** Wall time of midnight on the same local day. */
export function startOfDay(wall: number): number {
  return Math.floor(wall / DAY_MS) * DAY_MS;
}

/** `2026-03-29 09:00` for messages. */
export function formatWall(wall: number): string {
  const iso = new Date(wall).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)}`;
}
