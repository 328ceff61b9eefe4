import { InvalidArgumentError, Option, type Command } from 'commander';
import { cliActor, type CliOpts, type Remote } from './cli-kit.js';
import { FirebreakError } from '../core/errors.js';
import type { OpsContext } from '../ops/context.js';
import {
  addIncidentNote,
  assignIncidentRole,
  changeIncidentResponders,
  classifyIncident,
  containIncident,
  getIncident,
  getIncidentMetrics,
  incidentMetricsReport,
  listIncidents,
  metricGroupings,
  openIncident,
  parseTimeInput,
  postIncidentUpdate,
  revertIncidentContainment,
  setIncidentCompliance,
  transitionIncident,
  triageIncident,
  type IncidentView,
} from '../ops/incidents.js';
import type { CliContext } from './control-commands.js';
import { registerIncidentBlastRadiusCommand } from './incident-blast-radius-command.js';
import { registerIncidentDeliveriesCommand } from './incident-deliveries-command.js';
import {
  formatContained,
  formatIncident,
  formatIncidentTable,
  formatMetrics,
  formatMetricsReport,
  formatReverted,
  formatUpdate,
} from './incident-format.js';
import { remoteOptions } from './options.js';
import { apiGet, apiPost } from './remote.js';

/**
 * `firebreak incident …` and `firebreak contain …`: the incident operations in-process on the configured
 * store, or the same /api routes with --server, printing the same either way (the API's JSON with
 * --json). Times are read as the API reads them, so both paths accept the same input.
 */
type Opts = CliOpts;

const wholeNumber = (min: number) => (v: string) => {
  if (!/^\d{1,12}$/.test(v) || Number(v) < min) throw new InvalidArgumentError(`a whole number ≥ ${min}`);
  return Number(v);
};
/** Input the options cannot express: printed as `firebreak: <message>`, exit 1, nothing changed. */
const usage = (message: string) => new FirebreakError('validation_failed', message);
const collect = (v: string, all: string[]) => [...all, v];
const csv = (v: string) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
const enc = encodeURIComponent;
/** --flag values commander leaves undefined are dropped by JSON, so bodies are built as they are. */
const path = (id: string, action?: string) => `api/incidents/${enc(id)}${action ? `/${action}` : ''}`;

