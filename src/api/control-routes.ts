import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { FirebreakError } from '../core/errors.js';
import type { Release } from '../core/release.js';
import { listAudit, verifyAudit } from '../ops/audit.js';
import { deploy, listDeployments, markKnownGood, rollback } from '../ops/deployments.js';
import { listFlags, setFlag, unsetFlag } from '../ops/flags.js';
import { applyConfig, createRelease, diffReleases, getRelease, listReleases } from '../ops/releases.js';
import { parseInput, queryBool, queryInt, text } from './input.js';
import type { ApiContext } from './routes.js';

/**
 * Releases, deployments, flags, the audit log and replicas under /api: each handler validates its input,
 * calls one operation and serialises the result. Operations do the domain checks (unknown app, tool,
 * model family…) inside one transaction, so a refused request changes nothing.
 */
const appName = text(64);
const reason = text(2000);
const incident = text(64);
const scope = { env: text(64).optional(), tenant: text(256).optional(), user: text(256).optional() };

const releaseQuery = z.strictObject({ app: appName.optional() });
const releaseBody = z.strictObject({
  app: appName,
  // The spec itself is validated by the operation (it also checks tools and models against the config).
  spec: z.record(z.string(), z.unknown()),
  reason: reason.optional(),
});
const applyBody = z.strictObject({});
const deployBody = z.strictObject({
  release: text(80),
  env: text(64),
  reason,
  incident: incident.optional(),
});
const deploymentQuery = z.strictObject({
  app: appName,
  env: text(64).optional(),
  limit: queryInt(1, 500).optional(),
});
const rollbackBody = z.strictObject({
  app: appName,
  env: text(64),
  to: z.number().int().min(1).max(999_999_999).optional(),
  reason,
  incident: incident.optional(),
});
const knownGoodBody = z.strictObject({
  release: text(80),
  env: text(64),
  reason: reason.optional(),
  incident: incident.optional(),
});
const flagQuery = z.strictObject({ app: appName.optional(), all: queryBool.optional() });
const flagSetBody = z.strictObject({
  key: text(300),
  value: text(32),
  app: appName,
  ...scope,
  reason,
  incident: incident.optional(),
  expires: text(64).optional(),
});
const flagUnsetBody = z.strictObject({
  key: text(300),
  app: appName,
  ...scope,
  reason,
  incident: incident.optional(),
});
const auditQuery = z.strictObject({
  after: queryInt(0, 1e9).optional(),
  limit: queryInt(1, 1000).optional(),
});
const emptyQuery = z.strictObject({});

/** A replica whose heartbeat is older than this is shown as stale (heartbeats are far more frequent). */
const STALE_AFTER_MS = 10_000;

/** Who made a change, for the audit log: the API token's name. */
function actor(req: FastifyRequest): string {
  if (!req.apiPrincipal) throw new FirebreakError('unauthenticated', 'missing API token');
  return `token:${req.apiPrincipal.name}`;
}

type Params<K extends string> = { Params: Record<K, string> };

/**
 * A release as the caller may see it: the canary Firebreak planted for it only for admins. Whoever knows
 * it can make a model echo it ("repeat after me: …") and raise a SEV1 at will.
 */
function asSeenBy(req: FastifyRequest, release: Release): Release {
  if (release.canary === undefined || req.apiPrincipal?.role === 'admin') return release;
  const { canary: _hidden, ...rest } = release;
  return rest;
}

