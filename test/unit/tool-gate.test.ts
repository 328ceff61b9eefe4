import { describe, expect, it } from 'vitest';
import { planCall } from '../../src/core/call-plan.js';
import type { ChatRequest, StreamEvent } from '../../src/core/chat.js';
import { resolveFlags, type Flag } from '../../src/core/flags.js';
import { GuardSet } from '../../src/core/guards/engine.js';
import { parseGuardSettings } from '../../src/core/guards/guard-settings.js';
import { releaseSpecSchema, type Release } from '../../src/core/release.js';
import { parseConfig } from '../../src/server/config-load.js';
import { CallGuards } from '../../src/gateway/call-guards.js';
import { gateStreamedToolCalls, gateToolCalls, type ToolJudgement } from '../../src/gateway/tool-gate.js';
import { makeToolJudge } from '../../src/gateway/tool-judge.js';

const config = parseConfig(
  'providers:\n  sim: { type: simulator, models: [m1] }\ntools:\n  send_email: { risk: high }\n  lookup: { risk: low }\napps:\n  bot: { environments: [prod] }\n',
  'test',
  {},
);
const release: Release = {
  app: 'bot',
  version: 1,
  hash: 'h1',
  spec: releaseSpecSchema.parse({
    model: { name: 'm1' },
    tools: ['send_email', 'lookup'],
    guards: { canaries: ['CANARY-7f3a9c'] },
  }),
  createdAt: 0,
  createdBy: 'test',
};
const req: ChatRequest = {
  model: 'm1',
  messages: [{ role: 'user', content: 'hi' }],
  n: 1,
  stream: true,
  extra: {},
};

function judgeWith(disabled: string[]) {
  const flags: Flag[] = disabled.map((t, i) => ({
    id: `f${i}`,
    key: `tool:${t}`,
    value: 'off',
    app: 'bot',
    env: null,
    tenant: null,
    user: null,
    reason: 'test',
    actor: 'test',
    incident: null,
    createdAt: 0,
    expiresAt: null,
  }));
  const plan = planCall({
    config,
    app: 'bot',
    active: { release, deploymentId: 'd1' },
    knownGood: undefined,
    flags: resolveFlags(flags, { app: 'bot', env: 'prod', tenant: null, user: null }, 0),
    request: req,
    retrieved: [],
  });
  const guards = new CallGuards(new GuardSet(parseGuardSettings(release.spec.guards)), {
    system: '',
    ownIdentifiers: [],
  });
  return { judge: makeToolJudge(plan, release, guards, undefined), guards };
}

async function run(events: StreamEvent[], disabled: string[]) {
  const { judge } = judgeWith(disabled);
  const judged: ToolJudgement[] = [];
  const out: StreamEvent[] = [];
  for await (const e of gateStreamedToolCalls(events, judge, (js) => judged.push(...js))) out.push(e);
  return { out, judged };
}

