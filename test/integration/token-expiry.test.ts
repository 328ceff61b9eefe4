import { describe, expect, it } from 'vitest';
import { createApiToken } from '../../src/ops/credentials.js';
import { startFirebreak, testConfigYaml } from '../support/harness.js';
import { storeKinds } from '../support/stores.js';

/** Issue 3, bad input: an expired token gets a clear 401 naming the token and when it expired. */
describe.each(storeKinds)('API token expiry (%s)', (kind) => {
  it('refuses a created token once its expiry passes, and a configured token past its date', async () => {
    let clock = Date.parse('2026-11-27T12:00:00Z');
    const yaml = testConfigYaml().replace(
      'tokens:\n',
      "tokens:\n  - { key: fbt_test_old_token_0000000000000, role: admin, name: old, expires: '2026-01-01T00:00:00Z' }\n",
    );
    const fb = await startFirebreak({ store: kind, yaml, now: () => clock });
    try {
      const get = (token: string) =>
        fetch(`${fb.url}/api/traces?limit=1`, { headers: { authorization: `Bearer ${token}` } });
      const t = await createApiToken(fb.fb.ops, { role: 'viewer', name: 'short-lived', expires: '1h' });
      expect(t.expiresAt).toBe(clock + 3_600_000);
      // A key unknown to the running server is looked up again at most once a second (real time).
      let status = 0;
      for (let i = 0; i < 40 && status !== 200; i++) {
        status = (await get(t.secret)).status;
        if (status !== 200) await new Promise((r) => setTimeout(r, 100));
      }
      expect(status).toBe(200);
      clock += 2 * 3_600_000;
      const expired = await get(t.secret);
      expect(expired.status).toBe(401);
      expect(await expired.json()).toEqual({
        error: {
          code: 'unauthenticated',
          message: 'API token "short-lived" expired at 2026-11-27T13:00:00.000Z',
        },
      });
      const old = await get('fbt_test_old_token_0000000000000');
      expect(old.status).toBe(401);
      expect(((await old.json()) as { error: { message: string } }).error.message).toContain(
        '"old" expired at 2026-01-01',
      );
      await expect(
        createApiToken(fb.fb.ops, { role: 'viewer', name: 'x', expires: 'yesterday' }),
      ).rejects.toThrow(/not a duration/);
    } finally {
      await fb.close();
    }
  });
});
