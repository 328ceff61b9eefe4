import { describe, expect, it } from 'vitest';
import { GuardSet } from '../../src/core/guards/engine.js';
import { defaultGuardSettings, parseGuardSettings } from '../../src/core/guards/guard-settings.js';
import { crossUser, identifierLike } from '../../src/core/guards/detectors/cross-user.js';
import { IdentityDirectory } from '../../src/gateway/identity-directory.js';
import { OutputStreamGuard } from '../../src/core/guards/stream-guard.js';
import { defaultDetectors } from '../../src/core/guards/detectors/index.js';
import type { PiiKind } from '../../src/core/guards/detectors/pii-match.js';
import { findPii } from '../../src/core/guards/detectors/pii.js';
import { financialId, pii, privacyDetectors, secrets } from '../../src/core/guards/detectors/privacy.js';
import { findSecrets } from '../../src/core/guards/detectors/secrets.js';
import { formatPrefixes, secretRules } from '../../src/core/guards/detectors/secret-rules.js';
import type { GuardContext, GuardSettings, Stage } from '../../src/core/guards/types.js';

/**
 * The privacy detectors (pii, financial-id, secrets, cross-user) on small fixtures of our own. Credential
 * fixtures are assembled at run time (`'sk_' + 'live_' + …`) so this file holds nothing a secret scanner
 * would take for a real key.
 */
function ctx(stage: Stage = 'output', extra: Partial<GuardContext> = {}): GuardContext {
  return { stage, settings: defaultGuardSettings, canaries: [], retrieved: [], ownIdentifiers: [], ...extra };
}

/** [kind, matched text] for every match of the given kinds that reaches the detectors' threshold. */
function found(text: string, kinds: readonly PiiKind[]): [string, string][] {
  return findPii(text, kinds)
    .filter((m) => m.score >= pii.defaultThreshold)
    .map((m) => [m.kind, text.slice(m.start, m.end)]);
}

const ALL: readonly PiiKind[] = ['email', 'phone', 'card', 'iban', 'ssn', 'ip', 'address'];

