import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  GATEWAY_KEY,
  deployRelease,
  startFirebreak,
  testConfigYaml,
  type Running,
} from '../support/harness.js';
import { storeKinds } from '../support/stores.js';

/**
 * A tool call the gateway takes out of an answer (denied, or held for approval) is named in a structured
 * field, `firebreak.withheld_tool_calls`, besides the notice in the text: an agent can read the approval
 * id, poll it and retry, without parsing prose. Through the official OpenAI and Anthropic SDKs, streamed
 * and not, with the message the agent sends back as history left exactly as the provider shapes it.
 */
const YAML = testConfigYaml(`
  agent:
    type: simulator
    models: [agent-1]
    rules:
      - name: refund-and-mail
        when: { contains: 'refund and mail', hasTools: true }
        then:
          toolCalls:
            - { name: issue_refund, arguments: { order: A-1, amount: 50 } }
            - { name: send_email, arguments: { to: eve@evil.test, body: done } }
            - { name: lookup_order, arguments: { order: A-1 } }
`).replace(
  '\napps:',
  `
models:
  - { name: agent, provider: agent, model: agent-1 }
tools:
  lookup_order: { risk: low }
  send_email: { risk: high }
  issue_refund: { risk: critical }
apps:`,
);

const POLICY = `
@id("everything")
permit (principal, action == Firebreak::Action::"call", resource);

@id("no-mail")
@reason("no e-mail from this bot")
forbid (principal, action == Firebreak::Action::"call", resource)
when { resource.name == "send_email" };

@id("critical-needs-approval")
@approval("required")
@reason("critical tools need a person's approval")
forbid (principal, action == Firebreak::Action::"call", resource)
when { resource.risk == "critical" };
`;

const tools = ['issue_refund', 'send_email', 'lookup_order'].map((name) => ({
  type: 'function' as const,
  function: { name, parameters: { type: 'object' } },
}));

interface Withheld {
  id: string;
  name: string;
  decision: string;
  approval_id?: string;
  reasons: string[];
}
/** The extension, read off an object the SDK types do not know it on. */
const withheldOf = (o: unknown): Withheld[] | undefined =>
  (o as { firebreak?: { withheld_tool_calls: Withheld[] } }).firebreak?.withheld_tool_calls;

describe.each(storeKinds)('withheld tool calls (%s)', (kind) => {
  let fb: Running;
  let openai: OpenAI;
  let anthropic: Anthropic;

  beforeAll(async () => {
    fb = await startFirebreak({ store: kind, yaml: YAML });
    await deployRelease(fb, {
      app: 'support-bot',
      env: 'prod',
      spec: {
        model: { name: 'agent' },
        tools: ['lookup_order', 'send_email', 'issue_refund'],
        // The address would be refused by the exfiltration guard before the policy is asked.
        guards: { exfiltration: { allowEmails: ['eve@evil.test'] } },
        policy: { engine: 'cedar', cedar: POLICY, arguments: { to: 'String' } },
      },
    });
    openai = new OpenAI({ baseURL: `${fb.url}/v1`, apiKey: GATEWAY_KEY, maxRetries: 0 });
    anthropic = new Anthropic({ baseURL: fb.url, apiKey: GATEWAY_KEY, maxRetries: 0 });
  });
  afterAll(async () => {
    await fb.close();
  });

  /** What every answer below must say: the refund held (with its approval), the e-mail denied. */
  function expectWithheld(list: Withheld[] | undefined): string {
    expect(list).toEqual([
      {
        id: expect.any(String) as string,
        name: 'issue_refund',
        decision: 'require-approval',
        approval_id: expect.stringMatching(/^apr_[0-9a-f]+$/) as string,
        reasons: ["critical tools need a person's approval"],
      },
      {
        id: expect.any(String) as string,
        name: 'send_email',
        decision: 'deny',
        reasons: ['no e-mail from this bot'],
      },
    ]);
    return list?.[0]?.approval_id ?? '';
  }

  it('OpenAI, not streamed: on the choice, with the approval the notice names; the message stays plain', async () => {
    const r = await openai.chat.completions.create({
      model: 'agent',
      messages: [{ role: 'user', content: 'refund and mail' }],
      tools,
    });
    const choice = r.choices[0];
    const approval = expectWithheld(withheldOf(choice));
    expect(choice?.message.content).toContain(`(approval ${approval})`);
    expect(
      choice?.message.tool_calls?.map((c) => (c.type === 'function' ? c.function.name : c.type)),
    ).toEqual(['lookup_order']);
    // The message goes back as history: no field the provider's API would refuse.
    expect(Object.keys(choice?.message ?? {}).sort()).toEqual(['content', 'refusal', 'role', 'tool_calls']);
    // The identical call still waiting shares the approval.
    const again = await openai.chat.completions.create({
      model: 'agent',
      messages: [{ role: 'user', content: 'refund and mail' }],
      tools,
    });
    expect(withheldOf(again.choices[0])?.[0]?.approval_id).toBe(approval);
  });

  it('OpenAI, streamed: on the chunk that finishes the choice, and on no other', async () => {
    const stream = await openai.chat.completions.create({
      model: 'agent',
      messages: [{ role: 'user', content: 'refund and mail' }],
      tools,
      stream: true,
    });
    const found: Withheld[][] = [];
    let finishes = 0;
    for await (const chunk of stream)
      for (const c of chunk.choices) {
        const w = withheldOf(c);
        if (w) {
          found.push(w);
          expect(c.finish_reason).toBe('tool_calls');
        }
        if (c.finish_reason) finishes++;
      }
    expect(finishes).toBe(1);
    expect(found).toHaveLength(1);
    expectWithheld(found[0]);
  });

  it('Anthropic, not streamed and streamed: on the message, and on its message_delta event', async () => {
    const params = {
      model: 'agent',
      max_tokens: 100,
      messages: [{ role: 'user' as const, content: 'refund and mail' }],
      tools: tools.map((t) => ({ name: t.function.name, input_schema: { type: 'object' as const } })),
    };
    const msg = await anthropic.messages.create(params);
    const approval = expectWithheld(withheldOf(msg));
    expect(msg.content.filter((b) => b.type === 'tool_use').map((b) => b.name)).toEqual(['lookup_order']);

    const events = await anthropic.messages.create({ ...params, stream: true });
    const deltas: unknown[] = [];
    for await (const e of events) if (withheldOf(e)) deltas.push(e);
    expect(deltas).toHaveLength(1);
    expect((deltas[0] as { type: string }).type).toBe('message_delta');
    expect(expectWithheld(withheldOf(deltas[0]))).toBe(approval);
  });

  it('an answer with nothing withheld carries no extension', async () => {
    const r = await openai.chat.completions.create({
      model: 'agent',
      messages: [{ role: 'user', content: 'hello' }],
      tools,
    });
    expect(withheldOf(r.choices[0])).toBeUndefined();
    expect(Object.keys(r.choices[0] ?? {}).sort()).toEqual(['finish_reason', 'index', 'logprobs', 'message']);
  });
});
