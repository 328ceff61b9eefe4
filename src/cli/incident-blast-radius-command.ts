import { open, rename, rm } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import type { CliOpts } from './cli-kit.js';
import { FirebreakError } from '../core/errors.js';
import { incidentClasses } from '../core/guards/types.js';
import { traceStatuses } from '../core/trace.js';
import {
  incidentBlastRadius,
  incidentBlastRadiusExport,
  type IncidentBlastRadius,
  type IncidentBlastRadiusOverrides,
} from '../ops/blast-radius-of-incident.js';
import { formatBlastRadius, remoteExport } from './blast-radius-command.js';
import type { CliContext } from './control-commands.js';
import { remoteOptions } from './options.js';
import { apiGet } from './remote.js';

/**
 * `firebreak incident blast-radius INC-7`: the exact distinct users, tenants and calls of an incident
 * (its app, environment, class and window, narrowed by the usual blast radius options), with the filter
 * it used and where each part came from; `--export csv|json` prints the affected users instead, or
 * writes them to `--out <file>`. In-process on the configured store, or the same /api routes with
 * --server (the export takes a responder token there).
 */
interface Opts extends CliOpts {
  env?: string;
  release?: string;
  since?: string;
  until?: string;
  detector?: string;
  tool?: string;
  class?: string;
  status?: string;
  export?: 'csv' | 'json';
  out?: string;
}

const overrideFields = ['env', 'release', 'since', 'until', 'detector', 'tool', 'class', 'status'] as const;

function overridesOf(o: Opts): IncidentBlastRadiusOverrides {
  const out: IncidentBlastRadiusOverrides = {};
  for (const f of overrideFields) {
    const v = o[f];
    if (v !== undefined) out[f] = v;
  }
  return out;
}

const iso = (ms: number) => new Date(ms).toISOString();

export function formatIncidentBlastRadius(r: IncidentBlastRadius): string {
  const f = r.filters;
  const rows: [string, string, string | undefined][] = [
    ['app', f.app ?? '-', r.sources.app],
    ['env', f.env ?? 'any', r.sources.env],
    ['since', iso(f.since), r.sources.since],
    ['until', iso(f.until), r.sources.until],
    ['release', f.release ?? '-', r.sources.release],
    ['class', f.class ?? 'any', r.sources.class],
    ['detector', f.detector ?? '-', r.sources.detector],
    ['tool', f.tool ?? '-', r.sources.tool],
    ['status', f.status ?? '-', r.sources.status],
  ];
  const shown = rows.filter(
    ([name, , source]) => source !== undefined || ['app', 'env', 'since', 'until', 'class'].includes(name),
  );
  const width = Math.max(...shown.map(([, value]) => value.length));
  // The counts as the plain blast radius prints them, without its scope line and notes (shown below).
  const [, ...counts] = formatBlastRadius({ ...r, notes: [] }).split('\n');
  return [
    `blast radius of ${r.incident}`,
    ...counts,
    'filter used:',
    ...shown.map(([name, value, source]) =>
      `  ${name.padEnd(8)} ${source ? `${value.padEnd(width)}  (${source})` : value}`.trimEnd(),
    ),
    ...(r.signalTraces.length > 0 ? [`signal traces: ${r.signalTraces.join(', ')}`] : []),
    ...r.notes.map((n) => `note: ${n}`),
  ].join('\n');
}

/**
 * Raw export text through `print` (which ends what it prints with a newline): everything up to the
 * last line end goes out as it comes, the rest waits for its line end, so the output is byte for byte
 * the export's (whose last chunk ends with a line end).
 */
function linePrinter(print: (s: string) => void): { write(s: string): void; end(): void } {
  let pending = '';
  return {
    write(s) {
      pending += s;
      const cut = pending.lastIndexOf('\n');
      if (cut < 0) return;
      print(pending.slice(0, cut + 1));
      pending = pending.slice(cut + 1);
    },
    end() {
      if (pending !== '') print(pending);
      pending = '';
    },
  };
}

/**
 * Writes to `<file>.partial` and renames it into place once complete, so a cut-off export never
 * leaves a file that looks whole. Returns the bytes written.
 */
async function toFile(file: string, produce: (write: (s: string) => Promise<void>) => Promise<unknown>) {
  const partial = `${file}.partial`;
  const handle = await open(partial, 'w');
  let bytes = 0;
  try {
    await produce(async (s) => {
      const buf = Buffer.from(s, 'utf8');
      bytes += buf.length;
      await handle.write(buf);
    });
    await handle.close();
  } catch (error) {
    await handle.close().catch(() => undefined);
    await rm(partial, { force: true });
    throw error;
  }
  await rename(partial, file);
  return bytes;
}

export function registerIncidentBlastRadiusCommand(incident: Command, cli: CliContext): void {
  remoteOptions(
    incident
      .command('blast-radius')
      .argument('<id>', 'the incident, e.g. INC-7')
      .description(
        'who an incident reached: exact distinct users, tenants and calls in its app, environment, class and window (detection or first signal → resolved or now); options narrow or replace what the incident gives',
      )
      .option('--env <env>', "environment (default: the incident's; `any` for every one)")
      .option(
        '--since <time>',
        'start of the window (default: the earliest of detection, impact start, signals)',
      )
      .option('--until <time>', 'end of the window (default: when resolved, else now)')
      .option('--release <app@N>', 'only calls served by this release')
      .option('--detector <id>', 'only calls on which this detector fired')
      .option('--tool <name>', 'only calls on which the model called this tool')
      .addOption(
        new Option(
          '--class <class>',
          "finding class (default: the incident's; `any` for every call)",
        ).choices([...incidentClasses, 'any']),
      )
      .addOption(new Option('--status <status>').choices(traceStatuses))
      .addOption(
        new Option(
          '--export <format>',
          'print the affected users (user, tenant, first/last seen, calls, example trace id) instead',
        ).choices(['csv', 'json']),
      )
      .option('--out <file>', 'with --export: write the export to this file instead of stdout'),
  ).action(async (id: string, o: Opts) => {
    const overrides = overridesOf(o);
    const token = o.token ?? process.env['FIREBREAK_TOKEN'];
    const path = `api/incidents/${encodeURIComponent(id)}/blast-radius`;
    if (o.out !== undefined && o.export === undefined)
      throw new FirebreakError('validation_failed', '--out needs --export csv|json');
    if (o.export !== undefined) {
      const format = o.export;
      const produce = (write: (s: string) => void | Promise<void>) =>
        o.server !== undefined
          ? remoteExport(o.server, token, { ...overrides, format }, write, `${path}/export`)
          : cli.withRuntime(o.config, (rt) =>
              incidentBlastRadiusExport(rt.ops, id, overrides, format, write),
            );
      if (o.out !== undefined) {
        const bytes = await toFile(o.out, produce);
        cli.print(`wrote ${o.out} (${bytes} bytes)`);
        return;
      }
      const printer = linePrinter((s) => cli.print(s));
      await produce((s) => printer.write(s));
      printer.end();
      return;
    }
    const r =
      o.server !== undefined
        ? ((await apiGet(o.server, token, path, overrides)) as IncidentBlastRadius)
        : await cli.withRuntime(o.config, (rt) => incidentBlastRadius(rt.ops, id, overrides));
    cli.print(o.json ? JSON.stringify(r, null, 2) : formatIncidentBlastRadius(r));
  });
}