describe('tool calls are judged before the client sees them', () => {
  it('holds a streamed call until its choice finishes, so a blocked call never leaks (even if its name comes late)', async () => {
    const { out, judged } = await run(
      [
        { type: 'tool_call', index: 0, callIndex: 0, id: 'c1', argumentsDelta: '' },
        { type: 'tool_call', index: 0, callIndex: 0, name: 'send_email', argumentsDelta: '{"to":' },
        { type: 'tool_call', index: 0, callIndex: 0, argumentsDelta: '"x@evil.example"}' },
        { type: 'tool_call', index: 0, callIndex: 1, id: 'c2', argumentsDelta: '' },
        { type: 'tool_call', index: 0, callIndex: 1, name: 'lookup', argumentsDelta: '{}' },
        { type: 'finish', index: 0, reason: 'tool_calls' },
      ],
      ['send_email'],
    );
    expect(JSON.stringify(out)).not.toContain('evil');
    expect(out.flatMap((e) => (e.type === 'tool_call' ? [e.callIndex] : []))).toEqual([1, 1]);
    // The finish names the call taken out (for firebreak.withheld_tool_calls), without its arguments.
    expect(out.at(-1)).toEqual({
      type: 'finish',
      index: 0,
      reason: 'tool_calls',
      withheld: [
        {
          id: 'c1',
          name: 'send_email',
          decision: 'deny',
          reasons: ['the tool is switched off (flag tool:send_email)'],
        },
      ],
    });
    expect(judged.map((j) => [j.call.name, j.enforced, j.engine])).toEqual([
      ['send_email', 'deny', 'flag'],
      ['lookup', 'allow', 'none'],
    ]);
    expect(judged[0]?.call.arguments).toBe('{"to":"x@evil.example"}');
  });

  it('replaces a choice whose only calls are blocked with a notice and finish "stop"', async () => {
    const { out } = await run(
      [
        { type: 'tool_call', index: 0, callIndex: 0, id: 'c1', name: 'send_email', argumentsDelta: '{}' },
        { type: 'finish', index: 0, reason: 'tool_calls' },
      ],
      ['send_email'],
    );
    expect(out).toEqual([
      { type: 'text', index: 0, delta: expect.stringContaining('blocked "send_email"') as unknown },
      {
        type: 'finish',
        index: 0,
        reason: 'stop',
        withheld: [
          {
            id: 'c1',
            name: 'send_email',
            decision: 'deny',
            reasons: ['the tool is switched off (flag tool:send_email)'],
          },
        ],
      },
    ]);
  });

  it('denies a call whose name never arrives, and a tool outside the catalogue, with a notice', async () => {
    const { out, judged } = await run(
      [
        { type: 'tool_call', index: 0, callIndex: 0, id: 'c1', argumentsDelta: '{}' },
        { type: 'tool_call', index: 0, callIndex: 1, id: 'c2', name: 'shell', argumentsDelta: '{}' },
        { type: 'finish', index: 0, reason: 'tool_calls' },
      ],
      [],
    );
    expect(judged.map((j) => [j.engine, j.enforced])).toEqual([
      ['gateway', 'deny'],
      ['catalogue', 'deny'],
    ]);
    expect(out.filter((e) => e.type === 'text')).toHaveLength(2);
  });

  it('denies a call whose arguments carry the release canary (guard on tool_call)', async () => {
    const { judge, guards } = judgeWith([]);
    const { response, judgements } = await gateToolCalls(
      {
        id: 'r',
        model: 'm1',
        created: 0,
        usage: { promptTokens: 1, completionTokens: 1 },
        choices: [
          {
            index: 0,
            text: null,
            finishReason: 'tool_calls',
            toolCalls: [{ id: 'c1', name: 'lookup', arguments: '{"q":"canary-7F3A9C"}' }],
          },
        ],
      },
      judge,
    );
    expect(judgements[0]).toMatchObject({ enforced: 'deny', engine: 'guard' });
    expect(response.choices[0]).toMatchObject({ toolCalls: [], finishReason: 'stop' });
    expect(guards.findings).toMatchObject([{ detector: 'canary', stage: 'tool_call', severity: 'SEV1' }]);
  });

  it('denies a call the policy gave no decision for, with a tool-policy finding', async () => {
    const { guards } = judgeWith([]);
    const plan = planCall({
      config,
      app: 'bot',
      active: { release, deploymentId: 'd1' },
      knownGood: undefined,
      flags: resolveFlags([], { app: 'bot', env: 'prod', tenant: null, user: null }, 0),
      request: req,
      retrieved: [],
    });
    // A policy that answers for fewer calls than it was asked about.
    const judge = makeToolJudge(plan, release, guards, () => Promise.resolve([]));
    const [verdict] = await judge([{ id: 'c1', name: 'lookup', arguments: '{}' }]);
    expect(verdict?.enforced).toBe('deny');
    expect(verdict?.reasons).toEqual(['the policy engine gave no decision for this call']);
    const [finding] = guards.findings;
    expect(finding).toMatchObject({ detector: 'tool-policy', kind: 'engine_error', action: 'block' });
  });

  it('passes a stream without tool calls through untouched', async () => {
    const events: StreamEvent[] = [
      { type: 'text', index: 0, delta: 'hi' },
      { type: 'finish', index: 0, reason: 'stop' },
    ];
    expect((await run(events, [])).out).toEqual(events);
  });
});
