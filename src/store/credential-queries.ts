import type { Kysely } from 'kysely';
import type { Role } from '../core/config.js';
import type { CredentialStore } from './port.js';
import type { Database } from './schema.js';

export function credentialQueries(db: Kysely<Database>): CredentialStore {
  return {
    async insert(row) {
      await db
        .insertInto('credentials')
        .values({
          id: row.id,
          kind: row.kind,
          hash: row.hash,
          name: row.name,
          app: row.app,
          env: row.env,
          role: row.role,
          created_at: row.createdAt,
          expires_at: row.expiresAt,
          revoked_at: null,
        })
        .execute();
    },
    async list() {
      const rows = await db.selectFrom('credentials').selectAll().where('revoked_at', 'is', null).execute();
      return rows.map((r) => ({
        id: r.id,
        kind: r.kind === 'token' ? 'token' : 'gateway',
        hash: r.hash,
        name: r.name,
        app: r.app,
        env: r.env,
        role: r.role as Role | null,
        createdAt: r.created_at,
        expiresAt: r.expires_at,
      }));
    },
  };
}
