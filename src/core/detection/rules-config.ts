import { z } from 'zod';
import { guardActions, incidentClasses, stages, type GuardAction, type Stage } from '../guards/types.js';
import { severities, type IncidentClass, type Severity } from '../incidents/incident.js';
import { signalSources, type SignalSource } from '../incidents/timeline.js';
import { toolName } from '../release.js';
import { parseDuration } from '../time-spec.js';
import { parseWith } from '../validation.js';
import { findingDetectorIds } from './finding-detectors.js';
import { anomalyMetrics, defaultAnomalySettings, type AnomalyMetric } from './anomaly.js';
import { groupFields, titleFields, type GroupField } from './signal-fields.js';

/**
 * The `detection:` block of firebreak.yaml: rules that turn signals into incidents (issue 5 item 2), and
 * the anomaly detector's settings. Rules are tried in order; the first that matches a signal acts on it
 * and the search stops, unless that rule says `continue: true` (Alertmanager's routing semantics), so a
 * specific rule placed before a broad one keeps the broad one from opening a second incident.
 *
 * ```yaml
 * detection:
 *   rules:
 *     - id: canary-leak
 *       match: { source: finding, detector: canary }   # each condition: one value or a list
 *       group: { by: [app, env, detector], window: 30m } # app is always part of the key
 *       incident: { class: privacy, severity: SEV1, title: 'Canary leak in {app}/{env}' }
 *       page: true                                       # the app's policy (oncall.apps); or an id; or false
 *       contain: { action: safe-mode, mode: handoff }
 *     - id: exfiltration
 *       match: { source: finding, detector: exfiltration, stage: tool_call, minAction: block }
 *       group: { by: [app, env, tool], window: 1h }
 *       incident: { class: security, severity: SEV2 }
 *       page: primary
 *       contain: { action: disable-tool, tool: from-signal }
 *     - id: harmful-feedback
 *       match: { source: feedback, kind: harmful }
 *       group: { by: [app, env], window: 1h }
 *       incident: { severity: SEV3, title: 'Users report harmful answers in {app}' }
 *       minSignals: 3                                    # open on the third report within the window
 *       page: false
 *     - id: prometheus
 *       match: { source: external, minSeverity: SEV2 }
 *       group: { by: [app, alert], window: 2h }
 *       incident: { class: integrity, severity: from-signal, defaultSeverity: SEV2 }
 *     - id: error-spike
 *       match: { source: anomaly, kind: errors }           # kind: the anomaly's metric
 *       group: { by: [app, env, release], window: 1h }
 *       incident: { class: integrity, severity: SEV2 }
 *   anomaly: { interval: 5m, delay: 30s, metrics: [findings, blocks, errors, handoffs, cost], zThreshold: 4, minVolume: 50 }
 * ```
 *
 * `match` conditions (all must hold; a list means any of its values): `source`, `app`, `env`,
 * `detector`, `kind`, `class`, `stage`, `alert` (an external alert's name), `minSeverity` (the signal's
 * severity hint at least this; a signal without one does not match) and `minAction` (a finding's action
 * at least this: log < redact < block).
 *
 * `group.by` names the signal fields that form the dedup key (app always included, since an incident
 * belongs to one app). The incident covers what its key covers: without `env` in the key its env is
 * null, i.e. every environment of the app, which is also where automatic containment then applies.
 * `group.window`: a signal attaches to an open incident of its key that has had a signal within this
 * long; otherwise it counts towards a new one.
 *
 * `incident.class` and `incident.severity` are fixed or `from-signal` (the default; for severity,
 * `defaultSeverity` when the signal has no hint, else left for triage). `incident.title` is a template
 * over {title} (the signal's), {app}, {env}, {release}, {source}, {detector}, {kind}, {class},
 * {severity}, {stage}, {tool} and {alert}; never users, tenants or traces, as titles go to pagers.
 *
 * `contain` is one action, the structured form of `firebreak contain`: `{action: safe-mode, mode:
 * handoff|limited|retrieval-only}`, `{action: disable-tool, tool: <name>|from-signal}`,
 * `{action: disable-model, family: <family>}`, `{action: block-user}` / `{action: block-tenant}` (the
 * signal's user or tenant), `{action: rollback}` (to known-good). `from-signal` is reserved: a tool
 * literally named so cannot be named here. It is applied to an incident that is still `detected`, which
 * is the lifecycle's containment-before-triage override, recorded as such on the timeline.
 *
 * `anomaly`: the spike detector (anomaly.ts) run by a job on control replicas (ops/anomaly-job.ts) every
 * `interval` (10s to 1d, default 5m), `delay` (0s to 1h, default 30s) after the interval ends, per app,
 * env, release and metric: calls with findings, blocked calls, errors and safe-mode answers per
 * request, and `cost` as tokens per request. `alpha`, `zThreshold`, `warmup`, `minVolume` and
 * `minIncrease` are the detector's settings. The job runs only when some rule can match
 * `source: anomaly`; what it finds goes through the rules like any other signal.
 *
 * Defaults: `group: {by: [app, env], window: 1h}`, class and severity from the signal, title `{title}`,
 * `page: true` (an incident nobody hears about stops no damage), no containment, `minSignals: 1`,
 * `continue: false`.
 */

