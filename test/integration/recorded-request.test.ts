import SQLite from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GATEWAY_KEY, startFirebreak, type Running } from '../support/harness.js';
import { storeKinds } from '../support/stores.js';

/**
 * What a trace records of the request: the body as the client sent it, as parsed (so re-encoded: a
 * duplicate key the parse dropped is not kept anywhere), minus Firebreak's own extension, redacted like
 * every other part of a trace.
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

  /** The stored `body` column as text, read past the store (what a backup or another reader sees). */
  const storedText = async (traceId: string): Promise<string> => {
    const url = fb.store.url;
    if (url.startsWith('sqlite:')) {
      const db = new SQLite(url.slice('sqlite:'.length), { readonly: true });
      try {
        const row = db.prepare('select body from traces where trace_id = ?').get(traceId) as { body: string };
        return row.body;
      } finally {
        db.close();
      }
    }
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query<{ body: string }>('select body from traces where trace_id = $1', [
        traceId,
      ]);
      return rows[0]?.body ?? '';
    } finally {
      await client.end();
    }
  };

  it('keeps nothing of a duplicate key the parse dropped (no unredacted copy in the stored text)', async () => {
    const text =
      '{"model":"sim-1","messages":[{"role":"user","content":"card 4111 1111 1111 1111, SSN 123-45-6789"}],' +
      '"messages":[{"role":"user","content":"hi"}]}';
    const body = await send('rec-duplicate', text);
    expect(body?.request).toEqual({ model: 'sim-1', messages: [{ role: 'user', content: 'hi' }] });
    const stored = await storedText('rec-duplicate');
    expect(stored).not.toContain('4111');
    expect(stored).not.toContain('123-45-6789');
  });

  it('records a body that starts with a byte-order mark, and the calls after it', async () => {
    const text = '\ufeff{"model":"sim-1","messages":[{"role":"user","content":"with a BOM"}]}';
    const body = await send('rec-bom', text);
    expect(JSON.stringify(body?.request)).toContain('with a BOM');
    const next = await send(
      'rec-after-bom',
      '{"model":"sim-1","messages":[{"role":"user","content":"next"}]}',
    );
    expect(JSON.stringify(next?.request)).toContain('next');
  });

  it('is redacted like the rest of the trace', async () => {
    const text = '{"model":"sim-1","messages":[{"role":"user","content":"mail me at jo.doe@example.com"}]}';
    const body = await send('rec-redacted', text);
    expect(JSON.stringify(body?.request)).toContain('[REDACTED:email]');
    expect(JSON.stringify(body)).not.toContain('jo.doe@example.com');
  });
});
