import type { ChatMessage, ChatRequest, RetrievedDocument } from './chat.js';
import type { FirebreakConfig } from './config.js';
import { FirebreakError } from './errors.js';
import { withFields } from './with-fields.js';
import type { EffectiveFlags } from './flags.js';
import { modelFamily } from './model-catalog.js';
import {
  plantedMarker,
  releaseName,
  releaseSpecSchema,
  releaseTools,
  type Release,
  type SafeMode,
} from './release.js';

/**
 * What the gateway does with one call, decided from the deployed release and the flags in force: pure,
 * so every rule here is tested without a server. The gateway then only executes the plan.
 */
export interface CallPlan {
  /** `support-bot@7`, or `support-bot@0` when no release is deployed (the app as configured). */
  readonly release: string;
  readonly deployment: string | null;
  readonly safeMode: SafeMode;
  readonly safeModeFlag: string | null;
  readonly safeModeSpec: Release['spec']['safeMode'];
  /** Models to try, in order (disabled families removed); the first one is used. */
  readonly models: readonly string[];
  readonly request: ChatRequest;
  readonly removedTools: readonly { readonly name: string; readonly reason: string }[];
  readonly disabledTools: ReadonlySet<string>;
  readonly kept: readonly RetrievedDocument[];
  readonly dropped: readonly { readonly id: string; readonly source: string; readonly reason: string }[];
}

const defaultSafeMode = releaseSpecSchema.shape.safeMode.parse({});

/** Sensitivity labels in increasing order; a document's level is its highest label (none: public). */
const SENSITIVITY = ['public', 'internal', 'confidential', 'restricted'] as const;
function sensitivityOf(d: RetrievedDocument): number {
  return Math.max(0, ...d.labels.map((l) => SENSITIVITY.indexOf(l as (typeof SENSITIVITY)[number])));
}

export interface PlanInput {
  readonly config: FirebreakConfig;
  readonly app: string;
  readonly active: { readonly release: Release; readonly deploymentId: string } | undefined;
  readonly knownGood: Release | undefined;
  readonly flags: EffectiveFlags;
  readonly request: ChatRequest;
  readonly retrieved: readonly RetrievedDocument[];
  /**
   * The retrieval gate's content check, after scope and flags: the document to use (possibly redacted)
   * or why it is dropped. Injected so the plan stays pure and the guards stay in their own module.
   */
  readonly screen?: (d: RetrievedDocument) => RetrievedDocument | string;
}

