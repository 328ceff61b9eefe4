import type { Detector } from '../types.js';

export const contentDetectors: readonly Detector[] = [];
