import type { FirebreakConfig } from '../core/config.js';
import { anthropicProvider } from './anthropic.js';
import { openAiCompatibleProvider } from './openai-compatible.js';
import type { Provider } from './provider.js';
import { simulatorProvider } from './simulator.js';

export function buildProviders(config: FirebreakConfig): Map<string, Provider> {
  const out = new Map<string, Provider>();
  for (const [name, p] of Object.entries(config.providers)) {
    switch (p.type) {
      case 'openai-compatible':
        out.set(name, openAiCompatibleProvider(name, p));
        break;
      case 'anthropic':
        out.set(name, anthropicProvider(name, p));
        break;
      case 'simulator':
        out.set(name, simulatorProvider(name, p));
        break;
    }
  }
  return out;
}
