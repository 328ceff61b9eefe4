import { InvalidArgumentError, type Command } from 'commander';
import { cliActor, cliRunner, type CliOpts } from './cli-kit.js';
import { decideApproval, getApproval, listApprovals, type ApprovalView } from '../ops/approvals.js';
import type { Runtime } from '../server/runtime.js';
import { table } from './control-format.js';
import { remoteOptions } from './options.js';

/**
 * `firebreak approvals list|show|approve|deny`: tool calls a release's policy held for a person. Like
 * the other control commands: in-process on the configured store, or the same /api route with --server,
 * printing the same either way (the API's JSON with --json).
 */
export interface ApprovalCliContext {
  print(s: string): void;
  withRuntime<T>(config: string | undefined, fn: (rt: Runtime) => Promise<T>): Promise<T>;
}

type Opts = CliOpts;

const iso = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString());

export function formatApprovalTable(rows: readonly ApprovalView[]): string {
  if (rows.length === 0) return 'no approvals';
  return table(
    ['id', 'status', 'app/env', 'tool', 'user', 'created', 'expires', 'reason'],
    rows.map((a) => [
      a.id,
      a.status,
      `${a.app}/${a.env}`,
      a.tool,
      a.user ?? '-',
      iso(a.createdAt),
      iso(a.expiresAt),
      a.reasons.join('; '),
    ]),
  );
}

export function formatApproval(a: ApprovalView): string {
  return [
    `approval ${a.id}  ${a.status}`,
    `call: ${a.tool} @ ${a.app}/${a.env} (release ${a.release}, trace ${a.traceId})`,
    `user: ${a.user ?? '-'}  tenant: ${a.tenant ?? '-'}`,
    `arguments (redacted): ${JSON.stringify(a.arguments)}`,
    `held because: ${a.reasons.join('; ') || '-'}`,
    `created ${iso(a.createdAt)}, expires ${iso(a.expiresAt)}`,
    ...(a.decidedBy !== null
      ? [`decided by ${a.decidedBy} at ${iso(a.decidedAt)}: ${a.decisionReason ?? ''}`]
      : []),
    ...(a.usedAt !== null ? [`used at ${iso(a.usedAt)} (trace ${a.usedTraceId ?? '-'})`] : []),
  ].join('\n');
}

const wholeNumber = (v: string) => {
  if (!/^\d{1,9}$/.test(v) || Number(v) < 1) throw new InvalidArgumentError('a whole number ≥ 1');
  return Number(v);
};

export function registerApprovalCommands(program: Command, cli: ApprovalCliContext): void {
  const { run, out } = cliRunner(cli);

  const approvals = program
    .command('approvals')
    .description('tool calls a release’s policy held for approval: list, show, approve, deny');

  remoteOptions(
    approvals
      .command('list')
      .description('newest first')
      .option('--status <status>', 'pending, approved, denied, used or expired')
      .option('--app <app>')
      .option('--limit <n>', 'how many (1-500)', wholeNumber),
  ).action(async (o: Opts & { status?: string; app?: string; limit?: number }) => {
    const limit = Math.min(o.limit ?? 100, 500);
    const r = await run<{ data: ApprovalView[] }>(
      o,
      (api) => api.get('api/approvals', { status: o.status, app: o.app, limit: String(limit) }),
      async (ops) => ({ data: await listApprovals(ops, { status: o.status, app: o.app, limit }) }),
    );
    out(o, r, formatApprovalTable(r.data));
  });

  remoteOptions(approvals.command('show').argument('<id>', 'e.g. apr_3f2a…')).action(
    async (id: string, o: Opts) => {
      const r = await run<ApprovalView>(
        o,
        (api) => api.get(`api/approvals/${encodeURIComponent(id)}`),
        (ops) => getApproval(ops, id),
      );
      out(o, r, formatApproval(r));
    },
  );

  for (const decision of ['approve', 'deny'] as const)
    remoteOptions(
      approvals
        .command(decision)
        .argument('<id>')
        .description(
          decision === 'approve'
            ? 'let one identical call through (until the approval expires)'
            : 'refuse the held call',
        )
        .requiredOption('--reason <reason>'),
    ).action(async (id: string, o: Opts & { reason: string }) => {
      const r = await run<ApprovalView>(
        o,
        (api) => api.post(`api/approvals/${encodeURIComponent(id)}/${decision}`, { reason: o.reason }),
        (ops) => decideApproval(ops, { id, decision, actor: cliActor(), reason: o.reason }),
      );
      out(o, r, `approval ${r.id} ${r.status} by ${r.decidedBy ?? '?'}: ${r.tool} @ ${r.app}/${r.env}`);
    });
}