describe('pii matchers', () => {
  it('find each kind with its span', () => {
    expect(found('Write to jane.doe@acme.io today.', ALL)).toEqual([['email', 'jane.doe@acme.io']]);
    expect(found('Call me at (415) 555-2671 or +44 20 7946 0958.', ALL)).toEqual([
      ['phone', '(415) 555-2671'],
      ['phone', '+44 20 7946 0958'],
    ]);
    expect(found('card 4111 1111 1111 1111 expires', ALL)).toEqual([['card', '4111 1111 1111 1111']]);
    expect(found('card 5500-0000-0000-0004.', ALL)).toEqual([['card', '5500-0000-0000-0004']]);
    expect(found('IBAN GB82 WEST 1234 5698 7654 32, thanks', ['iban'])).toEqual([
      ['iban', 'GB82 WEST 1234 5698 7654 32'],
    ]);
    expect(found('my iban is de89370400440532013000', ['iban'])).toEqual([
      ['iban', 'de89370400440532013000'],
    ]);
    expect(found('SSN: 123-45-6789.', ALL)).toEqual([['ssn', '123-45-6789']]);
    expect(found('blocked 203.0.113.7 and 2001:db8:85a3::8a2e:370:7334 today', ALL)).toEqual([
      ['ip', '203.0.113.7'],
      ['ip', '2001:db8:85a3::8a2e:370:7334'],
    ]);
  });

  it('find street addresses with their unit, city, state and ZIP', () => {
    expect(found('It is at 1600 Pennsylvania Avenue NW, Washington, DC 20500. Visit soon.', ALL)).toEqual([
      ['address', '1600 Pennsylvania Avenue NW, Washington, DC 20500'],
    ]);
    expect(found('Our office: 500 Main St Suite 200, Springfield, IL 62701', ALL)).toEqual([
      ['address', '500 Main St Suite 200, Springfield, IL 62701'],
    ]);
    expect(found('Ship it to 221B Baker Street, London NW1 6XE please', ALL)).toEqual([
      ['address', '221B Baker Street, London NW1 6XE'],
    ]);
    // European forms: street type before the name, or as the end of one word.
    expect(found('She lives at Rue de la Paix 12, Paris', ['address'])).toEqual([
      ['address', 'Rue de la Paix 12, Paris'],
    ]);
    expect(found('Die Adresse ist Friedhofstrasse 33.', ['address'])).toEqual([
      ['address', 'Friedhofstrasse 33'],
    ]);
    expect(found('Send it to P.O. Box 4411, Boise, ID 83701', ['address'])).toEqual([
      ['address', 'P.O. Box 4411, Boise, ID 83701'],
    ]);
  });

  it('take ZIP codes only in address context', () => {
    expect(found('ZIP: 94105', ['address'])).toEqual([['address', '94105']]);
    expect(found('94105 people attended in 2019', ALL)).toEqual([]);
    expect(found('In 2019 Central Park hosted 300 events', ALL)).toEqual([]);
    expect(found('The top 10 Hidden Gems of Route 66', ALL)).toEqual([]);
  });

  it('reject checksum failures and look-alikes', () => {
    // A 16-digit number that fails Luhn; a Luhn-valid number with no card issuer's prefix.
    expect(found('card 4111 1111 1111 1112', ['card'])).toEqual([]);
    expect(found('order 1234567890123452', ['card'])).toEqual([]);
    // The same IBAN with a wrong check digit; a country whose IBANs are shorter.
    expect(found('IBAN GB83 WEST 1234 5698 7654 32', ['iban'])).toEqual([]);
    expect(found('NO9386011117947 NO93860111179470', ['iban'])).toEqual([['iban', 'NO9386011117947']]);
    // SSA never issues area 000, 666 or 9xx, group 00 or serial 0000.
    expect(found('666-12-3456 000-12-3456 912-12-3456 123-00-4567 123-45-0000', ['ssn'])).toEqual([]);
    // Version numbers, times, dates and a MAC address are not IPs; local, version and doc addresses are skipped.
    expect(
      found('v1.2.3 version 1.2.3.4 at 12:30:45 on 2024-01-02; MAC 00:1A:2B:3C:4D:5E; 127.0.0.1', ALL),
    ).toEqual([]);
    expect(found('the URL https://user:pw@host.example/x has no e-mail', ['email'])).toEqual([]);
    expect(found('pnpm@10.4.1 is a package, not an address', ['email'])).toEqual([]);
  });

  it('score phones by format and context, not by digits alone', () => {
    const phones = (t: string): number[] => findPii(t, ['phone']).map((m) => m.score);
    expect(phones('Phone:\n467 3395')[0]).toBeGreaterThanOrEqual(0.5);
    expect(phones('The score was 467 3395')[0] ?? 0).toBeLessThan(0.5);
    expect(phones('Born 1982-1984-1987, scores 70-70-75-70=285')).toEqual([]);
  });

  it('stay linear on adversarial input', () => {
    // A catastrophic pattern would take minutes here; the assertions are on the results.
    const digits = '1 '.repeat(50_000);
    const mixed = `${'a1-'.repeat(30_000)}@${'b.'.repeat(20_000)}`;
    for (const text of [digits, mixed, `${'9'.repeat(100_000)} Main Street`, ':'.repeat(50_000) + 'ab'])
      expect(Array.isArray(findPii(text, ALL))).toBe(true);
    expect(findSecrets(`password=${'a1'.repeat(40_000)}`).length).toBeLessThanOrEqual(1);
    expect(findSecrets('eyJ'.repeat(30_000))).toEqual([]);
    expect(findSecrets('sk-'.repeat(30_000)).every((m) => m.score < secrets.defaultThreshold)).toBe(true);
    expect(findSecrets(`-----BEGIN PRIVATE KEY-----${'-----BEGIN PRIVATE KEY-----'.repeat(2_000)}`)).toEqual(
      [],
    );
  });
});

/** A random-looking body of `n` characters from a fixed seed (no real credential). */
function body(
  n: number,
  alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789',
): string {
  let out = '';
  let x = 7;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    out += alphabet[(x >>> 16) % alphabet.length] ?? 'A';
  }
  return out;
}

