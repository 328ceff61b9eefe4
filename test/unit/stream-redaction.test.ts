import { describe, expect, it } from 'vitest';
import { GuardSet } from '../../src/core/guards/engine.js';
import { parseGuardSettings } from '../../src/core/guards/guard-settings.js';
import { OutputStreamGuard } from '../../src/core/guards/stream-guard.js';
import type { Finding, GuardContext } from '../../src/core/guards/types.js';

/**
 * Review finding "streamed redaction leaks what the non-streamed path redacts": a key, an address or a
 * password cut between chunks went out in part (`Your key is AK` | `IAZ7…`) because only redactions that
 * started in unsent text were applied, and the hold-back kept no 1–2 character prefix, no e-mail local
 * part and no assignment value with punctuation in it. Here every string is fed cut at every position
 * (two and three chunks, and one character at a time): the client must receive exactly the non-streamed
 * redaction, and never a 4-character piece of the redacted value. Credential fixtures are assembled at
 * run time so this file holds nothing a secret scanner would take for a real key.
 */
interface Guards {
  readonly set: GuardSet;
  readonly ctx: GuardContext;
}

function guards(config: unknown, ownIdentifiers: readonly string[] = []): Guards {
  const settings = parseGuardSettings(config);
  return {
    set: new GuardSet(settings),
    ctx: { stage: 'output', settings, canaries: settings.canaries, retrieved: [], ownIdentifiers },
  };
}

/** The defaults (secrets redact), and a release that also redacts personal data. */
const defaults = guards({});
const piiRedact = guards({ detectors: { pii: { action: 'redact' } } });
/** A release that redacts national ids rather than block them (the DNI and NINO cases). */
const idRedact = guards({ detectors: { 'financial-id': { action: 'redact' } } });

interface Streamed {
  /** What each push (and the final end) released, in order. */
  readonly emits: string[];
  readonly out: string;
  readonly blocked: Finding | undefined;
}

function stream(g: Guards, chunks: readonly string[]): Streamed {
  const guard = new OutputStreamGuard(g.set, g.ctx);
  const emits: string[] = [];
  for (const c of chunks) {
    const step = guard.push(0, c);
    emits.push(step.emit);
    if (step.blocked) return { emits, out: emits.join(''), blocked: step.blocked };
  }
  const end = guard.end(0);
  emits.push(end.emit);
  return { emits, out: emits.join(''), blocked: end.blocked };
}

/** Every way to cut `text` into two or three chunks, and one character per chunk. */
function cuts(text: string): string[][] {
  const out: string[][] = [Array.from({ length: text.length }, (_, i) => text.charAt(i))];
  for (let i = 1; i < text.length; i++) {
    out.push([text.slice(0, i), text.slice(i)]);
    for (let j = i + 1; j < text.length; j++) out.push([text.slice(0, i), text.slice(i, j), text.slice(j)]);
  }
  return out;
}

/** 4-character pieces of `secret` that the redacted text does not hold as ordinary text. */
function pieces(secret: string, redacted: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 4 <= secret.length; i++) {
    const p = secret.slice(i, i + 4);
    if (!redacted.includes(p)) out.push(p);
  }
  return out;
}

const AWS_KEY = 'AK' + 'IA' + 'Z7Q4M2N7P5R3T6VW';
const GITHUB_TOKEN = 'gh' + 'p_' + '8fK2mQ9xL4vR7tY1wE3zP6nB0cJ5hG2dA9sX';
const PASSWORD = 'Xk9#mPq2' + 'vL7wQz';

const cases: readonly { name: string; g: Guards; text: string; secret: string; kind: string }[] = [
  {
    name: 'an AWS access key id',
    g: defaults,
    text: `Your key is ${AWS_KEY} keep it safe.`,
    secret: AWS_KEY,
    kind: 'aws-access-key-id',
  },
  {
    name: 'a GitHub token',
    g: defaults,
    text: `Here is ${GITHUB_TOKEN}, done`,
    secret: GITHUB_TOKEN,
    kind: 'github-token',
  },
  {
    name: 'an e-mail address (pii set to redact)',
    g: piiRedact,
    text: 'Write to bob.smith@corp.com please',
    secret: 'bob.smith@corp.com',
    kind: 'email',
  },
  {
    name: 'a password= assignment with punctuation in the value',
    g: defaults,
    text: `password=${PASSWORD} done`,
    secret: PASSWORD,
    kind: 'generic-assignment',
  },
  {
    name: 'a password in a database URL (redacted from its scheme on)',
    g: defaults,
    text: 'Set DATABASE_URL=postgres://app:Xk9mQ2vLp7@db.internal:5432/app then',
    secret: 'postgres://app:Xk9mQ2vLp7',
    kind: 'url-credentials',
  },
  {
    name: 'a Spanish DNI with dotted groups (financial-id set to redact)',
    g: idRedact,
    text: 'Su DNI es 12.345.678-Z, gracias',
    secret: '12.345.678-Z',
    kind: 'dni',
  },
  {
    name: 'a UK National Insurance number in pairs (financial-id set to redact)',
    g: idRedact,
    text: 'NI number JG 10 37 28 D, ok',
    secret: 'JG 10 37 28 D',
    kind: 'nino',
  },
];

