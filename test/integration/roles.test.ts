import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../../src/core/config.js';
import { roles } from '../../src/core/config.js';
import {
  ADMIN_TOKEN,
  COMMANDER_TOKEN,
  GATEWAY_KEY,
  RESPONDER_TOKEN,
  VIEWER_TOKEN,
  startFirebreak,
  type Running,
} from '../support/harness.js';
import { storeKinds } from '../support/stores.js';

/**
 * Every /api route, as Fastify has it registered (so a new route cannot escape), against every role:
 * the token just below the route's role is refused with 403 naming the role needed, no token is 401 and
 * a gateway key is 403. The expected role of each route is written down here: a route missing from the
 * table, or a table entry with no route, fails the test.
 */
const expectedMinRole: Record<string, Role> = {
  'GET /api/traces': 'viewer',
  'GET /api/traces/:id': 'viewer',
  'GET /api/releases': 'viewer',
  'POST /api/releases': 'admin',
  'POST /api/apply': 'admin',
  'GET /api/releases/:name': 'viewer',
  'GET /api/releases/:name/diff/:to': 'viewer',
  'POST /api/deployments': 'responder',
  'GET /api/deployments': 'viewer',
  'POST /api/rollbacks': 'responder',
  'POST /api/known-good': 'responder',
  'GET /api/flags': 'viewer',
  'POST /api/flags': 'responder',
  'POST /api/flags/unset': 'responder',
  'GET /api/audit': 'viewer',
  'GET /api/audit/verify': 'viewer',
  'GET /api/replicas': 'viewer',
  'GET /api/approvals': 'viewer',
  'GET /api/approvals/:id': 'viewer',
  'POST /api/approvals/:id/approve': 'responder',
  'POST /api/approvals/:id/deny': 'responder',
  'GET /api/blast-radius': 'viewer',
  'GET /api/incidents/:id/blast-radius': 'viewer',
  'GET /api/incidents/:id/blast-radius/export': 'responder',
  'GET /api/incidents/:id/deliveries': 'viewer',
  'GET /api/deliveries': 'responder',
  'GET /api/blast-radius/export': 'responder',
  'POST /api/incidents': 'responder',
  'GET /api/incidents': 'viewer',
  'GET /api/incidents/:id': 'viewer',
  'POST /api/incidents/:id/triage': 'commander',
  'POST /api/incidents/:id/transition': 'commander',
  'POST /api/incidents/:id/classify': 'commander',
  'POST /api/incidents/:id/roles': 'commander',
  'POST /api/incidents/:id/responders': 'commander',
  'POST /api/incidents/:id/notes': 'responder',
  'POST /api/incidents/:id/updates': 'responder',
  'POST /api/incidents/:id/contain': 'responder',
  'POST /api/incidents/:id/revert': 'responder',
  'POST /api/incidents/:id/compliance': 'commander',
  'GET /api/incidents/:id/metrics': 'viewer',
  'GET /api/incident-metrics': 'viewer',
  'POST /api/incidents/:id/acknowledge': 'responder',
  'GET /api/oncall/now': 'viewer',
  'POST /api/feedback': 'responder',
  'POST /api/evaluations': 'responder',
  'POST /api/alerts/generic': 'responder',
  'POST /api/alerts/pagerduty': 'responder',
  'POST /api/alerts/alertmanager': 'responder',
};

const tokenOf: Record<Role, string> = {
  viewer: VIEWER_TOKEN,
  responder: RESPONDER_TOKEN,
  commander: COMMANDER_TOKEN,
  admin: ADMIN_TOKEN,
};

/**
 * `printRoutes({commonPrefix: false})` draws the radix tree: each line is a path segment under its
 * parent (indented by 4 characters a level) with the methods in parentheses. Joined up, the full paths.
 */
function routesOf(tree: string): { method: string; url: string }[] {
  const out: { method: string; url: string }[] = [];
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const m = /^((?:│ {3}| {4})*)[├└]── (.*?)(?: \(([^)]*)\))?$/.exec(line);
    if (!m) continue;
    const depth = (m[1] ?? '').length / 4;
    const url = (stack[depth - 1] ?? '') + (m[2] ?? '');
    stack[depth] = url;
    stack.length = depth + 1;
    for (const method of (m[3] ?? '').split(',').map((s) => s.trim()))
      if (method !== '' && method !== 'HEAD') out.push({ method, url });
  }
  return out;
}

const concrete = (url: string) =>
  url.replace(':name', 'support-bot@1').replace(':to', 'support-bot@2').replace(':id', 'some-trace');

describe.each(storeKinds)('roles on every /api route (%s)', (kind) => {
  let fb: Running;
  let routes: { method: string; url: string }[];

  beforeAll(async () => {
    fb = await startFirebreak({ store: kind });
    routes = routesOf(fb.fb.app.printRoutes({ commonPrefix: false })).filter((r) =>
      r.url.startsWith('/api/'),
    );
  });
  afterAll(async () => {
    await fb.close();
  });

  const send = async (route: { method: string; url: string }, token: string | undefined) => {
    const res = await fetch(`${fb.url}${concrete(route.url)}`, {
      method: route.method,
      headers: {
        ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}),
        ...(route.method === 'POST' ? { 'content-type': 'application/json' } : {}),
      },
      // Bodies are deliberately empty objects: authorisation is decided before any input is read.
      ...(route.method === 'POST' ? { body: '{}' } : {}),
    });
    return { status: res.status, body: (await res.json()) as { error?: { code: string; message: string } } };
  };

  it('finds exactly the routes the policy table lists', () => {
    expect(routes.length).toBeGreaterThanOrEqual(17);
    expect(routes.map((r) => `${r.method} ${r.url}`).sort()).toEqual(Object.keys(expectedMinRole).sort());
  });

  it('refuses the role just below each route’s role with 403 naming the role needed', async () => {
    for (const route of routes) {
      const id = `${route.method} ${route.url}`;
      const min = expectedMinRole[id];
      if (min === undefined) throw new Error(`${id} has no expected role`);
      const below = roles[roles.indexOf(min) - 1];
      const r = await send(route, below === undefined ? undefined : tokenOf[below]);
      if (below === undefined) {
        expect(r.status, id).toBe(401);
        expect(r.body.error?.code, id).toBe('unauthenticated');
      } else {
        expect(r.status, id).toBe(403);
        expect(r.body.error?.message, id).toBe(
          `this needs role ${min} or above; token "test-${below}" has ${below}`,
        );
      }
      // At the route's own role the request gets past authorisation (whatever the input then says).
      const at = await send(route, tokenOf[min]);
      expect([401, 403], `${id} as ${min}: ${JSON.stringify(at.body)}`).not.toContain(at.status);
    }
  });

  it('answers 401 without a token and 403 to a gateway key, on every route', async () => {
    for (const route of routes) {
      const id = `${route.method} ${route.url}`;
      const none = await send(route, undefined);
      expect(none.status, id).toBe(401);
      expect(none.body.error?.message, id).toContain('missing API token');
      const key = await send(route, GATEWAY_KEY);
      expect(key.status, id).toBe(403);
      expect(key.body.error?.message, id).toBe('gateway keys cannot call /api; use an API token');
    }
  });
});
