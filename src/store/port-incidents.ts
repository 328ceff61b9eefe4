import type { Flag } from '../core/flags.js';
import type { ComplianceFlags } from '../core/incidents/compliance-clocks.js';
import type { Incident, IncidentClass, IncidentStatus, Severity } from '../core/incidents/incident.js';
import type { TimelineEvent } from '../core/incidents/timeline.js';

// Incidents, their timelines and containment (the store port: port.ts).

/** The compliance clocks an incident runs (opt-in): which flags, and since when the responder was aware. */
export interface IncidentCompliance {
  readonly flags: ComplianceFlags;
  readonly awareAt: number;
  readonly setBy: string;
  readonly setAt: number;
}

/** The core's Incident plus what the store keeps beside it. */
export interface IncidentRecord extends Incident {
  readonly compliance: IncidentCompliance | null;
  /** Signals with this key (within a window) update this incident rather than open another. */
  readonly dedupKey: string | null;
  readonly openedBy: string;
  readonly updatedAt: number;
}

/** A timeline event with its place in the incident's append order. */
export interface TimelineEntry {
  readonly seq: number;
  readonly event: TimelineEvent;
}

/** A flag a containment action set, and the flag at the same key and scope it replaced (to restore). */
export interface ContainmentFlagEffect {
  readonly id: string;
  readonly key: string;
  readonly value: string;
  readonly app: string;
  readonly env: string | null;
  readonly tenant: string | null;
  readonly user: string | null;
  readonly replaced: Flag | null;
}

/** A deployment a containment action made, and the one it replaced (to return to). */
export interface ContainmentDeploymentEffect {
  readonly id: string;
  readonly app: string;
  readonly env: string;
  readonly version: number;
  readonly previous: { readonly id: string; readonly version: number } | null;
}

export interface ContainmentEffects {
  readonly flags: readonly ContainmentFlagEffect[];
  readonly deployment: ContainmentDeploymentEffect | null;
}

/** A containment action executed for an incident: what it did, and whether it has been reverted. */
export interface ContainmentRecord {
  readonly ref: string;
  readonly incident: string;
  readonly action: string;
  readonly effects: ContainmentEffects;
  readonly appliedAt: number;
  readonly appliedBy: string;
  readonly revertedAt: number | null;
  readonly revertedBy: string | null;
}

export interface IncidentFilter {
  readonly status?: IncidentStatus | undefined;
  readonly app?: string | undefined;
  readonly env?: string | undefined;
  readonly severity?: Severity | undefined;
  readonly class?: IncidentClass | undefined;
  /** Detected at or after / before (epoch ms). */
  readonly since?: number | undefined;
  readonly until?: number | undefined;
}

export interface IncidentTx {
  get(id: string): Promise<IncidentRecord | undefined>;
  /** The highest INC number so far (0 when none); the lock of the change makes max + 1 safe. */
  lastNumber(): Promise<number>;
  insert(incident: IncidentRecord): Promise<void>;
  update(incident: IncidentRecord): Promise<void>;
  /** Appends after the incident's last event, in the order given. */
  append(id: string, events: readonly TimelineEvent[]): Promise<void>;
  timeline(id: string): Promise<TimelineEntry[]>;
  /** The newest incident with this dedup key detected at or after `since` that is not resolved or closed. */
  openByDedupKey(key: string, since: number): Promise<IncidentRecord | undefined>;
  containment(ref: string): Promise<ContainmentRecord | undefined>;
  /** Every containment action applied to the incident, reverted ones included, oldest first. */
  containmentOf(id: string): Promise<ContainmentRecord[]>;
  insertContainment(c: ContainmentRecord): Promise<void>;
  markReverted(ref: string, by: string, at: number): Promise<void>;
  /** After a revert restored a flag this action had set: the action now owns the restored flag. */
  updateEffects(ref: string, effects: ContainmentEffects): Promise<void>;
}

/** Incident reads outside a change; every write goes through ControlTx.incidents. */
export interface IncidentStore {
  /** The incident, its timeline (append order) and every containment action ever applied, in one read. */
  get(id: string): Promise<
    | {
        incident: IncidentRecord;
        timeline: TimelineEntry[];
        containment: ContainmentRecord[];
      }
    | undefined
  >;
  /** Newest first; `before`: only incidents numbered below it (the cursor). */
  list(filter: IncidentFilter & { before?: number | undefined; limit: number }): Promise<IncidentRecord[]>;
  /** Incidents and their timelines, for aggregate metrics. */
  histories(filter: IncidentFilter): Promise<{ incident: IncidentRecord; timeline: TimelineEvent[] }[]>;
}
