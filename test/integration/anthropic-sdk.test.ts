import Anthropic, { APIError as AnthropicApiError } from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimulatorServer } from '../../src/providers/simulator-server.js';
import { GATEWAY_KEY, startFirebreak, testConfigYaml, type Running } from '../support/harness.js';
import { storeKinds } from '../support/stores.js';
import { providersYaml, startUpstream, UPSTREAM_KEY } from '../support/upstream.js';

const weatherTool: Anthropic.Tool = {
  name: 'get_weather',
  description: 'Current weather for a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

const textOf = (message: Anthropic.Message): string =>
  message.content
    .filter((b): b is Anthropic.TextBlock => b.type === 'text')
    .map((b) => b.text)
    .join('');

const toolUsesOf = (message: Anthropic.Message): Anthropic.ToolUseBlock[] =>
  message.content.filter((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use');

describe.each(storeKinds)('Anthropic SDK through the gateway (%s)', (kind) => {
  let fb: Running;
  let upstream: SimulatorServer;
  let client: Anthropic;
  let openai: OpenAI;

  beforeAll(async () => {
    upstream = await startUpstream();
    fb = await startFirebreak({
      store: kind,
      yaml: testConfigYaml(
        providersYaml({
          persona: {
            type: 'simulator',
            models: ['persona-1'],
            rules: [{ when: { contains: 'pirate', in: 'system' }, then: { reply: 'Arr, matey.' } }],
          },
          // Real HTTP upstreams in the other wire format than the client speaks.
          'up-anthropic': { type: 'anthropic', baseUrl: upstream.url, apiKey: UPSTREAM_KEY },
          'up-openai': { type: 'openai-compatible', baseUrl: `${upstream.url}/v1`, apiKey: UPSTREAM_KEY },
        }),
      ),
    });
    client = new Anthropic({ baseURL: fb.url, apiKey: GATEWAY_KEY, maxRetries: 0 });
    openai = new OpenAI({ baseURL: `${fb.url}/v1`, apiKey: GATEWAY_KEY, maxRetries: 0 });
  });
  afterAll(async () => {
    await fb.close();
    await upstream.close();
  });

  /** The newest request the upstream received. */
  const lastReceived = () => {
    const r = upstream.received.at(-1);
    if (!r) throw new Error('the upstream received nothing');
    return r;
  };

  describe('against the gateway’s own simulator', () => {
    it('answers messages.create and records the trace with its content and metadata.user_id', async () => {
      const { data, response } = await client.messages
        .create(
          {
            model: 'sim-1',
            max_tokens: 256,
            messages: [{ role: 'user', content: 'what is the refund policy?' }],
            metadata: { user_id: 'anthropic-user-7' },
          },
          { headers: { 'X-AI-Trace-Id': `a-create-${kind}`, 'X-Firebreak-Tenant': 'acme' } },
        )
        .withResponse();
      expect(data.type).toBe('message');
      expect(data.role).toBe('assistant');
      expect(data.model).toBe('sim-1');
      expect(data.id).toMatch(/^msg_/);
      expect(textOf(data)).toBe('Refunds within 30 days.');
      expect(data.stop_reason).toBe('end_turn');
      expect(data.usage.input_tokens).toBeGreaterThan(0);
      expect(data.usage.output_tokens).toBeGreaterThan(0);
      expect(response.headers.get('x-ai-trace-id')).toBe(`a-create-${kind}`);

      const [call] = await fb.traceOf(`a-create-${kind}`);
      expect(call).toMatchObject({
        endpoint: 'messages',
        app: 'support-bot',
        env: 'prod',
        userId: 'anthropic-user-7',
        tenantId: 'acme',
        model: 'sim-1',
        provider: 'sim',
        status: 'ok',
        httpStatus: 200,
        stream: false,
        errorCode: null,
      });
      expect(JSON.stringify(call?.body.request)).toContain('what is the refund policy?');
      expect(JSON.stringify(call?.body.response)).toContain('Refunds within 30 days.');
      expect(call?.promptTokens).toBe(data.usage.input_tokens);
      expect(call?.completionTokens).toBe(data.usage.output_tokens);
    });

    it('passes the system prompt to the model (string and block forms) and records it', async () => {
      const asString = await client.messages.create(
        {
          model: 'persona-1',
          max_tokens: 64,
          system: 'You are a pirate.',
          messages: [{ role: 'user', content: 'hello' }],
        },
        { headers: { 'X-AI-Trace-Id': `a-system-${kind}` } },
      );
      expect(textOf(asString)).toBe('Arr, matey.');
      const asBlocks = await client.messages.create({
        model: 'persona-1',
        max_tokens: 64,
        system: [{ type: 'text', text: 'Talk like a pirate.' }],
        messages: [{ role: 'user', content: 'hello' }],
      });
      expect(textOf(asBlocks)).toBe('Arr, matey.');
      // Without the system prompt the rule does not match: the answer really depended on it.
      const without = await client.messages.create({
        model: 'persona-1',
        max_tokens: 64,
        messages: [{ role: 'user', content: 'hello' }],
      });
      expect(textOf(without)).not.toBe('Arr, matey.');

      const [call] = await fb.traceOf(`a-system-${kind}`);
      expect(call?.provider).toBe('persona');
      expect(JSON.stringify(call?.body.request)).toContain('You are a pirate.');
      expect(JSON.stringify(call?.body.response)).toContain('Arr, matey.');
    });

    it('streams with messages.stream(): text events, finalMessage() and the recorded trace', async () => {
      const stream = client.messages.stream(
        {
          model: 'sim-1',
          max_tokens: 256,
          messages: [{ role: 'user', content: 'tell me about refund rules' }],
          metadata: { user_id: 'streamer-1' },
        },
        { headers: { 'X-AI-Trace-Id': `a-stream-${kind}` } },
      );
      const deltas: string[] = [];
      stream.on('text', (delta) => deltas.push(delta));
      const final = await stream.finalMessage();
      expect(deltas.length).toBeGreaterThan(1);
      expect(deltas.join('')).toBe('Refunds within 30 days.');
      expect(textOf(final)).toBe('Refunds within 30 days.');
      expect(final.stop_reason).toBe('end_turn');
      expect(final.model).toBe('sim-1');
      expect(final.usage.output_tokens).toBeGreaterThan(0);

      const [call] = await fb.traceOf(`a-stream-${kind}`);
      expect(call).toMatchObject({
        endpoint: 'messages',
        stream: true,
        status: 'ok',
        httpStatus: 200,
        userId: 'streamer-1',
      });
      expect(call?.ttftMs).not.toBeNull();
      expect(JSON.stringify(call?.body.response)).toContain('Refunds within 30 days.');
    });

    it('streams with create({ stream: true }) in the Messages event order', async () => {
      const stream = await client.messages.create(
        {
          model: 'sim-1',
          max_tokens: 256,
          stream: true,
          messages: [{ role: 'user', content: 'refund please' }],
        },
        { headers: { 'X-AI-Trace-Id': `a-raw-stream-${kind}` } },
      );
      const types: string[] = [];
      let text = '';
      let stopReason: string | null | undefined;
      for await (const event of stream) {
        types.push(event.type);
        if (event.type === 'content_block_delta' && event.delta.type === 'text_delta')
          text += event.delta.text;
        if (event.type === 'message_delta') stopReason = event.delta.stop_reason;
      }
      expect(text).toBe('Refunds within 30 days.');
      expect(stopReason).toBe('end_turn');
      expect(types[0]).toBe('message_start');
      expect(types[1]).toBe('content_block_start');
      expect(types.at(-3)).toBe('content_block_stop');
      expect(types.at(-2)).toBe('message_delta');
      expect(types.at(-1)).toBe('message_stop');
      const [call] = await fb.traceOf(`a-raw-stream-${kind}`);
      expect(call?.stream).toBe(true);
      expect(JSON.stringify(call?.body.response)).toContain('Refunds within 30 days.');
    });

    it('round-trips tool use and records the tool call and the tool result', async () => {
      const question: Anthropic.MessageParam = { role: 'user', content: 'what is the weather in Paris?' };
      const first = await client.messages.create(
        { model: 'sim-1', max_tokens: 256, tools: [weatherTool], messages: [question] },
        { headers: { 'X-AI-Trace-Id': `a-tools-${kind}` } },
      );
      expect(first.stop_reason).toBe('tool_use');
      const [use] = toolUsesOf(first);
      expect(use?.name).toBe('get_weather');
      expect(use?.input).toEqual({ city: 'Paris' });
      expect(use?.id).toBeTruthy();

      const second = await client.messages.create(
        {
          model: 'sim-1',
          max_tokens: 256,
          tools: [weatherTool],
          messages: [
            question,
            { role: 'assistant', content: first.content },
            {
              role: 'user',
              content: [{ type: 'tool_result', tool_use_id: use?.id ?? '', content: 'sunny, 21C' }],
            },
          ],
        },
        { headers: { 'X-AI-Trace-Id': `a-tools-${kind}` } },
      );
      expect(textOf(second)).toBe('Tool said: sunny, 21C');
      expect(second.stop_reason).toBe('end_turn');

      const calls = await fb.traceOf(`a-tools-${kind}`, 2);
      const byTime = [...calls].sort((a, b) => a.ts - b.ts);
      const withCall = byTime.find((c) => c.body.toolCalls.length > 0);
      const withResult = byTime.find((c) => c.body.toolResults.length > 0);
      expect(withCall?.body.toolCalls).toEqual([
        { id: use?.id, name: 'get_weather', arguments: '{"city":"Paris"}' },
      ]);
      expect(withResult?.body.toolResults).toEqual([{ toolCallId: use?.id, content: 'sunny, 21C' }]);
      expect(JSON.stringify(withResult?.body.response)).toContain('Tool said: sunny, 21C');
    });

    it('streams tool use that the SDK assembles into finalMessage()', async () => {
      const stream = client.messages.stream({
        model: 'sim-1',
        max_tokens: 256,
        tools: [weatherTool],
        messages: [{ role: 'user', content: 'weather please' }],
      });
      const final = await stream.finalMessage();
      expect(final.stop_reason).toBe('tool_use');
      const [use] = toolUsesOf(final);
      expect(use?.name).toBe('get_weather');
      expect(use?.input).toEqual({ city: 'Paris' });
    });

    it('answers errors in the Anthropic error format', async () => {
      const notFound = await client.messages
        .create({ model: 'no-such-model', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] })
        .catch((e: unknown) => e);
      expect(notFound).toBeInstanceOf(Anthropic.NotFoundError);
      expect((notFound as AnthropicApiError).type).toBe('not_found_error');
      expect((notFound as AnthropicApiError).apiMessage).toContain('model "no-such-model" is not configured');

      const badKey = new Anthropic({ baseURL: fb.url, apiKey: 'fbk_not_a_real_key_00000000', maxRetries: 0 });
      const unauthenticated = await badKey.messages
        .create({ model: 'sim-1', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] })
        .catch((e: unknown) => e);
      expect(unauthenticated).toBeInstanceOf(Anthropic.AuthenticationError);
      expect((unauthenticated as AnthropicApiError).type).toBe('authentication_error');
    });
  });

  describe('OpenAI client → Anthropic upstream over real HTTP', () => {
    const tools: OpenAI.ChatCompletionTool[] = [
      {
        type: 'function',
        function: {
          name: 'get_weather',
          parameters: { type: 'object', properties: { city: { type: 'string' } } },
        },
      },
    ];

    it('answers a chat completion from an Anthropic upstream', async () => {
      const { data, response } = await openai.chat.completions
        .create(
          {
            model: 'up-anthropic/claude-sim',
            messages: [
              { role: 'system', content: 'be brief' },
              { role: 'user', content: 'what is the refund policy?' },
            ],
            safety_identifier: 'cross-user',
          },
          { headers: { 'X-AI-Trace-Id': `x-oa-an-${kind}` } },
        )
        .withResponse();
      expect(data.object).toBe('chat.completion');
      expect(data.model).toBe('up-anthropic/claude-sim');
      expect(data.choices[0]?.message.content).toBe('Refunds within 30 days.');
      expect(data.choices[0]?.finish_reason).toBe('stop');
      expect(data.usage?.completion_tokens).toBeGreaterThan(0);
      expect(response.headers.get('x-ai-trace-id')).toBe(`x-oa-an-${kind}`);

      // What the upstream saw: the Messages API, our provider key (never the client's), the system lifted out.
      const sent = lastReceived();
      expect(sent.path).toBe('/v1/messages');
      expect(sent.headers['x-api-key']).toBe(UPSTREAM_KEY);
      expect(sent.headers['anthropic-version']).toBe('2023-06-01');
      expect(JSON.stringify(sent.headers)).not.toContain(GATEWAY_KEY);
      expect(sent.body).toMatchObject({
        model: 'claude-sim',
        system: 'be brief',
        max_tokens: 1024,
        messages: [{ role: 'user', content: [{ type: 'text', text: 'what is the refund policy?' }] }],
      });

      const [call] = await fb.traceOf(`x-oa-an-${kind}`);
      expect(call).toMatchObject({
        endpoint: 'chat.completions',
        provider: 'up-anthropic',
        model: 'up-anthropic/claude-sim',
        status: 'ok',
        userId: 'cross-user',
      });
      expect(JSON.stringify(call?.body.response)).toContain('Refunds within 30 days.');
    });

    it('streams from an Anthropic upstream as OpenAI chunks', async () => {
      const stream = await openai.chat.completions.create(
        {
          model: 'up-anthropic/claude-sim',
          stream: true,
          stream_options: { include_usage: true },
          messages: [{ role: 'user', content: 'tell me about refund rules' }],
        },
        { headers: { 'X-AI-Trace-Id': `x-oa-an-stream-${kind}` } },
      );
      let text = '';
      let chunks = 0;
      let finish: string | null | undefined;
      let usage: OpenAI.CompletionUsage | null | undefined;
      for await (const chunk of stream) {
        chunks += 1;
        expect(chunk.object).toBe('chat.completion.chunk');
        text += chunk.choices[0]?.delta.content ?? '';
        finish = chunk.choices[0]?.finish_reason ?? finish;
        if (chunk.usage) usage = chunk.usage;
      }
      expect(chunks).toBeGreaterThan(2);
      expect(text).toBe('Refunds within 30 days.');
      expect(finish).toBe('stop');
      expect(usage?.completion_tokens).toBeGreaterThan(0);
      expect(lastReceived().body).toMatchObject({ stream: true });
      const [call] = await fb.traceOf(`x-oa-an-stream-${kind}`);
      expect(call).toMatchObject({ provider: 'up-anthropic', stream: true, status: 'ok' });
      expect(JSON.stringify(call?.body.response)).toContain('Refunds within 30 days.');
    });

    it('returns tool calls in OpenAI format and sends tool results back as tool_result blocks', async () => {
      const first = await openai.chat.completions.create(
        {
          model: 'up-anthropic/claude-sim',
          tools,
          messages: [{ role: 'user', content: 'what is the weather?' }],
        },
        { headers: { 'X-AI-Trace-Id': `x-oa-an-tools-${kind}` } },
      );
      expect(first.choices[0]?.finish_reason).toBe('tool_calls');
      const call = first.choices[0]?.message.tool_calls?.[0];
      expect(call?.type).toBe('function');
      expect(call?.id).toBeTruthy();
      expect(call?.type === 'function' ? call.function.name : undefined).toBe('get_weather');
      expect(call?.type === 'function' ? JSON.parse(call.function.arguments) : undefined).toEqual({
        city: 'Paris',
      });
      expect(lastReceived().body).toMatchObject({
        tools: [{ name: 'get_weather', input_schema: { type: 'object' } }],
      });

      const second = await openai.chat.completions.create(
        {
          model: 'up-anthropic/claude-sim',
          tools,
          messages: [
            { role: 'user', content: 'what is the weather?' },
            first.choices[0]?.message as OpenAI.ChatCompletionMessageParam,
            { role: 'tool', tool_call_id: call?.id ?? '', content: 'sunny, 21C' },
          ],
        },
        { headers: { 'X-AI-Trace-Id': `x-oa-an-tools-${kind}` } },
      );
      expect(second.choices[0]?.message.content).toBe('Tool said: sunny, 21C');
      expect(lastReceived().body).toMatchObject({
        messages: [
          { role: 'user' },
          { role: 'assistant', content: [{ type: 'tool_use', id: call?.id, name: 'get_weather' }] },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: call?.id, content: 'sunny, 21C' }] },
        ],
      });

      const calls = await fb.traceOf(`x-oa-an-tools-${kind}`, 2);
      expect(calls.flatMap((c) => c.body.toolCalls)).toEqual([
        { id: call?.id, name: 'get_weather', arguments: '{"city":"Paris"}' },
      ]);
      expect(calls.flatMap((c) => c.body.toolResults)).toEqual([
        { toolCallId: call?.id, content: 'sunny, 21C' },
      ]);
    });

    it('streams tool calls from an Anthropic upstream that the OpenAI SDK assembles', async () => {
      const final = await openai.chat.completions
        .stream({
          model: 'up-anthropic/claude-sim',
          tools,
          messages: [{ role: 'user', content: 'weather please' }],
        })
        .finalChatCompletion();
      expect(final.choices[0]?.finish_reason).toBe('tool_calls');
      const toolCall = final.choices[0]?.message.tool_calls?.[0];
      expect(toolCall?.type === 'function' ? toolCall.function : undefined).toEqual({
        name: 'get_weather',
        arguments: '{"city":"Paris"}',
      });
    });
  });

  describe('Anthropic client → OpenAI-compatible upstream over real HTTP', () => {
    it('answers messages.create from an OpenAI upstream', async () => {
      const message = await client.messages.create(
        {
          model: 'up-openai/gpt-sim',
          max_tokens: 100,
          system: 'be brief',
          messages: [{ role: 'user', content: 'what is the refund policy?' }],
          metadata: { user_id: 'cross-anthropic-user' },
        },
        { headers: { 'X-AI-Trace-Id': `x-an-oa-${kind}` } },
      );
      expect(message.model).toBe('up-openai/gpt-sim');
      expect(textOf(message)).toBe('Refunds within 30 days.');
      expect(message.stop_reason).toBe('end_turn');
      expect(message.usage.output_tokens).toBeGreaterThan(0);

      const sent = lastReceived();
      expect(sent.path).toBe('/v1/chat/completions');
      expect(sent.headers.authorization).toBe(`Bearer ${UPSTREAM_KEY}`);
      expect(JSON.stringify(sent.headers)).not.toContain(GATEWAY_KEY);
      expect(sent.body).toMatchObject({
        model: 'gpt-sim',
        messages: [
          { role: 'system', content: 'be brief' },
          { role: 'user', content: 'what is the refund policy?' },
        ],
      });

      const [call] = await fb.traceOf(`x-an-oa-${kind}`);
      expect(call).toMatchObject({
        endpoint: 'messages',
        provider: 'up-openai',
        status: 'ok',
        userId: 'cross-anthropic-user',
      });
      expect(JSON.stringify(call?.body.response)).toContain('Refunds within 30 days.');
    });

    it('streams from an OpenAI upstream as Anthropic events', async () => {
      const stream = client.messages.stream(
        {
          model: 'up-openai/gpt-sim',
          max_tokens: 100,
          messages: [{ role: 'user', content: 'tell me about refund rules' }],
        },
        { headers: { 'X-AI-Trace-Id': `x-an-oa-stream-${kind}` } },
      );
      const deltas: string[] = [];
      stream.on('text', (delta) => deltas.push(delta));
      const final = await stream.finalMessage();
      expect(deltas.length).toBeGreaterThan(1);
      expect(deltas.join('')).toBe('Refunds within 30 days.');
      expect(textOf(final)).toBe('Refunds within 30 days.');
      expect(final.stop_reason).toBe('end_turn');
      expect(lastReceived().body).toMatchObject({ stream: true });
      const [call] = await fb.traceOf(`x-an-oa-stream-${kind}`);
      expect(call).toMatchObject({ provider: 'up-openai', stream: true, status: 'ok' });
    });

    it('round-trips tool use through an OpenAI upstream (plain and streamed)', async () => {
      const question: Anthropic.MessageParam = { role: 'user', content: 'what is the weather?' };
      const first = await client.messages.create(
        { model: 'up-openai/gpt-sim', max_tokens: 100, tools: [weatherTool], messages: [question] },
        { headers: { 'X-AI-Trace-Id': `x-an-oa-tools-${kind}` } },
      );
      expect(first.stop_reason).toBe('tool_use');
      const [use] = toolUsesOf(first);
      expect(use).toMatchObject({ type: 'tool_use', name: 'get_weather', input: { city: 'Paris' } });
      expect(lastReceived().body).toMatchObject({
        tools: [{ type: 'function', function: { name: 'get_weather' } }],
      });

      const second = await client.messages.create(
        {
          model: 'up-openai/gpt-sim',
          max_tokens: 100,
          tools: [weatherTool],
          messages: [
            question,
            { role: 'assistant', content: first.content },
            {
              role: 'user',
              content: [{ type: 'tool_result', tool_use_id: use?.id ?? '', content: 'rain, 12C' }],
            },
          ],
        },
        { headers: { 'X-AI-Trace-Id': `x-an-oa-tools-${kind}` } },
      );
      expect(textOf(second)).toBe('Tool said: rain, 12C');
      expect(lastReceived().body).toMatchObject({
        messages: [
          { role: 'user' },
          {
            role: 'assistant',
            tool_calls: [{ id: use?.id, type: 'function', function: { name: 'get_weather' } }],
          },
          { role: 'tool', tool_call_id: use?.id, content: 'rain, 12C' },
        ],
      });

      const streamed = await client.messages
        .stream({
          model: 'up-openai/gpt-sim',
          max_tokens: 100,
          tools: [weatherTool],
          messages: [question],
        })
        .finalMessage();
      expect(streamed.stop_reason).toBe('tool_use');
      expect(toolUsesOf(streamed)[0]).toMatchObject({ name: 'get_weather', input: { city: 'Paris' } });

      const calls = await fb.traceOf(`x-an-oa-tools-${kind}`, 2);
      expect(calls.flatMap((c) => c.body.toolCalls)).toEqual([
        { id: use?.id, name: 'get_weather', arguments: '{"city":"Paris"}' },
      ]);
      expect(calls.flatMap((c) => c.body.toolResults)).toEqual([
        { toolCallId: use?.id, content: 'rain, 12C' },
      ]);
    });
  });
});
