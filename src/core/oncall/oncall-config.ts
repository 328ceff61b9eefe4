import { z } from 'zod';
import { parseWith } from '../validation.js';
import type { EscalationPolicy, EscalationTarget } from './escalation.js';
import type { Layer, Restriction } from './layer.js';
import {
  dateTime,
  endOfWindow,
  id,
  localDate,
  rotationLength,
  timeOfDay,
  timeZone,
  userId,
  weekday,
} from './oncall-fields.js';
import { OVERRIDE, type Override, type Schedule } from './schedule.js';
import { DAY_MS, MINUTE_MS, instantAt, weekdayOf, weekdays, type Weekday } from './zoned-time.js';

/**
 * The `oncall:` block of firebreak.yaml. Parsing resolves everything the domain needs up front (times to
 * minutes, dates to wall times, overrides to instants, schedule ids in policies to the schedules), so a
 * parsed config cannot reference something that is not there.
 */

export interface OnCallConfig {
  readonly schedules: readonly Schedule[];
  readonly policies: readonly EscalationPolicy[];
  /** App name → escalation policy id. */
  readonly apps: Readonly<Record<string, string>>;
}

type Ctx = z.core.$RefinementCtx;

function issue(ctx: Ctx, path: PropertyKey[], message: string): void {
  ctx.issues.push({ code: 'custom', message, path, input: undefined });
}

const WEEK_MINUTES = 7 * 1440;

