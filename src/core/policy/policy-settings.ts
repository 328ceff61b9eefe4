import { z } from 'zod';

/**
 * The `policy:` block of a release spec: who decides whether a tool call the model makes may run.
 * `none` allows every call the catalogue and flags allow; `cedar` evaluates the release's Cedar policies
 * in-process; `opa` asks an OPA server's data API. `shadow` decides and records but never enforces, so a
 * new policy can be watched on real traffic before it bites.
 */
export const toolDecisions = ['allow', 'deny', 'require-approval'] as const;
export type ToolDecision = (typeof toolDecisions)[number];

export const policySettingsSchema = z
  .strictObject({
    engine: z.enum(['none', 'cedar', 'opa']).default('none'),
    mode: z.enum(['enforce', 'shadow']).default('enforce'),
    /** Cedar policy text (engine cedar). */
    cedar: z.string().max(200_000).optional(),
    opa: z
      .strictObject({
        url: z.url({ protocol: /^https?$/ }),
        /** The decision's path under /v1/data, e.g. `firebreak/tools/decision`. */
        path: z
          .string()
          .regex(/^[A-Za-z0-9_]+(\/[A-Za-z0-9_]+)*$/, 'an OPA data path like firebreak/tools/decision'),
        timeoutMs: z.number().int().min(1).max(10_000).default(200),
      })
      .optional(),
    /** How long an approval granted for a held call stays usable. */
    approvalTtlSeconds: z
      .number()
      .int()
      .min(10)
      .max(7 * 24 * 3600)
      .default(3600),
  })
  .prefault({})
  .superRefine((p, ctx) => {
    if (p.engine === 'cedar' && p.cedar === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['cedar'],
        message: 'engine cedar needs the policy text in policy.cedar',
      });
    if (p.engine === 'opa' && p.opa === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['opa'],
        message: 'engine opa needs policy.opa.url and policy.opa.path',
      });
  });

export type PolicySettings = z.infer<typeof policySettingsSchema>;
