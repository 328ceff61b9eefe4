import { remoteOptions } from './options.js';
import { cliActor, cliRunner, type CliOpts, type CliRunner } from './cli-kit.js';
import { InvalidArgumentError, type Command } from 'commander';
import type { AuditEntry } from '../core/audit.js';
import type { Flag } from '../core/flags.js';
import type { Release } from '../core/release.js';
import { listAudit, verifyAudit, type AuditVerification } from '../ops/audit.js';
import { deploy, listDeployments, markKnownGood, rollback } from '../ops/deployments.js';
import { listFlags, setFlag, unsetFlag } from '../ops/flags.js';
import {
  applyConfig,
  diffReleases,
  getRelease,
  listReleases,
  type CreatedRelease,
  type ReleaseDiff,
} from '../ops/releases.js';
import type { Runtime } from '../server/runtime.js';
import {
  formatApplied,
  formatAuditTable,
  formatDeployment,
  formatDeploymentTable,
  formatDiff,
  formatFlag,
  formatFlagTable,
  formatRelease,
  formatReleaseTable,
  formatVerification,
} from './control-format.js';

/**
 * Releases, deployments, flags and the audit log from the command line. Each command runs the operation
 * in-process on the configured store, or calls the same /api route with --server, and prints the same
 * thing either way (the API's JSON with --json).
 */
export interface CliContext {
  print(s: string): void;
  withRuntime<T>(config: string | undefined, fn: (rt: Runtime) => Promise<T>): Promise<T>;
  /** For commands whose answer is a failure without being an error (`audit verify` on a broken log). */
  setExitCode(code: number): void;
}

type Opts = CliOpts;

const wholeNumber = (min: number) => (v: string) => {
  if (!/^\d{1,9}$/.test(v) || Number(v) < min) throw new InvalidArgumentError(`a whole number ≥ ${min}`);
  return Number(v);
};

const enc = encodeURIComponent;

export function registerControlCommands(program: Command, cli: CliContext): void {
  const withOptions = remoteOptions;

  const { run, out } = cliRunner(cli);

  withOptions(
    program
      .command('apply')
      .description(
        'create a release for every app whose firebreak.yaml entry has one (with --server: the server’s configuration)',
      ),
  ).action(async (o: Opts) => {
    const r = await run<{ data: CreatedRelease[] }>(
      o,
      (api) => api.post('api/apply', {}),
      async (ops) => ({ data: await applyConfig(ops, { actor: cliActor() }) }),
    );
    out(o, r, formatApplied(r.data));
  });

  const release = program
    .command('release')
    .description('versioned releases: list, show, diff, mark known-good');
  withOptions(
    release.command('list').description('releases, by app and version').option('--app <app>'),
  ).action(async (o: Opts & { app?: string }) => {
    const r = await run<{ data: Release[] }>(
      o,
      (api) => api.get('api/releases', { app: o.app }),
      async (ops) => ({ data: await listReleases(ops, o.app !== undefined ? { app: o.app } : {}) }),
    );
    out(o, r, formatReleaseTable(r.data));
  });
  withOptions(release.command('show').argument('<release>', 'e.g. support-bot@3')).action(
    async (name: string, o: Opts) => {
      const r = await run<Release>(
        o,
        (api) => api.get(`api/releases/${enc(name)}`),
        (ops) => getRelease(ops, name),
      );
      out(o, r, formatRelease(r));
    },
  );
  withOptions(
    release
      .command('diff')
      .argument('<from>', 'e.g. support-bot@2')
      .argument('<to>', 'e.g. support-bot@3')
      .description('every changed setting, and the system prompt as a line diff'),
  ).action(async (from: string, to: string, o: Opts) => {
    const r = await run<ReleaseDiff>(
      o,
      (api) => api.get(`api/releases/${enc(from)}/diff/${enc(to)}`),
      (ops) => diffReleases(ops, { from, to }),
    );
    out(o, r, formatDiff(r));
  });
  withOptions(
    release
      .command('mark-known-good')
      .argument('<release>', 'e.g. support-bot@3')
      .description('the release `rollback` returns to in that environment')
      .requiredOption('--env <env>')
      .option('--reason <reason>')
      .option('--incident <id>'),
  ).action(async (name: string, o: Opts & { env: string; reason?: string; incident?: string }) => {
    const body = { release: name, env: o.env, reason: o.reason, incident: o.incident };
    const r = await run(
      o,
      (api) => api.post('api/known-good', body),
      (ops) => markKnownGood(ops, { ...body, reason: o.reason ?? '', actor: cliActor() }),
    );
    out(o, r, `${name} is the known-good release of ${r.app}/${r.env}`);
  });

  withOptions(
    program
      .command('deploy')
      .argument('<release>', 'e.g. support-bot@3')
      .description('make a release active in an environment')
      .requiredOption('--env <env>')
      .requiredOption('--reason <reason>')
      .option('--incident <id>'),
  ).action(async (name: string, o: Opts & { env: string; reason: string; incident?: string }) => {
    const body = { release: name, env: o.env, reason: o.reason, incident: o.incident };
    const r = await run(
      o,
      (api) => api.post('api/deployments', body),
      (ops) => deploy(ops, { ...body, actor: cliActor() }),
    );
    out(o, r, formatDeployment(r));
  });

  withOptions(
    program
      .command('rollback')
      .description('deploy the known-good release again (or --to a version), in one step')
      .requiredOption('--app <app>')
      .requiredOption('--env <env>')
      .option('--to <version>', 'release version to return to (default: the known-good one)', wholeNumber(1))
      .requiredOption('--reason <reason>')
      .option('--incident <id>'),
  ).action(async (o: Opts & { app: string; env: string; to?: number; reason: string; incident?: string }) => {
    const body = { app: o.app, env: o.env, to: o.to, reason: o.reason, incident: o.incident };
    const r = await run(
      o,
      (api) => api.post('api/rollbacks', body),
      (ops) => rollback(ops, { ...body, actor: cliActor() }),
    );
    out(o, r, formatDeployment(r));
  });

  const deployments = program.command('deployments').description('the deployment log');
  withOptions(
    deployments
      .command('list')
      .description('newest first')
      .requiredOption('--app <app>')
      .option('--env <env>')
      .option('--limit <n>', 'how many (1-500)', wholeNumber(1)),
  ).action(async (o: Opts & { app: string; env?: string; limit?: number }) => {
    const r = await run<{ data: Awaited<ReturnType<typeof listDeployments>> }>(
      o,
      (api) => api.get('api/deployments', { app: o.app, env: o.env, limit: o.limit?.toString() }),
      async (ops) => ({
        data: await listDeployments(ops, {
          app: o.app,
          ...(o.env !== undefined ? { env: o.env } : {}),
          ...(o.limit !== undefined ? { limit: Math.min(o.limit, 500) } : {}),
        }),
      }),
    );
    out(o, r, formatDeploymentTable(r.data));
  });

  registerFlagCommands(program, withOptions, run, out);
  registerAuditCommands(program, withOptions, run, out, cli);
}

