import { z } from 'zod';
import { hasControlCharacters } from '../validation.js';
import { DAY_MS, HOUR_MS, canonicalTimeZone, wallTime, weekdays } from './zoned-time.js';

/**
 * The text fields of the `oncall:` block (times of day, dates, rotation lengths, date-times, zones), each
 * parsed into the number the domain uses and refused with the offending text quoted.
 */

type Ctx = z.core.$RefinementCtx;

/** Records the issue and returns z.NEVER, which also stops the enclosing objects' cross-checks. */
function fail(ctx: Ctx, input: string, message: string): never {
  ctx.issues.push({ code: 'custom', message, input });
  return z.NEVER;
}

export const id = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'use lower-case letters, digits, - and _ (at most 63)');

export const userId = z
  .string()
  .min(1, 'a user id cannot be empty')
  .max(200)
  .refine((s) => !hasControlCharacters(s) && s.trim() === s, 'no control characters or surrounding spaces');

export const weekday = z.enum(weekdays);

/** `HH:MM` → minutes after midnight; `24:00` only where `allowEndOfDay` (the end of a window). */
export function parseClock(text: string, allowEndOfDay = false): number | undefined {
  const m = /^(\d{2}):(\d{2})$/.exec(text);
  if (!m) return undefined;
  const minutes = Number(m[1]) * 60 + Number(m[2]);
  if (Number(m[2]) > 59) return undefined;
  if (minutes < 1440 || (allowEndOfDay && minutes === 1440)) return minutes;
  return undefined;
}

export const timeOfDay = z
  .string()
  .transform(
    (s, ctx) => parseClock(s) ?? fail(ctx, s, `expected a time of day HH:MM (00:00–23:59), got "${s}"`),
  );

export const endOfWindow = z
  .string()
  .transform(
    (s, ctx) => parseClock(s, true) ?? fail(ctx, s, `expected a time of day HH:MM (00:00–24:00), got "${s}"`),
  );

function calendarWall(y: number, mo: number, d: number): number | undefined {
  const wall = wallTime(y, mo, d);
  const back = new Date(wall);
  // wallTime rolls 30 February over into March; a real date reads back the same.
  return back.getUTCMonth() + 1 === mo && back.getUTCDate() === d ? wall : undefined;
}

/** `YYYY-MM-DD` → wall time of that local midnight. */
export const localDate = z.string().transform((s, ctx) => {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return fail(ctx, s, `expected a date YYYY-MM-DD, got "${s}"`);
  return (
    calendarWall(Number(m[1]), Number(m[2]), Number(m[3])) ?? fail(ctx, s, `"${s}" is not a calendar date`)
  );
});

/** `daily`, `weekly`, `Nh` or `Nd` → wall-clock milliseconds. */
export const rotationLength = z.string().transform((s, ctx) => {
  if (s === 'daily') return { ms: DAY_MS, weekly: false };
  if (s === 'weekly') return { ms: 7 * DAY_MS, weekly: true };
  const m = /^(\d{1,4})([hd])$/.exec(s);
  if (!m) return fail(ctx, s, `expected daily, weekly, Nh or Nd (e.g. 12h, 3d), got "${s}"`);
  const n = Number(m[1]);
  if (n === 0) return fail(ctx, s, `a rotation length must be at least 1${m[2] ?? 'h'}, got "${s}"`);
  return { ms: n * (m[2] === 'h' ? HOUR_MS : DAY_MS), weekly: false };
});

/**
 * A date-time: with `Z` or an offset it is an instant; without, a wall time in the schedule's zone
 * (resolved by the schedule, which knows the zone).
 */
export interface DateTimeText {
  readonly text: string;
  readonly wall: number;
  /** Milliseconds east of UTC when the text gave an offset. */
  readonly offset: number | undefined;
}

export const dateTime = z.string().transform((s, ctx): DateTimeText => {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?(Z|[+-]\d{2}:\d{2})?$/.exec(s);
  const date = m && calendarWall(Number(m[1]), Number(m[2]), Number(m[3]));
  const clock = m && parseClock(`${m[4] ?? ''}:${m[5] ?? ''}`);
  const second = Number(m?.[6] ?? 0);
  if (!m || date == null || clock == null || second > 59) {
    return fail(ctx, s, `expected a date-time like 2026-03-28T09:00 or 2026-03-28T08:00:00Z, got "${s}"`);
  }
  const zone = m[7];
  let offset: number | undefined;
  if (zone === 'Z') offset = 0;
  else if (zone !== undefined) {
    const sign = zone.startsWith('-') ? -1 : 1;
    offset = sign * (Number(zone.slice(1, 3)) * HOUR_MS + Number(zone.slice(4, 6)) * 60_000);
  }
  return { text: s, wall: date + clock * 60_000 + second * 1000, offset };
});

/** An IANA zone, stored in the runtime's spelling. */
export const timeZone = z
  .string()
  .transform((s, ctx) => canonicalTimeZone(s) ?? fail(ctx, s, `unknown time zone "${s}"`));