describe('secrets', () => {
  const ids = (text: string, min = 0.6): string[] =>
    findSecrets(text)
      .filter((m) => m.score >= min)
      .map((m) => m.id);

  it('find provider keys, private keys, JWTs and passwords with the right span', () => {
    const gh = 'gh' + 'p_' + body(36);
    const text = `token: ${gh} done`;
    const [m] = findSecrets(text);
    expect(m?.id).toBe('github-token');
    // The span is the key after its format's prefix (`ghp_` names the format; it is no secret).
    expect(text.slice(m?.start, m?.end)).toBe(gh.slice(4));

    const cases: [string, string][] = [
      [
        `AWS_ACCESS_KEY_ID=${'AK' + 'IA'}${body(16, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567')}`,
        'aws-access-key-id',
      ],
      [
        `aws_secret_access_key = ${body(40, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+')}`,
        'aws-secret-access-key',
      ],
      [`stripe ${'sk_' + 'live_'}${body(24)}`, 'stripe-secret-key'],
      [`slack ${'xox' + 'b-'}1234567890-1234567890123-${body(24)}`, 'slack-token'],
      [`${'AI' + 'za'}${body(35)}`, 'gcp-api-key'],
      [`${'np' + 'm_'}${body(36)}`, 'npm-access-token'],
      ['S' + 'G.' + body(22) + '.' + body(43), 'sendgrid-api-key'],
      [
        `-----BEGIN RSA PRIVATE KEY-----\n${body(64)}\n${body(64)}\n-----END RSA PRIVATE KEY-----`,
        'private-key',
      ],
      [
        `Authorization: Bearer ${btoa('{"alg":"HS256","typ":"JWT"}').replace(/=/g, '')}.${btoa('{"sub":"1234567890"}').replace(/=/g, '')}.${body(43)}`,
        'jwt',
      ],
      ['DATABASE_URL=postgres://app:Xk9mQ2vLp7@db.internal:5432/app', 'url-credentials'],
      ['db_password = "m42ploz2wd!"', 'generic-assignment'],
    ];
    for (const [t, id] of cases) expect(ids(t), t).toContain(id);
  });

  it("keep only a rule's own prefix; of two matches over one value, the likely secret, then the format's", () => {
    const b64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+';
    // An AWS secret access key is random from its first character, whatever it happens to begin with.
    for (const start of ['SK', 'AKIA', 'dapi', 'eyJ']) {
      const value = start + body(40 - start.length, b64);
      const text = `aws_secret_access_key = ${value}`;
      const [m] = findSecrets(text);
      expect([m?.id, text.slice(m?.start, m?.end)], start).toEqual(['aws-secret-access-key', value]);
    }
    // `sk-…` in an assignment or after Bearer: the key-like-token rule (0.4) matches the same value,
    // and the assignment (which acts) stays, keeping the format's prefix the token rule found.
    const key = 'sk-' + body(32);
    for (const [text, id] of [
      [`OPENAI_API_KEY=${key} ok`, 'generic-assignment'],
      [`Authorization: Bearer ${key} ok`, 'bearer-token'],
    ] as const) {
      const [m] = findSecrets(text);
      expect(m?.id, text).toBe(id);
      expect(m?.score).toBeGreaterThanOrEqual(secrets.defaultThreshold);
      expect(text.slice(m?.start, m?.end)).toBe(key.slice(3));
    }
    // A key that starts like Anthropic's but is not in its format is still key-shaped (the keyword scan
    // records only the longest keyword at a position: `sk-ant-` hid `sk-`).
    const short = `sk-ant-${body(40)}`;
    expect(findSecrets(`key ${short} ok`).map((m) => m.id)).toEqual(['key-like-token']);
    // Two likely secrets over one value: the format's id stays, not the generic one.
    const hex = `0x${body(64, '0123456789abcdef')}`;
    expect(findSecrets(`private_key = ${hex}`)[0]?.id).toBe('crypto-private-key');
  });

  it('declare their literal starts as prefixes, and none for formats random from the first character', () => {
    // The stream sends every declared prefix as it comes and the redaction keeps it (formatPrefixes is
    // built from them, so the two agree by construction).
    expect(formatPrefixes).toEqual(
      expect.arrayContaining(['AKIA', 'ghp_', 'sk-ant-', 'SK', 'fm1a_', 'hooks.slack.com/', 'eyJ']),
    );
    // A secret random from its first character has no public start: one that happens to begin `SK` or
    // `AKIA` is random there too, and is redacted whole.
    for (const id of ['aws-secret-access-key', 'azure-ad-client-secret'])
      expect(secretRules.find((r) => r.id === id)?.prefixes ?? [], id).toEqual([]);
  });

  it('let look-alikes and placeholders through', () => {
    const lookAlikes = [
      `${'sk_' + 'live_'}short`,
      `${'pk_' + 'live_'}${body(24)}`, // publishable, not secret
      `x${'gh' + 'p_'}${body(36)}`, // glued to a word
      `${'gh' + 'p_'}${body(30)}`, // too short
      'https://user:password@example.com/api',
      'mongodb://mongodb:mongodb@localhost:27017/db',
      'mysql://admin:s3cr3tPass@localhost:3306/db',
      'password = "${DB_PASSWORD}"',
      'DOCKER_TOKEN=not_a_real_token',
      '-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----',
      `${'AK' + 'IA'}IOSFODNN7EXAMPLE`, // AWS's documentation key
      'The secret to a good token economy is trust.',
      `sha256 ${body(64, '0123456789abcdef')}`, // a hash, not a key
    ];
    for (const t of lookAlikes) expect(ids(t), t).toEqual([]);
  });

  it('score placeholders below the threshold so only trace redaction removes them', () => {
    const [m] = findSecrets('postgres://u:secret@db:5432/x');
    expect(m?.id).toBe('url-credentials');
    expect(m?.score).toBeLessThan(secrets.defaultThreshold);
  });
});

