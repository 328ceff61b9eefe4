import type { Detector } from '../types.js';
import { exfiltration } from './exfiltration.js';
import { indirectInjection, jailbreak, promptInjection } from './injection.js';
import { unicode } from './unicode.js';

/** The security class (product.md §3): attacks on the model's instructions and on the data it holds. */
export const securityDetectors: readonly Detector[] = [
  promptInjection,
  jailbreak,
  indirectInjection,
  exfiltration,
  unicode,
];
