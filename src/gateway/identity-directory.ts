import { identifierLike } from '../core/guards/detectors/cross-user.js';
import type { KnownIdentities } from '../core/guards/types.js';
import type { RecentIdentity, TraceStore } from '../store/port.js';

/** Per app: the most recently seen ids kept, the oldest forgotten first (a bound on a replica's memory). */
const MAX_PER_APP = 100_000;

interface AppIdentities {
  /** User id → tenant id; insertion order is recency (an id seen again is moved to the end). */
  readonly users: Map<string, string | null>;
  readonly tenants: Map<string, true>;
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
      a = { users: new Map(), tenants: new Map() };
      this.apps.set(app, a);
    }
    const tenant = tenantId !== null && identifierLike(tenantId) ? tenantId.toLowerCase() : null;
    if (tenant !== null) latest(a.tenants, tenant, true);
    if (userId !== null && identifierLike(userId)) latest(a.users, userId.toLowerCase(), tenant);
  }

  /** Adds what the store holds (latest first: the most recent are kept when an app has more than the bound). */
  load(rows: readonly RecentIdentity[]): void {
    for (let i = rows.length - 1; i >= 0; i--) {
      const r = rows[i];
      if (r) this.note(r.app, r.userId, r.tenantId);
    }
  }
}

/** Sets `key` as the most recently seen (a Map keeps insertion order) and forgets the oldest past the bound. */
function latest<V>(m: Map<string, V>, key: string, value: V): void {
  m.delete(key);
  m.set(key, value);
  if (m.size > MAX_PER_APP) {
    const oldest = m.keys().next();
    if (!oldest.done) m.delete(oldest.value);
  }
}

const DAY_MS = 24 * 3600 * 1000;
/** How far back the first read goes (a day per query), how often it reads again, rows per query. */
const FIRST_LOOKBACK_DAYS = 7;
const REFRESH_MS = 60_000;
const READ_LIMIT = 100_000;

/**
 * Reads the store's recent callers into the directory: the last week at start, a day per query with the
 * event loop free in between (SQLite answers synchronously, and the gateway is already serving), then
 * every minute from a little before the previous read. A failed read is logged and tried again at the
 * next tick: the directory only sharpens a check, so the gateway never waits for it. Returns the stop
 * function; a read under way when it is called ends at its next query.
 */
export function startIdentityRefresh(
  directory: IdentityDirectory,
  source: Pick<TraceStore, 'recentIdentities'>,
  now: () => number,
  log: { warn(obj: object, msg: string): void },
): () => void {
  const start = now();
  let since = start - FIRST_LOOKBACK_DAYS * DAY_MS;
  let running = false;
  let stopped = false;
  // A call, not the variable: a read under way must see a stop made while it awaited.
  const isStopped = (): boolean => stopped;
  const read = async () => {
    if (running || isStopped()) return;
    running = true;
    const until = now();
    try {
      // Oldest day first, so the most recently seen end up last (the last to be forgotten).
      for (let from = since; from < until && !isStopped(); from += DAY_MS) {
        directory.load(await source.recentIdentities(from, Math.min(until, from + DAY_MS), READ_LIMIT));
        await new Promise((resolve) => setImmediate(resolve));
      }
      // Overlap by a refresh period: traces are written in batches, a little after their timestamp.
      since = until - REFRESH_MS;
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
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}
