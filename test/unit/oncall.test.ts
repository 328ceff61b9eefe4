import { describe, expect, it } from 'vitest';
import { FirebreakError } from '../../src/core/errors.js';
import { escalationPlan, nextEscalationAt } from '../../src/core/oncall/escalation.js';
import { parseOnCallConfig, type OnCallConfig } from '../../src/core/oncall/oncall-config.js';
import { whoIsOnCall, whoIsOnCallForApp } from '../../src/core/oncall/oncall-now.js';
import { onCallAt, shifts, type Schedule } from '../../src/core/oncall/schedule.js';
import {
  canonicalTimeZone,
  instantAt,
  isTimeZone,
  offsetAt,
  wallAt,
  wallTime,
} from '../../src/core/oncall/zoned-time.js';

const at = (iso: string): number => Date.parse(iso);
const MIN = 60_000;

/** Shifts with ISO times, so a failing assertion reads like a schedule. */
function view(schedule: Schedule, from: string, to: string): string[] {
  return shifts(schedule, at(from), at(to)).map(
    (s) => `${new Date(s.start).toISOString()} → ${new Date(s.end).toISOString()} ${s.user} (${s.source})`,
  );
}

function schedule(timeZone: string, layers: unknown[], overrides: unknown[] = []): Schedule {
  const [s] = parseOnCallConfig({ schedules: [{ id: 'main', timeZone, layers, overrides }] }).schedules;
  if (!s) throw new Error('no schedule');
  return s;
}

function refusal(value: unknown): { message: string; path: string | undefined } {
  try {
    parseOnCallConfig(value);
  } catch (err) {
    if (!(err instanceof FirebreakError)) throw err;
    expect(err.code).toBe('validation_failed');
    return { message: err.message, path: err.details.path };
  }
  throw new Error('expected the config to be refused');
}

describe('zoned time', () => {
  it('knows zones, in their canonical spelling', () => {
    expect(isTimeZone('Europe/Berlin')).toBe(true);
    expect(isTimeZone('UTC')).toBe(true);
    expect(isTimeZone('Europe/Berln')).toBe(false);
    expect(isTimeZone('')).toBe(false);
    expect(canonicalTimeZone('europe/berlin')).toBe('Europe/Berlin');
  });

  it('reads offsets, including half-hour ones', () => {
    expect(offsetAt('Europe/Berlin', at('2026-01-15T12:00:00Z'))).toBe(60 * MIN);
    expect(offsetAt('Europe/Berlin', at('2026-07-15T12:00:00Z'))).toBe(120 * MIN);
    expect(offsetAt('America/New_York', at('2026-01-15T12:00:00Z'))).toBe(-300 * MIN);
    expect(offsetAt('Asia/Kolkata', at('2026-01-15T12:00:34.567Z'))).toBe(330 * MIN);
  });

  it('turns ordinary wall times into instants and back', () => {
    const wall = wallTime(2026, 1, 15, 9 * 60);
    expect(new Date(instantAt('Europe/Berlin', wall)).toISOString()).toBe('2026-01-15T08:00:00.000Z');
    expect(new Date(instantAt('America/New_York', wall)).toISOString()).toBe('2026-01-15T14:00:00.000Z');
    for (const iso of ['2026-03-29T00:59:00Z', '2026-03-29T01:00:00Z', '2026-10-25T00:30:00Z']) {
      expect(instantAt('Europe/Berlin', wallAt('Europe/Berlin', at(iso)))).toBe(at(iso));
    }
  });

  it('moves a non-existent local time forward by the length of the gap', () => {
    // 02:30 on 29 March 2026 does not exist in Berlin: read with CET it is 01:30Z, which is 03:30 CEST.
    expect(new Date(instantAt('Europe/Berlin', wallTime(2026, 3, 29, 150))).toISOString()).toBe(
      '2026-03-29T01:30:00.000Z',
    );
    expect(new Date(instantAt('America/New_York', wallTime(2026, 3, 8, 150))).toISOString()).toBe(
      '2026-03-08T07:30:00.000Z',
    );
    // Lord Howe Island moves by 30 minutes (02:00 → 02:30): 02:15 becomes 02:45 (+11:00).
    expect(new Date(instantAt('Australia/Lord_Howe', wallTime(2026, 10, 4, 135))).toISOString()).toBe(
      '2026-10-03T15:45:00.000Z',
    );
  });

  it('takes the first occurrence of an ambiguous local time', () => {
    expect(new Date(instantAt('Europe/Berlin', wallTime(2026, 10, 25, 150))).toISOString()).toBe(
      '2026-10-25T00:30:00.000Z', // 02:30 CEST, not 02:30 CET (01:30Z)
    );
    expect(new Date(instantAt('America/New_York', wallTime(2026, 11, 1, 90))).toISOString()).toBe(
      '2026-11-01T05:30:00.000Z', // 01:30 EDT, not 01:30 EST (06:30Z)
    );
  });
});

