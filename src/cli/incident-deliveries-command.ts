import { InvalidArgumentError, Option, type Command } from 'commander';
import type { CliOpts } from './cli-kit.js';
import {
  deliveryStatuses,
  incidentDeliveries,
  MAX_DELIVERY_LIMIT,
  type DeliveryList,
  type DeliveryListItem,
} from '../ops/delivery-views.js';
import { table } from './control-format.js';
import type { CliContext } from './control-commands.js';
import { remoteOptions } from './options.js';
import { apiGet } from './remote.js';

/**
 * `firebreak incident deliveries INC-7`: the channel messages sent (or still being tried) about an
 * incident, one line each, newest first; under one that failed or is being retried, its attempts with
 * the HTTP status and error. In-process on the configured store, or GET /api/incidents/:id/deliveries
 * with --server.
 */
interface Opts extends CliOpts {
  status?: string;
  channel?: string;
  limit?: number;
}

const iso = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString());

const limitOf = (v: string) => {
  if (!/^\d{1,9}$/.test(v) || Number(v) < 1 || Number(v) > MAX_DELIVERY_LIMIT)
    throw new InvalidArgumentError(`a whole number from 1 to ${MAX_DELIVERY_LIMIT}`);
  return Number(v);
};

/** One line for the state: when it went out, when the next attempt is due, or that none is left. */
function when(d: DeliveryListItem): string {
  if (d.status === 'sent') return `sent ${iso(d.sentAt)}`;
  if (d.status === 'pending')
    return d.attempts === 0 ? `due ${iso(d.nextAttemptAt)}` : `retry ${iso(d.nextAttemptAt)}`;
  return 'no retry left';
}

function attemptLine(a: DeliveryListItem['attemptLog'][number]): string {
  const http = a.httpStatus === null ? 'no response' : `HTTP ${a.httpStatus}`;
  return `    #${a.attempt} ${iso(a.at)}  ${http}  ${a.outcome}${a.error ? `  ${a.error}` : ''}`;
}

export function formatDeliveries(incident: string, list: DeliveryList, filter = ''): string {
  if (list.data.length === 0) return `no deliveries about ${incident}${filter ? ` (${filter})` : ''}`;
  const rows = list.data.map((d) => [
    d.id,
    `${d.channel} (${d.channelType})`,
    d.kind,
    d.status,
    String(d.attempts),
    iso(d.createdAt),
    when(d),
    d.lastError ?? '-',
  ]);
  const [header = '', ...lines] = table(
    ['delivery', 'channel', 'kind', 'status', 'attempts', 'created', 'state', 'last error'],
    rows,
  ).split('\n');
  const out = [header];
  list.data.forEach((d, i) => {
    out.push(lines[i] ?? '');
    // The attempts of what did not go out first time: the sent ones need no story.
    if (d.status !== 'sent' && d.attemptLog.length > 0) out.push(...d.attemptLog.map(attemptLine));
  });
  return out.join('\n');
}

export function registerIncidentDeliveriesCommand(incident: Command, cli: CliContext): void {
  remoteOptions(
    incident
      .command('deliveries')
      .argument('<id>', 'the incident, e.g. INC-7')
      .description(
        'the channel messages about an incident (pages, updates, acknowledgements), newest first, with the attempts of failed ones',
      )
      .addOption(new Option('--status <status>').choices(deliveryStatuses))
      .option('--channel <name>', 'only this channel')
      .option('--limit <n>', 'at most this many (default 100)', limitOf),
  ).action(async (id: string, o: Opts) => {
    const query = {
      ...(o.status !== undefined ? { status: o.status } : {}),
      ...(o.channel !== undefined ? { channel: o.channel } : {}),
      ...(o.limit !== undefined ? { limit: String(o.limit) } : {}),
    };
    const token = o.token ?? process.env['FIREBREAK_TOKEN'];
    const r =
      o.server !== undefined
        ? ((await apiGet(
            o.server,
            token,
            `api/incidents/${encodeURIComponent(id)}/deliveries`,
            query,
          )) as DeliveryList & { incident: string })
        : await cli.withRuntime(o.config, (rt) => incidentDeliveries(rt.ops, id, query));
    cli.print(
      o.json
        ? JSON.stringify(r, null, 2)
        : formatDeliveries(
            r.incident,
            r,
            Object.entries(query)
              .map(([k, v]) => `${k} ${v}`)
              .join(', '),
          ),
    );
  });
}
