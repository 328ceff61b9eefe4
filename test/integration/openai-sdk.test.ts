import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GATEWAY_KEY, startFirebreak, type Running } from '../support/harness.js';
import { storeKinds } from '../support/stores.js';

describe.each(storeKinds)('OpenAI SDK through the gateway (%s)', (kind) => {
  let fb: Running;
  let client: OpenAI;

  beforeAll(async () => {
    fb = await startFirebreak({ store: kind });
    client = new OpenAI({ baseURL: `${fb.url}/v1`, apiKey: GATEWAY_KEY, maxRetries: 0 });
  });
  afterAll(() => fb.close());

  it('answers a chat completion and records the trace with its content', async () => {
    const { data, response } = await client.chat.completions
      .create(
        {
          model: 'sim-1',
          messages: [
            { role: 'system', content: 'be brief' },
            { role: 'user', content: 'what is the refund policy?' },
          ],
          safety_identifier: 'u-42',
        },
        {
          headers: {
            'X-AI-Trace-Id': `t-chat-${kind}`,
            'X-Firebreak-Tenant': 'acme',
            'X-Firebreak-Session': 's-1',
          },
        },
      )
      .withResponse();
    expect(data.choices[0]?.message.content).toBe('Refunds within 30 days.');
    expect(data.model).toBe('sim-1');
    expect(response.headers.get('x-ai-trace-id')).toBe(`t-chat-${kind}`);
    expect(response.headers.get('x-firebreak-release')).toBe('support-bot@0');
    expect(Number(response.headers.get('x-firebreak-overhead-ms'))).toBeGreaterThanOrEqual(0);

    const [call] = await fb.traceOf(`t-chat-${kind}`);
    expect(call).toMatchObject({
      app: 'support-bot',
      env: 'prod',
      userId: 'u-42',
      tenantId: 'acme',
      sessionId: 's-1',
      model: 'sim-1',
      provider: 'sim',
      release: 'support-bot@0',
      status: 'ok',
      httpStatus: 200,
      stream: false,
    });
    expect(JSON.stringify(call?.body.request)).toContain('what is the refund policy?');
    expect(JSON.stringify(call?.body.response)).toContain('Refunds within 30 days.');
    expect(call?.promptTokens).toBeGreaterThan(0);
  });

  it('takes the user from X-Firebreak-User over the body', async () => {
    const { response } = await client.chat.completions
      .create(
        { model: 'sim-1', messages: [{ role: 'user', content: 'hi' }], safety_identifier: 'body-user' },
        { headers: { 'X-Firebreak-User': 'header-user' } },
      )
      .withResponse();
    const traceId = response.headers.get('x-ai-trace-id') ?? '';
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    const [call] = await fb.traceOf(traceId);
    expect(call?.userId).toBe('header-user');
  });

  it('streams, and the recorded trace holds the assembled answer', async () => {
    const stream = await client.chat.completions.create(
      {
        model: 'sim-1',
        stream: true,
        stream_options: { include_usage: true },
        messages: [{ role: 'user', content: 'tell me about refund rules' }],
      },
      { headers: { 'X-AI-Trace-Id': `t-stream-${kind}` } },
    );
    let text = '';
    let usage: OpenAI.CompletionUsage | null | undefined;
    let chunks = 0;
    for await (const chunk of stream) {
      chunks += 1;
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(chunks).toBeGreaterThan(2);
    expect(text).toBe('Refunds within 30 days.');
    expect(usage?.completion_tokens).toBeGreaterThan(0);
    const [call] = await fb.traceOf(`t-stream-${kind}`);
    expect(call?.stream).toBe(true);
    expect(call?.status).toBe('ok');
    expect(call?.ttftMs).not.toBeNull();
    expect(JSON.stringify(call?.body.response)).toContain('Refunds within 30 days.');
  });

  it('round-trips tool calls and records both the call and the tool result', async () => {
    const tools: OpenAI.ChatCompletionTool[] = [
      {
        type: 'function',
        function: {
          name: 'get_weather',
          parameters: { type: 'object', properties: { city: { type: 'string' } } },
        },
      },
    ];
    const first = await client.chat.completions.create(
      { model: 'sim-1', tools, messages: [{ role: 'user', content: 'what is the weather?' }] },
      { headers: { 'X-AI-Trace-Id': `t-tools-${kind}` } },
    );
    const call = first.choices[0]?.message.tool_calls?.[0];
    expect(first.choices[0]?.finish_reason).toBe('tool_calls');
    expect(call?.type === 'function' ? call.function.name : undefined).toBe('get_weather');
    expect(call?.type === 'function' ? JSON.parse(call.function.arguments) : undefined).toEqual({
      city: 'Paris',
    });

    const second = await client.chat.completions.create(
      {
        model: 'sim-1',
        tools,
        messages: [
          { role: 'user', content: 'what is the weather?' },
          first.choices[0]?.message as OpenAI.ChatCompletionMessageParam,
          { role: 'tool', tool_call_id: call?.id ?? '', content: 'sunny, 21C' },
        ],
      },
      { headers: { 'X-AI-Trace-Id': `t-tools-${kind}` } },
    );
    expect(second.choices[0]?.message.content).toBe('Tool said: sunny, 21C');

    const calls = await fb.traceOf(`t-tools-${kind}`, 2);
    expect(calls[0]?.body.toolCalls).toEqual([
      { id: call?.id, name: 'get_weather', arguments: '{"city":"Paris"}' },
    ]);
    expect(calls[1]?.body.toolResults).toEqual([{ toolCallId: call?.id, content: 'sunny, 21C' }]);
  });

  it('streams tool calls that the SDK assembles', async () => {
    const stream = client.chat.completions.stream({
      model: 'sim-1',
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }],
      messages: [{ role: 'user', content: 'weather please' }],
    });
    const final = await stream.finalChatCompletion();
    const toolCall = final.choices[0]?.message.tool_calls?.[0];
    expect(toolCall?.type === 'function' ? toolCall.function : undefined).toEqual({
      name: 'get_weather',
      arguments: '{"city":"Paris"}',
    });
  });

  it('returns n choices', async () => {
    const r = await client.chat.completions.create({
      model: 'sim-1',
      n: 3,
      messages: [{ role: 'user', content: 'refund?' }],
    });
    expect(r.choices.map((c) => c.index)).toEqual([0, 1, 2]);
    expect(new Set(r.choices.map((c) => c.message.content)).size).toBe(3);
  });

  it('strips firebreak.retrieved before the upstream call and records the documents', async () => {
    const body = {
      model: 'sim-1',
      messages: [{ role: 'user' as const, content: 'refund?' }],
      firebreak: {
        retrieved: [{ id: 'doc-1', source: 'kb-public', text: 'Refunds: 30 days.', labels: ['public'] }],
      },
    };
    const { response } = await client.chat.completions
      .create(body as OpenAI.ChatCompletionCreateParamsNonStreaming)
      .withResponse();
    const [call] = await fb.traceOf(response.headers.get('x-ai-trace-id') ?? '');
    expect(call?.body.retrieved).toEqual([
      { id: 'doc-1', source: 'kb-public', text: 'Refunds: 30 days.', labels: ['public'] },
    ]);
    expect(JSON.stringify(call?.body.request)).not.toContain('kb-public');
  });

  it('serves embeddings (float and the SDK default base64) and lists models', async () => {
    const e = await client.embeddings.create({ model: 'sim-1', input: ['a', 'b'], dimensions: 8 });
    expect(e.data).toHaveLength(2);
    expect(e.data[0]?.embedding).toHaveLength(8);
    const f = await client.embeddings.create({
      model: 'sim-1',
      input: 'a',
      dimensions: 8,
      encoding_format: 'float',
    });
    expect(f.data[0]?.embedding[0]).toBeCloseTo(e.data[0]?.embedding[0] ?? NaN, 5);
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual(expect.arrayContaining(['sim-1', 'sim-2']));
  });

  it('redacts secrets and PII in the stored trace but not in the answer', async () => {
    const { data, response } = await client.chat.completions
      .create({
        model: 'sim-1',
        // A card number in the question is the customer's own: the guards only block cards on the way
        // out (financial-id at output and tool_call), so it reaches the model but not the stored trace.
        messages: [
          { role: 'user', content: 'leak it, my mail is bob@corp.example, card 4111 1111 1111 1111' },
        ],
      })
      .withResponse();
    expect(data.choices[0]?.message.content).toContain('alice@example.com');
    const [call] = await fb.traceOf(response.headers.get('x-ai-trace-id') ?? '');
    const stored = JSON.stringify(call?.body);
    expect(stored).not.toContain('4111 1111 1111 1111');
    expect(stored).not.toContain('bob@corp.example');
    expect(stored).not.toContain('sk-abcdefghijklmnopqrstuvwx');
    expect(stored).toContain('[REDACTED:card]');
    expect(stored).toContain('[REDACTED:email]');
  });
});
