import { Option, type Command } from 'commander';
import { cliActor, type CliOpts } from './cli-kit.js';
import {
  classifyIncident,
  getIncident,
  listIncidents,
  openIncident,
  parseTimeInput,
  transitionIncident,
  triageIncident,
  type IncidentView,
} from '../ops/incidents.js';
import { wholeNumber, incidentPath, type IncidentCli } from './incident-cli-kit.js';
import { formatIncident, formatIncidentTable } from './incident-format.js';
import { remoteOptions } from './options.js';

/** `firebreak incident open|list|show|triage|transition|classify`: an incident's way from report to close. */
export function registerIncidentLifecycleCommands(incident: Command, kit: IncidentCli): void {
  const { run, out, change } = kit;

  remoteOptions(
    incident
      .command('open')
      .description('report an incident (it starts detected)')
      .requiredOption('--app <app>')
      .option('--env <env>')
      .requiredOption('--title <title>')
      .option('--class <class>')
      .option('--severity <severity>', 'SEV1 … SEV4')
      .option('--summary <text>', 'what you saw (the first signal)')
      .option('--impact-started <time>', 'when the harm started (ISO, epoch ms, or 30m back)'),
  ).action(
    async (
      o: CliOpts & {
        app: string;
        env?: string;
        title: string;
        class?: string;
        severity?: string;
        summary?: string;
        impactStarted?: string;
      },
    ) => {
      const body = {
        app: o.app,
        env: o.env,
        title: o.title,
        class: o.class,
        severity: o.severity,
        summary: o.summary,
        impactStartedAt: o.impactStarted,
      };
      const v = await run<IncidentView>(
        o,
        (api) => api.post('api/incidents', body),
        (ops) =>
          openIncident(ops, {
            ...body,
            impactStartedAt: parseTimeInput('impactStartedAt', o.impactStarted, ops.now()),
            actor: cliActor(),
          }),
      );
      out(o, v, formatIncident(v));
    },
  );

  remoteOptions(
    incident
      .command('list')
      .description('newest first')
      .option('--status <status>')
      .option('--app <app>')
      .option('--env <env>')
      .option('--severity <severity>')
      .option('--class <class>')
      .option('--cursor <id>', 'continue after this incident (printed at the end of a full page)')
      .option('--limit <n>', 'how many (1-500)', wholeNumber(1)),
  ).action(async (o: CliOpts & Record<string, string | undefined> & { limit?: number }) => {
    const q = {
      status: o['status'],
      app: o['app'],
      env: o['env'],
      severity: o['severity'],
      class: o['class'],
      cursor: o['cursor'],
    };
    const limit = Math.min(o.limit ?? 50, 500);
    const page = await run<{
      data: Awaited<ReturnType<typeof listIncidents>>['data'];
      next_cursor: string | null;
    }>(
      o,
      (api) => api.get('api/incidents', { ...q, limit: String(limit) }),
      async (ops) => {
        const p = await listIncidents(ops, { ...q, limit });
        return { data: p.data, next_cursor: p.nextCursor };
      },
    );
    out(
      o,
      page,
      formatIncidentTable(page.data) + (page.next_cursor ? `\nmore: --cursor ${page.next_cursor}` : ''),
    );
  });

  remoteOptions(incident.command('show').argument('<id>', 'e.g. INC-7')).action(
    async (id: string, o: CliOpts) => {
      const v = await run<IncidentView>(
        o,
        (api) => api.get(incidentPath(id)),
        (ops) => getIncident(ops, id),
      );
      out(o, v, formatIncident(v));
    },
  );

  remoteOptions(
    incident
      .command('triage')
      .argument('<id>')
      .description('set class and severity and name the commander (default: you)')
      .option('--class <class>')
      .option('--severity <severity>')
      .option('--commander <name>'),
  ).action(async (id: string, o: CliOpts & { class?: string; severity?: string; commander?: string }) => {
    const body = { class: o.class, severity: o.severity, commander: o.commander };
    await change(o, id, 'triage', body, (ops, actor) => triageIncident(ops, { ...body, id, actor }));
  });

  remoteOptions(
    incident
      .command('transition')
      .argument('<id>')
      .argument('<status>', 'triaged, contained, remediated, resolved or closed')
      .option('--reason <reason>')
      .option('--override', 'contain before triage, on purpose (recorded)')
      .option('--postmortem <ref>', 'closing: the postmortem')
      .option('--without-postmortem <reason>', 'closing a SEV3/SEV4: why there is none')
      .addOption(new Option('--revert-containment', 'resolving: revert the containment still in force'))
      .addOption(new Option('--keep-containment', 'resolving: keep it (overrides the configuration)')),
  ).action(
    async (
      id: string,
      to: string,
      o: CliOpts & {
        reason?: string;
        override?: boolean;
        postmortem?: string;
        withoutPostmortem?: string;
        revertContainment?: boolean;
        keepContainment?: boolean;
      },
    ) => {
      const body = {
        to,
        reason: o.reason,
        override: o.override,
        postmortem: o.postmortem,
        noPostmortem: o.withoutPostmortem,
        revertContainment: o.keepContainment ? false : o.revertContainment,
      };
      await change(o, id, 'transition', body, (ops, actor) =>
        transitionIncident(ops, { ...body, id, actor }),
      );
    },
  );

  remoteOptions(
    incident
      .command('classify')
      .argument('<id>')
      .description('change class or severity after triage')
      .option('--class <class>')
      .option('--severity <severity>')
      .option('--reason <reason>'),
  ).action(async (id: string, o: CliOpts & { class?: string; severity?: string; reason?: string }) => {
    const body = { class: o.class, severity: o.severity, reason: o.reason };
    await change(o, id, 'classify', body, (ops, actor) => classifyIncident(ops, { ...body, id, actor }));
  });
}
