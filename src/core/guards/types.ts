/**
 * The guard framework's vocabulary (issue 4). Detectors are pure functions from text and context to
 * detections; the engine (engine.ts) applies the release's settings (enabled, threshold, action, stages)
 * and turns detections into findings. Nothing here does I/O, so every detector is tested as a function
 * and `firebreak scan` runs the exact code the gateway runs.
 */
export const stages = ['input', 'retrieved', 'tool_call', 'tool_result', 'output'] as const;
export type Stage = (typeof stages)[number];

/** The incident classes of product.md §3: every finding belongs to exactly one. */
export const incidentClasses = ['integrity', 'security', 'privacy', 'compliance', 'reputation'] as const;
export type IncidentClass = (typeof incidentClasses)[number];

/** What a finding does to the text it was found in, weakest first (the strongest one in force wins). */
export const guardActions = ['log', 'redact', 'block'] as const;
export type GuardAction = (typeof guardActions)[number];

/** OWASP Top 10 for LLM Applications (2025) ids used by the detectors. */
export type OwaspId = 'LLM01' | 'LLM02' | 'LLM05' | 'LLM06' | 'LLM07' | 'LLM09';

export interface Span {
  readonly start: number;
  readonly end: number;
}

/** What a detector reports: no settings applied yet. */
export interface Detection {
  /** A sub-kind within the detector (`email`, `card`, `aws_access_key`…), when it has several. */
  readonly kind?: string;
  /** 0..1; span detectors with a checksum or exact match use 1. Compared with the threshold. */
  readonly score: number;
  /** Where in the text; absent for whole-text scores (a classifier, a support score). */
  readonly span?: Span;
  /** Why, in words, never quoting the sensitive text itself. */
  readonly message: string;
  /**
   * Caps the action whatever the settings say: a detection worth recording but not worth blocking (a
   * tool-call destination when the release wrote no allow-list to judge it by).
   */
  readonly maxAction?: GuardAction;
  /** A detector may raise the severity (a canary leak is always SEV1). */
  readonly severity?: 'SEV1' | 'SEV2' | 'SEV3' | 'SEV4';
}

/** A detection after the release's settings were applied: what is recorded and acted on. */
export interface Finding extends Detection {
  readonly detector: string;
  readonly class: IncidentClass;
  readonly stage: Stage;
  readonly action: GuardAction;
  readonly owasp?: OwaspId;
  /** Where the text came from within the stage: `messages[2]`, `retrieved[kb:doc-9]`, `tool_call[send_email]`. */
  readonly location?: string;
}

/** Everything a detector may look at besides the text. Built once per call by the gateway or scan. */
export interface GuardContext {
  readonly stage: Stage;
  readonly settings: GuardSettings;
  /** The system prompt in force (the release's and the client's), for leak checks. */
  readonly system?: string;
  /** Canary tokens planted for this call (the release's plus any given with the text). */
  readonly canaries: readonly string[];
  /** Documents retrieved for this call (ids and text): citations and support are checked against them. */
  readonly retrieved: readonly { readonly id: string; readonly source: string; readonly text: string }[];
  /** Identifiers of the calling user (user id, e-mail…): the cross-user check skips them. */
  readonly ownIdentifiers: readonly string[];
  /** The caller's tenant, if the call names one (the cross-user check's colleagues). */
  readonly tenant?: string;
  /** The app's users and tenants the gateway knows of: an answer naming another one is a leak. */
  readonly known?: KnownIdentities;
}

/** Users (id → their tenant, if any) and tenants of one app, ids lower-cased (cross-user.ts). */
export interface KnownIdentities {
  readonly users: ReadonlyMap<string, string | null>;
  readonly tenants: { has(id: string): boolean; readonly size: number };
}

export interface Detector {
  readonly id: string;
  readonly class: IncidentClass;
  readonly owasp?: OwaspId;
  /** Stages where the detector runs unless the release says otherwise. */
  readonly stages: readonly Stage[];
  readonly defaultAction: GuardAction;
  /** Default score threshold (a detection fires when score ≥ threshold). */
  readonly defaultThreshold: number;
  /** One line for `firebreak guards list` and docs. */
  readonly description: string;
  detect(text: string, ctx: GuardContext): readonly Detection[];
  /**
   * For streamed output: the index from which the end of `text` could still grow into one of this
   * detector's matches (a trailing run of digits could become a card number), so that much is held back
   * until more text arrives. Absent: the detector never needs text held back (it only scores).
   */
  readonly pendingFrom?: (text: string, ctx: GuardContext) => number;
  /**
   * The detector scores the text as a whole (support: the share of the answer worded from the
   * documents), so a piece of it says nothing. A streamed answer is judged by it once, whole, when the
   * answer ends, not window by window.
   */
  readonly wholeText?: true;
}

/** Whether untrusted content entered a conversation, and what fired on it (the tool-call policy's taint). */
export interface Taint {
  readonly untrusted: boolean;
  readonly sources: readonly ('retrieved' | 'tool_result')[];
  readonly detectors: readonly string[];
}

/** Per-detector settings after defaults were applied. */
export interface DetectorSettings {
  readonly enabled: boolean;
  readonly threshold: number;
  readonly action: GuardAction;
  readonly stages: readonly Stage[];
}

/** The release's guard configuration, parsed and defaulted (guard-settings.ts). */
export interface GuardSettings {
  readonly detectors: Readonly<
    Record<string, { readonly [K in keyof DetectorSettings]?: DetectorSettings[K] | undefined }>
  >;
  readonly canaries: readonly string[];
  readonly exfiltration: {
    readonly allowDomains: readonly string[];
    readonly allowEmails: readonly string[];
  };
  readonly topics: { readonly allowed: readonly string[] };
  readonly prohibited: readonly {
    readonly id: string;
    readonly terms: readonly string[];
    readonly message: string;
  }[];
  readonly brand: { readonly competitors: readonly string[]; readonly bannedClaims: readonly string[] };
  readonly facts: readonly {
    readonly id: string;
    /** A regular expression with one capture group: the value the answer states. */
    readonly pattern: string;
    /** The value the source of truth holds; any other captured value contradicts it. */
    readonly expected: string;
  }[];
  readonly support: { readonly minScore: number };
}
