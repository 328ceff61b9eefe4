import { createReadStream } from 'node:fs';
import { Option, type Command } from 'commander';
import { defaultDetectors } from '../core/guards/detectors/index.js';
import { GuardSet, strongest } from '../core/guards/engine.js';
import { defaultGuardSettings, parseGuardSettings } from '../core/guards/guard-settings.js';
import { FirebreakError } from '../core/errors.js';
import {
  findingOut,
  parseScanLine,
  scanItem,
  withoutBom,
  type ScanFormat,
} from '../core/guards/scan-input.js';
import { stages, type GuardAction, type Stage } from '../core/guards/types.js';
import { taintedCallDetector, toolPolicyDetector } from '../core/policy/policy-failure.js';
import { withPlantedCanary } from '../core/release.js';
import { guardSetFor, rescanTraces } from '../ops/scan.js';
import type { CliContext } from './control-commands.js';
import { remoteOptions } from './options.js';
import { apiGet } from './remote.js';
import { textLines } from './text-input.js';

interface ScanOpts {
  config?: string;
  server?: string;
  token?: string;
  release?: string;
  stage: Stage;
  format: ScanFormat;
  traces?: boolean;
  since: string;
  until?: string;
  app?: string;
  failOn?: GuardAction;
}

const rank: Record<GuardAction, number> = { log: 0, redact: 1, block: 2 };

/**
 * `firebreak scan [file]`: the gateway's guards over text, one JSONL line out per line in, in order.
 * Exit 0 when every line was read, 1 when some line could not be (its output line says why), 3 with
 * `--fail-on` when a finding at or above that action fired (for CI jobs that gate prompts or datasets).
 */
export function registerScanCommand(program: Command, cli: CliContext): void {
  program
    .command('guards')
    .description('list the detectors: class, stages, default action and threshold, OWASP LLM id')
    .option('--json', 'print JSON')
    .action((o: { json?: boolean }) => {
      const rows = [
        ...defaultDetectors.map((d) => ({
          id: d.id,
          class: d.class,
          stages: d.stages,
          action: d.defaultAction,
          threshold: d.defaultThreshold,
          owasp: d.owasp ?? null,
          description: d.description,
        })),
        toolPolicyDetector,
        taintedCallDetector,
      ];
      if (o.json) return cli.print(JSON.stringify(rows, null, 2));
      const w = Math.max(...rows.map((r) => r.id.length));
      cli.print(
        rows
          .map(
            (r) =>
              `${r.id.padEnd(w)}  ${r.class.padEnd(10)}  ${r.action.padEnd(6)} ≥${r.threshold}  ${(r.owasp ?? '').padEnd(5)}  ${r.stages.join(',')}\n${' '.repeat(w + 2)}${r.description}`,
          )
          .join('\n'),
      );
    });

  remoteOptions(
    program
      .command('scan')
      .argument(
        '[file]',
        'JSONL ({"text", "stage"?, "system"?, "canary"?} per line) or plain text; default stdin',
      )
      .description(
        'run the guards over text, or over stored traces with --traces, and print findings as JSONL',
      ),
    { json: false },
  )
    .option(
      '--release <app@N>',
      'use this release’s guard settings (default: the default guard configuration)',
    )
    .addOption(
      new Option('--stage <stage>', 'stage for lines that do not name one').choices(stages).default('input'),
    )
    .addOption(
      new Option('--format <format>', 'how to read lines (auto: JSON when a line starts with "{")')
        .choices(['auto', 'jsonl', 'text'])
        .default('auto'),
    )
    .addOption(
      new Option('--fail-on <action>', 'exit 3 if a finding with this action or stronger fired').choices([
        'log',
        'redact',
        'block',
      ]),
    )
    .option('--traces', 'rescan stored traces instead of reading input (in-process only)')
    .option('--since <when>', 'with --traces: from when (7d, 24h, ISO 8601)', '7d')
    .option('--until <when>', 'with --traces: until when')
    .option('--app <app>', 'with --traces: only this app')
    .action(async (file: string | undefined, o: ScanOpts) => {
      if (o.traces) return scanTraces(cli, file, o);
      const set = await loadSet(cli, o);
      const input = file === undefined || file === '-' ? process.stdin : createReadStream(file);
      const opened = new Promise<void>((resolve, reject) => {
        if (input === process.stdin) resolve();
        else input.once('open', () => resolve()).once('error', reject);
      });
      await opened.catch((e: unknown) => {
        throw new FirebreakError('bad_request', `cannot read ${file ?? 'stdin'}: ${(e as Error).message}`);
      });
      let n = 0;
      let bad = 0;
      let worst: GuardAction | undefined;
      for await (const raw of textLines(input)) {
        n++;
        const line = n === 1 ? withoutBom(raw) : raw;
        try {
          const findings = scanItem(set, parseScanLine(line, o.format, o.stage));
          if (findings.length > 0) {
            const w = strongest(findings);
            if (worst === undefined || rank[w] > rank[worst]) worst = w;
          }
          cli.print(JSON.stringify({ line: n, findings: findings.map(findingOut) }));
        } catch (e) {
          bad++;
          cli.print(JSON.stringify({ line: n, error: (e as Error).message, findings: [] }));
        }
      }
      if (bad > 0) {
        process.stderr.write(
          `firebreak scan: ${bad} of ${n} line(s) could not be read (see their "error")\n`,
        );
        cli.setExitCode(1);
      } else if (o.failOn !== undefined && worst !== undefined && rank[worst] >= rank[o.failOn])
        cli.setExitCode(3);
    });
}

