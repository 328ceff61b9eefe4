import type { Command } from 'commander';
import { cliActor, type CliOpts } from './cli-kit.js';
import { containIncident, revertIncidentContainment } from '../ops/incidents.js';
import { wholeNumber, usage, csv, incidentPath, type IncidentCli } from './incident-cli-kit.js';
import { formatContained, formatIncident, formatReverted } from './incident-format.js';
import { remoteOptions } from './options.js';

/** `firebreak contain <id> <action> [target]`, or `--revert <ref>`: containment bound to an incident. */
export function registerContainCommand(program: Command, kit: IncidentCli): void {
  const { run, out } = kit;

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
      o: CliOpts & {
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
          (api) => api.post(incidentPath(id, 'revert'), body),
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
        (api) => api.post(incidentPath(id, 'contain'), body),
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
