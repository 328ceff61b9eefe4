import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GATEWAY_KEY, startFirebreak, type Running } from '../support/harness.js';
import { storeKinds } from '../support/stores.js';

/**
 * What a trace records of the request: the body as the client sent it (kept as its text when nothing
 * was taken out of it), minus Firebreak's own extension, redacted like every other part of a trace.
 */
describe.each(storeKinds)('the recorded request (%s)', (kind) => {
  let fb: Running;
  beforeAll(async () => {
    fb = await startFirebreak({ store: kind });
  });
  afterAll(() => fb.close());

  const send = async (traceId: string, text: string) => {
    const res = await fetch(`${fb.url}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${GATEWAY_KEY}`,
        'x-ai-trace-id': traceId,
      },
      body: text,
    });
    await res.arrayBuffer();
    expect(res.status).toBe(200);
    const [call] = await fb.traceOf(traceId);
    return call?.body;
  };

  it('is the body as sent, whatever its spacing and escapes', async () => {
    const text = `{
      "model": "sim-1",
      "messages": [ { "role": "user", "content": "h\\u00e9llo \\u2713 \\"quoted\\" \\\\ line\\nbreak" } ],
      "seed": 7, "metadata": { "ticket": "T-1" }
    }`;
    const body = await send('rec-spacing', text);
    expect(body?.request).toEqual(JSON.parse(text));
  });

  it('leaves out the firebreak extension, whose documents are recorded apart', async () => {
    const sent = {
      model: 'sim-1',
      messages: [{ role: 'user', content: 'what does the doc say?' }],
      firebreak: { retrieved: [{ id: 'd1', source: 'kb', text: 'Refunds take 5 days.' }] },
    };
    const body = await send('rec-extension', JSON.stringify(sent));
    const { firebreak: _ext, ...rest } = sent;
    expect(body?.request).toEqual(rest);
    expect(body?.retrieved).toMatchObject([{ id: 'd1', source: 'kb' }]);
  });

  it('is redacted like the rest of the trace', async () => {
    const text = '{"model":"sim-1","messages":[{"role":"user","content":"mail me at jo.doe@example.com"}]}';
    const body = await send('rec-redacted', text);
    expect(JSON.stringify(body?.request)).toContain('[REDACTED:email]');
    expect(JSON.stringify(body)).not.toContain('jo.doe@example.com');
  });
});