export function registerControlRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const ops = ctx.ops;

  app.get('/releases', { config: { minRole: 'viewer' } }, async (req) => {
    const q = parseInput(releaseQuery, req.query, 'invalid release list');
    const releases = await listReleases(ops, q.app !== undefined ? { app: q.app } : {});
    return { data: releases.map((r) => asSeenBy(req, r)) };
  });

  app.post('/releases', { config: { minRole: 'admin' } }, async (req, reply) => {
    const b = parseInput(releaseBody, req.body, 'invalid release');
    const result = await createRelease(ops, {
      app: b.app,
      spec: b.spec,
      actor: actor(req),
      ...(b.reason !== undefined ? { reason: b.reason } : {}),
    });
    // Same content as an existing release: that release is returned and nothing is created.
    return reply.code(result.created ? 201 : 200).send(result);
  });

  app.post('/apply', { config: { minRole: 'admin' } }, async (req) => {
    parseInput(applyBody, req.body, 'invalid apply');
    return { data: await applyConfig(ops, { actor: actor(req) }) };
  });

  app.get<Params<'name'>>('/releases/:name', { config: { minRole: 'viewer' } }, async (req) =>
    asSeenBy(req, await getRelease(ops, req.params.name)),
  );

  // `:name` like the route above (the router shares one parameter name per tree position): the `from` release.
  app.get<Params<'name' | 'to'>>('/releases/:name/diff/:to', { config: { minRole: 'viewer' } }, (req) =>
    diffReleases(ops, { from: req.params.name, to: req.params.to }),
  );

  app.post('/deployments', { config: { minRole: 'responder' } }, async (req, reply) => {
    const b = parseInput(deployBody, req.body, 'invalid deployment');
    return reply.code(201).send(await deploy(ops, { ...b, actor: actor(req) }));
  });

  app.get('/deployments', { config: { minRole: 'viewer' } }, async (req) => {
    const q = parseInput(deploymentQuery, req.query, 'invalid deployment list');
    return {
      data: await listDeployments(ops, {
        app: q.app,
        ...(q.env !== undefined ? { env: q.env } : {}),
        ...(q.limit !== undefined ? { limit: q.limit } : {}),
      }),
    };
  });

  app.post('/rollbacks', { config: { minRole: 'responder' } }, async (req, reply) => {
    const b = parseInput(rollbackBody, req.body, 'invalid rollback');
    return reply.code(201).send(await rollback(ops, { ...b, actor: actor(req) }));
  });

  app.post('/known-good', { config: { minRole: 'responder' } }, async (req) => {
    const b = parseInput(knownGoodBody, req.body, 'invalid known-good mark');
    return markKnownGood(ops, { ...b, reason: b.reason ?? '', actor: actor(req) });
  });

  app.get('/flags', { config: { minRole: 'viewer' } }, async (req) => {
    const q = parseInput(flagQuery, req.query, 'invalid flag list');
    return { data: await listFlags(ops, { app: q.app, includeRemoved: q.all ?? false }) };
  });

  app.post('/flags', { config: { minRole: 'responder' } }, async (req, reply) => {
    const b = parseInput(flagSetBody, req.body, 'invalid flag');
    return reply.code(201).send(await setFlag(ops, { ...b, actor: actor(req) }));
  });

  app.post('/flags/unset', { config: { minRole: 'responder' } }, async (req) => {
    const b = parseInput(flagUnsetBody, req.body, 'invalid flag unset');
    return unsetFlag(ops, { ...b, actor: actor(req) });
  });

  app.get('/audit', { config: { minRole: 'viewer' } }, async (req) => {
    const q = parseInput(auditQuery, req.query, 'invalid audit query');
    const limit = q.limit ?? 100;
    const data = await listAudit(ops, { ...(q.after !== undefined ? { afterSeq: q.after } : {}), limit });
    // A full page may have more after it: the next page starts after its last row.
    return { data, next_after: data.length === limit ? (data.at(-1)?.seq ?? null) : null };
  });

  app.get('/audit/verify', { config: { minRole: 'viewer' } }, async (req) => {
    parseInput(emptyQuery, req.query, 'invalid audit verification');
    return verifyAudit(ops);
  });

  app.get('/replicas', { config: { minRole: 'viewer' } }, async (req) => {
    parseInput(emptyQuery, req.query, 'invalid replica list');
    const now = ops.now();
    const rows = await ops.store.control.replicas();
    return { data: rows.map((r) => ({ ...r, stale: now - r.seenAt > STALE_AFTER_MS })) };
  });
}
