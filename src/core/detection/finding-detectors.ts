import { defaultDetectors } from '../guards/detectors/index.js';
import { TOOL_POLICY_DETECTOR } from '../policy/policy-failure.js';

/**
 * Every detector id a finding can carry: the guards' detectors, and `tool-policy` for a tool-call
 * policy that could not decide (core/policy/policy-failure.ts). Detection rules and blast-radius
 * filters are checked against this list, so a typo fails loudly while every real finding can be named.
 */
const ids: string[] = [...defaultDetectors.map((d) => d.id), TOOL_POLICY_DETECTOR];
export const findingDetectorIds = ids as [string, ...string[]];
