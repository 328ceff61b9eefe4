import { remoteOptions } from './options.js';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { isFirebreakError } from '../core/errors.js';
import { createApiToken, createGatewayKey } from '../ops/credentials.js';
import { getTrace, searchTraces, type TraceDetail, type TracePage } from '../ops/traces.js';
import { ConfigError } from '../server/config-load.js';
import { openRuntime, type Runtime } from '../server/runtime.js';
import { serve } from '../server/serve.js';
import { serveSimulator } from '../server/serve-simulator.js';
import { registerApprovalCommands } from './approval-commands.js';
import { registerBlastRadiusCommand } from './blast-radius-command.js';
import { registerControlCommands } from './control-commands.js';
import { registerIncidentCommands } from './incident-commands.js';
import { registerOnCallCommands } from './oncall-commands.js';
import { registerScanCommand } from './scan-command.js';
import { apiGet, RemoteError } from './remote.js';
import { formatTraceDetail, formatTraceTable } from './trace-format.js';

/**
 * `firebreak`: the same operations as the API, in-process on the configured store, or against a running
 * server with `--server URL` (token from --token or FIREBREAK_TOKEN). Returns the exit code.
 */
export async function main(
  argv: readonly string[],
  out: (s: string) => void = (s) => process.stdout.write(s),
): Promise<number> {
  const print = (s: string) => out(s.endsWith('\n') ? s : `${s}\n`);
  const program = new Command('firebreak')
    .description(
      'Incident response for AI systems: a gateway that traces and guards every AI call, and the control plane to run AI incidents.',
    )
    .exitOverride()
    .showHelpAfterError();

  const port = (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0 || n > 65535)
      throw new InvalidArgumentError('a port is a whole number from 0 to 65535');
    return n;
  };

  program
    .command('serve')
    .description('run the gateway and control plane (default http://127.0.0.1:7070)')
    .option('-c, --config <file>', 'firebreak.yaml to use (default ./firebreak.yaml, or FIREBREAK_CONFIG)')
    .addOption(
      new Option('--role <role>', 'which part to serve')
        .choices(['all', 'gateway', 'control'])
        .default('all'),
    )
    .option('-p, --port <port>', 'port to listen on (or FIREBREAK_PORT)', port)
    .option('--host <host>', 'address to listen on (or FIREBREAK_HOST)')
    .action(
      async (o: { config?: string; role: 'all' | 'gateway' | 'control'; port?: number; host?: string }) => {
        await serve({
          role: o.role,
          ...(o.config ? { configFile: o.config } : {}),
          ...(o.port !== undefined ? { port: o.port } : {}),
          ...(o.host ? { host: o.host } : {}),
        });
      },
    );

  async function withRuntime<T>(config: string | undefined, fn: (rt: Runtime) => Promise<T>): Promise<T> {
    const rt = await openRuntime(config);
    try {
      return await fn(rt);
    } finally {
      await rt.store.close();
    }
  }

  const trace = program.command('trace').description('find and show recorded traces');
  remoteOptions(
    trace
      .command('show')
      .argument('<id>', 'trace id (X-AI-Trace-Id) or call id')
      .description('show every call recorded under a trace id'),
  ).action(async (id: string, o: RemoteOpts) => {
    const detail = o.server
      ? ((await apiGet(
          o.server,
          o.token ?? process.env['FIREBREAK_TOKEN'],
          `api/traces/${encodeURIComponent(id)}`,
        )) as TraceDetail)
      : await withRuntime(o.config, (rt) => getTrace(rt.ops, id));
    print(o.json ? JSON.stringify(detail, null, 2) : formatTraceDetail(detail));
  });

  const search = remoteOptions(trace.command('search').description('list traces, newest first'));
  for (const f of ['app', 'env', 'user', 'tenant', 'status', 'model', 'since', 'until', 'cursor'])
    search.option(`--${f} <${f}>`);
  search
    .option('--limit <n>', 'how many (1-500)', '50')
    .action(async (o: RemoteOpts & Record<string, string | undefined>) => {
      const query: Record<string, string | undefined> = {};
      for (const f of [
        'app',
        'env',
        'user',
        'tenant',
        'status',
        'model',
        'since',
        'until',
        'cursor',
        'limit',
      ])
        query[f] = o[f];
      const page = o.server
        ? ((await apiGet(o.server, o.token ?? process.env['FIREBREAK_TOKEN'], 'api/traces', query)) as {
            data: TracePage['data'];
            next_cursor: string | null;
          })
        : await withRuntime(o.config, async (rt) => {
            const p = await searchTraces(
              rt.ops,
              Object.fromEntries(Object.entries(query).filter(([, v]) => v !== undefined)),
            );
            return { data: p.data, next_cursor: p.nextCursor };
          });
      print(
        o.json
          ? JSON.stringify(page, null, 2)
          : formatTraceTable(page.data) + (page.next_cursor ? `\nmore: --cursor ${page.next_cursor}` : ''),
      );
    });

  program
    .command('keys')
    .description('gateway keys (each maps to one app and environment)')
    .command('create')
    .requiredOption('--app <app>')
    .requiredOption('--env <env>')
    .option('--name <name>')
    .option('-c, --config <file>')
    .action(async (o: { app: string; env: string; name?: string; config?: string }) => {
      const k = await withRuntime(o.config, (rt) =>
        createGatewayKey(rt.ops, { app: o.app, env: o.env, ...(o.name ? { name: o.name } : {}) }),
      );
      print(`${k.secret}\n(gateway key ${k.id} for ${k.app}/${k.env}; shown once, stored hashed)`);
    });

  program
    .command('tokens')
    .description('API tokens for /api and --server (roles viewer < responder < commander < admin)')
    .command('create')
    .requiredOption('--role <role>')
    .requiredOption('--name <name>')
    .option('--expires <when>', 'refuse the token after this: 30d, 12h, or an ISO time')
    .option('-c, --config <file>')
    .action(async (o: { role: string; name: string; expires?: string; config?: string }) => {
      const t = await withRuntime(o.config, (rt) =>
        createApiToken(rt.ops, { role: o.role, name: o.name, expires: o.expires }),
      );
      const until = t.expiresAt === null ? '' : `, expires ${new Date(t.expiresAt).toISOString()}`;
      print(
        `${t.secret}\n(API token ${t.id} "${t.name}", role ${t.role}${until}; shown once, stored hashed)`,
      );
    });

  program
    .command('simulator')
    .description(
      'serve a simulator provider from firebreak.yaml as an OpenAI/Anthropic-compatible HTTP upstream',
    )
    .option('-c, --config <file>')
    .option('--provider <name>', 'which simulator provider (default: the first)')
    .option('-p, --port <port>', 'port', port, 7071)
    .action(async (o: { config?: string; provider?: string; port: number }) => {
      await serveSimulator(
        {
          port: o.port,
          ...(o.config ? { configFile: o.config } : {}),
          ...(o.provider ? { provider: o.provider } : {}),
        },
        print,
      );
    });

  let exitCode = 0;
  const cli = { print, withRuntime, setExitCode: (code: number) => (exitCode = code) };
  registerControlCommands(program, cli);
  registerScanCommand(program, cli);
  registerApprovalCommands(program, cli);
  registerBlastRadiusCommand(program, { ...cli, write: out });
  registerIncidentCommands(program, cli);
  registerOnCallCommands(program, cli);

  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    if (isFirebreakError(error) || error instanceof ConfigError || error instanceof RemoteError) {
      process.stderr.write(`firebreak: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

interface RemoteOpts {
  config?: string;
  server?: string;
  token?: string;
  json?: boolean;
}