describe('streamed redaction sends exactly what the non-streamed path sends, however the chunks are cut', () => {
  for (const c of cases)
    it(c.name, () => {
      const whole = c.g.set.scan(c.text, c.g.ctx);
      expect(whole.text).toContain(`[REDACTED:${c.kind}]`);
      const forbidden = pieces(c.secret, whole.text);
      expect(forbidden.length).toBeGreaterThan(0);
      for (const chunks of cuts(c.text)) {
        const r = stream(c.g, chunks);
        const label = JSON.stringify(chunks);
        expect(r.blocked, label).toBeUndefined();
        expect(r.out, label).toBe(whole.text);
        for (const p of forbidden) expect(r.out.includes(p), `${label} sent ${p}`).toBe(false);
      }
    });

  it("the reviewer's reproductions: nothing of the key, the address or the password goes out", () => {
    expect(stream(defaults, ['Your key is AK', 'IAZ7Q4M2N7P5R3T6VW', ' keep it safe.']).out).toBe(
      'Your key is AKIA[REDACTED:aws-access-key-id] keep it safe.',
    );
    expect(stream(piiRedact, ['Write to bob.sm', 'ith@corp', '.com please']).out).toBe(
      'Write to [REDACTED:email] please',
    );
    expect(stream(defaults, ['password=', 'Xk9#mPq2', 'vL7wQz', ' done']).out).toBe(
      'password=[REDACTED:generic-assignment] done',
    );
  });

  it("sends a key format's prefix as it comes and holds from the first character after it", () => {
    // (Not cut after `AK`: two capitals alone may begin a UK National Insurance number, held by
    // financial-id.)
    const r = stream(defaults, ['Your key is A', 'KI', 'A', 'Z7Q4M2N7P5R3T6VW.']);
    // `A`, `KI`, `A` go out at once: a format's prefix is public, and the redaction keeps it.
    expect(r.emits.slice(0, 3)).toEqual(['Your key is A', 'KI', 'A']);
    expect(r.out).toBe('Your key is AKIA[REDACTED:aws-access-key-id].');
    expect(r.out).toBe(defaults.set.scan('Your key is AKIAZ7Q4M2N7P5R3T6VW.', defaults.ctx).text);
    // An answer whose first chunk is `A` is not held: it is sent before the next chunk arrives.
    expect(stream(defaults, ['A', ' refund', ' was issued.']).emits).toEqual([
      'A',
      ' refund',
      ' was issued.',
      '',
    ]);
    // A key at the very start of an answer: the prefix goes out, nothing of the key does.
    const start = stream(defaults, ['gh', 'p_', 'R8m2Kq7Xw4Lp9Tz3Vb6Nc1Hd5Jf0Gs2Ya4Qe', ' is the token']);
    expect(start.emits.slice(0, 2)).toEqual(['gh', 'p_']);
    expect(start.out).toBe('ghp_[REDACTED:github-token] is the token');
    // Two capitals may begin a UK National Insurance number only after its label.
    expect(stream(defaults, ['OK', ', here', ' it is.']).emits).toEqual(['OK', ', here', ' it is.', '']);
    expect(stream(defaults, ['NINO: AB', '12']).emits[0]).toBe('NINO: ');
  });

  it('formats whose prefix is longer than their keyword stream as unstreamed (fly.io, Slack webhook, Grafana)', () => {
    const b64 = (n: number) => {
      let out = '';
      for (let i = 0; out.length < n; i++) out += ((i * 7919 + 13) % 997).toString(36).toUpperCase() + 'q';
      return out.slice(0, n);
    };
    for (const [token, kind] of [
      ['fm1a_' + b64(120), 'flyio-access-token'],
      ['hooks.slack.com/services/' + b64(44), 'slack-webhook-url'],
      ['eyJrIjoi' + b64(80), 'grafana-token'],
    ] as const) {
      const text = `Your token is ${token} ok`;
      const whole = defaults.set.scan(text, defaults.ctx).text;
      expect(whole, kind).toContain(`[REDACTED:${kind}]`);
      const chunkings = [Array.from(text)];
      for (let i = 1; i < text.length; i++) chunkings.push([text.slice(0, i), text.slice(i)]);
      for (const chunks of chunkings) {
        const r = stream(defaults, chunks);
        expect(r.blocked, `${kind} ${JSON.stringify(chunks.map((c) => c.length))}`).toBeUndefined();
        expect(r.out).toBe(whole);
      }
    }
  });

  it('a long JWT after Bearer, past the header hold-back, is redacted as unstreamed, prefix kept', () => {
    const b64url = (x: string) => Buffer.from(x).toString('base64url');
    const header = b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: 'k1' }));
    const claims = b64url(JSON.stringify({ sub: '1234567890', scope: 'read write admin', iat: 1516239022 }));
    let sig = '';
    for (let i = 0; sig.length < 342; i++) sig += ((i * 7919) % 997).toString(36);
    const jwt = `${header}.${claims}.${sig.slice(0, 342)}`;
    const text = `Send Authorization: Bearer ${jwt}. Then retry.`;
    const whole = defaults.set.scan(text, defaults.ctx).text;
    expect(whole).toBe('Send Authorization: Bearer eyJ[REDACTED:bearer-token] Then retry.');
    const chunkings = [Array.from(text)];
    for (let i = 1; i < text.length; i += 5) chunkings.push([text.slice(0, i), text.slice(i)]);
    for (const chunks of chunkings) {
      const r = stream(defaults, chunks);
      expect(r.blocked, JSON.stringify(chunks.map((c) => c.length))).toBeUndefined();
      expect(r.out).toBe(whole);
    }
  });
});

