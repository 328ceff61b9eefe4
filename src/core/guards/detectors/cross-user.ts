import type { Detection, Detector, GuardContext, KnownIdentities } from '../types.js';
import { findEmails } from './pii-email.js';

/**
 * Cross-user leaks (OWASP LLM02): an answer that shows the caller someone else's identifiers. The classic
 * path is retrieval or a tool that reads other users' records (tickets, orders, CRM notes) into the
 * context; the model then quotes them.
 *
 * What counts, for an answer (stage `output`):
 *  - an e-mail address that is not one of the caller's own identifiers, not in
 *    `guards.exfiltration.allowEmails` (an exact address or `@domain`), not at an allowed domain
 *    (`allowDomains`, subdomains included: the organisation's own addresses), not a role mailbox
 *    (`support@`, `noreply@`, `privacy@`… belong to an organisation, not to a person), not at a reserved
 *    example domain (RFC 2606: `example.com`, `.test`, `.invalid`…), and not written in the system
 *    prompt (an address the app's own instructions give out is the app's);
 *  - a token shaped like the caller's own user id (same prefix and alphabet, similar length: `usr_8f3a2c`
 *    next to the caller's `usr_1b9d44`) that is not the caller's;
 *  - the id of another user or tenant of the same app, as the gateway has seen them on calls (`known`:
 *    the users and tenants that called this app recently). These are known to belong to someone else,
 *    so they score 0.95 (0.4 for a user of the caller's own tenant, whom colleagues often may see, and
 *    0.3 when the caller has no identifiers and may be that user: both under the default threshold), and
 *    an id the directory knows is reported as that, not also as an address or by its shape (an address
 *    is still skipped when it is allowed, a role mailbox or the prompt's). Only ids that cannot be
 *    ordinary words, years or prices are kept and matched (`identifierLike`): a user called `alice` or
 *    `2024` would turn every "Alice" or every year into a leak.
 *
 * Scores stay below 1 because a person's address in an answer can be legitimate (the caller asked for a
 * colleague's contact, or the address is a public one): 0.7 for another person's address or id when the
 * caller is known, 0.3 when the call carries no own identifiers (then any address may be the caller's own,
 * so it is not reported at the default threshold); other UUIDs next to a caller's UUID score 0.4 (UUIDs
 * name orders and documents too). Default action `log`: the finding opens an incident without cutting
 * answers on a heuristic. Redacting a streamed address would need every trailing word held back (any
 * word may turn out to be an address's local part), which the time-to-first-token budget does not allow,
 * so this detector has no `pendingFrom`: `block` stops a stream when the address is seen, and `redact`
 * on a stream fails closed (the stream guard ends it with `output_blocked` rather than send part of an
 * address it can no longer redact whole).
 */
const ROLE_MAILBOXES = new Set(
  (
    'support help helpdesk info contact hello hi team sales billing accounts accounting invoices orders ' +
    'noreply no-reply donotreply do-not-reply notifications notification alerts news newsletter marketing ' +
    'press media pr admin administrator webmaster postmaster hostmaster abuse security privacy dpo gdpr ' +
    'legal compliance hr jobs careers recruiting office enquiries inquiries feedback service ' +
    'customerservice customer-service care it ops devops mailer-daemon bounce bounces reply'
  ).split(' '),
);

const EXAMPLE_DOMAIN = /(?:^|\.)(?:example\.(?:com|org|net)|example|test|invalid|localhost)$/i;

function allowedDomain(domain: string, allow: readonly string[]): boolean {
  const d = domain.toLowerCase();
  return allow.some((a) => {
    const x = a.toLowerCase().replace(/^\*?\./, '');
    return d === x || d.endsWith(`.${x}`);
  });
}

/** A structured id: a short alphabetic prefix and a separator, then the id proper (`usr_8f3a2c`, `cus-19283`). */
const PREFIXED_ID = /^([A-Za-z]{1,12}[_-])([A-Za-z0-9]{4,40})$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const UUID_IN_TEXT =
  /(?<![0-9A-Za-z-])[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?![0-9A-Za-z-])/g;

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A regular expression for ids shaped like `own`: same prefix, same alphabet, length within ±2. */
function idShape(own: string): RegExp | undefined {
  const m = PREFIXED_ID.exec(own);
  if (!m) return undefined;
  const [, prefix = '', body = ''] = m;
  const alphabet = /^\d+$/.test(body)
    ? '\\d'
    : /^[0-9a-f]+$/.test(body)
      ? '[0-9a-f]'
      : /^[0-9A-F]+$/.test(body)
        ? '[0-9A-F]'
        : '[A-Za-z0-9]';
  const lo = Math.max(4, body.length - 2);
  return new RegExp(
    `(?<![A-Za-z0-9_-])${escape(prefix)}${alphabet}{${lo},${body.length + 2}}(?![A-Za-z0-9_-])`,
    'g',
  );
}

/**
 * An id that cannot be an ordinary word, a year, a price or a slug: 6 to 256 characters without spaces,
 * with a letter and a digit or `@` in them (`usr_8f3a2c`, `bob@corp.com`, `t-acme-01`), or 8 digits or
 * more (`10293847`). Not `alice`, `2024`, `1500` or `acme-corp`.
 */
export function identifierLike(id: string): boolean {
  if (id.length < 6 || id.length > 256 || /\s/.test(id)) return false;
  return /^\d{8,}$/.test(id) || (/[A-Za-z]/.test(id) && /[\d@]/.test(id));
}