describe('streaming hold-back (pendingFrom)', () => {
  const c = ctx();
  const fin = (t: string): string => t.slice(financialId.pendingFrom?.(t, c) ?? t.length);
  const sec = (t: string): string => t.slice(secrets.pendingFrom?.(t, c) ?? t.length);
  const per = (t: string): string => t.slice(pii.pendingFrom?.(t, c) ?? t.length);

  it('holds a trailing digit run or IBAN start, never ordinary words', () => {
    expect(fin('Your card: 4111 1111')).toBe('4111 1111');
    expect(fin('Your card: 4111 1111 ')).toBe('4111 1111 ');
    expect(fin('SSN 123-4')).toBe('123-4');
    // A digit group still being written, or a complete one that can begin a grouped id, is held; a
    // complete group that cannot (`12 `: no card, SSN or national id begins with two digits and a space)
    // is not, so an answer opening "12 of your orders" is not held for a chunk.
    expect(fin('12')).toBe('12');
    expect(fin('12 ')).toBe('');
    expect(fin('Order 12 of')).toBe('');
    expect(fin('12 4111 1111')).toBe('4111 1111');
    expect(fin('12 41')).toBe('41');
    expect(fin('1 2 3 ')).toBe('');
    expect(fin('123 ')).toBe('123 ');
    expect(fin('12.345.')).toBe('12.345.');
    expect(fin('IBAN GB82 WE')).toBe('GB82 WE');
    expect(fin('Hello there, how are you')).toBe('');
    expect(fin('made in the US')).toBe('');
    expect(fin('ce que de')).toBe('');
  });

  it('holds a trailing token only when it is, or starts, a known secret', () => {
    // From the first character after a format's prefix: the prefix is public and is sent as it comes.
    expect(sec('here is the key: sk-')).toBe('');
    expect(sec('here is the key: sk-a')).toBe('a');
    expect(sec('here is the key: sk-ant-api')).toBe('api');
    expect(sec('use ghp_abc')).toBe('abc');
    expect(sec('export KEY=AKIA')).toBe('');
    expect(sec('export KEY=AKIAZ7Q4')).toBe('Z7Q4');
    expect(sec('eyJhbGci')).toBe('hbGci');
    expect(sec('-----BEGIN RSA PRI')).toBe('-----BEGIN RSA PRI');
    expect(sec('-----BEGIN PRIVATE KEY-----\nMIIEvQ')).toBe('-----BEGIN PRIVATE KEY-----\nMIIEvQ');
    expect(sec('connect to https://user:pa')).toBe('https://user:pa');
    expect(sec('password = "Xk9')).toBe('Xk9');
    expect(sec('The quick brown fox jumps')).toBe('');
    expect(sec('see https://example.com/docs')).toBe('');
    // A word that may begin a prefix (`AIza…`, `A` of `AKIA…`) is not held: the prefix itself is public.
    expect(sec('ask the AI')).toBe('');
    expect(sec('A')).toBe('');
    expect(sec('gh')).toBe('');
    // A URL scheme being written is still held: a URL's credentials are redacted from its scheme on.
    expect(sec('see postgr')).toBe('postgr');
    expect(sec('ask the AI ')).toBe('');
    expect(sec('ask the AIM')).toBe('');
  });

  it('holds a phone or street number in progress for pii (when a release makes it act)', () => {
    expect(per('call +1 415 55')).toBe('+1 415 55');
    // The local part too: a chunk may end anywhere in `bob.smith@…`, so a trailing word is held.
    expect(per('mail bob@exa')).toBe('bob@exa');
    expect(per('mail bob.sm')).toBe('bob.sm');
    expect(per('I live at 90 Whitchurch')).toBe('90 Whitchurch');
    expect(per('94105 people attended ')).toBe('');
  });
});

