import type { Command } from 'commander';

/** The options every command that can run in-process or against a server takes. */
export function remoteOptions(cmd: Command): Command {
  return cmd
    .option('-c, --config <file>', 'firebreak.yaml (in-process mode)')
    .option('--server <url>', 'talk to a running Firebreak instead of opening the store')
    .option('--token <token>', 'API token for --server (or FIREBREAK_TOKEN)')
    .option('--json', 'print JSON');
}
