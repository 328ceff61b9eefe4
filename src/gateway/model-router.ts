import type { FirebreakConfig } from '../core/config.js';
import { FirebreakError } from '../core/errors.js';
import type { Provider } from '../providers/provider.js';

export interface Route {
  /** The name the client used (echoed back in responses). */
  readonly name: string;
  readonly provider: Provider;
  /** The upstream's name for the model. */
  readonly upstreamModel: string;
}

/**
 * Resolves the client's `model` to a provider and upstream model: a name from firebreak.yaml `models`,
 * a `provider/model` pair, or a model a simulator declares. Apps may restrict which models they use.
 */
export class ModelRouter {
  private readonly byName = new Map<string, Route>();

  constructor(
    private readonly config: FirebreakConfig,
    private readonly providers: ReadonlyMap<string, Provider>,
  ) {
    for (const provider of providers.values())
      for (const model of provider.knownModels)
        this.byName.set(model, { name: model, provider, upstreamModel: model });
    for (const m of config.models) {
      const provider = providers.get(m.provider);
      if (provider) this.byName.set(m.name, { name: m.name, provider, upstreamModel: m.model ?? m.name });
    }
  }

  resolve(model: string, app: string): Route {
    const allowed = this.config.apps[app]?.models ?? [];
    if (allowed.length > 0 && !allowed.includes(model))
      throw new FirebreakError(
        'model_not_found',
        `model "${model}" is not enabled for app "${app}" (enabled: ${allowed.join(', ')})`,
        {
          path: 'model',
        },
      );
    const route = this.byName.get(model) ?? this.slashRoute(model);
    if (!route)
      throw new FirebreakError(
        'model_not_found',
        `model "${model}" is not configured; available: ${this.names(app).join(', ') || 'none'} (or use "provider/model")`,
        { path: 'model' },
      );
    return route;
  }

  names(app: string): string[] {
    const allowed = this.config.apps[app]?.models ?? [];
    const all = [...this.byName.keys()];
    return allowed.length > 0 ? all.filter((n) => allowed.includes(n)) : all;
  }

  private slashRoute(model: string): Route | undefined {
    const slash = model.indexOf('/');
    if (slash <= 0) return undefined;
    const provider = this.providers.get(model.slice(0, slash));
    return provider && { name: model, provider, upstreamModel: model.slice(slash + 1) };
  }
}