export type PageTarget =
  | { readonly kind: 'none' }
  /** The escalation policy of the incident's app (`oncall.apps`). */
  | { readonly kind: 'app' }
  | { readonly kind: 'policy'; readonly policy: string };

export type ContainSpec =
  | { readonly action: 'safe-mode'; readonly mode: 'handoff' | 'limited' | 'retrieval-only' }
  | { readonly action: 'disable-tool'; readonly tool: string }
  | { readonly action: 'disable-model'; readonly family: string }
  | { readonly action: 'block-user'; readonly user: 'from-signal' }
  | { readonly action: 'block-tenant'; readonly tenant: 'from-signal' }
  | { readonly action: 'rollback' };

export const FROM_SIGNAL = 'from-signal';

/** Null: the condition is not set (any value matches). */
export interface RuleMatch {
  readonly sources: readonly SignalSource[] | null;
  readonly apps: readonly string[] | null;
  readonly envs: readonly string[] | null;
  readonly detectors: readonly string[] | null;
  readonly kinds: readonly string[] | null;
  readonly classes: readonly IncidentClass[] | null;
  readonly stages: readonly Stage[] | null;
  readonly alerts: readonly string[] | null;
  readonly minSeverity: Severity | null;
  readonly minAction: GuardAction | null;
}

export interface DetectionRule {
  readonly id: string;
  readonly match: RuleMatch;
  readonly group: { readonly by: readonly GroupField[]; readonly window: string; readonly windowMs: number };
  readonly incident: {
    readonly class: IncidentClass | typeof FROM_SIGNAL;
    readonly severity: Severity | typeof FROM_SIGNAL;
    readonly defaultSeverity: Severity | null;
    readonly title: string;
  };
  readonly page: PageTarget;
  readonly contain: ContainSpec | null;
  readonly minSignals: number;
  readonly continue: boolean;
}

export interface AnomalyConfig {
  readonly interval: string;
  readonly intervalMs: number;
  /**
   * How long after an interval ends it is evaluated: traces reach the store in background batches, so
   * the last seconds of an interval are not all there at its end.
   */
  readonly delay: string;
  readonly delayMs: number;
  readonly metrics: readonly AnomalyMetric[];
  readonly alpha: number;
  readonly zThreshold: number;
  readonly warmup: number;
  readonly minVolume: number;
  readonly minIncrease: number;
}

export interface DetectionConfig {
  readonly rules: readonly DetectionRule[];
  readonly anomaly: AnomalyConfig;
}

type Ctx = z.core.$RefinementCtx;

function issue(ctx: Ctx, path: PropertyKey[], message: string): void {
  ctx.issues.push({ code: 'custom', message, path, input: undefined });
}

const id = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'use lower-case letters, digits, - and _ (at most 63)');

function oneOf<const T extends readonly [string, ...string[]]>(values: T, what: string) {
  return z.enum(values, {
    error: (iss) => `unknown ${what} ${JSON.stringify(iss.input)} (use ${values.join(' | ')})`,
  });
}

