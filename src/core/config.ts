import { z } from 'zod';
import { PAGERDUTY_EVENTS_URL } from './channels/pagerduty.js';
import { releaseSpecSchema, toolName, toolRisks } from './release.js';
import { simulatorConfigSchema } from './simulator-rules.js';
import { detectionConfigSchema, detectionReferenceIssues } from './detection/rules-config.js';
import { onCallConfigSchema } from './oncall/oncall-config.js';
import { severities, type Severity } from './incidents/incident.js';

/**
 * firebreak.yaml, validated once at the edge (server/config-load.ts reads the file and interpolates
 * `${ENV}` references; this module only knows shapes and defaults).
 */
const name = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'use lower-case letters, digits, - and _');

const openAiCompatibleSchema = z.strictObject({
  type: z.literal('openai-compatible'),
  /** e.g. https://api.openai.com/v1, http://127.0.0.1:11434/v1 (Ollama), http://vllm:8000/v1 */
  baseUrl: z.url(),
  apiKey: z.string().optional(),
  timeoutMs: z.number().int().min(1).optional(),
  /** Extra headers sent upstream (e.g. an organisation id). */
  headers: z.record(z.string(), z.string()).default({}),
});

const anthropicSchema = z.strictObject({
  type: z.literal('anthropic'),
  baseUrl: z.url().default('https://api.anthropic.com'),
  apiKey: z.string().optional(),
  version: z.string().default('2023-06-01'),
  timeoutMs: z.number().int().min(1).optional(),
  /** Anthropic requires max_tokens; used when the client did not send one. */
  defaultMaxTokens: z.number().int().min(1).default(1024),
});

export const providerConfigSchema = z.discriminatedUnion('type', [
  openAiCompatibleSchema,
  anthropicSchema,
  simulatorConfigSchema,
]);

const modelSchema = z.strictObject({
  /** What clients send as `model`. */
  name: z.string().min(1),
  provider: name,
  /** The upstream's name for it (defaults to `name`). */
  model: z.string().min(1).optional(),
  /** What a `model:<family>` kill switch names (defaults to `name`), e.g. several GPT-4o sizes as `gpt-4o`. */
  family: z.string().min(1).max(128).optional(),
});

const appSchema = z.strictObject({
  environments: z.array(name).min(1).default(['dev']),
  /** Models this app may use (names from `models`, or `provider/model`); empty means any configured one. */
  models: z.array(z.string().min(1)).default([]),
  description: z.string().optional(),
  /** The release `firebreak apply` creates for this app (a new version only when the content changed). */
  release: releaseSpecSchema.optional(),
  /** Opt-in: when the store has been unreachable this long, this app's replicas switch to safe mode. */
  storeLossSafeMode: z
    .strictObject({
      afterSeconds: z.number().int().min(1),
      mode: z.enum(['handoff', 'limited', 'retrieval-only']).default('handoff'),
    })
    .optional(),
});

/** A secret is given as plain text (usually `${ENV_VAR}`) or as its SHA-256 hex digest. */
const secretFields = {
  key: z.string().min(16, 'keys must be at least 16 characters').optional(),
  sha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/, 'a lower-case hex SHA-256 digest')
    .optional(),
};

const keySchema = z
  .strictObject({ ...secretFields, app: name, env: name, name: z.string().optional() })
  .refine((k) => (k.key === undefined) !== (k.sha256 === undefined), 'give exactly one of key or sha256');

/**
 * Where incident messages go (issue 5 item 8): delivered from the outbox by the control replicas, with
 * retries, never on the gateway's request path. `timeoutMs` bounds one attempt.
 */
const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });
const channelTimeout = z.number().int().min(100).max(120_000).default(10_000);
export const channelConfigSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('webhook'),
    url: httpUrl,
    /** HMAC-SHA256 signing secret (X-Firebreak-Signature); usually `${ENV_VAR}`. */
    secret: z.string().min(16, 'signing secrets must be at least 16 characters'),
    timeoutMs: channelTimeout,
  }),
  z.strictObject({ type: z.literal('slack'), url: httpUrl, timeoutMs: channelTimeout }),
  z.strictObject({
    type: z.literal('pagerduty'),
    /** The Events API v2 integration key of the PagerDuty service. */
    routingKey: z.string().trim().min(1, 'is required'),
    url: httpUrl.default(PAGERDUTY_EVENTS_URL),
    timeoutMs: channelTimeout,
  }),
]);

export const roles = ['viewer', 'responder', 'commander', 'admin'] as const;
export type Role = (typeof roles)[number];

const tokenSchema = z
  .strictObject({
    ...secretFields,
    role: z.enum(roles),
    name: z.string().min(1),
    /** ISO time after which the token is refused. */
    expires: z.iso.datetime({ offset: true }).optional(),
  })
  .refine((k) => (k.key === undefined) !== (k.sha256 === undefined), 'give exactly one of key or sha256');

