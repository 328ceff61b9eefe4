import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FirebreakError } from '../../src/core/errors.js';
import { policySettingsSchema, type PolicySettings } from '../../src/core/policy/policy-settings.js';
import { noTaint, type Taint, type ToolCallContext } from '../../src/core/policy/tool-context.js';
import { compileCedar, toCedarValue } from '../../src/policy/cedar.js';
import { argumentsHash, compilePolicy } from '../../src/policy/engine.js';

/**
 * The Cedar engine as a function: the schema, the approval convention, taint and arguments, and every
 * way a policy text is refused (with Cedar's message and where it points).
 */
const SAMPLE_POLICY = `
@id("everything")
permit (principal, action == Firebreak::Action::"call", resource);

@id("untrusted-email")
@reason("e-mail outside example.com after untrusted content")
forbid (principal, action == Firebreak::Action::"call", resource)
when { resource.name == "send_email" && context.taint.untrusted }
unless { context.arguments has to && context.arguments.to like "*@example.com" };

@id("critical-needs-approval")
@approval("required")
@reason("critical tools need a person's approval")
forbid (principal, action == Firebreak::Action::"call", resource)
when { resource.risk == "critical" };
`;

const tainted: Taint = { untrusted: true, sources: ['retrieved'], detectors: ['prompt-injection'] };

function ctx(over: Partial<ToolCallContext> & { tool?: ToolCallContext['tool'] } = {}): ToolCallContext {
  return {
    app: 'support-bot',
    env: 'prod',
    release: 'support-bot@1',
    tool: { name: 'send_email', risk: 'high' },
    arguments: { to: 'alice@example.com', body: 'hi' },
    argumentsParsed: true,
    user: 'u-1',
    tenant: 'acme',
    taint: noTaint,
    ...over,
  };
}

const settings = (over: Record<string, unknown>): PolicySettings => policySettingsSchema.parse(over);

function refusal(text: string, args: Record<string, string> = {}): FirebreakError {
  try {
    compilePolicy(settings({ engine: 'cedar', cedar: text, arguments: args }));
  } catch (error) {
    if (error instanceof FirebreakError) return error;
    throw error;
  }
  throw new Error('the policy compiled');
}

