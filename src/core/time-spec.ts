/**
 * Times as users type them: ISO 8601 (`2026-11-27T10:00:00Z`, `2026-11-27`), epoch milliseconds, or a
 * duration back from now (`30s`, `15m`, `24h`, `7d`). Returns undefined when the text is none of these.
 */
const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

/** `30s`, `15m`, `24h`, `7d`, `2w` in milliseconds; undefined for anything else. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d{1,6})([smhdw])$/.exec(text.trim());
  return m?.[1] && m[2] ? Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS] : undefined;
}

export function parseTimeSpec(text: string, now: number): number | undefined {
  const t = text.trim();
  const back = parseDuration(t);
  if (back !== undefined) return now - back;
  if (/^\d{10,16}$/.test(t)) return Number(t);
  if (!/^\d{4}-\d{2}-\d{2}/.test(t)) return undefined;
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? undefined : ms;
}
