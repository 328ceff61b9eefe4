// Durable timers and the channel deliveries they send (the store port: port.ts).

/**
 * Durable timers (issue 5 item 10). `cancelled` is kept rather than deleted so "what stopped this
 * escalation, when" stays answerable.
 */
export type TimerStatus = 'pending' | 'running' | 'done' | 'failed' | 'cancelled';

export interface Timer {
  readonly id: string;
  readonly kind: string;
  readonly key: string;
  readonly dueAt: number;
  readonly payload: unknown;
  readonly status: TimerStatus;
  /** Runs started; a run taken over after its replica died counts too. */
  readonly attempts: number;
  readonly leaseOwner: string | null;
  readonly leaseUntil: number | null;
  readonly lastError: string | null;
  readonly firstRunAt: number | null;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface NewTimer {
  readonly kind: string;
  /** Idempotency key: scheduling the same key again moves the same timer. */
  readonly key: string;
  readonly dueAt: number;
  readonly payload: unknown;
}

/** What a run ends in. `pending` puts the timer back to run again at `dueAt` (a retry). */
export type TimerFinish =
  | { readonly status: 'done' }
  | { readonly status: 'pending'; readonly dueAt: number; readonly error: string }
  /** Put off, not failed: pending again at `dueAt`, the run not counted as an attempt, `lastError` kept. */
  | { readonly status: 'later'; readonly dueAt: number }
  | { readonly status: 'failed'; readonly error: string };

/** The claim a run holds: its owner and the attempt it was claimed as (a later claim fences it off). */
export interface TimerLease {
  readonly owner: string;
  readonly attempts: number;
  /**
   * The due time the run was claimed at. A timer scheduled again while it ran (moved to another time)
   * ends pending at that time whatever the run's outcome: the newer schedule wins.
   */
  readonly dueAt: number;
}

export interface ScheduleOptions {
  /**
   * Revive a done timer too. For timers that stand for a state rather than a one-shot event (an
   * incident's "next update due" reminder), which fire, end, and are armed again when the state returns.
   */
  readonly rearm?: boolean;
}

export interface TimerStore {
  /**
   * Creates the timer, or moves the one with this key: due time and payload are replaced and a failed or
   * cancelled timer is pending again (attempts reset); a done timer is left as it is, and a running one
   * keeps running (its run ends it). Returns the row as it stands.
   */
  schedule(t: NewTimer, now: number, options?: ScheduleOptions): Promise<Timer>;
  /** Cancels a pending or running timer; false when there is none (unknown, done, failed, cancelled). */
  cancel(key: string, now: number): Promise<boolean>;
  get(key: string): Promise<Timer | undefined>;
  /** Newest due first. */
  list(filter: { kind?: string; status?: TimerStatus; limit: number }): Promise<Timer[]>;
  /**
   * Atomically takes up to `limit` timers of these kinds that are due (pending with `dueAt <= now`, or
   * running with an expired lease): each becomes running under `owner` until `now + leaseMs`, attempts + 1.
   * Replicas claiming at once get disjoint sets.
   */
  claim(c: {
    owner: string;
    kinds: readonly string[];
    now: number;
    leaseMs: number;
    limit: number;
  }): Promise<Timer[]>;
  /** Ends a run; false (nothing written) when the lease was lost (taken over, or cancelled meanwhile). */
  finish(id: string, lease: TimerLease, outcome: TimerFinish, now: number): Promise<boolean>;
  /**
   * Deletes up to `limit` timers in one of `statuses` that last changed before `before`
   * (finished timers no one needs any more); returns how many.
   */
  prune(p: { statuses: readonly TimerStatus[]; before: number; limit: number }): Promise<number>;
}

/** Channel deliveries (issue 5 item 8): an outbox row per message, sent by a `delivery` timer. */
export type DeliveryStatus = 'pending' | 'sent' | 'failed';
export type ChannelType = 'webhook' | 'slack' | 'pagerduty';
export type DeliveryKind = 'trigger' | 'acknowledge' | 'resolve' | 'update';

export interface DeliveryAttempt {
  /** 1-based. */
  readonly attempt: number;
  readonly at: number;
  readonly durationMs: number;
  /** Null when no response came (network error, timeout). */
  readonly httpStatus: number | null;
  readonly outcome: 'sent' | 'retry' | 'failed';
  readonly error: string | null;
  readonly nextAttemptAt: number | null;
}

export interface Delivery {
  readonly id: string;
  readonly channel: string;
  readonly channelType: ChannelType;
  readonly incident: string | null;
  readonly kind: DeliveryKind;
  readonly payload: unknown;
  readonly status: DeliveryStatus;
  readonly attempts: number;
  readonly nextAttemptAt: number | null;
  readonly lastStatus: number | null;
  readonly lastError: string | null;
  readonly firstAttemptAt: number | null;
  readonly createdAt: number;
  readonly sentAt: number | null;
}

export type NewDelivery = Pick<
  Delivery,
  'id' | 'channel' | 'channelType' | 'incident' | 'kind' | 'payload' | 'createdAt'
>;

export interface DeliveryStore {
  /** Writes the delivery and the `delivery` timer that sends it (due now), in one transaction. */
  enqueue(d: NewDelivery): Promise<Delivery>;
  get(id: string): Promise<Delivery | undefined>;
  /** Newest first. */
  list(filter: {
    incident?: string;
    channel?: string;
    status?: DeliveryStatus;
    limit: number;
  }): Promise<Delivery[]>;
  /**
   * The oldest delivery still pending to the same channel about the same incident that was enqueued
   * before `d` (ids sort in enqueue order): messages about one incident go out in order, so a PagerDuty
   * acknowledge never overtakes the trigger it follows while that is being retried.
   */
  pendingBefore(d: Pick<Delivery, 'id' | 'channel' | 'incident'>): Promise<Delivery | undefined>;
  /** The attempts of these deliveries, by delivery id, oldest first. */
  attempts(ids: readonly string[]): Promise<Map<string, DeliveryAttempt[]>>;
  /**
   * Records one attempt and its effect on the delivery (sent, failed, or pending until `nextAttemptAt`),
   * in one transaction; false (nothing written) when this attempt was already recorded or the delivery
   * is no longer pending (another replica got there first).
   */
  recordAttempt(id: string, a: DeliveryAttempt): Promise<boolean>;
}