/** `source: finding` or `source: [finding, feedback]`; a list of none is refused, as it could match nothing. */
function oneOrMany<T extends z.ZodType>(item: T) {
  return z.preprocess(
    (v) => (Array.isArray(v) || v === undefined ? v : [v]),
    z.array(item).min(1, 'give at least one value, or leave the condition out'),
  );
}

function duration(min: number, max: number, maxText: string) {
  return z.string().transform((s, ctx) => {
    const ms = parseDuration(s);
    if (ms === undefined) {
      ctx.issues.push({
        code: 'custom',
        input: s,
        message: `expected a duration like 30s, 15m, 24h or 7d, got "${s}"`,
      });
      return z.NEVER;
    }
    if (ms < min || ms > max) {
      ctx.issues.push({
        code: 'custom',
        input: s,
        message: `"${s}" is out of range (${min / 1000}s to ${maxText})`,
      });
      return z.NEVER;
    }
    return { text: s, ms };
  });
}

const matchSchema = z
  .strictObject({
    source: oneOrMany(oneOf(signalSources, 'source')).optional(),
    app: oneOrMany(id).optional(),
    env: oneOrMany(id).optional(),
    detector: oneOrMany(oneOf(findingDetectorIds, 'detector')).optional(),
    kind: oneOrMany(z.string().min(1)).optional(),
    class: oneOrMany(oneOf(incidentClasses, 'class')).optional(),
    stage: oneOrMany(oneOf(stages, 'stage')).optional(),
    alert: oneOrMany(z.string().min(1)).optional(),
    minSeverity: oneOf(severities, 'severity').optional(),
    minAction: oneOf(guardActions, 'action').optional(),
  })
  .transform((m, ctx): RuleMatch => {
    if (Object.values(m).every((v) => v === undefined))
      issue(
        ctx,
        [],
        'a rule needs at least one condition (an empty match would open incidents for every signal)',
      );
    // Conditions only findings carry: with sources that cannot be findings, the rule could never match.
    for (const key of ['minAction', 'stage', 'detector'] as const)
      if (m[key] !== undefined && m.source !== undefined && !m.source.includes('finding'))
        issue(ctx, [key], `${key} applies to findings only; add finding to source`);
    return {
      sources: m.source ?? null,
      apps: m.app ?? null,
      envs: m.env ?? null,
      detectors: m.detector ?? null,
      kinds: m.kind ?? null,
      classes: m.class ?? null,
      stages: m.stage ?? null,
      alerts: m.alert ?? null,
      minSeverity: m.minSeverity ?? null,
      minAction: m.minAction ?? null,
    };
  });

const groupSchema = z
  .strictObject({
    by: z.array(oneOf(groupFields, 'group field')).default(['app', 'env']),
    window: duration(1000, 30 * 86_400_000, '30d').default({ text: '1h', ms: 3_600_000 }),
  })
  .transform((g, ctx) => {
    g.by.forEach((f, i) => {
      const first = g.by.indexOf(f);
      if (first < i) issue(ctx, ['by', i], `"${f}" is listed twice`);
    });
    const by: GroupField[] = ['app', ...g.by.filter((f) => f !== 'app')];
    return { by: by.filter((f, i) => by.indexOf(f) === i), window: g.window.text, windowMs: g.window.ms };
  });

const titleTemplate = z
  .string()
  .trim()
  .min(1, 'a title cannot be empty')
  .max(300)
  .superRefine((t, ctx) => {
    for (const [, name] of t.matchAll(/\{([^{}]*)\}/g))
      if (!titleFields.some((f) => f === name))
        ctx.addIssue({
          code: 'custom',
          message: `unknown placeholder {${name ?? ''}} (use ${titleFields.map((f) => `{${f}}`).join(', ')})`,
        });
  });

