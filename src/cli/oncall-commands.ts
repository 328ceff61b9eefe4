import type { Command } from 'commander';
import { cliActor, type CliOpts } from './cli-kit.js';
import type { ResolvedTarget } from '../core/oncall/escalation.js';
import { parseTimeInput } from '../ops/incidents.js';
import { acknowledgeIncident, onCallNow, type AcknowledgeResult, type OnCallNow } from '../ops/paging.js';
import type { CliContext } from './control-commands.js';
import { table } from './control-format.js';
import { remoteOptions } from './options.js';
import { apiGet, apiPost } from './remote.js';

/**
 * `firebreak oncall now --app A` (who is on the hook at each level of the app's escalation policy) and
 * `firebreak incident ack INC-7` / `firebreak ack INC-7` (acknowledge the page, stopping escalation):
 * in-process on the configured store, or the same /api routes with --server.
 */
type Opts = CliOpts;

function targetText(t: ResolvedTarget): string {
  if (t.kind === 'user') return `${t.user} (direct)`;
  return `${t.user ?? 'nobody'} (schedule ${t.schedule}${t.source === undefined ? '' : `, ${t.source}`})`;
}

export function formatOnCallNow(v: OnCallNow): string {
  const head = `app ${v.app} · policy ${v.policy} · at ${new Date(v.at).toISOString()}`;
  const rows = v.levels.map((l) => [
    String(l.level),
    l.users.length ? l.users.join(', ') : 'nobody',
    l.targets.map(targetText).join('; '),
  ]);
  return `${head}\n${table(['level', 'on call', 'targets'], rows)}`;
}

export function formatAcknowledged(v: AcknowledgeResult): string {
  const sent = v.deliveries.length ? `; ${v.deliveries.length} acknowledgement(s) queued` : '';
  return `${v.incident}: ${v.pages.join(', ')} acknowledged at ${new Date(v.acknowledgedAt).toISOString()}; escalation stopped${sent}`;
}

export function registerOnCallCommands(program: Command, cli: CliContext): void {
  const token = (o: Opts) => o.token ?? process.env['FIREBREAK_TOKEN'];
  const out = (o: Opts, value: unknown, human: string) =>
    cli.print(o.json ? JSON.stringify(value, null, 2) : human);

  const oncall = program.command('oncall').description('on-call: who is on the hook');
  remoteOptions(
    oncall
      .command('now')
      .description("who is on the hook at each level of the app's escalation policy")
      .requiredOption('--app <app>')
      .option('--at <time>', 'ask about another instant (ISO or epoch ms)'),
  ).action(async (o: Opts & { app: string; at?: string }) => {
    const { server } = o;
    const v =
      server === undefined
        ? await cli.withRuntime(o.config, (rt) =>
            Promise.resolve().then(() =>
              onCallNow(rt.ops, o.app, parseTimeInput('at', o.at, rt.ops.now()) ?? rt.ops.now()),
            ),
          )
        : ((await apiGet(server, token(o), 'api/oncall/now', { app: o.app, at: o.at })) as OnCallNow);
    out(o, v, formatOnCallNow(v));
  });

  const ack = async (id: string, o: Opts) => {
    const { server } = o;
    const v =
      server === undefined
        ? await cli.withRuntime(o.config, (rt) =>
            acknowledgeIncident(rt.ops, { incidentId: id, actor: cliActor(), at: rt.ops.now() }),
          )
        : ((await apiPost(
            server,
            token(o),
            `api/incidents/${encodeURIComponent(id)}/acknowledge`,
            {},
          )) as AcknowledgeResult);
    out(o, v, formatAcknowledged(v));
  };
  const ackCommand = (parent: Command) =>
    remoteOptions(
      parent
        .command('ack')
        .description("acknowledge the incident's page: escalation stops")
        .argument('<incident>', 'INC-n'),
    ).action(ack);

  ackCommand(program);
  // `firebreak incident ack` too, under the incident commands when they are registered first.
  const incident = program.commands.find((c) => c.name() === 'incident');
  if (incident) ackCommand(incident);
}