export const configSchema = z
  .strictObject({
    server: z
      .strictObject({
        host: z.string().default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(7070),
        /** Largest request body accepted, in bytes. */
        bodyLimitBytes: z
          .number()
          .int()
          .min(1024)
          .default(10 * 1024 * 1024),
        /** Upstream timeout when a provider does not set its own. */
        upstreamTimeoutMs: z.number().int().min(1).default(120_000),
        logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      })
      .prefault({}),
    database: z.strictObject({ url: z.string().default('sqlite:.firebreak/firebreak.db') }).prefault({}),
    recording: z
      .strictObject({
        /** Traces held in memory while the store is slow or down; beyond this they are dropped and counted. */
        bufferLimit: z.number().int().min(1).default(50_000),
        batchSize: z.number().int().min(1).max(5_000).default(500),
        flushIntervalMs: z.number().int().min(1).default(100),
        /** Redact secrets and PII in stored traces (on by default; turning it off is logged loudly). */
        redact: z.boolean().default(true),
      })
      .prefault({}),
    providers: z.record(name, providerConfigSchema).default({}),
    models: z.array(modelSchema).default([]),
    /** The tools apps may offer models, with their risk level; releases pick from these. */
    tools: z
      .record(
        toolName,
        z.strictObject({
          risk: z.enum(toolRisks).default('medium'),
          description: z.string().max(2000).optional(),
        }),
      )
      .default({}),
    apps: z.record(name, appSchema).default({}),
    control: z
      .strictObject({
        /** Safety net behind push notifications: how often a replica re-reads the state version. */
        reconcileIntervalMs: z.number().int().min(50).max(60_000).default(1_000),
      })
      .prefault({}),
    channels: z.record(name, channelConfigSchema).default({}),
    keys: z.array(keySchema).default([]),
    tokens: z.array(tokenSchema).default([]),
    incidents: z
      .strictObject({
        /** Revert every containment action still in force when an incident is resolved. */
        revertContainmentOnResolve: z.boolean().default(false),
        /**
         * Where incident communication goes, by audience (channel names). Internal channels also get
         * status changes, containment, hand-overs and the reminders (overdue updates, compliance clocks).
         */
        channels: z
          .strictObject({
            internal: z.array(name).default([]),
            external: z.array(name).default([]),
            responders: z.array(name).default([]),
          })
          .prefault({}),
        /** Minutes between internal updates, per severity (null: none owed); defaults in core/incidents/cadence.ts. */
        updateCadenceMinutes: z
          .strictObject(
            Object.fromEntries(
              severities.map((s) => [s, z.number().int().min(1).max(10_080).nullable().optional()]),
            ) as Record<Severity, z.ZodOptional<z.ZodNullable<z.ZodNumber>>>,
          )
          .prefault({}),
      })
      .prefault({}),
    /** Rules that turn signals into incidents, and the anomaly detector (core/detection/rules-config.ts). */
    detection: detectionConfigSchema.prefault({}),
    /** Schedules, escalation policies and which policy each app pages (core/oncall/oncall-config.ts). */
    oncall: onCallConfigSchema.prefault({}),
  })
  .superRefine((cfg, ctx) => {
    cfg.models.forEach((m, i) => {
      if (!(m.provider in cfg.providers))
        ctx.addIssue({
          code: 'custom',
          path: ['models', i, 'provider'],
          message: `unknown provider "${m.provider}"`,
        });
    });
    cfg.keys.forEach((k, i) => {
      const app = cfg.apps[k.app];
      if (!app) ctx.addIssue({ code: 'custom', path: ['keys', i, 'app'], message: `unknown app "${k.app}"` });
      else if (!app.environments.includes(k.env))
        ctx.addIssue({
          code: 'custom',
          path: ['keys', i, 'env'],
          message: `app "${k.app}" has no environment "${k.env}" (has ${app.environments.join(', ')})`,
        });
    });
    for (const app of Object.keys(cfg.oncall.apps))
      if (!Object.hasOwn(cfg.apps, app))
        ctx.addIssue({ code: 'custom', path: ['oncall', 'apps', app], message: `unknown app "${app}"` });
    for (const issue of detectionReferenceIssues(cfg.detection, {
      apps: cfg.apps,
      tools: Object.keys(cfg.tools),
      modelFamilies: [...new Set(cfg.models.map((m) => m.family ?? m.name))],
      policies: cfg.oncall.policies.map((p) => p.id),
      appPolicies: cfg.oncall.apps,
    }))
      ctx.addIssue({ code: 'custom', path: ['detection', ...issue.path], message: issue.message });
    for (const [audience, list] of Object.entries(cfg.incidents.channels))
      list.forEach((ch, j) => {
        const channel = cfg.channels[ch];
        if (!channel || channel.type === 'pagerduty')
          ctx.addIssue({
            code: 'custom',
            path: ['incidents', 'channels', audience, j],
            message: channel
              ? `channel "${ch}" is PagerDuty, which takes pages (trigger, acknowledge, resolve), not updates; page through oncall.policies[].channels`
              : `unknown channel "${ch}"`,
          });
      });
    cfg.oncall.policies.forEach((p, i) => {
      (p.channels ?? []).forEach((ch, j) => {
        if (!Object.hasOwn(cfg.channels, ch))
          ctx.addIssue({
            code: 'custom',
            path: ['oncall', 'policies', i, 'channels', j],
            message: `unknown channel "${ch}"`,
          });
      });
    });
  });

export type FirebreakConfig = z.infer<typeof configSchema>;
export type ProviderConfig = z.infer<typeof providerConfigSchema>;
export type AppConfig = z.infer<typeof appSchema>;
export type ChannelConfig = z.infer<typeof channelConfigSchema>;
