import { defaultDetectors } from '../guards/detectors/index.js';
import { TAINTED_CALL_DETECTOR, TOOL_POLICY_DETECTOR } from '../policy/policy-failure.js';

/**
 * Every detector id a finding can carry: the guards' detectors, `tool-policy` for a tool-call policy
 * that could not decide and `tainted-tool-call` for one that denied a call after untrusted content came
 * in (core/policy/policy-failure.ts). Detection rules and blast-radius
 * filters are checked against this list, so a typo fails loudly while every real finding can be named.
 */
const ids: string[] = [...defaultDetectors.map((d) => d.id), TOOL_POLICY_DETECTOR, TAINTED_CALL_DETECTOR];
export const findingDetectorIds = ids as [string, ...string[]];
