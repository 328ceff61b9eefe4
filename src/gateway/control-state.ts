import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Flag } from '../core/flags.js';
import type { Release } from '../core/release.js';
import type { ControlSnapshot, ControlStore, DeploymentRecord } from '../store/port.js';

/** What this replica enforces for one app/environment. */
export interface ActiveRelease {
  readonly release: Release;
  readonly deployment: DeploymentRecord;
}

export interface Enforced {
  readonly version: number;
  readonly releases: ReadonlyMap<string, ActiveRelease>;
  readonly knownGood: ReadonlyMap<string, Release>;
  readonly flags: readonly Flag[];
}

export interface ControlStateStats {
  readonly version: number;
  readonly loadedAt: number | null;
  /** When the store last answered; while it does not, the replica keeps enforcing what it has (fail static). */
  readonly lastContact: number | null;
  readonly storeReachable: boolean;
  readonly lastError: string | null;
}

interface Log {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

const key = (app: string, env: string) => `${app}/${env}`;

function index(s: ControlSnapshot): Enforced {
  const byVersion = new Map(s.releases.map((r) => [`${r.app}@${r.version}`, r]));
  const releases = new Map<string, ActiveRelease>();
  for (const d of s.deployments) {
    const release = byVersion.get(`${d.app}@${d.version}`);
    if (release) releases.set(key(d.app, d.env), { release, deployment: d });
  }
  const knownGood = new Map<string, Release>();
  for (const k of s.knownGood) {
    const release = byVersion.get(`${k.app}@${k.version}`);
    if (release) knownGood.set(key(k.app, k.env), release);
  }
  return { version: s.version, releases, knownGood, flags: s.flags };
}

/**
 * The release and flag state this replica enforces, held in memory so the request path never waits for
 * the database. Changes arrive by push (LISTEN/NOTIFY or in-process) and a periodic reconcile re-reads
 * the state version as a safety net; each tick also records a heartbeat (GET /api/replicas).
 */
export class ControlState {
  readonly replicaId: string;
  private enforced: Enforced = { version: -1, releases: new Map(), knownGood: new Map(), flags: [] };
  private loadedAt: number | null = null;
  private lastContact: number | null = null;
  private lastError: string | null = null;
  private refreshing: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private readonly startedAt: number;

  constructor(
    private readonly store: ControlStore,
    private readonly options: { role: string; reconcileIntervalMs: number; now: () => number },
    private readonly log: Log,
  ) {
    this.startedAt = options.now();
    // The random part keeps ids apart for several instances in one process started in the same
    // millisecond, or sharing an injected clock (tests): otherwise they would share one heartbeat row.
    this.replicaId = `${hostname()}:${process.pid}:${this.startedAt.toString(36)}:${randomBytes(3).toString('hex')}`;
  }

  current(): Enforced {
    return this.enforced;
  }

  stats(): ControlStateStats {
    return {
      version: this.enforced.version,
      loadedAt: this.loadedAt,
      lastContact: this.lastContact,
      storeReachable: this.lastError === null,
      lastError: this.lastError,
    };
  }

  /** Loads the state once (start fails if the store cannot be read at all), then follows changes. */
  async start(): Promise<void> {
    await this.refresh(true);
    this.unsubscribe = this.store.subscribe((version) => {
      if (version > this.enforced.version) void this.refresh();
    });
    this.tick();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.unsubscribe?.();
  }

  /** Re-reads the state; concurrent calls coalesce into one more read after the current one. */
  refresh(throwOnError = false): Promise<void> {
    if (this.refreshing) {
      this.again = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      for (let more = true; more; more = this.takeAgain()) {
        try {
          const snapshot = await this.store.snapshot();
          this.contact();
          if (snapshot.version !== this.enforced.version) {
            this.enforced = index(snapshot);
            this.loadedAt = this.options.now();
          }
        } catch (error) {
          this.lost(error);
          if (throwOnError) throw error;
        }
      }
    })().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private takeAgain(): boolean {
    const again = this.again;
    this.again = false;
    return again;
  }

  private tick(): void {
    this.timer = setTimeout(() => {
      void this.reconcile().finally(() => this.tick());
    }, this.options.reconcileIntervalMs);
    this.timer.unref();
  }

  private async reconcile(): Promise<void> {
    try {
      const version = await this.store.version();
      this.contact();
      if (version !== this.enforced.version) await this.refresh();
      await this.store.heartbeat({
        id: this.replicaId,
        role: this.options.role,
        stateVersion: this.enforced.version,
        startedAt: this.startedAt,
        seenAt: this.options.now(),
        host: hostname(),
        pid: process.pid,
      });
    } catch (error) {
      this.lost(error);
    }
  }

  private contact(): void {
    if (this.lastError !== null)
      this.log.info({ version: this.enforced.version }, 'control state: store reachable again');
    this.lastError = null;
    this.lastContact = this.options.now();
  }

  private lost(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    if (this.lastError === null)
      this.log.warn(
        { err: message, version: this.enforced.version },
        'control state: store unreachable, enforcing the last known state',
      );
    this.lastError = message;
  }
}