describe('rotations across DST changes', () => {
  it('keeps a daily 09:00 hand-off at 09:00 in Berlin when the clocks go forward', () => {
    const s = schedule('Europe/Berlin', [
      { participants: ['alice', 'bob', 'carol'], rotation: 'daily', handoff: '09:00', start: '2026-03-27' },
    ]);
    expect(view(s, '2026-03-27T00:00:00Z', '2026-03-31T00:00:00Z')).toEqual([
      // Nobody before the rotation's first hand-off.
      '2026-03-27T08:00:00.000Z → 2026-03-28T08:00:00.000Z alice (layer-1)',
      '2026-03-28T08:00:00.000Z → 2026-03-29T07:00:00.000Z bob (layer-1)', // 23 hours
      '2026-03-29T07:00:00.000Z → 2026-03-30T07:00:00.000Z carol (layer-1)',
      '2026-03-30T07:00:00.000Z → 2026-03-31T00:00:00.000Z alice (layer-1)',
    ]);
    expect(onCallAt(s, at('2026-03-27T07:59:59Z'))).toBeUndefined();
    expect(onCallAt(s, at('2026-03-29T06:59:59Z'))).toEqual({ user: 'bob', source: 'layer-1' }); // 08:59 CEST
    expect(onCallAt(s, at('2026-03-29T07:00:00Z'))).toEqual({ user: 'carol', source: 'layer-1' }); // 09:00 CEST
  });

  it('keeps a daily 09:00 hand-off at 09:00 in Berlin when the clocks go back', () => {
    const s = schedule('Europe/Berlin', [
      { participants: ['alice', 'bob'], rotation: 'daily', handoff: '09:00', start: '2026-10-01' },
    ]);
    expect(view(s, '2026-10-24T00:00:00Z', '2026-10-26T12:00:00Z')).toEqual([
      // 24 October is the rotation's 24th day (k = 23): bob's.
      '2026-10-24T00:00:00.000Z → 2026-10-24T07:00:00.000Z alice (layer-1)',
      '2026-10-24T07:00:00.000Z → 2026-10-25T08:00:00.000Z bob (layer-1)', // 09:00 CEST → 09:00 CET: 25 hours
      '2026-10-25T08:00:00.000Z → 2026-10-26T08:00:00.000Z alice (layer-1)',
      '2026-10-26T08:00:00.000Z → 2026-10-26T12:00:00.000Z bob (layer-1)',
    ]);
  });

  it('keeps a weekly Monday 09:00 hand-off at 09:00 in New York through both changes', () => {
    const s = schedule('America/New_York', [
      {
        name: 'primary',
        participants: ['alice', 'bob'],
        rotation: 'weekly',
        handoff: '09:00',
        handoffDay: 'mon',
        start: '2026-03-01', // a Sunday: the first hand-off is the Monday after
      },
    ]);
    expect(view(s, '2026-03-01T00:00:00Z', '2026-03-16T14:00:00Z')).toEqual([
      '2026-03-02T14:00:00.000Z → 2026-03-09T13:00:00.000Z alice (primary)', // 09:00 EST → 09:00 EDT
      '2026-03-09T13:00:00.000Z → 2026-03-16T13:00:00.000Z bob (primary)',
      '2026-03-16T13:00:00.000Z → 2026-03-16T14:00:00.000Z alice (primary)',
    ]);
    // 34 weeks later, across the November change (09:00 EDT → 09:00 EST).
    expect(view(s, '2026-10-26T00:00:00Z', '2026-11-03T00:00:00Z')).toEqual([
      '2026-10-26T00:00:00.000Z → 2026-10-26T13:00:00.000Z bob (primary)',
      '2026-10-26T13:00:00.000Z → 2026-11-02T14:00:00.000Z alice (primary)',
      '2026-11-02T14:00:00.000Z → 2026-11-03T00:00:00.000Z bob (primary)',
    ]);
  });

  it('measures hour rotations on the wall clock: 12h hands over at 09:00 and 21:00 all year', () => {
    const s = schedule('Europe/Berlin', [
      { participants: ['day', 'night'], rotation: '12h', handoff: '09:00', start: '2026-03-28' },
    ]);
    expect(view(s, '2026-03-28T08:00:00Z', '2026-03-29T20:00:00Z')).toEqual([
      '2026-03-28T08:00:00.000Z → 2026-03-28T20:00:00.000Z day (layer-1)',
      '2026-03-28T20:00:00.000Z → 2026-03-29T07:00:00.000Z night (layer-1)', // the short night
      '2026-03-29T07:00:00.000Z → 2026-03-29T19:00:00.000Z day (layer-1)',
      '2026-03-29T19:00:00.000Z → 2026-03-29T20:00:00.000Z night (layer-1)',
    ]);
  });

  it('hands over at 03:30 when a 02:30 hand-off falls into the spring-forward gap', () => {
    const s = schedule('Europe/Berlin', [
      { participants: ['a', 'b'], rotation: 'daily', handoff: '02:30', start: '2026-03-27' },
    ]);
    expect(view(s, '2026-03-28T00:00:00Z', '2026-03-30T12:00:00Z')).toEqual([
      '2026-03-28T00:00:00.000Z → 2026-03-28T01:30:00.000Z a (layer-1)',
      '2026-03-28T01:30:00.000Z → 2026-03-29T01:30:00.000Z b (layer-1)', // 02:30 CET → 03:30 CEST
      '2026-03-29T01:30:00.000Z → 2026-03-30T00:30:00.000Z a (layer-1)', // → 02:30 CEST
      '2026-03-30T00:30:00.000Z → 2026-03-30T12:00:00.000Z b (layer-1)',
    ]);
  });

  it('skips the one-hour shift whose hand-off falls into a one-hour gap (documented rule)', () => {
    const s = schedule('America/New_York', [
      { participants: ['a', 'b', 'c'], rotation: '1h', handoff: '00:00', start: '2026-03-08' },
    ]);
    // Wall 02:00 does not exist and becomes 03:00 EDT, which is also wall 03:00's hand-off: c's turn is empty.
    expect(view(s, '2026-03-08T05:00:00Z', '2026-03-08T09:00:00Z')).toEqual([
      '2026-03-08T05:00:00.000Z → 2026-03-08T06:00:00.000Z a (layer-1)', // 00:00 EST
      '2026-03-08T06:00:00.000Z → 2026-03-08T07:00:00.000Z b (layer-1)', // 01:00 EST
      '2026-03-08T07:00:00.000Z → 2026-03-08T08:00:00.000Z a (layer-1)', // 03:00 EDT
      '2026-03-08T08:00:00.000Z → 2026-03-08T09:00:00.000Z b (layer-1)',
    ]);
  });

  it('keeps restriction windows on local time across the change', () => {
    const s = schedule('Europe/Berlin', [
      {
        name: 'office',
        participants: ['alice'],
        rotation: 'weekly',
        handoff: '09:00',
        start: '2026-03-02',
        restrictions: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '09:00', to: '17:00' }],
      },
    ]);
    expect(view(s, '2026-03-27T00:00:00Z', '2026-03-31T00:00:00Z')).toEqual([
      '2026-03-27T08:00:00.000Z → 2026-03-27T16:00:00.000Z alice (office)', // Friday, CET
      '2026-03-30T07:00:00.000Z → 2026-03-30T15:00:00.000Z alice (office)', // Monday, CEST
    ]);
  });
});

