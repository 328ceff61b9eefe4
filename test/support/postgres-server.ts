import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** A real PostgreSQL server in a child process (see postgres-child.mjs), with stop/start for outage tests. */
export interface PostgresServer {
  readonly url: (database?: string) => string;
  readonly port: number;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Stops the server and deletes its files. */
  destroy(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export async function startPostgres(): Promise<PostgresServer> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [fileURLToPath(new URL('./postgres-child.mjs', import.meta.url)), String(port)],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (what: string): Promise<void> => {
    const line: IteratorResult<string> = await lines.next();
    if (line.done === true || line.value !== (what === 'start-up' ? 'ready' : 'ok'))
      throw new Error(
        `PostgreSQL ${what} failed: ${line.done === true ? 'the server process exited' : line.value}`,
      );
  };
  const command = async (cmd: string) => {
    child.stdin.write(`${cmd}\n`);
    await next(cmd);
  };
  await next('start-up');
  return {
    port,
    url: (database = 'postgres') => `postgres://firebreak:firebreak@127.0.0.1:${port}/${database}`,
    start: () => command('start'),
    stop: () => command('stop'),
    destroy: () => command('destroy'),
  };
}
