/**
 * Integrity (OWASP LLM09, misinformation): answers that cite documents nobody retrieved, state values
 * that contradict the release's source of truth, or have little lexical support in what was retrieved.
 * All three judge the answer (stage output) and only log by default: they are signals for review, not
 * proof, and a release raises them to `block` once it trusts them.
 *
 * This module only gathers them: each detector lives in its own file (citation.ts, facts.ts,
 * support.ts) and is re-exported here, with its public helpers, for existing importers.
 */

import { citation } from './citation.js';
import { facts } from './facts.js';
import { support } from './support.js';
import type { Detector } from '../types.js';

export { citation } from './citation.js';
export { facts, factPatternProblem } from './facts.js';
export { support, lexicalSupport } from './support.js';

export const integrityDetectors: readonly Detector[] = [citation, facts, support];
