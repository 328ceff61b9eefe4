import { truncate } from '../channels/truncate.js';
import { guardActions } from '../guards/types.js';
import type { IncidentClass, Severity } from '../incidents/incident.js';
import { FROM_SIGNAL, type ContainSpec, type DetectionRule, type RuleMatch } from './rules-config.js';
import { fieldValue, type TitleField } from './signal-fields.js';
import { SIGNAL_LIMITS, type Signal } from './signal.js';

/**
 * Applying detection rules to one signal (pure): does a rule match, which dedup key does the signal
 * get, what would the incident be called and classified as, and what containment does the rule ask for
 * once the signal's own facts are filled in.
 */

function within<T>(allowed: readonly T[] | null, value: T | null): boolean {
  return allowed === null || (value !== null && allowed.includes(value));
}

/** SEV1 is the most severe: "at least SEV2" means SEV1 or SEV2. */
function severityAtLeast(value: Severity | null, min: Severity | null): boolean {
  return min === null || (value !== null && Number(value.slice(3)) <= Number(min.slice(3)));
}

export function matchesRule(match: RuleMatch, s: Signal): boolean {
  return (
    within(match.sources, s.source) &&
    within(match.apps, s.app) &&
    within(match.envs, s.env) &&
    within(match.detectors, s.detector) &&
    within(match.kinds, s.kind) &&
    within(match.classes, s.class) &&
    within(match.stages, s.stage) &&
    within(match.alerts, s.alert) &&
    severityAtLeast(s.severity, match.minSeverity) &&
    (match.minAction === null ||
      (s.action !== null && guardActions.indexOf(s.action) >= guardActions.indexOf(match.minAction)))
  );
}

/**
 * `<rule id>|app=support-bot|env=prod|detector=canary`: the rule's id first, so two rules never share an
 * incident or a count, then each grouped field in `group.by` order. Values are percent-encoded (a `|`
 * or `=` in a value cannot forge another key); an absent value is empty.
 */
export function dedupKey(rule: DetectionRule, s: Signal): string {
  const parts = rule.group.by.map((f) => `${f}=${encodeURIComponent(fieldValue(s, f) ?? '')}`);
  const key = [rule.id, ...parts].join('|');
  // Stored keys are at most 256 characters (incidents, detection_signals): a longer one keeps a readable
  // start and ends in a 64-bit hash of the whole key, so distinct keys stay distinct.
  return key.length <= MAX_KEY ? key : `${key.slice(0, MAX_KEY - 17)}#${hash64(key)}`;
}

const MAX_KEY = 256;

/** Two FNV-1a 32-bit hashes with different seeds, as 16 hex digits (core has no crypto; not a secret). */
function hash64(text: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x9e3779b9;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193 + 0x100);
  }
  return (a >>> 0).toString(16).padStart(8, '0') + (b >>> 0).toString(16).padStart(8, '0');
}

export interface RuleMatchResult {
  readonly rule: DetectionRule;
  readonly dedupKey: string;
}

/**
 * The rules that act on a signal, in order: the first match, and after it further matches only while
 * the matching rule says `continue`. Callers that keep counts or open incidents by dedup key use this to
 * know which keys to look up before `decide`.
 */
export function matchSignal(rules: readonly DetectionRule[], s: Signal): RuleMatchResult[] {
  const out: RuleMatchResult[] = [];
  for (const rule of rules) {
    if (!matchesRule(rule.match, s)) continue;
    out.push({ rule, dedupKey: dedupKey(rule, s) });
    if (!rule.continue) break;
  }
  return out;
}

export function incidentClassFor(rule: DetectionRule, s: Signal): IncidentClass | null {
  return rule.incident.class === FROM_SIGNAL ? s.class : rule.incident.class;
}

/** Null: untriaged (triage sets it; channels treat it as the highest severity meanwhile). */
export function incidentSeverityFor(rule: DetectionRule, s: Signal): Severity | null {
  return rule.incident.severity === FROM_SIGNAL
    ? (s.severity ?? rule.incident.defaultSeverity)
    : rule.incident.severity;
}

/**
 * The incident's title from the rule's template. `{class}` and `{severity}` are the incident's (which
 * may come from the rule, not the signal); an absent value reads `-`.
 */
export function renderTitle(
  rule: DetectionRule,
  s: Signal,
  incident: { readonly class: IncidentClass | null; readonly severity: Severity | null },
): string {
  const value = (field: TitleField): string | null => {
    switch (field) {
      case 'title':
        return s.title;
      case 'class':
        return incident.class;
      case 'severity':
        return incident.severity;
      default:
        return fieldValue(s, field);
    }
  };
  const title = rule.incident.title
    .replace(/\{([a-z]+)\}/g, (_, name: string) => value(name as TitleField) ?? '-')
    .replace(/\s+/g, ' ')
    .trim();
  return truncate(title, SIGNAL_LIMITS.title);
}

/**
 * A containment action with its target filled in: the shape `firebreak contain` and the containment
 * operation take (`{action: 'disable-tool', target: 'send_email'}`).
 */
export interface Containment {
  readonly action:
    'safe-mode' | 'disable-tool' | 'disable-model' | 'block-user' | 'block-tenant' | 'rollback';
  readonly target?: string;
}

export type ContainResolution =
  | { readonly containment: Containment }
  /** The rule asked for containment, but the signal lacks what it needs (no tool, no user): say so. */
  | { readonly skipped: string };

export function resolveContainment(spec: ContainSpec, s: Signal): ContainResolution {
  const fromSignal = (value: string | null, what: string): ContainResolution =>
    value === null
      ? { skipped: `${spec.action} from-signal: the signal names no ${what}` }
      : { containment: { action: spec.action, target: value } };
  switch (spec.action) {
    case 'safe-mode':
      return { containment: { action: 'safe-mode', target: spec.mode } };
    case 'disable-tool':
      return spec.tool === FROM_SIGNAL
        ? fromSignal(s.tool, 'tool')
        : { containment: { action: 'disable-tool', target: spec.tool } };
    case 'disable-model':
      return { containment: { action: 'disable-model', target: spec.family } };
    case 'block-user':
      return fromSignal(s.userId, 'user');
    case 'block-tenant':
      return fromSignal(s.tenantId, 'tenant');
    case 'rollback':
      return { containment: { action: 'rollback' } };
  }
}

/** The action in words, as `firebreak contain` takes it: `safe-mode handoff`, `disable-tool send_email`. */
export function describeContainment(c: Containment): string {
  return c.target === undefined ? c.action : `${c.action} ${c.target}`;
}
