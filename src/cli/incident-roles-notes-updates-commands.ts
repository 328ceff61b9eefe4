import { Option, type Command } from 'commander';
import type { CliOpts } from './cli-kit.js';
import {
  addIncidentNote,
  assignIncidentRole,
  changeIncidentResponders,
  postIncidentUpdate,
} from '../ops/incidents.js';
import { wholeNumber, usage, collect, type IncidentCli } from './incident-cli-kit.js';
import { formatUpdate } from './incident-format.js';
import { remoteOptions } from './options.js';

/** `firebreak incident assign|note|update`: who works on an incident, and what is written on its timeline. */
export function registerIncidentRolesNotesUpdatesCommands(incident: Command, kit: IncidentCli): void {
  const { change } = kit;

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
      o: CliOpts & { remove?: boolean; reason?: string },
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
    async (id: string, words: string[], o: CliOpts) => {
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
      o: CliOpts & {
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
}