export function planCall(input: PlanInput): CallPlan {
  const { flags, active, config } = input;
  if (flags.blocked)
    throw new FirebreakError('forbidden', `blocked by flag ${flags.blocked.by}: ${flags.blocked.reason}`);
  const spec = active?.release.spec;

  // Retrieval: the release's source allow-list, then `retrieval:<source>` kill switches.
  const kept: RetrievedDocument[] = [];
  const dropped: { id: string; source: string; reason: string }[] = [];
  for (const d of input.retrieved) {
    if (flags.disabledSources.has(d.source))
      dropped.push({ id: d.id, source: d.source, reason: `flag retrieval:${d.source} off` });
    else if (spec && spec.retrieval.sources.length > 0 && !spec.retrieval.sources.includes(d.source))
      dropped.push({ id: d.id, source: d.source, reason: `source not in the release's retrieval scope` });
    else if (spec && sensitivityOf(d) > SENSITIVITY.indexOf(spec.retrieval.maxSensitivity))
      dropped.push({
        id: d.id,
        source: d.source,
        reason: `labelled above the release's maximum sensitivity (${spec.retrieval.maxSensitivity})`,
      });
    else {
      const screened = input.screen ? input.screen(d) : d;
      if (typeof screened === 'string') dropped.push({ id: d.id, source: d.source, reason: screened });
      else kept.push(screened);
    }
  }

  // Tools: kill switches always; the release's catalogue when one is deployed.
  const catalogue = spec ? new Map(releaseTools(spec).map((t) => [t.name, t])) : undefined;
  const removedTools: { name: string; reason: string }[] = [];
  const tools = input.request.tools?.filter((t) => {
    if (flags.disabledTools.has(t.name))
      removedTools.push({ name: t.name, reason: `flag tool:${t.name} off` });
    else if (catalogue && !catalogue.has(t.name) && spec?.toolPolicy.unknownTools === 'deny')
      removedTools.push({ name: t.name, reason: 'not in the release tool catalogue' });
    else return true;
    return false;
  });

  // Models: the release's model and fallbacks (else the client's), then the known-good release's model.
  const wanted = spec ? [spec.model.name, ...spec.model.fallbacks] : [input.request.model];
  if (input.knownGood) wanted.push(input.knownGood.spec.model.name);
  const models = [...new Set(wanted)].filter((m) => !flags.disabledModelFamilies.has(modelFamily(config, m)));
  // handoff and retrieval-only answer without a model, so switched-off models do not stop them.
  const needsModel = flags.safeMode !== 'handoff' && flags.safeMode !== 'retrieval-only';
  if (models.length === 0 && needsModel)
    throw new FirebreakError(
      'unavailable',
      `every model for app "${input.app}" is switched off by flags (${[...flags.disabledModelFamilies].map((f) => `model:${f}`).join(', ')}) and no fallback is left`,
    );

  // A planted canary goes after the release's prompt and after each document in the prompt: whichever
  // a model copies out, the canary comes with it (the output and tool-argument guards look for it).
  const canary = active?.release.canary;
  const marker = canary === undefined ? undefined : plantedMarker(canary);
  const messages: ChatMessage[] = [];
  if (spec?.prompt.system !== undefined)
    messages.push({
      role: 'system',
      content: marker === undefined ? spec.prompt.system : `${spec.prompt.system}\n\n${marker}`,
    });
  if (spec?.retrieval.useInPrompt && kept.length > 0)
    messages.push({
      role: 'system',
      content: `Retrieved documents:\n${kept
        .map((d) => `[${d.source}:${d.id}] ${d.text}${marker === undefined ? '' : ` ${marker}`}`)
        .join('\n')}`,
    });
  messages.push(...input.request.messages);

  const params = spec?.model.params ?? {};
  // An empty tools list (or a tool_choice with no tools) is an error upstream: drop both then.
  const { tools: _offered, toolChoice, ...base } = input.request;
  const request: ChatRequest = withFields(base, {
    messages,
    ...(tools !== undefined && tools.length > 0 ? { tools } : {}),
    ...(toolChoice !== undefined &&
    tools?.some((t) => typeof toolChoice === 'string' || t.name === toolChoice.name)
      ? { toolChoice }
      : {}),
    ...(params.temperature !== undefined ? { temperature: params.temperature } : {}),
    ...(params.top_p !== undefined ? { topP: params.top_p } : {}),
    ...(params.max_tokens !== undefined ? { maxTokens: params.max_tokens } : {}),
  });

  return {
    release: active ? releaseName(active.release.app, active.release.version) : `${input.app}@0`,
    deployment: active?.deploymentId ?? null,
    safeMode: flags.safeMode,
    safeModeFlag: flags.safeModeFlag,
    safeModeSpec: spec?.safeMode ?? defaultSafeMode,
    models,
    request,
    removedTools,
    disabledTools: flags.disabledTools,
    kept,
    dropped,
  };
}

/** Which returned tool calls to block, and why: kill switches, or every tool while in limited safe mode. */
export interface ToolBlock {
  readonly blocks: (name: string) => boolean;
  readonly why: (name: string) => string;
}

export function toolBlockOf(plan: Pick<CallPlan, 'disabledTools' | 'safeMode'>): ToolBlock | undefined {
  if (plan.safeMode === 'limited')
    return { blocks: () => true, why: () => 'tools are off in limited safe mode' };
  if (plan.disabledTools.size === 0) return undefined;
  return {
    blocks: (n) => plan.disabledTools.has(n),
    why: (n) => `the tool is switched off (flag tool:${n})`,
  };
}