describe('Cedar tool-call policy', () => {
  const sample = compileCedar(SAMPLE_POLICY, { to: 'String' });

  it('allows, denies on taint + arguments, and holds critical tools for approval', () => {
    expect(sample.decide(ctx())).toEqual({
      decision: 'allow',
      reasons: ['policy everything'],
      engine: 'cedar',
    });
    // Outside address, but the conversation is clean: allowed.
    expect(sample.decide(ctx({ arguments: { to: 'eve@evil.test' } })).decision).toBe('allow');
    // Outside address after untrusted content: denied, with the policy's reason.
    expect(sample.decide(ctx({ arguments: { to: 'eve@evil.test' }, taint: tainted }))).toEqual({
      decision: 'deny',
      reasons: ['e-mail outside example.com after untrusted content'],
      engine: 'cedar',
    });
    // No recipient at all after untrusted content: the `unless` does not hold, so denied too.
    expect(sample.decide(ctx({ arguments: {}, taint: tainted })).decision).toBe('deny');
    expect(sample.decide(ctx({ taint: tainted })).decision).toBe('allow');
    expect(sample.decide(ctx({ tool: { name: 'issue_refund', risk: 'critical' }, arguments: {} }))).toEqual({
      decision: 'require-approval',
      reasons: ["critical tools need a person's approval"],
      engine: 'cedar',
    });
  });

  it('denies when nothing permits, and when an approval forbid and a plain forbid both apply', () => {
    const onlyLow = compileCedar(`
      permit (principal, action, resource) when { resource.risk == "low" };
      @approval("required") forbid (principal, action, resource) when { resource.risk == "critical" };
      forbid (principal, action, resource) when { principal has tenant && principal.tenant == "banned" };
    `);
    expect(onlyLow.decide(ctx({ tool: { name: 'x', risk: 'high' } }))).toMatchObject({
      decision: 'deny',
      reasons: ['no policy permits this call'],
    });
    // Approval alone would not make it allowed (nothing permits a critical tool): deny, not held.
    expect(onlyLow.decide(ctx({ tool: { name: 'x', risk: 'critical' } }))).toMatchObject({
      decision: 'deny',
      reasons: ['no policy permits this call, even with approval'],
    });
    const both = compileCedar(`
      permit (principal, action, resource);
      @approval("required") forbid (principal, action, resource) when { resource.risk == "critical" };
      @reason("tenant banned") forbid (principal, action, resource) when { principal has tenant && principal.tenant == "banned" };
    `);
    expect(both.decide(ctx({ tool: { name: 'x', risk: 'critical' }, tenant: 'banned' }))).toMatchObject({
      decision: 'deny',
      reasons: ['tenant banned'],
    });
    expect(both.decide(ctx({ tool: { name: 'x', risk: 'critical' } })).decision).toBe('require-approval');
    // No tenant: the optional attribute is absent, and `has` guards it.
    expect(both.decide(ctx({ tenant: null })).decision).toBe('allow');
  });

  it('sees taint sources and detectors as sets, the user as the principal, app and env in context', () => {
    const p = compileCedar(`
      permit (principal == Firebreak::User::"u-1", action, resource)
      when { context.app == "support-bot" && context.env == "prod" && context.release == "support-bot@1" };
      forbid (principal, action, resource) when { context.taint.detectors.contains("prompt-injection") };
      forbid (principal, action, resource) when { context.taint.sources.contains("tool_result") };
    `);
    expect(p.decide(ctx()).decision).toBe('allow');
    expect(p.decide(ctx({ user: 'u-2' })).decision).toBe('deny');
    expect(p.decide(ctx({ user: null })).decision).toBe('deny');
    expect(p.decide(ctx({ taint: tainted })).decision).toBe('deny');
    expect(
      p.decide(ctx({ taint: { untrusted: true, sources: ['tool_result'], detectors: [] } })).decision,
    ).toBe('deny');
    expect(p.decide(ctx({ env: 'dev' })).decision).toBe('deny');
  });

  it('reads declared arguments of every type; floats become strings, nulls are dropped', () => {
    const p = compileCedar(
      `
      permit (principal, action, resource);
      forbid (principal, action, resource) when { context.arguments has amount && context.arguments.amount > 100 };
      forbid (principal, action, resource) when { context.arguments has cc && context.arguments.cc.contains("eve@evil.test") };
      forbid (principal, action, resource) when { context.arguments has force && context.arguments.force };
      forbid (principal, action, resource) when { context.arguments has rate && context.arguments.rate == "0.5" };
      forbid (principal, action, resource) when { context.arguments has note };
    `,
      { amount: 'Long', cc: 'Set<String>', force: 'Bool', rate: 'String', note: 'String' },
    );
    expect(p.decide(ctx({ arguments: { amount: 100 } })).decision).toBe('allow');
    expect(p.decide(ctx({ arguments: { amount: 101 } })).decision).toBe('deny');
    expect(p.decide(ctx({ arguments: { cc: ['a@example.com', 'eve@evil.test'] } })).decision).toBe('deny');
    expect(p.decide(ctx({ arguments: { force: true } })).decision).toBe('deny');
    expect(p.decide(ctx({ arguments: { rate: 0.5 } })).decision).toBe('deny');
    expect(p.decide(ctx({ arguments: { note: null, nested: { deep: [1, null, 2.5] } } })).decision).toBe(
      'allow',
    );
  });

  it('fails closed: a runtime type mismatch, arguments that are not an object, an entity smuggled in', () => {
    const p = compileCedar(SAMPLE_POLICY, { to: 'String' });
    const mismatch = p.decide(ctx({ arguments: { to: 42 }, taint: tainted }));
    expect(mismatch.decision).toBe('deny');
    expect(mismatch.error).toContain('untrusted-email');
    const raw = p.decide(ctx({ arguments: '{"to": "eve@evil.test"', argumentsParsed: false }));
    expect(raw).toMatchObject({ decision: 'deny' });
    expect(raw.reasons[0]).toContain('not a JSON object');
    expect(p.decide(ctx({ arguments: ['a'] })).decision).toBe('deny');
    // `{"__entity": …}` would be an entity reference in Cedar's JSON: the key is dropped, so `to` is
    // an empty record, a type error in `like`, and the call is denied.
    const smuggled = p.decide(
      ctx({ arguments: { to: { __entity: { type: 'Firebreak::User', id: 'x' } } }, taint: tainted }),
    );
    expect(smuggled.decision).toBe('deny');
    expect(toCedarValue({ a: { __entity: { type: 'T', id: 'x' }, b: 1 } })).toEqual({ a: { b: 1 } });
    expect(toCedarValue({ n: 2 ** 60, f: -1.25, ok: 7, s: [null, 'x'] })).toEqual({
      n: String(2 ** 60),
      f: '-1.25',
      ok: 7,
      s: ['x'],
    });
  });

  it('refuses text that does not parse, with Cedar’s message and the line it points at', () => {
    const e = refusal(
      'permit (principal, action, resource);\nforbid (principal, action, resource) when { context.x == };',
    );
    expect(e.code).toBe('validation_failed');
    expect(e.details.path).toBe('policy.cedar');
    expect(e.message).toMatch(
      /^policy\.cedar: line 2, column 58: unexpected token `}` \(expected .*identifier/,
    );
  });

  it('refuses a schema mismatch: a misspelt attribute, a string compared with a long, an unknown action', () => {
    const typo = refusal(
      'permit (principal, action, resource);\n\nforbid (principal, action, resource) when { context.taint.untrustd };',
    );
    expect(typo.message).toContain('line 3');
    expect(typo.message).toContain(
      'attribute `taint.untrustd` in context for Firebreak::Action::"call" not found',
    );
    expect(typo.message).toContain('did you mean `untrusted`?');
    expect(refusal('permit (principal, action, resource) when { resource.name > 3 };').message).toContain(
      'expected Long but saw String',
    );
    expect(refusal('permit (principal, action == Firebreak::Action::"read", resource);').message).toContain(
      'unrecognized action `Firebreak::Action::"read"`',
    );
  });

  it('refuses undeclared or unguarded arguments, and a policy that can never apply', () => {
    // Not declared in policy.arguments: the forbid could never apply, which would protect nothing.
    const undeclared = refusal(
      'forbid (principal, action, resource) when { context.arguments has to && context.arguments.to == "x" };',
    );
    expect(undeclared.message).toContain('policy is impossible');
    const unguarded = refusal('forbid (principal, action, resource) when { context.arguments.to == "x" };', {
      to: 'String',
    });
    expect(unguarded.message).toContain('optional attribute `arguments.to`');
    expect(unguarded.message).toContain('context.arguments has to');
  });

  it('refuses misuse of the annotations and templates', () => {
    expect(refusal('@approval("required") permit (principal, action, resource);').message).toContain(
      'belongs on a forbid policy',
    );
    expect(refusal('@approval("maybe") forbid (principal, action, resource);').message).toContain(
      '@approval must be "required"',
    );
    expect(
      refusal(
        '@id("a") permit (principal, action, resource);\n@id("a") forbid (principal, action, resource);',
      ).message,
    ).toContain('two policies have @id("a")');
    expect(refusal('permit (principal == ?principal, action, resource);').message).toContain('templates');
  });
});

describe('docs/configuration.md', () => {
  it('shows the sample policy these tests run, and it compiles', () => {
    const doc = readFileSync(join(import.meta.dirname, '../../docs/configuration.md'), 'utf8');
    const sample = /```cedar\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(sample?.trim()).toBe(SAMPLE_POLICY.trim());
    expect(() => compileCedar(sample ?? '', { to: 'String' })).not.toThrow();
  });
});

describe('compilePolicy', () => {
  it('engine none allows everything; shadow mode decides but enforces allow', async () => {
    const none = compilePolicy(settings({}));
    expect(await none.decide(ctx())).toMatchObject({ decision: 'allow', enforced: 'allow', engine: 'none' });
    const shadow = compilePolicy(
      settings({ engine: 'cedar', mode: 'shadow', cedar: SAMPLE_POLICY, arguments: { to: 'String' } }),
    );
    expect(await shadow.decide(ctx({ arguments: { to: 'eve@evil.test' }, taint: tainted }))).toMatchObject({
      decision: 'deny',
      enforced: 'allow',
      mode: 'shadow',
    });
  });

  it('hashes arguments by content: key order and spacing do not make a different call', () => {
    const a = argumentsHash({
      arguments: JSON.parse('{"to":"a@example.com","n":1}') as unknown,
      argumentsParsed: true,
    });
    const b = argumentsHash({
      arguments: JSON.parse('{ "n": 1, "to": "a@example.com" }') as unknown,
      argumentsParsed: true,
    });
    expect(a).toBe(b);
    expect(argumentsHash({ arguments: { n: 2 }, argumentsParsed: true })).not.toBe(a);
    expect(argumentsHash({ arguments: '{"n":1', argumentsParsed: false })).toMatch(/^[0-9a-f]{64}$/);
  });
});
