import type { Detector } from '../types.js';

export const privacyDetectors: readonly Detector[] = [];
