import type { FirebreakConfig, Role } from '../core/config.js';
import type { CredentialStore } from '../store/port.js';
import { hashSecret, sameDigest } from './secrets.js';

export interface GatewayPrincipal {
  readonly app: string;
  readonly env: string;
  readonly name: string;
}

export interface TokenPrincipal {
  readonly name: string;
  readonly role: Role;
  /** Epoch ms after which the token is refused; null: never. */
  readonly expiresAt: number | null;
}

interface Entry {
  readonly hash: string;
  readonly gateway?: GatewayPrincipal;
  readonly token?: TokenPrincipal;
}

/**
 * Every gateway key and API token, by digest: from firebreak.yaml (plain or pre-hashed) and from the
 * store (created by `firebreak keys create` or on first start). The presented secret is hashed and looked
 * up by digest, then compared in constant time. A miss triggers at most one reload a second, so keys
 * created by another process start working without a restart.
 */
export class CredentialIndex {
  private entries = new Map<string, Entry>();
  /** Secrets already verified, so the hot path hashes each key once (bounded; cleared on reload). */
  private verified = new Map<string, Entry>();
  private lastReload = 0;
  private reloading: Promise<void> | undefined;

  constructor(
    private readonly config: FirebreakConfig,
    private readonly store: CredentialStore,
  ) {}

  async reload(): Promise<void> {
    const next = new Map<string, Entry>();
    for (const k of this.config.keys) {
      const hash = k.sha256 ?? hashSecret(k.key ?? '');
      next.set(hash, { hash, gateway: { app: k.app, env: k.env, name: k.name ?? `${k.app}/${k.env}` } });
    }
    for (const t of this.config.tokens) {
      const hash = t.sha256 ?? hashSecret(t.key ?? '');
      next.set(hash, {
        hash,
        token: {
          name: t.name,
          role: t.role,
          expiresAt: t.expires === undefined ? null : Date.parse(t.expires),
        },
      });
    }
    for (const row of await this.store.list()) {
      if (row.kind === 'gateway' && row.app !== null && row.env !== null)
        next.set(row.hash, { hash: row.hash, gateway: { app: row.app, env: row.env, name: row.name } });
      else if (row.kind === 'token' && row.role !== null)
        next.set(row.hash, {
          hash: row.hash,
          token: { name: row.name, role: row.role, expiresAt: row.expiresAt },
        });
    }
    this.entries = next;
    this.verified = new Map();
    this.lastReload = Date.now();
  }

  /**
   * The gateway principal of a key this process has already verified, without hashing or awaiting
   * anything (the request path's common case); undefined when `gateway()` has to look.
   */
  knownGateway(secret: string): GatewayPrincipal | undefined {
    return this.verified.get(secret)?.gateway;
  }

  async gateway(secret: string): Promise<GatewayPrincipal | undefined> {
    return (await this.find(secret))?.gateway;
  }

  async token(secret: string): Promise<TokenPrincipal | undefined> {
    return (await this.find(secret))?.token;
  }

  private async find(secret: string): Promise<Entry | undefined> {
    if (secret.length === 0 || secret.length > 512) return undefined;
    const known = this.verified.get(secret);
    if (known) return known;
    const hash = hashSecret(secret);
    let entry = this.entries.get(hash);
    // Real time, not an injected clock: this only rate-limits reloads. One reload at a time, shared by
    // every miss meanwhile, and the window starts before it so a failing store is not asked per miss.
    if (!entry && Date.now() - this.lastReload > 1_000) {
      this.lastReload = Date.now();
      this.reloading ??= this.reload()
        .catch(() => undefined)
        .finally(() => (this.reloading = undefined));
      await this.reloading;
      entry = this.entries.get(hash);
    }
    if (!entry || !sameDigest(entry.hash, hash)) return undefined;
    if (this.verified.size < 10_000) this.verified.set(secret, entry);
    return entry;
  }
}
