import type { FastifyBaseLogger } from 'fastify';
import type { FirebreakConfig } from '../core/config.js';
import type { CredentialIndex } from '../auth/credential-index.js';
import type { ControlState } from './control-state.js';
import type { ModelRouter } from './model-router.js';
import type { TraceRecorder } from './recorder.js';
import type { GuardSets } from './call-guards.js';
import type { ToolPolicyGate } from './tool-policy.js';
import type { SignalOutbox } from './signal-outbox.js';
import type { IdentityDirectory } from './identity-directory.js';

/** What the gateway routes need, built once by buildApp. */
export interface GatewayContext {
  readonly config: FirebreakConfig;
  readonly router: ModelRouter;
  readonly credentials: CredentialIndex;
  readonly recorder: TraceRecorder;
  readonly control: ControlState;
  /** The clock flags and safe modes are judged by (injected in tests). */
  readonly now: () => number;
  readonly log: FastifyBaseLogger;
  /** Compiled guard sets per release. */
  readonly guardSets: GuardSets;
  /**
   * The tool-call policy (tool-policy.ts; the pipeline uses it as a ToolPolicyPort, /v1/tools/authorize
   * calls `decide`); absent: calls the other rules let through are allowed.
   */
  readonly toolPolicy?: ToolPolicyGate;
  /** Findings that a detection rule could act on go here, to be persisted off the request path. */
  readonly signals?: SignalOutbox;
  /** Each app's users and tenants seen so far, for the cross-user check (identity-directory.ts). */
  readonly identities?: IdentityDirectory;
}
