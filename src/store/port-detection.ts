// Detection's counted signals, interval counts and anomaly state (the store port: port.ts).

/** A signal kept towards a rule's `minSignals` (detection_signals): enough to put it on a timeline later. */
export interface CountedSignal {
  readonly dedupKey: string;
  readonly fingerprint: string;
  readonly rule: string;
  readonly app: string;
  readonly source: string;
  readonly summary: string;
  readonly traceId: string | null;
  readonly observedAt: number;
  /** When the signal was received: windows are measured on it. */
  readonly at: number;
  /** When its window ends; the row is pruned after that. */
  readonly expiresAt: number;
  /** The incident it went to; null while it only counts. */
  readonly incident: string | null;
}

/** One app's traces in one interval, per env and release (the anomaly detector's input). */
export interface IntervalCounts {
  readonly env: string;
  readonly release: string;
  readonly requests: number;
  /** Calls with at least one guard finding (a `class` mark). */
  readonly findings: number;
  readonly blocked: number;
  readonly errors: number;
  /** Calls answered in safe mode (status `safe_mode`). */
  readonly safeMode: number;
  /** Prompt plus completion tokens; null unless asked for (it reads the trace rows). */
  readonly tokens: number | null;
}

/** The anomaly detector's state of one series (app, env, release, metric). */
export interface AnomalySeries {
  readonly app: string;
  readonly env: string;
  readonly release: string;
  readonly metric: string;
  /** JSON-safe state (core/detection/anomaly.ts AnomalyState). */
  readonly state: unknown;
  readonly lastAt: number;
}

/** Detection's durable memory (issue 5 items 1–2), shared by every control replica. */
export interface DetectionStore {
  /**
   * Keeps `s` under its key (a fingerprint already kept there is left as it was: a replay counts once),
   * drops every row whose window ended at or before `now`, and returns the key's rows received after
   * `since` that went to no incident yet, oldest first (`s` included unless it already went to one).
   */
  countSignal(s: Omit<CountedSignal, 'incident'>, since: number, now: number): Promise<CountedSignal[]>;
  /** Marks these signals of the key as gone to `incident` (those already marked keep theirs). */
  markCounted(dedupKey: string, fingerprints: readonly string[], incident: string): Promise<void>;
  /** Counts of one app's calls with `since <= ts < until`, per env and release that had any. */
  intervalCounts(q: {
    readonly app: string;
    readonly since: number;
    readonly until: number;
    readonly tokens: boolean;
  }): Promise<IntervalCounts[]>;
  anomalySeries(app: string): Promise<AnomalySeries[]>;
  /** Writes the series' state unless a state for the same or a later interval is already there. */
  saveAnomalySeries(s: AnomalySeries, now: number): Promise<void>;
}
