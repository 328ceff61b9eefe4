import type { FirebreakConfig } from '../core/config.js';
import type { Store } from '../store/port.js';

/** What every operation gets: configuration, the store and an injectable clock (tests never sleep). */
export interface OpsContext {
  readonly config: FirebreakConfig;
  readonly store: Store;
  readonly now: () => number;
}
