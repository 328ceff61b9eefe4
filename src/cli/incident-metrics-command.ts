import { Option, type Command } from 'commander';
import type { CliOpts } from './cli-kit.js';
import {
  getIncidentMetrics,
  incidentMetricsReport,
  metricGroupings,
  parseTimeInput,
} from '../ops/incidents.js';
import { incidentPath, type IncidentCli } from './incident-cli-kit.js';
import { formatMetrics, formatMetricsReport } from './incident-format.js';
import { remoteOptions } from './options.js';

/** `firebreak incident metrics [id]`: one incident's MTTx, or aggregates grouped by --by. */
export function registerIncidentMetricsCommand(incident: Command, kit: IncidentCli): void {
  const { run, out } = kit;

  remoteOptions(
    incident
      .command('metrics')
      .argument('[id]', 'one incident; without it, aggregates')
      .addOption(new Option('--by <group>').choices([...metricGroupings]).default('all'))
      .option('--app <app>')
      .option('--class <class>')
      .option('--severity <severity>')
      .option('--since <time>')
      .option('--until <time>'),
  ).action(
    async (
      id: string | undefined,
      o: CliOpts & {
        by: (typeof metricGroupings)[number];
        app?: string;
        class?: string;
        severity?: string;
        since?: string;
        until?: string;
      },
    ) => {
      if (id !== undefined) {
        const m = await run(
          o,
          (api) => api.get(incidentPath(id, 'metrics')),
          (ops) => getIncidentMetrics(ops, id),
        );
        out(o, m, formatMetrics(m));
        return;
      }
      const q = {
        by: o.by,
        app: o.app,
        class: o.class,
        severity: o.severity,
        since: o.since,
        until: o.until,
      };
      const r = await run(
        o,
        (api) => api.get('api/incident-metrics', q),
        (ops) =>
          incidentMetricsReport(ops, {
            ...q,
            since: parseTimeInput('since', o.since, ops.now()),
            until: parseTimeInput('until', o.until, ops.now()),
          }),
      );
      out(o, r, formatMetricsReport(r));
    },
  );
}
