import { promptInjection } from '../../src/core/guards/detectors/injection.js';
import { defaultGuardSettings } from '../../src/core/guards/guard-settings.js';
import type { Detection, GuardContext } from '../../src/core/guards/types.js';

/** An input-stage guard context with this system prompt (or none) and the default settings. */
export function withSystem(system: string | undefined): GuardContext {
  return {
    stage: 'input',
    settings: defaultGuardSettings,
    ...(system !== undefined ? { system } : {}),
    canaries: [],
    retrieved: [],
    ownIdentifiers: [],
  };
}

/** What prompt-injection's rules found (the classifier's own score is tested elsewhere and left out). */
export const kindsOf = (text: string, system: string | undefined): (string | undefined)[] =>
  promptInjection
    .detect(text, withSystem(system))
    .filter((d: Detection) => d.score >= promptInjection.defaultThreshold && d.kind !== 'classifier')
    .map((d) => d.kind);

/**
 * kindsOf without the rule judge's finding: for the few honest fixtures the judge (a trained model, whose
 * false alarms are measured on held-out messages in bench/README.md, not pinned per text) logs, where the
 * test is about the hand-written rules.
 */
export const ruleKindsOf = (text: string, system: string | undefined): (string | undefined)[] =>
  kindsOf(text, system).filter((k) => k !== 'rule_judge');
