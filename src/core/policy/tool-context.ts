import { canonicalJson } from '../canonical-json.js';
import { releaseName, releaseTools, type Release, type ToolRisk } from '../release.js';
import type { Taint } from '../guards/types.js';
import type { PolicyFailure } from './policy-failure.js';
import type { PolicyEngineName, ToolDecision } from './policy-settings.js';

/**
 * What a tool-call policy decides on (the input), and what it answers (the output). Pure: the gateway
 * builds the context from the model's call and the deployed release; `/v1/tools/authorize` from the
 * agent's request; engines (policy/) turn it into their own input (Cedar request, OPA `input`).
 */
export const taintSources = [
  'retrieved',
  'tool_result',
] as const satisfies readonly Taint['sources'][number][];
export type TaintSource = (typeof taintSources)[number];

/**
 * Whether untrusted content (retrieved documents, tool results) entered the conversation, where it came
 * from, and which detectors fired on it. One definition, the guards' (they compute it).
 */
export type { Taint };

export const noTaint: Taint = { untrusted: false, sources: [], detectors: [] };

export interface ToolCallContext {
  readonly app: string;
  readonly env: string;
  /** `support-bot@3`; `support-bot@0` when no release is deployed. */
  readonly release: string;
  readonly tool: {
    readonly name: string;
    /** From the release's catalogue; `unknown` when the tool is not in it (or no release is deployed). */
    readonly risk: ToolRisk | 'unknown';
  };
  /** The arguments parsed from JSON when they parse; otherwise the raw text (`argumentsParsed` false). */
  readonly arguments: unknown;
  readonly argumentsParsed: boolean;
  readonly user: string | null;
  readonly tenant: string | null;
  readonly taint: Taint;
}

/** What an engine decides about one call. */
export interface PolicyDecision {
  readonly decision: ToolDecision;
  readonly reasons: readonly string[];
  readonly engine: PolicyEngineName;
  /** Why the engine could not decide (evaluation error, OPA unreachable…): the decision is then deny. */
  readonly error?: string;
  /** The kind of that failure, set whenever `error` is: what the `tool-policy` finding is called. */
  readonly failure?: PolicyFailure;
}

/** The decision and what is done about it: in shadow mode a policy is recorded, never enforced. */
export interface PolicyVerdict extends PolicyDecision {
  readonly enforced: ToolDecision;
  readonly mode: 'enforce' | 'shadow';
}

/**
 * Arguments as a model (or an agent) gave them: JSON text or an already-parsed value. Empty text is
 * no arguments (`{}`), which is how some models call a tool that takes none.
 */
export function parseToolArguments(args: unknown): { value: unknown; parsed: boolean } {
  if (typeof args !== 'string') return { value: args, parsed: true };
  if (args.trim() === '') return { value: {}, parsed: true };
  try {
    return { value: JSON.parse(args) as unknown, parsed: true };
  } catch {
    return { value: args, parsed: false };
  }
}

export function toolCallContext(input: {
  readonly app: string;
  readonly env: string;
  readonly release: Release | undefined;
  readonly tool: string;
  /** JSON text (a model's tool call) or a parsed value (an agent's authorize request). */
  readonly arguments: unknown;
  readonly user: string | null;
  readonly tenant: string | null;
  readonly taint: Taint;
}): ToolCallContext {
  const { release } = input;
  const catalogued = release ? releaseTools(release.spec).find((t) => t.name === input.tool) : undefined;
  const args = parseToolArguments(input.arguments);
  return {
    app: input.app,
    env: input.env,
    release: release ? releaseName(release.app, release.version) : `${input.app}@0`,
    tool: { name: input.tool, risk: catalogued?.risk ?? 'unknown' },
    arguments: args.value,
    argumentsParsed: args.parsed,
    user: input.user,
    tenant: input.tenant,
    taint: {
      untrusted: input.taint.untrusted,
      sources: [...new Set(input.taint.sources)].sort(),
      detectors: [...new Set(input.taint.detectors)].sort(),
    },
  };
}

/**
 * The text an approval is matched by: canonical JSON of the parsed arguments (key order and spacing do
 * not make a different call), or the raw text, marked, when it did not parse. Hashed by the caller.
 */
export function argumentsIdentity(ctx: Pick<ToolCallContext, 'arguments' | 'argumentsParsed'>): string {
  return ctx.argumentsParsed ? `json:${canonicalJson(ctx.arguments)}` : `raw:${String(ctx.arguments)}`;
}