describe('layers, restrictions and overrides', () => {
  const layers = [
    {
      name: 'base',
      participants: ['alice', 'bob'],
      rotation: 'weekly',
      handoff: '09:00',
      start: '2026-06-01',
    },
    {
      name: 'nights',
      participants: ['carol', 'dave'],
      rotation: 'daily',
      handoff: '08:00',
      start: '2026-06-01',
      // Runs past midnight: Monday 18:00 to Tuesday 08:00, …, Friday 18:00 to Saturday 08:00.
      restrictions: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '18:00', to: '08:00' }],
    },
  ];

  it('lets a higher layer take over where it has someone, and the base layer elsewhere', () => {
    const s = schedule('Europe/Berlin', layers);
    // Tuesday 2 June, local midnight to midnight (CEST, UTC+2).
    expect(view(s, '2026-06-01T22:00:00Z', '2026-06-02T22:00:00Z')).toEqual([
      '2026-06-01T22:00:00.000Z → 2026-06-02T06:00:00.000Z carol (nights)',
      '2026-06-02T06:00:00.000Z → 2026-06-02T16:00:00.000Z alice (base)',
      '2026-06-02T16:00:00.000Z → 2026-06-02T22:00:00.000Z dave (nights)',
    ]);
    // Friday's window runs into Saturday morning; Saturday evening has no window.
    expect(onCallAt(s, at('2026-06-06T05:00:00Z'))).toEqual({ user: 'carol', source: 'nights' });
    expect(onCallAt(s, at('2026-06-06T18:00:00Z'))).toEqual({ user: 'alice', source: 'base' });
    expect(onCallAt(s, at('2026-06-08T07:00:00Z'))).toEqual({ user: 'bob', source: 'base' }); // next week
  });

  it('lets an override beat every layer, given in local time or as an instant', () => {
    const s = schedule('Europe/Berlin', layers, [
      { user: 'erin', start: '2026-06-02T19:00', end: '2026-06-02T21:00' }, // local: 17:00Z–19:00Z
      { user: 'frank', start: '2026-06-02T12:00:00+02:00', end: '2026-06-02T11:00:00Z' }, // 10:00Z–11:00Z
    ]);
    expect(view(s, '2026-06-01T22:00:00Z', '2026-06-02T22:00:00Z')).toEqual([
      '2026-06-01T22:00:00.000Z → 2026-06-02T06:00:00.000Z carol (nights)',
      '2026-06-02T06:00:00.000Z → 2026-06-02T10:00:00.000Z alice (base)',
      '2026-06-02T10:00:00.000Z → 2026-06-02T11:00:00.000Z frank (override)',
      '2026-06-02T11:00:00.000Z → 2026-06-02T16:00:00.000Z alice (base)',
      '2026-06-02T16:00:00.000Z → 2026-06-02T17:00:00.000Z dave (nights)',
      '2026-06-02T17:00:00.000Z → 2026-06-02T19:00:00.000Z erin (override)',
      '2026-06-02T19:00:00.000Z → 2026-06-02T22:00:00.000Z dave (nights)',
    ]);
  });

  it('has nobody on call where no layer has anyone', () => {
    const s = schedule('UTC', [
      {
        participants: ['alice'],
        rotation: 'daily',
        handoff: '00:00',
        start: '2026-06-01',
        restrictions: [{ days: ['sat', 'sun'], from: '00:00', to: '24:00' }],
      },
    ]);
    expect(onCallAt(s, at('2026-06-05T12:00:00Z'))).toBeUndefined(); // Friday
    // Saturday and Sunday windows touch at midnight: one shift, not two.
    expect(view(s, '2026-06-05T00:00:00Z', '2026-06-09T00:00:00Z')).toEqual([
      '2026-06-06T00:00:00.000Z → 2026-06-08T00:00:00.000Z alice (layer-1)',
    ]);
  });
});

