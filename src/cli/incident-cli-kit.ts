import { InvalidArgumentError } from 'commander';
import { cliActor, cliRunner, type CliOpts, type CliRunner } from './cli-kit.js';
import { FirebreakError } from '../core/errors.js';
import type { OpsContext } from '../ops/context.js';
import type { IncidentView } from '../ops/incidents.js';
import type { CliContext } from './control-commands.js';
import { formatIncident } from './incident-format.js';

/**
 * What the `firebreak incident …` and `firebreak contain …` commands share: running an operation
 * in-process on the configured store, or the same /api route with --server, and printing the same either
 * way (the API's JSON with --json); plus the option parsers they use.
 */
export interface IncidentCli extends CliRunner {
  /** A change to one incident: POST with --server, the operation in-process; prints the incident. */
  readonly change: (
    o: CliOpts,
    id: string,
    action: string,
    body: Record<string, unknown>,
    local: (ops: OpsContext, actor: string) => Promise<IncidentView>,
    human?: (v: IncidentView) => string,
  ) => Promise<void>;
}

export function incidentCli(cli: CliContext): IncidentCli {
  const { run, out } = cliRunner(cli);
  const change: IncidentCli['change'] = async (o, id, action, body, local, human = formatIncident) => {
    const v = await run<IncidentView>(
      o,
      (api) => api.post(incidentPath(id, action), body),
      (ops) => local(ops, cliActor()),
    );
    out(o, v, human(v));
  };
  return { run, out, change };
}

export const wholeNumber = (min: number) => (v: string) => {
  if (!/^\d{1,12}$/.test(v) || Number(v) < min) throw new InvalidArgumentError(`a whole number ≥ ${min}`);
  return Number(v);
};
/** Input the options cannot express: printed as `firebreak: <message>`, exit 1, nothing changed. */
export const usage = (message: string) => new FirebreakError('validation_failed', message);
export const collect = (v: string, all: string[]) => [...all, v];
export const csv = (v: string) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
const enc = encodeURIComponent;
/** --flag values commander leaves undefined are dropped by JSON, so bodies are built as they are. */
export const incidentPath = (id: string, action?: string) =>
  `api/incidents/${enc(id)}${action ? `/${action}` : ''}`;
