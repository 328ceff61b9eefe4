import type { Command } from 'commander';

/**
 * The options every command that can run in-process or against a server takes. `json: false` for a
 * command whose output is JSON already (`scan` writes JSONL), so it does not offer a `--json` that
 * would change nothing.
 */
export function remoteOptions(cmd: Command, { json = true }: { json?: boolean } = {}): Command {
  const c = cmd
    .option('-c, --config <file>', 'firebreak.yaml (in-process mode)')
    .option('--server <url>', 'talk to a running Firebreak instead of opening the store')
    .option('--token <token>', 'API token for --server (or FIREBREAK_TOKEN)');
  return json ? c.option('--json', 'print JSON') : c;
}