describe('privacy detectors in the engine', () => {
  it('are among the default detectors with the documented defaults', () => {
    const ids = defaultDetectors.map((d) => d.id);
    for (const d of privacyDetectors) expect(ids).toContain(d.id);
    expect(financialId).toMatchObject({ defaultAction: 'block', stages: ['tool_call', 'output'] });
    expect(pii.defaultAction).toBe('log');
    expect(secrets.defaultAction).toBe('redact');
    expect(crossUser).toMatchObject({ defaultAction: 'log', stages: ['output'] });
  });

  it('block a card in output, redact a key, log contact data', () => {
    const guards = new GuardSet(defaultGuardSettings, privacyDetectors);
    const card = guards.scan('Your card is 4111 1111 1111 1111.', ctx('output'));
    expect(card.action).toBe('block');
    expect(card.findings[0]).toMatchObject({
      detector: 'financial-id',
      kind: 'card',
      span: { start: 13, end: 32 },
    });
    // At input a customer's own card number is not acted on by default.
    expect(guards.scan('My card is 4111 1111 1111 1111', ctx('input')).findings).toEqual([]);

    const key = 'gh' + 'p_' + body(36);
    const redacted = guards.scan(`use ${key} now`, ctx('input'));
    expect(redacted.action).toBe('redact');
    expect(redacted.text).toBe('use ghp_[REDACTED:github-token] now');

    const contact = guards.scan('Reach me at jane.doe@acme.io', ctx('input'));
    expect(contact.action).toBe('log');
    expect(contact.findings.map((f) => [f.detector, f.kind])).toEqual([['pii', 'email']]);
  });
});

describe('cross-user', () => {
  const settings: GuardSettings = parseGuardSettings({
    exfiltration: { allowEmails: ['partner@vendor.io'], allowDomains: ['acme.io'] },
  });
  const own = ['usr_1b9d44', 'me@corp.com'];
  const detect = (text: string, ownIdentifiers = own, system?: string) =>
    crossUser
      .detect(text, ctx('output', { settings, ownIdentifiers, ...(system ? { system } : {}) }))
      .filter((d) => d.score >= crossUser.defaultThreshold)
      .map((d) => [d.kind, text.slice(d.span?.start, d.span?.end)]);

  it("reports another user's address and id, not the caller's own", () => {
    const text = 'Contact bob@corp.com or me@corp.com; ticket by usr_8f3a2c, yours is usr_1b9d44.';
    expect(detect(text)).toEqual([
      ['email', 'bob@corp.com'],
      ['user_id', 'usr_8f3a2c'],
    ]);
  });

  it('skips role mailboxes, allowed addresses and domains, examples and addresses from the system prompt', () => {
    const text =
      'Write to support@corp.com, partner@vendor.io, ann@acme.io, ann@eu.acme.io, x@example.com or ops@corp.com.';
    expect(detect(text, own, 'Escalations go to lead@corp.com.')).toEqual([]);
    expect(detect('Escalate to lead@corp.com.', own, 'Escalations go to lead@corp.com.')).toEqual([]);
  });

  it('does not report at the default threshold when the caller is unknown', () => {
    expect(detect('Contact bob@corp.com', [])).toEqual([]);
  });
});