describe('prose still streams', () => {
  const prose = [
    ' Sure',
    ',',
    ' your',
    ' order',
    ' shipped',
    ' on',
    ' Monday',
    ' and',
    ' should',
    ' arrive',
    '.',
  ];

  it('in many chunks, a word behind, when personal data is redacted (any word may be an address)', () => {
    const r = stream(piiRedact, prose);
    expect(r.out).toBe(prose.join(''));
    expect(r.emits.filter((e) => e !== '').length).toBeGreaterThan(5);
    // The first word goes out as soon as the second shows it is no address.
    expect(r.emits[1]).not.toBe('');
  });

  it('at once with the default guards when chunks end between words', () => {
    const words = ['Sure, ', 'your ', 'order ', 'shipped ', 'on ', 'Monday.'];
    expect(stream(defaults, words).emits).toEqual([...words, '']);
  });

  it('in linear work over a long answer with many redactions', () => {
    const sentence = `Use ${AWS_KEY} or write to ops.team@corp.com; otherwise nothing. `;
    const text = sentence.repeat(400);
    const chunks: string[] = [];
    for (let i = 0; i < text.length; i += 5) chunks.push(text.slice(i, i + 5));
    const r = stream(piiRedact, chunks);
    expect(r.blocked).toBeUndefined();
    expect(r.out).toBe(piiRedact.set.scan(text, piiRedact.ctx).text);
    // The format's prefix stays (public); nothing of the key after it does.
    expect(r.out).not.toContain(AWS_KEY.slice(4, 8));
    expect(r.out).toContain('AKIA[REDACTED:aws-access-key-id]');
  });
});

describe('fail closed', () => {
  it('ends the stream like a block when a redaction starts in text already sent (cross-user has no hold-back)', () => {
    const g = guards({ detectors: { 'cross-user': { action: 'redact' } } }, ['alice@corp.com']);
    const r = stream(g, ['Ask bob', '.smith@corp.com for it', ' today']);
    expect(r.blocked).toMatchObject({ detector: 'cross-user', kind: 'email', action: 'block' });
    expect(r.blocked?.message).toContain('already been streamed');
    expect(r.out).toBe('Ask bob');
    expect(r.out).not.toMatch(/smith|@corp|for it/);
  });

  it('never sends part of a redaction that a block cuts in two', () => {
    const g = guards({ canaries: ['CANARY-7f3a9c2e'] });
    const r = stream(g, ['Here: password=Xk9mPq2v', 'CANARY-7f3a9c2e done']);
    expect(r.blocked).toMatchObject({ detector: 'canary', action: 'block' });
    expect(r.out).toBe('Here: password=');
  });
});
