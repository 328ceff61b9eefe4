import type { Detector } from '../types.js';
import { prohibitedUse } from './prohibited-use.js';
import { regulatedAdvice } from './regulated-advice.js';

/**
 * Compliance (product.md §3): regulated advice an app is not allowed to give (regulated-advice.ts), and
 * uses a release prohibits (prohibited-use.ts). Both run on the user's input and on the answer.
 */
export const complianceDetectors: readonly Detector[] = [regulatedAdvice, prohibitedUse];