const incidentSchema = z
  .strictObject({
    class: oneOf([...incidentClasses, FROM_SIGNAL], 'class').default(FROM_SIGNAL),
    severity: oneOf([...severities, FROM_SIGNAL], 'severity').default(FROM_SIGNAL),
    defaultSeverity: oneOf(severities, 'severity').optional(),
    title: titleTemplate.default('{title}'),
  })
  .transform((i, ctx) => {
    if (i.defaultSeverity !== undefined && i.severity !== FROM_SIGNAL)
      issue(ctx, ['defaultSeverity'], 'defaultSeverity applies only with severity: from-signal');
    return {
      class: i.class,
      severity: i.severity,
      defaultSeverity: i.defaultSeverity ?? null,
      title: i.title,
    };
  });

const pageSchema = z
  .unknown()
  .optional()
  .transform((v, ctx): PageTarget => {
    if (v === false) return { kind: 'none' };
    // Paging is the default: an incident nobody hears about stops no damage.
    if (v === true || v === undefined) return { kind: 'app' };
    if (typeof v === 'string' && id.safeParse(v).success) return { kind: 'policy', policy: v };
    ctx.issues.push({
      code: 'custom',
      input: v,
      message: `expected true (the app's escalation policy), false (no page) or an escalation policy id, got ${JSON.stringify(v)}`,
    });
    return z.NEVER;
  });

const containActions = [
  'safe-mode',
  'disable-tool',
  'disable-model',
  'block-user',
  'block-tenant',
  'rollback',
] as const;

// Two steps so that an unknown action is named as such (a discriminated union would only say
// "invalid input"), and a known one is then checked strictly for its own fields.
const containSchema = z.looseObject({ action: oneOf(containActions, 'containment action') }).pipe(
  z.discriminatedUnion('action', [
    z.strictObject({
      action: z.literal('safe-mode'),
      mode: oneOf(['handoff', 'limited', 'retrieval-only'], 'safe mode'),
    }),
    z.strictObject({ action: z.literal('disable-tool'), tool: toolName }),
    z.strictObject({ action: z.literal('disable-model'), family: z.string().min(1).max(128) }),
    z.strictObject({
      action: z.literal('block-user'),
      user: z
        .literal(FROM_SIGNAL, { error: 'only from-signal (the signal’s user) is supported' })
        .default(FROM_SIGNAL),
    }),
    z.strictObject({
      action: z.literal('block-tenant'),
      tenant: z
        .literal(FROM_SIGNAL, { error: 'only from-signal (the signal’s tenant) is supported' })
        .default(FROM_SIGNAL),
    }),
    z.strictObject({ action: z.literal('rollback') }),
  ]),
);

const ruleSchema = z
  .strictObject({
    id,
    match: matchSchema,
    group: groupSchema.prefault({}),
    incident: incidentSchema.prefault({}),
    page: pageSchema,
    contain: containSchema.optional(),
    minSignals: z.number().int().min(1).max(10_000).default(1),
    continue: z.boolean().default(false),
  })
  .transform((r, ctx): DetectionRule => {
    const c = r.contain;
    if (c?.action === 'block-user' && !r.group.by.includes('user') && r.minSignals > 1)
      // The user blocked is the one of the signal that opens the incident: with several signals
      // from several users, that would be whichever came last. Grouping by user makes it exact.
      issue(ctx, ['contain'], 'block-user with minSignals > 1 needs user in group.by');
    if (c?.action === 'block-tenant' && !r.group.by.includes('tenant') && r.minSignals > 1)
      issue(ctx, ['contain'], 'block-tenant with minSignals > 1 needs tenant in group.by');
    return {
      id: r.id,
      match: r.match,
      group: r.group,
      incident: r.incident,
      page: r.page,
      contain: c ?? null,
      minSignals: r.minSignals,
      continue: r.continue,
    };
  });

