import { userInfo } from 'node:os';
import type { OpsContext } from '../ops/context.js';
import type { Runtime } from '../server/runtime.js';
import { apiGet, apiPost } from './remote.js';

/** The options every command that can run in-process or against a server takes (options.ts adds them). */
export interface CliOpts {
  config?: string;
  server?: string;
  token?: string;
  json?: boolean;
}

/** The /api calls a command makes with --server. */
export interface Remote {
  get(path: string, query?: Record<string, string | undefined>): Promise<unknown>;
  post(path: string, body: Record<string, unknown>): Promise<unknown>;
}

/** Who made a change when run in-process: the operating-system user (the API uses the token's name). */
export function cliActor(): string {
  let name: string;
  try {
    name = userInfo().username;
  } catch {
    name = process.env['USER'] ?? 'unknown';
  }
  return `cli:${name}`;
}

/** What a command needs from the CLI around it: printing, and the in-process runtime. */
export interface RunnerContext {
  print(s: string): void;
  withRuntime<T>(config: string | undefined, fn: (rt: Runtime) => Promise<T>): Promise<T>;
}

export interface CliRunner {
  /** The remote call with --server, else the operation on the store; the result has the API's shape. */
  readonly run: <T>(
    o: CliOpts,
    remote: (api: Remote) => Promise<unknown>,
    local: (ops: OpsContext) => Promise<T>,
  ) => Promise<T>;
  /** The API's JSON with --json, else the human text. */
  readonly out: (o: CliOpts, value: unknown, human: string) => void;
}

export function cliRunner(cli: RunnerContext): CliRunner {
  return {
    run: async <T>(
      o: CliOpts,
      remote: (api: Remote) => Promise<unknown>,
      local: (ops: OpsContext) => Promise<T>,
    ): Promise<T> => {
      const { server } = o;
      if (server === undefined) return cli.withRuntime(o.config, (rt) => local(rt.ops));
      const token = o.token ?? process.env['FIREBREAK_TOKEN'];
      return (await remote({
        get: (path, query) => apiGet(server, token, path, query),
        post: (path, body) => apiPost(server, token, path, body),
      })) as T;
    },
    out: (o, value, human) => cli.print(o.json ? JSON.stringify(value, null, 2) : human),
  };
}
