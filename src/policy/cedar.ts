import { createHash } from 'node:crypto';
import {
  policySetTextToParts,
  policyToJson,
  preparsePolicySet,
  statefulIsAuthorized,
  validate,
  type AuthorizationAnswer,
  type CedarValueJson,
  type DetailedError,
  type SchemaJson,
  type TypeOfAttribute,
} from '@cedar-policy/cedar-wasm/nodejs';
import type { CedarArgumentType } from '../core/policy/policy-settings.js';
import type { PolicyDecision, ToolCallContext } from '../core/policy/tool-context.js';

/**
 * The Cedar engine. Policies are written against one fixed schema (namespace `Firebreak`):
 *
 *   entity User { tenant?: String };                       // principal: Firebreak::User::"<user id>" ("" if none)
 *   entity Tool { name: String, risk: String };            // resource:  Firebreak::Tool::"<tool name>"
 *   action call appliesTo { principal: User, resource: Tool, context: {
 *     app: String, env: String, release: String,
 *     arguments: { <each policy.arguments entry, optional> },
 *     taint: { untrusted: Bool, sources: Set<String>, detectors: Set<String> } } };
 *
 * Text is parsed and validated (strict mode) when a release is created; a validation warning (an
 * impossible policy, confusable identifiers) refuses it too, because a forbid that can never apply is a
 * policy that silently protects nothing. `require-approval` is a convention, since Cedar only has
 * permit and forbid: a `forbid` annotated `@approval("required")`. When every policy that determined a
 * Deny carries it, and the policies without those forbids would allow the call, the decision is
 * require-approval. Nothing permitting is a deny; any evaluation error is a deny with the error recorded.
 */
export const CEDAR_NAMESPACE = 'Firebreak';

/** Why a policy text was refused; `engine.ts` makes it a validation error at `policy.cedar`. */
export class CedarPolicyError extends Error {
  override readonly name = 'CedarPolicyError';
}

const argumentType = (t: CedarArgumentType): TypeOfAttribute<string> => {
  const set = /^Set<(\w+)>$/.exec(t)?.[1];
  const scalar = (s: string) => ({ type: s === 'Bool' ? 'Boolean' : s }) as TypeOfAttribute<string>;
  return set !== undefined
    ? { type: 'Set', element: scalar(set), required: false }
    : { ...scalar(t), required: false };
};

/** The schema policies are validated against, with the release's declared tool arguments. */
export function cedarSchema(args: Readonly<Record<string, CedarArgumentType>> = {}): SchemaJson<string> {
  const strings = { type: 'Set', element: { type: 'String' } } as const;
  return {
    [CEDAR_NAMESPACE]: {
      entityTypes: {
        User: { shape: { type: 'Record', attributes: { tenant: { type: 'String', required: false } } } },
        Tool: {
          shape: { type: 'Record', attributes: { name: { type: 'String' }, risk: { type: 'String' } } },
        },
      },
      actions: {
        call: {
          appliesTo: {
            principalTypes: ['User'],
            resourceTypes: ['Tool'],
            context: {
              type: 'Record',
              attributes: {
                app: { type: 'String' },
                env: { type: 'String' },
                release: { type: 'String' },
                arguments: {
                  type: 'Record',
                  attributes: Object.fromEntries(
                    Object.entries(args).map(([name, t]) => [name, argumentType(t)]),
                  ),
                },
                taint: {
                  type: 'Record',
                  attributes: { untrusted: { type: 'Boolean' }, sources: strings, detectors: strings },
                },
              },
            },
          },
        },
      },
    },
  };
}

/** `line 3, column 7` for an offset into the text. */
function position(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return `line ${line}, column ${offset - before.lastIndexOf('\n')}`;
}

/** Cedar's message with where it points (line and column in the whole policy text) and its hint. */
function describeError(e: DetailedError, text: string, base = 0): string {
  const at = e.sourceLocations?.[0];
  const where = at ? `${position(text, base + at.start)}: ` : '';
  const label = at?.label ? ` (${at.label})` : '';
  const help = e.help ? ` (${e.help})` : '';
  return `${where}${e.message}${label}${help}`;
}

interface ParsedPolicy {
  readonly id: string;
  readonly text: string;
  readonly effect: 'permit' | 'forbid';
  readonly approval: boolean;
  /** `@reason("…")`: what a decision it determines says; else the policy's id. */
  readonly reason: string;
  /** Where the policy starts in the whole text, for error positions. */
  readonly offset: number;
}