const anomalySchema = z
  .strictObject({
    interval: duration(10_000, 86_400_000, '1d').default({ text: '5m', ms: 300_000 }),
    delay: duration(0, 3_600_000, '1h').default({ text: '30s', ms: 30_000 }),
    metrics: z.array(oneOf(anomalyMetrics, 'metric')).default([...anomalyMetrics]),
    alpha: z.number().gt(0).max(1).default(defaultAnomalySettings.alpha),
    zThreshold: z.number().min(1).max(100).default(defaultAnomalySettings.zThreshold),
    warmup: z.number().int().min(2).max(10_000).default(defaultAnomalySettings.warmup),
    minVolume: z.number().int().min(1).default(defaultAnomalySettings.minVolume),
    minIncrease: z.number().min(0).max(100).default(defaultAnomalySettings.minIncrease),
  })
  .transform((a): AnomalyConfig => ({
    ...a,
    interval: a.interval.text,
    intervalMs: a.interval.ms,
    delay: a.delay.text,
    delayMs: a.delay.ms,
    metrics: a.metrics.filter((m, i) => a.metrics.indexOf(m) === i),
  }));

export const detectionConfigSchema = z
  .strictObject({
    rules: z.array(ruleSchema).default([]),
    anomaly: anomalySchema.prefault({}),
  })
  .transform((d, ctx): DetectionConfig => {
    d.rules.forEach((r, i) => {
      const first = d.rules.findIndex((o) => o.id === r.id);
      if (first < i) issue(ctx, ['rules', i, 'id'], `duplicate rule id "${r.id}" (also rules[${first}])`);
    });
    return d;
  });

/** The `detection:` block, typed, or a validation_failed FirebreakError naming the first problem and its path. */
export function parseDetectionConfig(value: unknown): DetectionConfig {
  return parseWith(detectionConfigSchema, value ?? {}, 'detection');
}

/** What the rest of firebreak.yaml defines, for `detectionReferenceIssues`. */
export interface KnownNames {
  /** App → its environments. */
  readonly apps: Readonly<Record<string, { readonly environments: readonly string[] }>>;
  readonly tools: readonly string[];
  readonly modelFamilies: readonly string[];
  /** Escalation policy ids (`oncall.policies`), and the apps that have one (`oncall.apps`). */
  readonly policies: readonly string[];
  readonly appPolicies: Readonly<Record<string, string>>;
}

export interface ReferenceIssue {
  /** Relative to the `detection:` block. */
  readonly path: (string | number)[];
  readonly message: string;
}

/**
 * Names in rules that must exist elsewhere in firebreak.yaml, checked by the config's cross-field
 * refinement (prefix the paths with `detection`). A typo in a rule fails loudly at load, rather than
 * leaving a canary leak unmatched or its automatic containment aimed at nothing.
 */
export function detectionReferenceIssues(d: DetectionConfig, known: KnownNames): ReferenceIssue[] {
  const out: ReferenceIssue[] = [];
  const envs = new Set(Object.values(known.apps).flatMap((a) => a.environments));
  d.rules.forEach((r, i) => {
    const at = (...rest: (string | number)[]) => ['rules', i, ...rest];
    r.match.apps?.forEach((app, j) => {
      if (!(app in known.apps)) out.push({ path: at('match', 'app', j), message: `unknown app "${app}"` });
    });
    r.match.envs?.forEach((env, j) => {
      if (!envs.has(env))
        out.push({ path: at('match', 'env', j), message: `no app has an environment "${env}"` });
    });
    const c = r.contain;
    if (c?.action === 'disable-tool' && c.tool !== FROM_SIGNAL && !known.tools.includes(c.tool))
      out.push({ path: at('contain', 'tool'), message: `unknown tool "${c.tool}" (not in tools)` });
    if (c?.action === 'disable-model' && !known.modelFamilies.includes(c.family))
      out.push({ path: at('contain', 'family'), message: `unknown model family "${c.family}"` });
    if (r.page.kind === 'policy' && !known.policies.includes(r.page.policy))
      out.push({ path: at('page'), message: `unknown escalation policy "${r.page.policy}"` });
    if (r.page.kind === 'app' && r.match.apps) {
      const unpaged = r.match.apps.filter((a) => a in known.apps && !(a in known.appPolicies));
      if (unpaged.length > 0)
        out.push({
          path: at('page'),
          message: `page: true uses the app's escalation policy, and ${unpaged.join(', ')} has none in oncall.apps`,
        });
    }
  });
  return out;
}