export function registerIncidentCommands(program: Command, cli: CliContext): void {
  async function run<T>(
    o: Opts,
    remote: (api: Remote) => Promise<unknown>,
    local: (ops: OpsContext) => Promise<T>,
  ): Promise<T> {
    const { server } = o;
    if (server === undefined) return cli.withRuntime(o.config, (rt) => local(rt.ops));
    const token = o.token ?? process.env['FIREBREAK_TOKEN'];
    return (await remote({
      get: (p, query) => apiGet(server, token, p, query),
      post: (p, body) => apiPost(server, token, p, body),
    })) as T;
  }
  const out = (o: Opts, value: unknown, human: string) =>
    cli.print(o.json ? JSON.stringify(value, null, 2) : human);
  /** A change to one incident: POST with --server, the operation in-process; prints the incident. */
  const change = async (
    o: Opts,
    id: string,
    action: string,
    body: Record<string, unknown>,
    local: (ops: OpsContext, actor: string) => Promise<IncidentView>,
    human: (v: IncidentView) => string = formatIncident,
  ) => {
    const v = await run<IncidentView>(
      o,
      (api) => api.post(path(id, action), body),
      (ops) => local(ops, cliActor()),
    );
    out(o, v, human(v));
  };

  const incident = program
    .command('incident')
    .description(
      'incidents: open, list, show, triage, transition, assign, note, update, metrics, compliance, blast-radius, deliveries',
    );
  registerIncidentBlastRadiusCommand(incident, cli);
  registerIncidentDeliveriesCommand(incident, cli);

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
      o: Opts & {
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
  ).action(async (o: Opts & Record<string, string | undefined> & { limit?: number }) => {
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
    async (id: string, o: Opts) => {
      const v = await run<IncidentView>(
        o,
        (api) => api.get(path(id)),
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
  ).action(async (id: string, o: Opts & { class?: string; severity?: string; commander?: string }) => {
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
      o: Opts & {
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
  ).action(async (id: string, o: Opts & { class?: string; severity?: string; reason?: string }) => {
    const body = { class: o.class, severity: o.severity, reason: o.reason };
    await change(o, id, 'classify', body, (ops, actor) => classifyIncident(ops, { ...body, id, actor }));
  });

  remoteOptions(
    incident
      .command('assign')
      .argument('<id>')
      .argument('<role>', 'commander, communications-lead or responder')
      .argument('[name]', 'who (omit with --remove to release the communications lead)')
      .option('--remove', 'remove the responder, or release the role')
      .option('--reason <reason>'),
  ).action(
    async (
      id: string,
      role: string,
      name: string | undefined,
      o: Opts & { remove?: boolean; reason?: string },
    ) => {
      if (role === 'responder') {
        if (name === undefined) throw usage('name the responder');
        const body = o.remove ? { remove: name, reason: o.reason } : { add: name, reason: o.reason };
        await change(o, id, 'responders', body, (ops, actor) =>
          changeIncidentResponders(ops, { id, name, remove: o.remove, reason: o.reason, actor }),
        );
        return;
      }
      const r = role === 'communications-lead' ? 'communications_lead' : role;
      if (r !== 'commander' && r !== 'communications_lead')
        throw usage(`role "${role}" is not commander, communications-lead or responder`);
      if ((name === undefined) === (o.remove !== true))
        throw usage('give the new holder, or --remove to release the role');
      const held: 'commander' | 'communications_lead' = r;
      const body = { role: held, to: name ?? null, reason: o.reason };
      await change(o, id, 'roles', body, (ops, actor) => assignIncidentRole(ops, { ...body, id, actor }));
    },
  );

  remoteOptions(incident.command('note').argument('<id>').argument('<text...>', 'the note')).action(
    async (id: string, words: string[], o: Opts) => {
      const body = { text: words.join(' ') };
      await change(o, id, 'notes', body, (ops, actor) => addIncidentNote(ops, { ...body, id, actor }));
    },
  );

  remoteOptions(
    incident
      .command('update')
      .argument('<id>')
      .description('write an update from the template of its audience and put it on the timeline')
      .addOption(
        new Option('--audience <audience>')
          .choices(['internal', 'external', 'responders'])
          .default('internal'),
      )
      .option('--summary <text>', 'internal: what is known now')
      .option('--action <text>', 'internal, responders: an action taken (repeat)', collect, [])
      .option('--users <n>', 'internal: users affected', wholeNumber(0))
      .option('--tenants <n>', 'internal: tenants affected', wholeNumber(0))
      .option('--traces <n>', 'internal: traces affected', wholeNumber(0))
      .option('--headline <text>', 'external: the public headline')
      .option('--message <text>', 'external: the public message')
      .option('--affected-users <n>', 'external: a number to publish', wholeNumber(0))
      .option('--conditions <text>', 'responders: the situation now')
      .option('--need <text>', 'responders: what is needed (repeat)', collect, []),
  ).action(
    async (
      id: string,
      o: Opts & {
        audience: string;
        summary?: string;
        action: string[];
        users?: number;
        tenants?: number;
        traces?: number;
        headline?: string;
        message?: string;
        affectedUsers?: number;
        conditions?: string;
        need: string[];
      },
    ) => {
      const counted = o.users !== undefined || o.tenants !== undefined || o.traces !== undefined;
      const body = {
        audience: o.audience,
        summary: o.summary,
        actions: o.action.length > 0 ? o.action : undefined,
        impact: counted ? { users: o.users ?? 0, tenants: o.tenants ?? 0, traces: o.traces ?? 0 } : undefined,
        headline: o.headline,
        message: o.message,
        affectedUsers: o.affectedUsers,
        conditions: o.conditions,
        needs: o.need.length > 0 ? o.need : undefined,
      };
      await change(
        o,
        id,
        'updates',
        body,
        (ops, actor) => postIncidentUpdate(ops, { ...body, id, actor }),
        formatUpdate,
      );
    },
  );

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
      o: Opts & {
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
          (api) => api.get(path(id, 'metrics')),
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

  remoteOptions(
    incident
      .command('compliance')
      .argument('<id>')
      .description('flag the incident for regulatory reporting; the deadlines show on the incident')
      .option('--personal-data-breach', 'GDPR Art. 33: 72 hours')
      .option('--ai-act', 'EU AI Act Art. 73 serious incident: 15 days')
      .option('--widespread', 'AI Act Art. 73(3) widespread infringement: 2 days')
      .option('--critical-infrastructure', 'AI Act Art. 73(3) critical-infrastructure disruption: 2 days')
      .option('--death', 'AI Act Art. 73(4) death of a person: 10 days')
      .option('--aware-at <time>', 'when you became aware (default: now)')
      .option('--clear', 'no flag: stop the clocks')
      .option('--reason <reason>'),
  ).action(
    async (
      id: string,
      o: Opts & {
        personalDataBreach?: boolean;
        aiAct?: boolean;
        widespread?: boolean;
        criticalInfrastructure?: boolean;
        death?: boolean;
        awareAt?: string;
        clear?: boolean;
        reason?: string;
      },
    ) => {
      const flags = {
        personalDataBreach: o.personalDataBreach,
        aiActSeriousIncident: o.aiAct,
        widespreadInfringement: o.widespread,
        criticalInfrastructureDisruption: o.criticalInfrastructure,
        death: o.death,
      };
      const any = Object.values(flags).some((f) => f === true);
      if (any === (o.clear === true)) throw usage('give at least one flag, or --clear');
      const body = { ...flags, awareAt: o.awareAt, reason: o.reason };
      await change(o, id, 'compliance', body, (ops, actor) =>
        setIncidentCompliance(ops, {
          ...body,
          awareAt: parseTimeInput('awareAt', o.awareAt, ops.now()),
          id,
          actor,
        }),
      );
    },
  );

  remoteOptions(
    program
      .command('contain')
      .argument('<id>', 'the incident, e.g. INC-7')
      .argument(
        '[action]',
        'disable-tool <name> | safe-mode <handoff|limited|retrieval-only> | rollback | narrow-retrieval | disable-model <family> | block-user <id> | block-tenant <id>',
      )
      .argument('[target]')
      .description(
        'contain an incident (a flag or a rollback, on its timeline and in the audit log), or --revert one',
      )
      .option('--to <version>', 'rollback: the release version (default: known-good)', wholeNumber(1))
      .option('--allow <sources>', 'narrow-retrieval: keep only these sources (comma-separated)', csv)
      .option('--deny <sources>', 'narrow-retrieval: switch these sources off (comma-separated)', csv)
      .option('--env <env>', 'scope (default: the incident’s environment)')
      .option('--override', 'contain before triage, on purpose (recorded)')
      .option('--revert <ref>', 'revert the containment action with this reference instead')
      .option('--reason <reason>'),
  ).action(
    async (
      id: string,
      action: string | undefined,
      target: string | undefined,
      o: Opts & {
        to?: number;
        allow?: string[];
        deny?: string[];
        env?: string;
        override?: boolean;
        revert?: string;
        reason?: string;
      },
    ) => {
      if (o.revert !== undefined) {
        if (action !== undefined) throw usage('--revert takes no action');
        const body = { ref: o.revert, reason: o.reason };
        const r = await run(
          o,
          (api) => api.post(path(id, 'revert'), body),
          (ops) => revertIncidentContainment(ops, { ...body, id, actor: cliActor() }),
        );
        out(o, r, `${formatReverted(r)}\n\n${formatIncident(r.incident)}`);
        return;
      }
      if (action === undefined) throw usage('name an action, or --revert <ref>');
      const body = {
        action,
        target,
        to: o.to,
        allow: o.allow,
        deny: o.deny,
        env: o.env,
        reason: o.reason,
        override: o.override,
      };
      const r = await run(
        o,
        (api) => api.post(path(id, 'contain'), body),
        (ops) =>
          containIncident(ops, {
            id,
            action: { action, target, to: o.to, allow: o.allow, deny: o.deny },
            env: o.env,
            reason: o.reason,
            override: o.override,
            actor: cliActor(),
          }),
      );
      out(o, r, `${formatContained(r)}\n\n${formatIncident(r.incident)}`);
    },
  );
}
