import type { Role } from '../core/config.js';

// Gateway keys and API tokens, by hash (the store port: port.ts).

export interface CredentialRow {
  readonly id: string;
  readonly kind: 'gateway' | 'token';
  readonly hash: string;
  readonly name: string;
  readonly app: string | null;
  readonly env: string | null;
  readonly role: Role | null;
  readonly createdAt: number;
  /** Epoch ms after which the credential is refused; null: never. */
  readonly expiresAt: number | null;
}

export interface CredentialStore {
  insert(row: CredentialRow): Promise<void>;
  list(): Promise<CredentialRow[]>;
}
