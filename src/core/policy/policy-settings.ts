import { z } from 'zod';

/**
 * The `policy:` block of a release spec: who decides whether a tool call the model makes may run.
 * `none` allows every call the catalogue and flags allow; `cedar` evaluates the release's Cedar policies
 * in-process; `opa` asks an OPA server's data API. `shadow` decides and records but never enforces, so a
 * new policy can be watched on real traffic before it bites.
 *
 * The Cedar text is parsed and validated against Firebreak's schema (policy/cedar.ts) when the release
 * is created; this file only checks the shape, since core does no policy evaluation.
 */
export const toolDecisions = ['allow', 'deny', 'require-approval'] as const;
export type ToolDecision = (typeof toolDecisions)[number];

export const policyEngines = ['none', 'cedar', 'opa'] as const;
export type PolicyEngineName = (typeof policyEngines)[number];

/**
 * Types a Cedar policy may give a tool argument (`policy.arguments`). Cedar's validator needs every
 * attribute a policy reads to be declared; each declared argument is optional (`has` first), so a tool
 * whose arguments lack it still validates and evaluates.
 */
export const cedarArgumentTypes = [
  'String',
  'Long',
  'Bool',
  'Set<String>',
  'Set<Long>',
  'Set<Bool>',
] as const;
export type CedarArgumentType = (typeof cedarArgumentTypes)[number];

export const policySettingsSchema = z
  .strictObject({
    engine: z.enum(policyEngines).default('none'),
    mode: z.enum(['enforce', 'shadow']).default('enforce'),
    /** Cedar policy text (engine cedar). */
    cedar: z.string().max(200_000).optional(),
    /**
     * Engine cedar: the tool arguments policies read (`context.arguments.<name>`), with their Cedar type.
     * Optional (no default) so releases that do not use it keep their content hash.
     */
    arguments: z
      .record(
        z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'argument names are 1-64 letters, digits, _ or -'),
        z.enum(cedarArgumentTypes),
      )
      .optional(),
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
