import type { GuardSettings } from '../types.js';

/** Caches one compiled value per settings object (settings are parsed once per release and never mutated). */
export function perSettings<T>(build: (settings: GuardSettings) => T): (settings: GuardSettings) => T {
  const cache = new WeakMap<GuardSettings, T>();
  return (settings) => {
    let value = cache.get(settings);
    if (value === undefined) {
      value = build(settings);
      cache.set(settings, value);
    }
    return value;
  };
}
