import type { Detector } from '../types.js';
import { canary } from './canary.js';
import { contentDetectors } from './content.js';
import { privacyDetectors } from './privacy.js';
import { securityDetectors } from './security.js';

/** Every detector Firebreak ships, on by default with its own settings; a release tunes or disables them. */
export const defaultDetectors: readonly Detector[] = [
  ...securityDetectors,
  canary,
  ...privacyDetectors,
  ...contentDetectors,
];