describe('oncall config validation', () => {
  const layer = { participants: ['alice'], rotation: 'daily', handoff: '09:00', start: '2026-06-01' };
  const withLayer = (extra: Record<string, unknown>, more: Record<string, unknown> = {}): unknown => ({
    schedules: [{ id: 'primary', timeZone: 'Europe/Berlin', layers: [{ ...layer, ...extra }], ...more }],
  });

  it.each([
    [
      'an unknown time zone',
      { schedules: [{ id: 'primary', timeZone: 'Europe/Berln', layers: [layer] }] },
      'schedules[0].timeZone',
      'unknown time zone "Europe/Berln"',
    ],
    [
      'an empty rotation',
      withLayer({ participants: [] }),
      'schedules[0].layers[0].participants',
      'empty rotation: a layer needs at least one participant',
    ],
    [
      'a schedule without layers',
      { schedules: [{ id: 'primary', timeZone: 'UTC', layers: [] }] },
      'schedules[0].layers',
      'a schedule needs at least one layer',
    ],
    [
      'a time of day past 23:59',
      withLayer({ handoff: '25:00' }),
      'schedules[0].layers[0].handoff',
      'expected a time of day HH:MM (00:00–23:59), got "25:00"',
    ],
    [
      'a window ending after 24:00',
      withLayer({ restrictions: [{ from: '09:00', to: '24:01' }] }),
      'schedules[0].layers[0].restrictions[0].to',
      'expected a time of day HH:MM (00:00–24:00), got "24:01"',
    ],
    [
      'a window that starts where it ends',
      withLayer({ restrictions: [{ from: '09:00', to: '09:00' }] }),
      'schedules[0].layers[0].restrictions[0].to',
      'a window cannot start and end at the same time; use 00:00–24:00 for a whole day',
    ],
    [
      'a day listed twice',
      withLayer({ restrictions: [{ days: ['mon', 'tue', 'mon'], from: '09:00', to: '17:00' }] }),
      'schedules[0].layers[0].restrictions[0].days[2]',
      '"mon" is listed twice',
    ],
    [
      'a rotation length of zero',
      withLayer({ rotation: '0h' }),
      'schedules[0].layers[0].rotation',
      'a rotation length must be at least 1h, got "0h"',
    ],
    [
      'a rotation length that is not one',
      withLayer({ rotation: 'fortnightly' }),
      'schedules[0].layers[0].rotation',
      'expected daily, weekly, Nh or Nd (e.g. 12h, 3d), got "fortnightly"',
    ],
    [
      'a start that is not a calendar date',
      withLayer({ start: '2026-02-30' }),
      'schedules[0].layers[0].start',
      '"2026-02-30" is not a calendar date',
    ],
    [
      'a hand-off day on a daily rotation',
      withLayer({ handoffDay: 'mon' }),
      'schedules[0].layers[0].handoffDay',
      'handoffDay applies to weekly rotations only',
    ],
    [
      'overlapping restriction windows in one layer',
      withLayer({
        restrictions: [
          { days: ['mon', 'tue'], from: '09:00', to: '17:00' },
          { days: ['tue'], from: '12:00', to: '20:00' },
        ],
      }),
      'schedules[0].layers[0].restrictions[1]',
      'overlaps restrictions[0] on tue at 12:00',
    ],
    [
      'overlapping windows where Sunday night runs into Monday',
      withLayer({
        restrictions: [
          { days: ['sun'], from: '22:00', to: '06:00' },
          { days: ['mon'], from: '05:00', to: '07:00' },
        ],
      }),
      'schedules[0].layers[0].restrictions[1]',
      'overlaps restrictions[0] on mon at 05:00',
    ],
    [
      'a layer named like overrides',
      withLayer({ name: 'override' }),
      'schedules[0].layers[0].name',
      '"override" is reserved for overrides',
    ],
    [
      'overlapping overrides in one schedule',
      withLayer(
        {},
        {
          overrides: [
            { user: 'bob', start: '2026-06-02T09:00', end: '2026-06-02T13:00' }, // 07:00Z–11:00Z
            { user: 'carol', start: '2026-06-02T10:00:00Z', end: '2026-06-02T18:00:00Z' },
          ],
        },
      ),
      'schedules[0].overrides[1]',
      'overlaps overrides[0] from 2026-06-02T10:00:00.000Z to 2026-06-02T11:00:00.000Z',
    ],
    [
      'an override that ends before it starts',
      withLayer({}, { overrides: [{ user: 'bob', start: '2026-06-02T09:00', end: '2026-06-02T08:00' }] }),
      'schedules[0].overrides[0].end',
      'end must be after start',
    ],
    [
      'an override time that is not one',
      withLayer({}, { overrides: [{ user: 'bob', start: 'tomorrow', end: '2026-06-02T08:00' }] }),
      'schedules[0].overrides[0].start',
      'expected a date-time like 2026-03-28T09:00 or 2026-03-28T08:00:00Z, got "tomorrow"',
    ],
    [
      'a misspelt key',
      withLayer({ rotaton: 'daily' }),
      'schedules[0].layers[0]',
      'Unrecognized key: "rotaton"',
    ],
    [
      'a duplicate schedule id',
      {
        schedules: [
          { id: 'primary', timeZone: 'UTC', layers: [layer] },
          { id: 'primary', timeZone: 'UTC', layers: [layer] },
        ],
      },
      'schedules[1].id',
      'duplicate schedule id "primary" (also schedules[0])',
    ],
    [
      'a duplicate policy id',
      {
        policies: [
          { id: 'bot', levels: [{ targets: [{ user: 'alice' }], waitMinutes: 5 }] },
          { id: 'bot', levels: [{ targets: [{ user: 'bob' }], waitMinutes: 5 }] },
        ],
      },
      'policies[1].id',
      'duplicate escalation policy id "bot" (also policies[0])',
    ],
    [
      'a policy naming an unknown schedule',
      {
        schedules: [{ id: 'primary', timeZone: 'UTC', layers: [layer] }],
        policies: [
          {
            id: 'bot',
            levels: [
              { targets: [{ schedule: 'primary' }], waitMinutes: 5 },
              { targets: [{ user: 'dana' }, { schedule: 'secnodary' }], waitMinutes: 5 },
            ],
          },
        ],
      },
      'policies[0].levels[1].targets[1].schedule',
      'unknown schedule "secnodary"',
    ],
    [
      'a wait of zero',
      { policies: [{ id: 'bot', levels: [{ targets: [{ user: 'alice' }], waitMinutes: 0 }] }] },
      'policies[0].levels[0].waitMinutes',
      'wait at least 1 minute',
    ],
    [
      'a policy without levels',
      { policies: [{ id: 'bot', levels: [] }] },
      'policies[0].levels',
      'an escalation policy needs at least one level',
    ],
    [
      'an app mapped to an unknown policy',
      { apps: { 'support-bot': 'bot' } },
      'apps.support-bot',
      'unknown escalation policy "bot"',
    ],
  ])('refuses %s', (_what, value, path, message) => {
    expect(refusal(value)).toEqual({ path, message: `oncall: ${path}: ${message}` });
  });

  it('accepts a missing block as no on-call at all', () => {
    expect(parseOnCallConfig(undefined)).toEqual({ schedules: [], policies: [], apps: {} });
  });

  it('stores the zone in its canonical spelling', () => {
    expect(schedule('europe/berlin', [layer]).timeZone).toBe('Europe/Berlin');
  });
});

