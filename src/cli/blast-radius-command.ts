import { Option, type Command } from 'commander';
import type { CliOpts } from './cli-kit.js';
import { incidentClasses } from '../core/guards/types.js';
import { traceStatuses } from '../core/trace.js';
import {
  blastRadius,
  blastRadiusExport,
  type BlastRadius,
  type BlastRadiusFilter,
} from '../ops/blast-radius.js';
import type { CliContext } from './control-commands.js';
import { remoteOptions } from './options.js';
import { apiGet, RemoteError } from './remote.js';

/**
 * `firebreak blast-radius`: exact distinct users, tenants and calls for a filter, or with `--export`
 * the affected users as CSV or JSON on stdout. In-process on the configured store, or the same /api
 * routes with --server (the export needs a responder token there).
 */
export interface BlastRadiusCliContext extends CliContext {
  /** Raw output (no newline added): export chunks as they come. */
  write(s: string): void;
}

interface Opts extends CliOpts {
  export?: 'csv' | 'json';
  app?: string;
  env?: string;
  release?: string;
  since: string;
  until?: string;
  detector?: string;
  tool?: string;
  class?: string;
  status?: string;
}

const filterFields = [
  'app',
  'env',
  'release',
  'since',
  'until',
  'detector',
  'tool',
  'class',
  'status',
] as const;

/** The options given, as the API's query string. */
function queryOf(o: Opts): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of filterFields) {
    const v = o[f];
    if (v !== undefined) out[f] = v;
  }
  return out;
}

const filterOf = (o: Opts): BlastRadiusFilter => ({
  since: o.since,
  until: o.until,
  app: o.app,
  env: o.env,
  release: o.release,
  detector: o.detector,
  tool: o.tool,
  class: o.class,
  status: o.status,
});

const iso = (ms: number) => new Date(ms).toISOString();

export function formatBlastRadius(r: BlastRadius): string {
  const f = r.filters;
  const scope = [
    f.app,
    f.env !== undefined ? `env ${f.env}` : undefined,
    f.release !== undefined ? `release ${f.release}` : undefined,
    f.detector !== undefined ? `detector ${f.detector}` : undefined,
    f.tool !== undefined ? `tool ${f.tool}` : undefined,
    f.class !== undefined ? `class ${f.class}` : undefined,
    f.status !== undefined ? `status ${f.status}` : undefined,
  ].filter((s) => s !== undefined);
  return [
    `blast radius: ${scope.join(', ')}`,
    `window: ${iso(r.window.since)} → ${iso(r.window.until)}`,
    `users    ${r.users}`,
    `tenants  ${r.tenants}`,
    `traces   ${r.traces}${r.tracesWithoutUser > 0 ? ` (${r.tracesWithoutUser} without a user id)` : ''}`,
    ...r.notes.map((n) => `note: ${n}`),
  ].join('\n');
}

/** An export from a server (`path`, e.g. api/blast-radius/export), streamed through as it arrives. */
export async function remoteExport(
  server: string,
  token: string | undefined,
  query: Record<string, string>,
  write: (s: string) => void | Promise<void>,
  path = 'api/blast-radius/export',
): Promise<void> {
  if (!token) throw new RemoteError('--server needs an API token: pass --token or set FIREBREAK_TOKEN');
  const url = new URL(path, server.endsWith('/') ? server : `${server}/`);
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  let res: Response;
  try {
    res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  } catch (error) {
    throw new RemoteError(
      `cannot reach ${url.origin}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (!res.ok || !res.body) {
    const parsed = (await res.json().catch(() => null)) as {
      error?: { message?: string; code?: string };
    } | null;
    throw new RemoteError(
      `${res.status} ${parsed?.error?.code ?? ''}: ${parsed?.error?.message ?? res.statusText}`,
    );
  }
  const decoder = new TextDecoder();
  try {
    for await (const chunk of res.body as AsyncIterable<Uint8Array>)
      await write(decoder.decode(chunk, { stream: true }));
  } catch (error) {
    throw new RemoteError(
      `the export was cut off: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const rest = decoder.decode();
  if (rest !== '') await write(rest);
}

export function registerBlastRadiusCommand(program: Command, cli: BlastRadiusCliContext): void {
  remoteOptions(
    program
      .command('blast-radius')
      .description(
        'who was affected: exact distinct users, tenants and calls for an app, window, detector, tool, class…',
      )
      .requiredOption('--since <time>', 'start of the window: 24h / 7d back from now, ISO 8601 or epoch ms')
      .option('--until <time>', 'end of the window (default now)')
      .option('--app <app>')
      .option('--env <env>')
      .option('--release <app@N>', 'calls served by this release (implies its app)')
      .option('--detector <id>', 'calls on which this detector fired (`firebreak guards` lists them)')
      .option('--tool <name>', 'calls on which the model called this tool')
      .addOption(new Option('--class <class>', 'calls with a finding of this class').choices(incidentClasses))
      .addOption(new Option('--status <status>').choices(traceStatuses))
      .addOption(
        new Option(
          '--export <format>',
          'print the affected users (user, tenant, first/last seen, calls, example trace id) instead',
        ).choices(['csv', 'json']),
      ),
  ).action(async (o: Opts) => {
    const filter = filterOf(o);
    const token = o.token ?? process.env['FIREBREAK_TOKEN'];
    const write = (chunk: string) => cli.write(chunk);
    if (o.export !== undefined) {
      const format = o.export;
      if (o.server !== undefined) await remoteExport(o.server, token, { ...queryOf(o), format }, write);
      else await cli.withRuntime(o.config, (rt) => blastRadiusExport(rt.ops, filter, format, write));
      return;
    }
    const r =
      o.server !== undefined
        ? ((await apiGet(o.server, token, 'api/blast-radius', queryOf(o))) as BlastRadius)
        : await cli.withRuntime(o.config, (rt) => blastRadius(rt.ops, filter));
    cli.print(o.json ? JSON.stringify(r, null, 2) : formatBlastRadius(r));
  });
}
