import { z } from 'zod';
import { defaultDetectors } from './detectors/index.js';
import { factPatternProblem } from './detectors/integrity.js';
import { guardActions, stages, type GuardSettings } from './types.js';
import { TAINTED_CALL_DETECTOR, TOOL_POLICY_DETECTOR } from '../policy/policy-failure.js';

/**
 * The `guards:` block of a release spec. Every detector is on with its own defaults; a release only
 * writes what it changes. Parsed (and so checked) when the release is created, never on the request path.
 */
const detectorSettings = z.strictObject({
  enabled: z.boolean().optional(),
  threshold: z.number().min(0).max(1).optional(),
  action: z.enum(guardActions).optional(),
  stages: z.array(z.enum(stages)).min(1).optional(),
});

const term = z.string().min(1).max(200);

export const guardSettingsSchema = z
  .strictObject({
    detectors: z.record(z.string().regex(/^[a-z][a-z0-9-]{0,40}$/), detectorSettings).default({}),
    /** Canary tokens planted in the prompt or documents: any appearance in output or tool arguments is a SEV1. */
    canaries: z.array(z.string().min(8, 'a canary needs at least 8 characters').max(200)).max(64).default([]),
    /**
     * Firebreak plants a canary of its own: one random token per release, made when the release is
     * created, added to its system prompt and to each retrieved document it puts in the prompt. Optional
     * with no default, so specs that leave it out keep the content hash they had before it existed.
     */
    plantCanary: z.boolean().optional(),
    exfiltration: z
      .strictObject({
        /** Hosts (and their subdomains) tool arguments and output may link to. */
        allowDomains: z.array(term).max(256).default([]),
        allowEmails: z.array(term).max(256).default([]),
      })
      .prefault({}),
    topics: z
      .strictObject({
        /** Regulated topics this app may advise on: `medical`, `legal`, `financial`. */
        allowed: z.array(z.enum(['medical', 'legal', 'financial'])).default([]),
      })
      .prefault({}),
    prohibited: z
      .array(
        z.strictObject({
          id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,40}$/),
          terms: z.array(term).min(1).max(100),
          message: z.string().min(1).max(300),
        }),
      )
      .max(64)
      .default([]),
    brand: z
      .strictObject({
        competitors: z.array(term).max(256).default([]),
        bannedClaims: z.array(term).max(256).default([]),
      })
      .prefault({}),
    facts: z
      .array(
        z.strictObject({
          id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,40}$/),
          pattern: z.string().min(1).max(500),
          expected: z.string().min(1).max(200),
        }),
      )
      .max(64)
      .default([]),
    support: z.strictObject({ minScore: z.number().min(0).max(1).default(0.2) }).prefault({}),
  })
  .superRefine((g, ctx) => {
    // Checked here so a typo fails the release at creation, not silently at run time.
    const known = new Set(defaultDetectors.map((d) => d.id));
    for (const id of Object.keys(g.detectors))
      if (!known.has(id))
        ctx.addIssue({
          code: 'custom',
          path: ['detectors', id],
          message:
            id === TOOL_POLICY_DETECTOR
              ? `"${id}" has no settings: a tool-call policy that cannot decide always denies the call (set the policy's mode to shadow to only log)`
              : id === TAINTED_CALL_DETECTOR
                ? `"${id}" has no settings: it records what the tool-call policy denied (filter it in detection rules instead)`
                : `unknown detector "${id}" (firebreak guards lists them: ${[...known].join(', ')})`,
        });
    g.facts.forEach((f, i) => {
      const problem = factPatternProblem(f.pattern);
      if (problem) ctx.addIssue({ code: 'custom', path: ['facts', i, 'pattern'], message: problem });
    });
  });

export type GuardSettingsInput = z.input<typeof guardSettingsSchema>;

/** The defaults as the release spec holds them (and as GuardSettings, which the detectors read). */
export const defaultGuardSpec = guardSettingsSchema.parse({});
export const defaultGuardSettings: GuardSettings = defaultGuardSpec;

export function parseGuardSettings(value: unknown): GuardSettings {
  return guardSettingsSchema.parse(value ?? {});
}