function clockText(minute: number): string {
  return `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;
}

/** A restriction's windows as minutes of the week (Monday 00:00 is 0), split where they wrap to Monday. */
function weekSpans(r: Restriction): [number, number][] {
  return r.days.flatMap((day): [number, number][] => {
    const start = weekdays.indexOf(day) * 1440 + r.startMinute;
    const end = start + r.lengthMinutes;
    return end <= WEEK_MINUTES
      ? [[start, end]]
      : [
          [start, WEEK_MINUTES],
          [0, end - WEEK_MINUTES],
        ];
  });
}

function firstOverlap(a: Restriction, b: Restriction): number | undefined {
  let first: number | undefined;
  for (const [s1, e1] of weekSpans(a)) {
    for (const [s2, e2] of weekSpans(b)) {
      const start = Math.max(s1, s2);
      if (start < Math.min(e1, e2) && (first === undefined || start < first)) first = start;
    }
  }
  return first;
}

const restrictionSchema = z
  .strictObject({
    /** Days the window starts on; every day when left out. */
    days: z.array(weekday).min(1).optional(),
    from: timeOfDay,
    /** Earlier than `from` runs past midnight (22:00–06:00); `24:00` is the end of the day. */
    to: endOfWindow,
  })
  .transform((r, ctx): Restriction => {
    const days = r.days ?? [...weekdays];
    days.forEach((d, i) => {
      if (days.indexOf(d) !== i) issue(ctx, ['days', i], `"${d}" is listed twice`);
    });
    if (r.from === r.to) {
      issue(ctx, ['to'], 'a window cannot start and end at the same time; use 00:00–24:00 for a whole day');
    }
    return { days, startMinute: r.from, lengthMinutes: r.to > r.from ? r.to - r.from : r.to + 1440 - r.from };
  });

const layerSchema = z
  .strictObject({
    /** Shown as the source of a shift; `layer-N` (1-based) when left out. */
    name: id.optional(),
    participants: z.array(userId).min(1, 'empty rotation: a layer needs at least one participant'),
    rotation: rotationLength,
    /** Local time of day of every hand-off. */
    handoff: timeOfDay,
    /** Weekly rotations only: the day of the hand-off (defaults to the weekday of `start`). */
    handoffDay: weekday.optional(),
    /** Local date the rotation starts: the first participant's first shift begins at its first hand-off. */
    start: localDate,
    restrictions: z.array(restrictionSchema).default([]),
  })
  .transform((l, ctx) => {
    if (l.handoffDay !== undefined && !l.rotation.weekly) {
      issue(ctx, ['handoffDay'], 'handoffDay applies to weekly rotations only');
    }
    l.restrictions.forEach((r, j) => {
      // Against earlier windows only, so each overlap is reported once, on the later window.
      const earlier = l.restrictions.slice(0, j);
      for (const [i, other] of earlier.entries()) {
        const at = firstOverlap(other, r);
        if (at === undefined) continue;
        const day = weekdays[Math.floor(at / 1440)] ?? 'mon';
        issue(ctx, ['restrictions', j], `overlaps restrictions[${i}] on ${day} at ${clockText(at % 1440)}`);
        return;
      }
    });
    // Weekly rotations hand over on handoffDay: the first one is the first such day on or after start.
    let date = l.start;
    const handoffDay: Weekday | undefined = l.handoffDay;
    if (handoffDay !== undefined) while (weekdayOf(date) !== handoffDay) date += DAY_MS;
    return {
      name: l.name,
      layer: {
        participants: l.participants,
        firstHandoff: date + l.handoff * MINUTE_MS,
        rotationMs: l.rotation.ms,
        restrictions: l.restrictions,
      },
    };
  });

const overrideSchema = z.strictObject({ user: userId, start: dateTime, end: dateTime });

const scheduleSchema = z
  .strictObject({
    id,
    timeZone,
    /** Lowest first: later layers override earlier ones where they have someone on call. */
    layers: z.array(layerSchema).min(1, 'a schedule needs at least one layer'),
    overrides: z.array(overrideSchema).default([]),
  })
  .transform((s, ctx): Schedule => {
    const layers: Layer[] = s.layers.map((l, i) => ({ name: l.name ?? `layer-${i + 1}`, ...l.layer }));
    layers.forEach((l, i) => {
      const other = layers.findIndex((o) => o.name === l.name);
      if (l.name === OVERRIDE) issue(ctx, ['layers', i, 'name'], `"${OVERRIDE}" is reserved for overrides`);
      else if (other < i)
        issue(ctx, ['layers', i, 'name'], `duplicate layer name "${l.name}" (also layers[${other}])`);
    });
    const instant = (t: { wall: number; offset: number | undefined }): number =>
      t.offset === undefined ? instantAt(s.timeZone, t.wall) : t.wall - t.offset;
    const overrides: Override[] = s.overrides.map((o) => ({
      user: o.user,
      start: instant(o.start),
      end: instant(o.end),
    }));
    overrides.forEach((o, j) => {
      if (o.end <= o.start) return issue(ctx, ['overrides', j, 'end'], 'end must be after start');
      const i = overrides.findIndex((p, k) => k < j && p.start < o.end && o.start < p.end);
      const p = overrides[i];
      if (p) {
        const from = new Date(Math.max(o.start, p.start)).toISOString();
        const to = new Date(Math.min(o.end, p.end)).toISOString();
        issue(ctx, ['overrides', j], `overlaps overrides[${i}] from ${from} to ${to}`);
      }
    });
    return { id: s.id, timeZone: s.timeZone, layers, overrides };
  });

const targetSchema = z.union([z.strictObject({ schedule: id }), z.strictObject({ user: userId })]);

const policySchema = z.strictObject({
  id,
  levels: z
    .array(
      z.strictObject({
        targets: z.array(targetSchema).min(1, 'a level needs at least one target'),
        waitMinutes: z.number().int().min(1, 'wait at least 1 minute').max(10_080),
      }),
    )
    .min(1, 'an escalation policy needs at least one level'),
  /** Further passes through the levels after the first. */
  repeat: z.number().int().min(0).max(9).default(0),
  /** Channel names (firebreak.yaml `channels`) every notification of this policy goes to; config.ts checks them. */
  channels: z.array(id).default([]),
});

function duplicates(ctx: Ctx, list: readonly { id: string }[], key: string, what: string): void {
  list.forEach((item, i) => {
    const first = list.findIndex((o) => o.id === item.id);
    if (first < i) issue(ctx, [key, i, 'id'], `duplicate ${what} id "${item.id}" (also ${key}[${first}])`);
  });
}

export const onCallConfigSchema = z
  .strictObject({
    schedules: z.array(scheduleSchema).default([]),
    policies: z.array(policySchema).default([]),
    apps: z.record(id, id).default({}),
  })
  .transform((c, ctx): OnCallConfig => {
    duplicates(ctx, c.schedules, 'schedules', 'schedule');
    duplicates(ctx, c.policies, 'policies', 'escalation policy');
    const byId = new Map(c.schedules.map((s) => [s.id, s]));
    const policies = c.policies.map((p, pi): EscalationPolicy => ({
      id: p.id,
      repeat: p.repeat,
      channels: p.channels,
      levels: p.levels.map((level, li) => ({
        waitMinutes: level.waitMinutes,
        targets: level.targets.flatMap((t, ti): EscalationTarget[] => {
          if ('user' in t) return [{ kind: 'user', user: t.user }];
          const schedule = byId.get(t.schedule);
          if (schedule) return [{ kind: 'schedule', schedule }];
          issue(
            ctx,
            ['policies', pi, 'levels', li, 'targets', ti, 'schedule'],
            `unknown schedule "${t.schedule}"`,
          );
          return [];
        }),
      })),
    }));
    c.policies.forEach((p, pi) => {
      p.channels.forEach((ch, ci) => {
        if (p.channels.indexOf(ch) < ci)
          issue(ctx, ['policies', pi, 'channels', ci], `"${ch}" is listed twice`);
      });
    });
    const policyIds = new Set(c.policies.map((p) => p.id));
    for (const [app, policy] of Object.entries(c.apps)) {
      if (!policyIds.has(policy)) issue(ctx, ['apps', app], `unknown escalation policy "${policy}"`);
    }
    return { schedules: c.schedules, policies, apps: c.apps };
  });

/** The `oncall:` block, typed, or a validation_failed FirebreakError naming the first problem and its path. */
export function parseOnCallConfig(value: unknown): OnCallConfig {
  return parseWith(onCallConfigSchema, value ?? {}, 'oncall');
}
