import { Pool } from 'undici';
import { toolDecisions, type ToolDecision } from '../core/policy/policy-settings.js';
import type { PolicyFailure } from '../core/policy/policy-failure.js';
import type { PolicyDecision, ToolCallContext } from '../core/policy/tool-context.js';

/**
 * The OPA engine: `POST {url}/v1/data/{path}` with `{"input": <ToolCallContext>}`. The result must be a
 * decision (`"allow"`, `"deny"`, `"require-approval"`) or `{"decision": …, "reasons": [strings]}`.
 * Everything else fails closed — an undefined result (no `result` key: the rule did not match and has no
 * default), any other shape, a non-2xx answer, an unreachable server, or no answer within `timeoutMs` —
 * as a deny with the error recorded, never an accidental allow.
 */
export interface OpaSettings {
  readonly url: string;
  readonly path: string;
  readonly timeoutMs: number;
}

/** Keep-alive connections per OPA server, shared by every release that asks it. */
const pools = new Map<string, Pool>();

function poolFor(origin: string): Pool {
  let pool = pools.get(origin);
  if (!pool) {
    pool = new Pool(origin, { connections: 32, keepAliveTimeout: 10_000 });
    pools.set(origin, pool);
  }
  return pool;
}

export async function closeOpaPools(): Promise<void> {
  const all = [...pools.values()];
  pools.clear();
  await Promise.allSettled(all.map((p) => p.close()));
}

/** Largest answer read from OPA: a decision and a few reasons are far smaller. */
const MAX_BODY = 64 * 1024;

const isDecision = (v: unknown): v is ToolDecision =>
  typeof v === 'string' && (toolDecisions as readonly string[]).includes(v);

const excerpt = (text: string) => (text.length > 200 ? `${text.slice(0, 200)}…` : text);

export interface OpaEngine {
  decide(ctx: ToolCallContext): Promise<PolicyDecision>;
}

export function opaEngine(settings: OpaSettings): OpaEngine {
  const base = new URL(settings.url);
  const prefix = base.pathname.replace(/\/+$/, '');
  const path = `${prefix}/v1/data/${settings.path}`;
  const where = `OPA at ${base.origin}${path}`;
  const deny = (failure: PolicyFailure, error: string): PolicyDecision => ({
    decision: 'deny',
    reasons: ['the OPA policy gave no usable decision'],
    engine: 'opa',
    error,
    failure,
  });

  return {
    async decide(ctx) {
      const signal = AbortSignal.timeout(settings.timeoutMs);
      let status: number;
      let text: string;
      try {
        const res = await poolFor(base.origin).request({
          method: 'POST',
          path,
          headers: { 'content-type': 'application/json', accept: 'application/json' },
          body: JSON.stringify({ input: ctx }),
          signal,
        });
        status = res.statusCode;
        const length = Number(res.headers['content-length'] ?? 0);
        if (length > MAX_BODY) {
          res.body.destroy();
          return deny(
            'opa_malformed',
            `${where} answered ${length} bytes; more than ${MAX_BODY} is not a decision`,
          );
        }
        text = await res.body.text();
      } catch (error) {
        if (signal.aborted)
          return deny('opa_timeout', `${where} did not answer within ${settings.timeoutMs} ms`);
        const code = (error as { code?: unknown }).code;
        const message = error instanceof Error ? error.message : String(error);
        return deny(
          'opa_unreachable',
          `cannot reach ${where}: ${typeof code === 'string' && !message.includes(code) ? `${code} ` : ''}${message}`,
        );
      }
      if (status < 200 || status > 299)
        return deny('opa_http_error', `${where} answered HTTP ${status}: ${excerpt(text)}`);
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        return deny('opa_malformed', `${where} answered something that is not JSON: ${excerpt(text)}`);
      }
      if (body === null || typeof body !== 'object' || !('result' in body))
        return deny(
          'opa_undefined',
          `${where} returned no result: the decision is undefined for this input (check the path, and give the rule a default)`,
        );
      const result: unknown = body.result;
      if (isDecision(result))
        return { decision: result, reasons: [`opa ${settings.path}: ${result}`], engine: 'opa' };
      if (result !== null && typeof result === 'object' && !Array.isArray(result)) {
        const r = result as Record<string, unknown>;
        const reasons = r['reasons'];
        const validReasons =
          reasons === undefined ||
          (Array.isArray(reasons) && reasons.every((x): x is string => typeof x === 'string'));
        if (isDecision(r['decision']) && validReasons)
          return {
            decision: r['decision'],
            reasons:
              Array.isArray(reasons) && reasons.length > 0
                ? reasons
                : [`opa ${settings.path}: ${r['decision']}`],
            engine: 'opa',
          };
      }
      return deny(
        'opa_malformed',
        `${where} returned ${excerpt(JSON.stringify(result))}, which is not a decision ("allow", "deny", "require-approval", or {"decision", "reasons": [strings]})`,
      );
    },
  };
}