/** Tokens that may be ids: letters and digits joined by `. _ @ + -`, starting and ending alphanumeric. */
const ID_TOKEN = /[A-Za-z0-9](?:[A-Za-z0-9._@+-]*[A-Za-z0-9])?/g;

/**
 * Whether an address is not a person's, or not someone else's: the caller's own, allowed, the
 * organisation's domains, a role mailbox, an example domain, or one the system prompt gives out.
 */
function addressJudge(own: ReadonlySet<string>, ctx: GuardContext): (address: string) => boolean {
  const { allowEmails, allowDomains } = ctx.settings.exfiltration;
  const allowed = new Set(allowEmails.map((e) => e.toLowerCase()));
  // Lower-cased on first use: most answers name no address, and a prompt can be long.
  let system: string | undefined;
  return (address) => {
    const at = address.lastIndexOf('@');
    const domain = address.slice(at + 1);
    if (own.has(address) || allowed.has(address) || allowed.has(`@${domain}`)) return true;
    if (allowedDomain(domain, allowDomains) || EXAMPLE_DOMAIN.test(domain)) return true;
    if (ROLE_MAILBOXES.has(address.slice(0, at).replace(/[+].*$/, ''))) return true;
    return (system ??= ctx.system?.toLowerCase() ?? '').includes(address);
  };
}

/** Ids of the app's other users and tenants in the answer, by their spans. */
function otherIdentities(
  text: string,
  own: ReadonlySet<string>,
  ctx: GuardContext,
  known: KnownIdentities,
  nobodys: (address: string) => boolean,
): Detection[] {
  const out: Detection[] = [];
  const ownTenant = ctx.tenant?.toLowerCase();
  for (const m of text.matchAll(ID_TOKEN)) {
    const token = m[0];
    if (!identifierLike(token)) continue;
    const id = token.toLowerCase();
    if (own.has(id)) continue;
    const tenant = known.users.get(id);
    if (tenant === undefined && !known.tenants.has(id)) continue;
    // An id that is an address is judged as addresses are (an allowed or role address is nobody's).
    if (id.includes('@') && nobodys(id)) continue;
    const span = { start: m.index, end: m.index + token.length };
    const user = tenant !== undefined;
    // Below the default threshold (recorded only when a release lowers it): a caller with no
    // identifiers of their own may be that user, and colleagues in one tenant often may see each other.
    if (own.size === 0 || (user && ownTenant !== undefined && tenant === ownTenant))
      out.push({
        kind: user ? 'other_user' : 'other_tenant',
        score: own.size === 0 ? 0.3 : 0.4,
        span,
        message:
          own.size === 0
            ? `the id of a ${user ? 'user' : 'tenant'} of this app appears in an answer to a caller with no known identifiers`
            : "the id of another user of this app, in the caller's own tenant, appears in the answer",
      });
    else
      out.push({
        kind: user ? 'other_user' : 'other_tenant',
        score: 0.95,
        span,
        message: `the id of another ${user ? 'user' : 'tenant'} of this app appears in the answer`,
      });
  }
  return out;
}

function crossUserDetect(text: string, ctx: GuardContext): Detection[] {
  const own = new Set(ctx.ownIdentifiers.map((i) => i.toLowerCase()));
  const known = own.size > 0;
  const nobodys = addressJudge(own, ctx);
  const others =
    ctx.known && (ctx.known.users.size > 0 || ctx.known.tenants.size > 0)
      ? otherIdentities(text, own, ctx, ctx.known, nobodys)
      : [];
  const out: Detection[] = [...others];
  const reported = new Set(others.map((d) => d.span?.start));
  if (text.includes('@'))
    for (const m of findEmails(text)) {
      const address = text.slice(m.start, m.end).toLowerCase();
      if (nobodys(address) || reported.has(m.start)) continue;
      out.push({
        kind: 'email',
        score: known ? 0.7 : 0.3,
        span: { start: m.start, end: m.end },
        message: known
          ? "an e-mail address that is not the caller's appears in the answer"
          : 'an e-mail address appears in an answer to a caller with no known identifiers',
      });
    }
  for (const id of ctx.ownIdentifiers) {
    const shape = idShape(id);
    if (shape)
      for (const m of text.matchAll(shape)) {
        if (own.has(m[0].toLowerCase()) || reported.has(m.index)) continue;
        out.push({
          kind: 'user_id',
          score: 0.7,
          span: { start: m.index, end: m.index + m[0].length },
          message: "an id shaped like the caller's user id, but not the caller's, appears in the answer",
        });
      }
    else if (UUID.test(id) && text.includes('-'))
      for (const m of text.matchAll(UUID_IN_TEXT)) {
        if (own.has(m[0].toLowerCase()) || reported.has(m.index)) continue;
        out.push({
          kind: 'user_id',
          score: 0.4,
          span: { start: m.index, end: m.index + m[0].length },
          message: "a UUID other than the caller's appears in the answer (the caller's id is a UUID)",
        });
      }
  }
  return out;
}

export const crossUser: Detector = {
  id: 'cross-user',
  class: 'privacy',
  owasp: 'LLM02',
  stages: ['output'],
  defaultAction: 'log',
  defaultThreshold: 0.5,
  description: "another user's e-mail address or user id, or another tenant's id, appears in an answer",
  detect: crossUserDetect,
};