describe('cross-user, with the app’s users and tenants known (the gateway’s directory)', () => {
  const settings = parseGuardSettings({ exfiltration: { allowEmails: ['help@corp.com'] } });
  const directory = new IdentityDirectory();
  directory.note('shop', 'usr_1b9d44', 'T-Acme-01'); // the caller
  directory.note('shop', 'USR_77aa01', 't-acme-01'); // a colleague in the same tenant
  directory.note('shop', 'dana@corp.com', 't-beta-02'); // someone else, an e-mail as user id
  directory.note('shop', 'help@corp.com', 't-beta-02'); // an allowed address used as a user id
  // Not kept: could be a word, a year, a price or a slug.
  for (const id of ['alice', '2024', '1500', 'blue-sky']) directory.note('shop', id, 'acme-corp');
  directory.note('other-app', 'usr_99zz99', 't-gamma-03'); // another app's user
  const known = directory.of('shop');
  const caller = { ownIdentifiers: ['usr_1b9d44', 'T-Acme-01'], tenant: 'T-Acme-01' };
  const found = (text: string, who: { ownIdentifiers: string[]; tenant?: string } = caller) =>
    crossUser
      .detect(text, {
        ...ctx('output', { settings, ownIdentifiers: who.ownIdentifiers }),
        ...who,
        ...(known ? { known } : {}),
      })
      .map((d) => [d.kind, d.score, text.slice(d.span?.start, d.span?.end)]);

  it("reports another user's or tenant's id at 0.95, once, and never the caller's own", () => {
    expect(found('Order 7 was placed by dana@corp.com (tenant t-beta-02); yours is usr_1b9d44.')).toEqual([
      ['other_user', 0.95, 'dana@corp.com'],
      ['other_tenant', 0.95, 't-beta-02'],
    ]);
    // Matched whole and case-insensitively: the longer id is not the known one (only the shape of the
    // caller's own id reads it).
    expect(found('Ticket for DANA@CORP.COM, not usr_1b9d444.')).toEqual([
      ['other_user', 0.95, 'DANA@CORP.COM'],
      ['user_id', 0.7, 'usr_1b9d444'],
    ]);
  });

  it('scores colleagues and callers with no identifiers under the threshold', () => {
    expect(found('Assigned to usr_77aa01.')).toEqual([['other_user', 0.4, 'usr_77aa01']]);
    expect(found('Assigned to usr_77aa01 at t-beta-02.', { ownIdentifiers: [] })).toEqual([
      ['other_user', 0.3, 'usr_77aa01'],
      ['other_tenant', 0.3, 't-beta-02'],
    ]);
  });

  it("keeps out words, years, prices, slugs, allowed addresses and other apps' users", () => {
    expect(found('Alice paid 1500 dollars in 2024 for blue-sky thinking at acme-corp.')).toEqual([]);
    expect(found('Write to help@corp.com.')).toEqual([]);
    expect(found('usr_99zz99 and t-gamma-03 belong to another app.')).toEqual([]);
    expect(found('Your tenant t-acme-01 is on the gold plan.')).toEqual([]);
    expect(['alice', '2024', '1500', 'blue-sky', 'acme-corp', 'a b-1234'].filter(identifierLike)).toEqual([]);
    expect(['usr_8f3a2c', 't-acme-01', 'bob@corp.com', '10293847'].every(identifierLike)).toBe(true);
  });

  it('streamed, an id cut at a chunk boundary is judged whole', () => {
    const set = new GuardSet(settings);
    const g = new OutputStreamGuard(set, {
      ...ctx('output', { settings, ownIdentifiers: ['usr_77aa01'] }),
      ...(known ? { known } : {}),
    });
    // usr_77aa0 is nobody; usr_77aa01 is the caller.
    for (const chunk of ['Your ticket: usr_77aa0', '1, thanks.']) g.push(0, chunk);
    g.end(0);
    expect(g.findings.filter((f) => f.detector === 'cross-user')).toEqual([]);
  });

  it('forgets the least recently seen ids past its bound, and loads what the store holds', () => {
    const d = new IdentityDirectory();
    d.load([
      { app: 'shop', userId: 'usr_new001', tenantId: 't-new-01' },
      { app: 'shop', userId: 'usr_old001', tenantId: null },
    ]);
    // Latest first in, oldest noted first: the newest ends last (the last to be forgotten).
    expect([...(d.of('shop')?.users.keys() ?? [])]).toEqual(['usr_old001', 'usr_new001']);
    expect(d.of('shop')?.tenants.has('t-new-01')).toBe(true);
    const id = (i: number) => `usr_${String(i).padStart(6, '0')}`;
    for (let i = 0; i <= 100_000; i++) d.note('big', id(i), null);
    const users = d.of('big')?.users;
    expect(users?.size).toBe(100_000);
    expect(users?.has(id(0))).toBe(false);
    expect(users?.has(id(1))).toBe(true);
    expect(users?.has(id(100_000))).toBe(true);
  });
});
