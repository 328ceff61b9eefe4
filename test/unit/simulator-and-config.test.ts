import { describe, expect, it } from 'vitest';
import type { ChatRequest } from '../../src/core/chat.js';
import { compileSimulator, decide, simulatorConfigSchema } from '../../src/core/simulator-rules.js';
import { BUILT_IN_CONFIG, parseConfig } from '../../src/server/config-load.js';

const req = (text: string, extra: Partial<ChatRequest> = {}): ChatRequest => ({
  model: 'sim-1',
  messages: [
    { role: 'system', content: 'You are the support bot.' },
    { role: 'user', content: text },
  ],
  n: 1,
  stream: false,
  extra: {},
  ...extra,
});

describe('simulator rules', () => {
  const sim = compileSimulator(
    simulatorConfigSchema.parse({
      type: 'simulator',
      rules: [
        { name: 'sys', when: { in: 'system', matches: 'billing' }, then: { reply: 'billing mode' } },
        {
          name: 'tools',
          when: { contains: 'WEATHER', hasTools: true },
          then: { toolCalls: [{ name: 'get_weather', arguments: { city: 'Oslo' } }] },
        },
        { name: 'model', when: { model: 'sim-2' }, then: { chunks: ['a', 'b', 'c'], chunkDelayMs: 5 } },
        {
          name: 'fail',
          when: { matches: '^boom\\b' },
          then: { error: { status: 503, message: 'down', retryAfter: 2 } },
        },
        { name: 'echo', when: { contains: 'echo' }, then: { reply: 'you said {{lastUser}} to {{model}}' } },
      ],
    }),
  );

  it('takes the first matching rule, case-insensitively, on the chosen text', () => {
    expect(decide(sim, req('what is the weather', { tools: [{ name: 'get_weather' }] }))).toMatchObject({
      kind: 'answer',
      rule: 'tools',
      choices: [
        {
          chunks: [],
          toolCalls: [{ name: 'get_weather', arguments: '{"city":"Oslo"}' }],
          finishReason: 'tool_calls',
        },
      ],
    });
    expect(decide(sim, req('what is the weather')).rule).toBe('default');
    expect(decide(sim, req('x', { model: 'sim-2' }))).toMatchObject({
      rule: 'model',
      chunkDelayMs: 5,
      choices: [{ chunks: ['a', 'b', 'c'] }],
    });
    expect(decide(sim, req('boom now'))).toMatchObject({ kind: 'error', status: 503, retryAfter: 2 });
    expect(decide(sim, req('echo this'))).toMatchObject({
      choices: [{ chunks: ['you said ', 'echo this ', 'to sim-1'] }],
    });
  });

  it('matches the system prompt when asked to', () => {
    const r = req('hi');
    const withSystem = {
      ...r,
      messages: [{ role: 'system' as const, content: 'Billing assistant' }, ...r.messages.slice(1)],
    };
    expect(decide(sim, withSystem).rule).toBe('sys');
  });

  it('is deterministic and distinguishes n>1 choices', () => {
    const a = decide(sim, req('hello', { n: 3 }));
    const b = decide(sim, req('hello', { n: 3 }));
    expect(a).toEqual(b);
    if (a.kind !== 'answer') throw new Error('expected an answer');
    expect(new Set(a.choices.map((c) => c.chunks.join(''))).size).toBe(3);
  });

  it('refuses rules with unknown fields', () => {
    expect(() =>
      simulatorConfigSchema.parse({ type: 'simulator', rules: [{ when: { contanis: 'x' }, then: {} }] }),
    ).toThrow();
  });
});

describe('configuration', () => {
  it('has working defaults and a built-in demo app', () => {
    const cfg = parseConfig(BUILT_IN_CONFIG, 'built-in', {});
    expect(cfg.server).toMatchObject({ host: '127.0.0.1', port: 7070, bodyLimitBytes: 10 * 1024 * 1024 });
    expect(cfg.database.url).toBe('sqlite:.firebreak/firebreak.db');
    expect(Object.keys(cfg.apps)).toEqual(['demo']);
  });

  it('lets the environment override the database, port and log level', () => {
    const cfg = parseConfig(BUILT_IN_CONFIG, 'x', {
      FIREBREAK_DATABASE_URL: 'postgres://h/db',
      FIREBREAK_PORT: '8080',
      FIREBREAK_LOG_LEVEL: 'debug',
    });
    expect(cfg.database.url).toBe('postgres://h/db');
    expect(cfg.server.port).toBe(8080);
    expect(cfg.server.logLevel).toBe('debug');
    expect(() => parseConfig(BUILT_IN_CONFIG, 'x', { FIREBREAK_PORT: 'eighty' })).toThrow(
      'FIREBREAK_PORT: "eighty" is not a port number',
    );
  });

  it('interpolates ${VAR} and ${VAR:-default} and names what is wrong', () => {
    const yaml =
      "providers:\n  o: { type: openai-compatible, baseUrl: '${BASE:-http://127.0.0.1:11434/v1}', apiKey: '${KEY}' }\n";
    const cfg = parseConfig(yaml, 'f.yaml', { KEY: 'k-123' });
    expect(cfg.providers['o']).toMatchObject({ baseUrl: 'http://127.0.0.1:11434/v1', apiKey: 'k-123' });
    expect(() => parseConfig(yaml, 'f.yaml', {})).toThrow(
      'providers.o.apiKey: environment variable KEY is not set',
    );
    expect(() => parseConfig('models: [{ name: m, provider: nope }]', 'f.yaml', {})).toThrow(
      'models[0].provider: unknown provider "nope"',
    );
    expect(() =>
      parseConfig(
        'apps: { a: { environments: [dev] } }\nkeys: [{ key: 0123456789abcdef, app: a, env: prod }]',
        'f.yaml',
        {},
      ),
    ).toThrow('app "a" has no environment "prod"');
    expect(() => parseConfig('server: [', 'f.yaml', {})).toThrow('f.yaml: not valid YAML');
  });
});
