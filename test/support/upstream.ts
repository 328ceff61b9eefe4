import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { simulatorConfigSchema, type SimulatorConfig } from '../../src/core/simulator-rules.js';
import { startSimulatorServer, type SimulatorServer } from '../../src/providers/simulator-server.js';

/** The upstream key the gateway is configured with; a client must never see it, the upstream must. */
export const UPSTREAM_KEY = 'sk-upstream-provider-key-0000000';

/**
 * A simulator server (a real HTTP upstream speaking the OpenAI and Anthropic wire formats) with the
 * rules every upstream-facing suite relies on, plus whatever a suite adds before them.
 */
export function startUpstream(extraRules: unknown[] = []): Promise<SimulatorServer> {
  const config: SimulatorConfig = simulatorConfigSchema.parse({
    type: 'simulator',
    models: ['up-1'],
    rules: [
      ...extraRules,
      { name: 'refund', when: { contains: 'refund' }, then: { reply: 'Refunds within 30 days.' } },
      { name: 'pirate', when: { contains: 'pirate', in: 'system' }, then: { reply: 'Arr, matey.' } },
      { name: 'after-tool', when: { afterToolResult: true }, then: { reply: 'Tool said: {{toolResult}}' } },
      {
        name: 'weather',
        when: { contains: 'weather', hasTools: true },
        then: { toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }] },
      },
    ],
  });
  return startSimulatorServer(config);
}

/** A port on 127.0.0.1 that nothing listens on (taken from the OS, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** YAML for extra providers, indented to sit under `providers:` in testConfigYaml(extra). */
export function providersYaml(providers: Record<string, Record<string, unknown>>): string {
  return Object.entries(providers)
    .map(
      ([name, fields]) =>
        `  ${name}:\n` +
        Object.entries(fields)
          .map(([k, v]) => `    ${k}: ${JSON.stringify(v)}`)
          .join('\n'),
    )
    .join('\n');
}
