import type { Detector } from '../types.js';

export const securityDetectors: readonly Detector[] = [];
