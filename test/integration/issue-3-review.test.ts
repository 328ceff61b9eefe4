import { describe, expect, it } from 'vitest';
import { createRelease } from '../../src/ops/releases.js';
import { ADMIN_TOKEN, GATEWAY_KEY, startFirebreak } from '../support/harness.js';
import { storeKinds } from '../support/stores.js';

/** Regressions found reviewing issue 3: inputs that reached PostgreSQL and became 500s or stuck batches. */
describe.each(storeKinds)('issue 3 review regressions (%s)', (kind) => {
  it('refuses control characters in the body end user and in /api text, and a release version out of range', async () => {
    const fb = await startFirebreak({ store: kind });
    try {
      const chat = await fetch(`${fb.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${GATEWAY_KEY}` },
        body: JSON.stringify({
          model: 'sim-1',
          user: 'bob\u0000',
          messages: [{ role: 'user', content: 'hi' }],
        }),
      });
      expect(chat.status).toBe(400);
      expect(((await chat.json()) as { error: { param: string } }).error.param).toBe('user');
      const post = (path: string, body: unknown) =>
        fetch(`${fb.url}${path}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      const flag = await post('/api/flags', {
        key: 'safe-mode',
        value: 'handoff',
        app: 'support-bot',
        reason: 'why\u0000',
      });
      expect(flag.status).toBe(400);
      expect(await flag.text()).toContain('control characters');
      const rb = await post('/api/rollbacks', {
        app: 'support-bot',
        env: 'prod',
        to: 3_000_000_000,
        reason: 'x',
      });
      expect(rb.status).toBe(400);
      // Nothing was recorded or changed, and the gateway still records normally afterwards.
      expect(await fb.store.control.auditLog({ limit: 10 })).toEqual([]);
      const ok = await fetch(`${fb.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${GATEWAY_KEY}`, 'x-ai-trace-id': `ok-${kind}` },
        body: JSON.stringify({ model: 'sim-1', user: 'bob', messages: [{ role: 'user', content: 'hi' }] }),
      });
      expect(ok.status).toBe(200);
      expect((await fb.traceOf(`ok-${kind}`))[0]?.userId).toBe('bob');
    } finally {
      await fb.close();
    }
  });

  it('re-applying identical release content changes nothing: no audit entry, no new state version', async () => {
    const fb = await startFirebreak({ store: kind });
    try {
      const spec = { model: { name: 'sim-1' }, prompt: { system: 'same' } };
      const first = await createRelease(fb.fb.ops, { app: 'support-bot', spec, actor: 't' });
      const version = await fb.store.control.version();
      const again = await createRelease(fb.fb.ops, { app: 'support-bot', spec, actor: 't' });
      expect(again).toEqual({ release: first.release, created: false });
      expect(await fb.store.control.version()).toBe(version);
      expect(await fb.store.control.auditLog({ limit: 10 })).toHaveLength(1);
    } finally {
      await fb.close();
    }
  });
});