function splitPolicies(text: string): ParsedPolicy[] {
  const parts = policySetTextToParts(text);
  if (parts.type === 'failure')
    throw new CedarPolicyError(parts.errors.map((e) => describeError(e, text)).join('; '));
  if (parts.policy_templates.length > 0)
    throw new CedarPolicyError('templates (policies with ?principal or ?resource slots) are not supported');
  const out: ParsedPolicy[] = [];
  const ids = new Set<string>();
  let from = 0;
  parts.policies.forEach((policyText, i) => {
    const found = text.indexOf(policyText, from);
    const offset = found < 0 ? 0 : found;
    if (found >= 0) from = found + policyText.length;
    const json = policyToJson(policyText);
    if (json.type === 'failure')
      throw new CedarPolicyError(json.errors.map((e) => describeError(e, text, offset)).join('; '));
    const notes = json.json.annotations ?? {};
    const id = notes['id'] ?? `policy${i}`;
    const where = position(text, offset);
    if (ids.has(id)) throw new CedarPolicyError(`${where}: two policies have @id("${id}")`);
    ids.add(id);
    const approval = notes['approval'];
    if (approval !== undefined && approval !== 'required')
      throw new CedarPolicyError(`${where}: policy ${id}: @approval must be "required", not "${approval}"`);
    if (approval !== undefined && json.json.effect !== 'forbid')
      throw new CedarPolicyError(
        `${where}: policy ${id}: @approval("required") belongs on a forbid policy (the call is held instead of denied)`,
      );
    out.push({
      id,
      text: policyText,
      effect: json.json.effect,
      approval: approval !== undefined,
      reason: notes['reason'] ?? `policy ${id}`,
      offset,
    });
  });
  return out;
}

function checkAgainstSchema(text: string, policies: readonly ParsedPolicy[], schema: SchemaJson<string>) {
  const answer = validate({
    schema,
    policies: { staticPolicies: Object.fromEntries(policies.map((p) => [p.id, p.text])) },
    validationSettings: { mode: 'strict' },
  });
  if (answer.type === 'failure')
    throw new CedarPolicyError(answer.errors.map((e) => describeError(e, text)).join('; '));
  const problems = [...answer.validationErrors, ...answer.validationWarnings].map((v) => {
    const p = policies.find((q) => q.id === v.policyId);
    return describeError(v.error, text, p?.offset ?? 0);
  });
  if (problems.length > 0) throw new CedarPolicyError(problems.join('; '));
}

/**
 * Tool arguments as a Cedar value: Cedar has no null and no floats, so nulls are dropped and numbers that
 * are not safe integers become strings (`1.5` → `"1.5"`); arrays become sets (unordered, duplicates
 * merged). `__entity`/`__extn`/`__expr` keys are dropped: in Cedar's JSON they would turn a value an
 * attacker controls into an entity reference or an extension call.
 */
const RESERVED_KEYS = new Set(['__entity', '__extn', '__expr']);
const MAX_DEPTH = 32;

export function toCedarValue(value: unknown, depth = 0): CedarValueJson | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'boolean' || typeof value === 'string') return value;
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : String(value);
  if (typeof value !== 'object') return undefined;
  if (depth >= MAX_DEPTH) return JSON.stringify(value);
  if (Array.isArray(value))
    return value.map((v) => toCedarValue(v, depth + 1)).filter((v) => v !== undefined);
  const entries: [string, CedarValueJson][] = [];
  for (const [k, v] of Object.entries(value)) {
    if (RESERVED_KEYS.has(k)) continue;
    const c = toCedarValue(v, depth + 1);
    if (c !== undefined) entries.push([k, c]);
  }
  return Object.fromEntries(entries);
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