async function loadSet(cli: CliContext, o: ScanOpts): Promise<GuardSet> {
  const { server, release } = o;
  if (server === undefined || release === undefined)
    return release === undefined
      ? new GuardSet(defaultGuardSettings)
      : cli.withRuntime(o.config, (rt) => guardSetFor(rt.ops, release));
  const r = (await apiGet(
    server,
    o.token ?? process.env['FIREBREAK_TOKEN'],
    `api/releases/${encodeURIComponent(release)}`,
  )) as {
    spec?: { guards?: unknown };
    canary?: string;
  };
  // The canary Firebreak planted for the release is looked for too, as the gateway does.
  return new GuardSet(withPlantedCanary(parseGuardSettings(r.spec?.guards), r.canary));
}

async function scanTraces(cli: CliContext, file: string | undefined, o: ScanOpts): Promise<void> {
  if (file !== undefined)
    throw new FirebreakError('bad_request', '--traces reads the store, not a file: drop the file argument');
  if (o.server !== undefined)
    throw new FirebreakError('bad_request', '--traces runs in-process on the store (drop --server)');
  const tty = process.stderr.isTTY;
  let last = 0;
  const summary = await cli.withRuntime(o.config, (rt) =>
    rescanTraces(
      rt.ops,
      {
        since: o.since,
        ...(o.until !== undefined ? { until: o.until } : {}),
        ...(o.app !== undefined ? { app: o.app } : {}),
        ...(o.release !== undefined ? { release: o.release } : {}),
      },
      ({ trace, findings }) => {
        if (findings.length > 0)
          cli.print(
            JSON.stringify({
              trace: trace.traceId,
              call: trace.id,
              ts: new Date(trace.ts).toISOString(),
              app: trace.app,
              release: trace.release,
              findings: findings.map(findingOut),
            }),
          );
      },
      (done, total) => {
        const now = Date.now();
        if (done !== total && now - last < (tty ? 200 : 5000)) return;
        last = now;
        const pct = total === 0 ? 100 : Math.floor((done / total) * 100);
        process.stderr.write(`${tty ? '\r' : ''}scanned ${done}/${total} traces (${pct}%)${tty ? '' : '\n'}`);
      },
    ),
  );
  const top = Object.entries(summary.byDetector)
    .sort((a, b) => b[1] - a[1])
    .map(([d, c]) => `${d} ${c}`)
    .join(', ');
  process.stderr.write(
    `${tty ? '\n' : ''}${summary.scanned} trace(s) scanned, ${summary.withFindings} with findings${top ? ` (${top})` : ''}\n`,
  );
}
