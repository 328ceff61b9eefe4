import type { Detector } from '../types.js';
import { brand } from './brand.js';
import { complianceDetectors } from './compliance.js';
import { integrityDetectors } from './integrity.js';
import { toxicity } from './toxicity.js';

/** The content detectors: integrity (citation, facts, support), compliance, and reputation. */
export const contentDetectors: readonly Detector[] = [
  ...integrityDetectors,
  ...complianceDetectors,
  toxicity,
  brand,
];