describe('escalation', () => {
  // Tuesday 2 June 2026, 08:45 in Berlin: the primary hands over at 09:00, the secondary only works 09–17.
  const pagedAt = at('2026-06-02T06:45:00Z');
  const config: OnCallConfig = parseOnCallConfig({
    schedules: [
      {
        id: 'primary',
        timeZone: 'Europe/Berlin',
        layers: [
          { participants: ['alice', 'bob'], rotation: 'daily', handoff: '09:00', start: '2026-06-01' },
        ],
      },
      {
        id: 'secondary',
        timeZone: 'Europe/Berlin',
        layers: [
          {
            name: 'office',
            participants: ['carol', 'dave'],
            rotation: 'weekly',
            handoff: '09:00',
            start: '2026-06-01',
            restrictions: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '09:00', to: '17:00' }],
          },
        ],
      },
    ],
    policies: [
      {
        id: 'support-bot',
        levels: [
          { targets: [{ schedule: 'primary' }], waitMinutes: 10 },
          { targets: [{ schedule: 'secondary' }, { user: 'dana' }], waitMinutes: 20 },
        ],
        repeat: 1,
      },
    ],
    apps: { 'support-bot': 'support-bot' },
  });
  const policy = config.policies[0];
  if (!policy) throw new Error('no policy');

  const brief = (plan: ReturnType<typeof escalationPlan>): string[] =>
    plan.map(
      (n) => `${new Date(n.at).toISOString()} round ${n.round} level ${n.level}: ${n.users.join(', ')}`,
    );

  it('notifies each level after the previous wait, repeats, and resolves schedules at each moment', () => {
    expect(brief(escalationPlan(policy, pagedAt))).toEqual([
      '2026-06-02T06:45:00.000Z round 1 level 1: alice',
      '2026-06-02T06:55:00.000Z round 1 level 2: dana', // 08:55: the secondary has nobody yet
      '2026-06-02T07:15:00.000Z round 2 level 1: bob', // 09:15: after the primary's hand-off
      '2026-06-02T07:25:00.000Z round 2 level 2: carol, dana',
    ]);
    expect(escalationPlan(policy, pagedAt)[1]?.targets).toEqual([
      { kind: 'schedule', schedule: 'secondary', user: undefined, source: undefined },
      { kind: 'user', user: 'dana' },
    ]);
  });

  it('stops every notification due after the acknowledgement', () => {
    expect(brief(escalationPlan(policy, pagedAt, pagedAt + 15 * MIN))).toEqual([
      '2026-06-02T06:45:00.000Z round 1 level 1: alice',
      '2026-06-02T06:55:00.000Z round 1 level 2: dana',
    ]);
    // Acknowledged at the very moment level 2 is due: it has gone out.
    expect(escalationPlan(policy, pagedAt, pagedAt + 10 * MIN)).toHaveLength(2);
    expect(escalationPlan(policy, pagedAt, pagedAt + 10 * MIN - 1)).toHaveLength(1);
  });

  it('tells the timer when to fire next', () => {
    expect(nextEscalationAt(policy, pagedAt, pagedAt - 1)).toBe(pagedAt);
    expect(nextEscalationAt(policy, pagedAt, pagedAt)).toBe(pagedAt + 10 * MIN);
    expect(nextEscalationAt(policy, pagedAt, pagedAt + 10 * MIN)).toBe(pagedAt + 30 * MIN);
    expect(nextEscalationAt(policy, pagedAt, pagedAt + 30 * MIN)).toBe(pagedAt + 40 * MIN);
    // After the last level of the last round nothing is left (its 20-minute wait leads nowhere).
    expect(nextEscalationAt(policy, pagedAt, pagedAt + 40 * MIN)).toBeUndefined();
    // Acknowledged: nothing further, whether the timer asks before or after the acknowledgement.
    expect(nextEscalationAt(policy, pagedAt, pagedAt + 1 * MIN, pagedAt + 5 * MIN)).toBeUndefined();
    expect(nextEscalationAt(policy, pagedAt, pagedAt + 20 * MIN, pagedAt + 5 * MIN)).toBeUndefined();
  });

  it('stops after the last level when there is no repeat', () => {
    const once = { ...policy, repeat: 0 };
    expect(escalationPlan(once, pagedAt).map((n) => n.level)).toEqual([1, 2]);
    expect(nextEscalationAt(once, pagedAt, pagedAt + 10 * MIN)).toBeUndefined();
  });

  it('names who is on the hook at each level right now', () => {
    expect(whoIsOnCall(config, 'support-bot', at('2026-06-02T10:00:00Z'))).toEqual([
      {
        level: 1,
        users: ['bob'],
        targets: [{ kind: 'schedule', schedule: 'primary', user: 'bob', source: 'layer-1' }],
      },
      {
        level: 2,
        users: ['carol', 'dana'],
        targets: [
          { kind: 'schedule', schedule: 'secondary', user: 'carol', source: 'office' },
          { kind: 'user', user: 'dana' },
        ],
      },
    ]);
    const forApp = whoIsOnCallForApp(config, 'support-bot', at('2026-06-02T10:00:00Z'));
    expect(forApp.policy).toBe('support-bot');
    expect(forApp.levels.map((l) => l.users)).toEqual([['bob'], ['carol', 'dana']]);
  });

  it('refuses an unknown policy or an app without one', () => {
    expect(() => whoIsOnCall(config, 'nope', pagedAt)).toThrow(
      new FirebreakError('not_found', 'unknown escalation policy "nope"'),
    );
    expect(() => whoIsOnCallForApp(config, 'constructor', pagedAt)).toThrow(
      'app "constructor" has no escalation policy (oncall.apps)',
    );
  });
});