type WithOptions = (cmd: Command) => Command;
type Run = CliRunner['run'];
type Out = CliRunner['out'];

interface ScopeOpts extends Opts {
  app: string;
  env?: string;
  tenant?: string;
  user?: string;
  reason: string;
  incident?: string;
}

function registerFlagCommands(program: Command, withOptions: WithOptions, run: Run, out: Out): void {
  const flag = program
    .command('flag')
    .description(
      'runtime overrides: tool:<name>, model:<family>, safe-mode, retrieval:<source>, user:<id>, tenant:<id>',
    );
  const scoped = (cmd: Command) =>
    withOptions(
      cmd
        .requiredOption('--app <app>')
        .option('--env <env>', 'only this environment (default: all of the app’s)')
        .option('--tenant <tenant>')
        .option('--user <user>')
        .requiredOption('--reason <reason>')
        .option('--incident <id>'),
    );
  const scopeBody = (key: string, o: ScopeOpts) => ({
    key,
    app: o.app,
    env: o.env,
    tenant: o.tenant,
    user: o.user,
    reason: o.reason,
    incident: o.incident,
  });

  scoped(
    flag
      .command('set')
      .argument('<key>')
      .argument(
        '<value>',
        'off|on (tool, model, retrieval), off|handoff|limited|retrieval-only (safe-mode), blocked|allowed (user, tenant)',
      )
      .option('--expires <when>', 'revert after 30m, 2h, 1d, or at an ISO time'),
  ).action(async (key: string, value: string, o: ScopeOpts & { expires?: string }) => {
    const body = { ...scopeBody(key, o), value, expires: o.expires };
    const r = await run(
      o,
      (api) => api.post('api/flags', body),
      (ops) => setFlag(ops, { ...body, actor: cliActor() }),
    );
    out(o, r, formatFlag('set', r));
  });

  scoped(flag.command('unset').argument('<key>')).action(async (key: string, o: ScopeOpts) => {
    const body = scopeBody(key, o);
    const r = await run(
      o,
      (api) => api.post('api/flags/unset', body),
      (ops) => unsetFlag(ops, { ...body, actor: cliActor() }),
    );
    out(o, r, formatFlag('unset', r));
  });

  withOptions(
    flag.command('list').option('--app <app>').option('--all', 'include removed and expired flags'),
  ).action(async (o: Opts & { app?: string; all?: boolean }) => {
    const r = await run<{ data: Flag[] }>(
      o,
      (api) => api.get('api/flags', { app: o.app, all: o.all ? 'true' : undefined }),
      async (ops) => ({ data: await listFlags(ops, { app: o.app, includeRemoved: o.all ?? false }) }),
    );
    out(o, r, formatFlagTable(r.data));
  });
}

function registerAuditCommands(
  program: Command,
  withOptions: WithOptions,
  run: Run,
  out: Out,
  cli: CliContext,
): void {
  const audit = program.command('audit').description('the hash-chained log of every control-plane change');
  withOptions(
    audit
      .command('list')
      .option('--after <seq>', 'entries after this sequence number', wholeNumber(0))
      .option('--limit <n>', 'how many (1-1000)', wholeNumber(1)),
  ).action(async (o: Opts & { after?: number; limit?: number }) => {
    const limit = Math.min(o.limit ?? 100, 1000);
    const r = await run<{ data: AuditEntry[]; next_after: number | null }>(
      o,
      (api) => api.get('api/audit', { after: o.after?.toString(), limit: String(limit) }),
      async (ops) => {
        const data = await listAudit(ops, { ...(o.after !== undefined ? { afterSeq: o.after } : {}), limit });
        return { data, next_after: data.length === limit ? (data.at(-1)?.seq ?? null) : null };
      },
    );
    out(o, r, formatAuditTable(r.data) + (r.next_after !== null ? `\nmore: --after ${r.next_after}` : ''));
  });

  withOptions(
    audit.command('verify').description('check the hash chain; exit 1 and name each bad row if broken'),
  ).action(async (o: Opts) => {
    const r = await run<AuditVerification>(
      o,
      (api) => api.get('api/audit/verify'),
      (ops) => verifyAudit(ops),
    );
    out(o, r, formatVerification(r));
    if (!r.ok) cli.setExitCode(1);
  });
}
