import type { Command } from 'commander';
import { registerContainCommand } from './contain-command.js';
import type { CliContext } from './control-commands.js';
import { registerIncidentBlastRadiusCommand } from './incident-blast-radius-command.js';
import { incidentCli } from './incident-cli-kit.js';
import { registerIncidentComplianceCommand } from './incident-compliance-command.js';
import { registerIncidentDeliveriesCommand } from './incident-deliveries-command.js';
import { registerIncidentLifecycleCommands } from './incident-lifecycle-commands.js';
import { registerIncidentMetricsCommand } from './incident-metrics-command.js';
import { registerIncidentRolesNotesUpdatesCommands } from './incident-roles-notes-updates-commands.js';

/**
 * `firebreak incident …` and `firebreak contain …`: the incident operations in-process on the configured
 * store, or the same /api routes with --server, printing the same either way (the API's JSON with
 * --json). Times are read as the API reads them, so both paths accept the same input. Registration order
 * is the order `--help` lists the subcommands in.
 */
export function registerIncidentCommands(program: Command, cli: CliContext): void {
  const kit = incidentCli(cli);
  const incident = program
    .command('incident')
    .description(
      'incidents: open, list, show, triage, transition, assign, note, update, metrics, compliance, blast-radius, deliveries',
    );
  registerIncidentBlastRadiusCommand(incident, cli);
  registerIncidentDeliveriesCommand(incident, cli);
  registerIncidentLifecycleCommands(incident, kit);
  registerIncidentRolesNotesUpdatesCommands(incident, kit);
  registerIncidentMetricsCommand(incident, kit);
  registerIncidentComplianceCommand(incident, kit);
  registerContainCommand(program, kit);
}
