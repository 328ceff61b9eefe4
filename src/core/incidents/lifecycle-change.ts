import { FirebreakError } from '../errors.js';
import type { Incident } from './incident.js';
import type { TimelineEvent } from './timeline.js';

/**
 * What every lifecycle function (lifecycle.ts, classification.ts, roles.ts, containment.ts) returns, and
 * the checks and refusals they share. Refusals that depend on the incident's state are `conflict` (409);
 * missing or malformed input is `validation_failed` (400). Functions are generic so a store's richer
 * record passes through unchanged.
 */
export interface Change<T extends Incident = Incident> {
  readonly incident: T;
  readonly events: readonly TimelineEvent[];
}

export interface Stamp {
  readonly at: number;
  readonly actor: string;
}

export function conflict(message: string): FirebreakError {
  return new FirebreakError('conflict', message);
}

export function invalid(message: string, path: string): FirebreakError {
  return new FirebreakError('validation_failed', message, { path });
}

export function nonBlank(value: string | undefined): value is string {
  return value !== undefined && value.trim() !== '';
}

/** Optional fields only when set (exactOptionalPropertyTypes: absent, never `undefined`). */
export function opt<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

export function refuseClosed(incident: Incident): void {
  if (incident.status === 'closed')
    throw conflict(`${incident.id} is closed; a closed incident does not change (open a new incident)`);
}

export function notTriagedMessage(incident: Incident): string {
  return `${incident.id} is not triaged: triage it first (class, severity, commander), or contain it with override, which is recorded on the timeline`;
}
