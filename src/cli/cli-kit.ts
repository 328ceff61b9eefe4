import { userInfo } from 'node:os';

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
