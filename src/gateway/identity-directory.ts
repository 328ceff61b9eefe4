import { identifierLike } from '../core/guards/detectors/cross-user.js';
import type { KnownIdentities } from '../core/guards/types.js';

/** Per app: the most recently seen ids kept, the oldest forgotten first (a bound on a replica's memory). */
const MAX_PER_APP = 100_000;

interface AppIdentities {
  /** User id → tenant id; insertion order is recency (an id seen again is moved to the end). */
  readonly users: Map<string, string | null>;
  readonly tenants: Set<string>;
}

/**
 * The users and tenants of each app that this replica knows of, for the cross-user check ("identifiers
 * that belong to another user of the same app"). It learns them from the calls it serves and from the
 * store's traces, which it reads at start and then every minute (so what another replica served, and
 * what was seen before a restart, counts too). In memory, bounded per app; ids that could be ordinary
 * words are not kept (`identifierLike`).
 */
export class IdentityDirectory {
  private readonly apps = new Map<string, AppIdentities>();

  /** The app's users and tenants as the guards read them (live: later calls add to it). */
  of(app: string): KnownIdentities | undefined {
    return this.apps.get(app);
  }

  note(app: string, userId: string | null, tenantId: string | null): void {
    if (userId === null && tenantId === null) return;
    let a = this.apps.get(app);
    if (!a) {
      a = { users: new Map(), tenants: new Set() };
      this.apps.set(app, a);
    }
    const tenant = tenantId !== null && identifierLike(tenantId) ? tenantId.toLowerCase() : null;
    if (tenant !== null) {
      // Delete and add again: a Set keeps insertion order, so the first one is the least recently seen.
      a.tenants.delete(tenant);
      a.tenants.add(tenant);
      if (a.tenants.size > MAX_PER_APP) a.tenants.delete(a.tenants.values().next().value ?? '');
    }
    if (userId !== null && identifierLike(userId)) {
      const user = userId.toLowerCase();
      a.users.delete(user);
      a.users.set(user, tenant);
      if (a.users.size > MAX_PER_APP) a.users.delete(a.users.keys().next().value ?? '');
    }
  }

  /** Adds what the store holds (latest first: the most recent are kept when an app has more than the bound). */
  load(rows: readonly SeenIdentity[]): void {
    for (let i = rows.length - 1; i >= 0; i--) {
      const r = rows[i];
      if (r) this.note(r.app, r.userId, r.tenantId);
    }
  }
}

/** One (app, user, tenant) the store has seen calls from (the trace store's `recentIdentities`). */
interface SeenIdentity {
  readonly app: string;
  readonly userId: string;
  readonly tenantId: string | null;
}

interface IdentitySource {
  recentIdentities(since: number, limit: number): Promise<readonly SeenIdentity[]>;
}

/** How far back the first read goes, how often it reads again, and how many rows one read takes. */
const FIRST_LOOKBACK_MS = 30 * 24 * 3600 * 1000;
const REFRESH_MS = 60_000;
const READ_LIMIT = 200_000;

/**
 * Reads the store's recent callers into the directory now and every minute after (each read from a
 * little before the previous one). A failed read is logged and tried again at the next tick: the
 * directory only sharpens a check, so the gateway never waits for it. Returns the stop function.
 */
export function startIdentityRefresh(
  directory: IdentityDirectory,
  source: IdentitySource,
  now: () => number,
  log: { warn(obj: object, msg: string): void },
): () => void {
  let since = now() - FIRST_LOOKBACK_MS;
  let running = false;
  const read = async () => {
    if (running) return;
    running = true;
    const at = now();
    try {
      directory.load(await source.recentIdentities(since, READ_LIMIT));
      // Overlap by a refresh period: traces are written in batches, a little after their timestamp.
      since = at - REFRESH_MS;
    } catch (error) {
      log.warn(
        { err: error instanceof Error ? error.message : String(error) },
        'could not read recent callers',
      );
    } finally {
      running = false;
    }
  };
  void read();
  const timer = setInterval(() => void read(), REFRESH_MS);
  timer.unref();
  return () => clearInterval(timer);
}
