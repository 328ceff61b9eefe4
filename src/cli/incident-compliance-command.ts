import type { Command } from 'commander';
import type { CliOpts } from './cli-kit.js';
import { parseTimeInput, setIncidentCompliance } from '../ops/incidents.js';
import { usage, type IncidentCli } from './incident-cli-kit.js';
import { remoteOptions } from './options.js';

/** `firebreak incident compliance <id>`: regulatory reporting flags, whose deadlines show on the incident. */
export function registerIncidentComplianceCommand(incident: Command, kit: IncidentCli): void {
  const { change } = kit;

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
      o: CliOpts & {
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
}
