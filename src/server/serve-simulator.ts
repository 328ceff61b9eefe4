import { startSimulatorServer } from '../providers/simulator-server.js';
import { ConfigError, loadConfig } from './config-load.js';

/** `firebreak simulator`: the scriptable upstream on its own port, for trying real provider set-ups offline. */
export async function serveSimulator(
  options: { configFile?: string; provider?: string; port: number },
  print: (s: string) => void,
): Promise<void> {
  const { config } = loadConfig(options.configFile);
  const entry = Object.entries(config.providers).find(
    ([name, p]) => p.type === 'simulator' && (options.provider === undefined || name === options.provider),
  );
  if (!entry || entry[1].type !== 'simulator')
    throw new ConfigError(
      options.provider
        ? `no simulator provider named "${options.provider}"`
        : 'no simulator provider in the configuration',
    );
  const server = await startSimulatorServer(entry[1], { port: options.port });
  print(`simulator "${entry[0]}" listening at ${server.url}/v1 (OpenAI and Anthropic wire formats)`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
}