export interface CompiledCedar {
  decide(ctx: ToolCallContext): PolicyDecision;
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/** Parses and validates; throws CedarPolicyError with Cedar's message and where it points. */
export function compileCedar(
  text: string,
  args: Readonly<Record<string, CedarArgumentType>> = {},
): CompiledCedar {
  const policies = splitPolicies(text);
  checkAgainstSchema(text, policies, cedarSchema(args));
  const byId = new Map(policies.map((p) => [p.id, p]));
  // Cedar keeps preparsed sets in the module's memory: one per distinct policy text, so two releases
  // with the same policies share them.
  const key = `firebreak:${sha256(text)}`;
  const prepare = (id: string, ps: readonly ParsedPolicy[]) => {
    const r = preparsePolicySet(id, {
      staticPolicies: Object.fromEntries(ps.map((p) => [p.id, p.text])),
    });
    if (r.type === 'failure') throw new CedarPolicyError(r.errors.map((e) => e.message).join('; '));
    return id;
  };
  const fullSet = prepare(`${key}:all`, policies);
  // The same policies without the approval forbids: would the call be allowed if a person said yes?
  const withoutApproval = prepare(
    `${key}:approved`,
    policies.filter((p) => !p.approval),
  );
  const reasonOf = (id: string) => byId.get(id)?.reason ?? `policy ${id}`;

  const deny = (reasons: string[], error?: string): PolicyDecision => ({
    decision: 'deny',
    reasons,
    engine: 'cedar',
    ...(error !== undefined ? { error, failure: 'cedar_evaluation_error' as const } : {}),
  });

  /** The answer, or the deny it turns into when Cedar could not evaluate every policy. */
  const evaluate = (
    setId: string,
    ctx: ToolCallContext,
    args: Record<string, unknown>,
  ): { allow: boolean; determining: string[] } | PolicyDecision => {
    const answer: AuthorizationAnswer = statefulIsAuthorized({
      preparsedPolicySetId: setId,
      principal: { type: `${CEDAR_NAMESPACE}::User`, id: ctx.user ?? '' },
      action: { type: `${CEDAR_NAMESPACE}::Action`, id: 'call' },
      resource: { type: `${CEDAR_NAMESPACE}::Tool`, id: ctx.tool.name },
      context: {
        app: ctx.app,
        env: ctx.env,
        release: ctx.release,
        arguments: toCedarValue(args) ?? {},
        taint: {
          untrusted: ctx.taint.untrusted,
          sources: [...ctx.taint.sources],
          detectors: [...ctx.taint.detectors],
        },
      },
      entities: [
        {
          uid: { type: `${CEDAR_NAMESPACE}::User`, id: ctx.user ?? '' },
          attrs: ctx.tenant === null ? {} : { tenant: ctx.tenant },
          parents: [],
        },
        {
          uid: { type: `${CEDAR_NAMESPACE}::Tool`, id: ctx.tool.name },
          attrs: { name: ctx.tool.name, risk: ctx.tool.risk },
          parents: [],
        },
      ],
    });
    if (answer.type === 'failure')
      return deny(
        ['the Cedar policy could not be evaluated'],
        answer.errors.map((e) => e.message).join('; '),
      );
    const { decision, diagnostics } = answer.response;
    // A policy that errors is skipped by Cedar, which for a forbid would let the call through: any
    // error denies (fail closed).
    if (diagnostics.errors.length > 0)
      return deny(
        ['a Cedar policy failed to evaluate'],
        diagnostics.errors.map((e) => `policy ${e.policyId}: ${e.error.message}`).join('; '),
      );
    return { allow: decision === 'allow', determining: diagnostics.reason };
  };

  return {
    decide(ctx) {
      // A policy reads arguments with `has` first; arguments it cannot read would make every such
      // check false, so calls whose arguments are not a JSON object are denied before evaluation.
      if (!ctx.argumentsParsed || !isRecord(ctx.arguments))
        return deny([
          `the arguments of "${ctx.tool.name}" are not a JSON object, so the policy cannot inspect them`,
        ]);
      const args = ctx.arguments;
      const full = evaluate(fullSet, ctx, args);
      if ('decision' in full) return full;
      if (full.allow) return { decision: 'allow', reasons: full.determining.map(reasonOf), engine: 'cedar' };
      if (full.determining.length === 0) return deny(['no policy permits this call']);
      const plain = full.determining.filter((id) => byId.get(id)?.approval !== true);
      if (plain.length > 0) return deny(plain.map(reasonOf));
      const reasons = full.determining.map(reasonOf);
      const approved = evaluate(withoutApproval, ctx, args);
      if ('decision' in approved) return approved;
      return approved.allow
        ? { decision: 'require-approval', reasons, engine: 'cedar' }
        : deny(['no policy permits this call, even with approval']);
    },
  };
}
