import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startPostgres, type PostgresServer } from './postgres-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string;
  }
}

let server: PostgresServer | undefined;
let scratch: string | undefined;

/**
 * One real PostgreSQL server for the whole run; each test file creates its own database on it. And one
 * scratch directory for the run, made the temporary directory of every test process (they are forked
 * after this, with this environment), so the SQLite files, configuration files and the server's data
 * directory the tests create go when the run ends instead of piling up in /tmp run after run.
 */
export async function setup(project: TestProject): Promise<void> {
  scratch = mkdtempSync(join(tmpdir(), 'firebreak-test-run-'));
  // As root the PostgreSQL server runs as the `postgres` user, which must be able to enter it.
  chmodSync(scratch, 0o755);
  process.env['TMPDIR'] = scratch;
  server = await startPostgres();
  project.provide('postgresUrl', server.url());
}

export async function teardown(): Promise<void> {
  await server?.destroy();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
}
