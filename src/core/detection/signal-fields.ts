import type { Signal } from './signal.js';

/**
 * The signal fields a rule may group by (`group.by`), by the names firebreak.yaml uses. User, tenant
 * and trace are allowed (one incident per affected user is a valid choice) but never appear in titles:
 * titles go to channels and pagers.
 */
export const groupFields = [
  'app',
  'env',
  'release',
  'source',
  'detector',
  'kind',
  'class',
  'severity',
  'stage',
  'tool',
  'alert',
  'externalKey',
  'user',
  'tenant',
  'trace',
] as const;
export type GroupField = (typeof groupFields)[number];

const signalKey = {
  app: 'app',
  env: 'env',
  release: 'release',
  source: 'source',
  detector: 'detector',
  kind: 'kind',
  class: 'class',
  severity: 'severity',
  stage: 'stage',
  tool: 'tool',
  alert: 'alert',
  externalKey: 'externalKey',
  user: 'userId',
  tenant: 'tenantId',
  trace: 'traceId',
} as const satisfies Record<GroupField, keyof Signal>;

export function fieldValue(signal: Signal, field: GroupField): string | null {
  return signal[signalKey[field]];
}

/** What a title template may name: the signal's own `{title}` and the fields that are safe to show. */
export const titleFields = [
  'title',
  'app',
  'env',
  'release',
  'source',
  'detector',
  'kind',
  'class',
  'severity',
  'stage',
  'tool',
  'alert',
] as const;
export type TitleField = (typeof titleFields)[number];
