import { canonicalJson } from './canonical-json.js';

/**
 * The audit log: every control-plane change, hash-chained. Each entry's hash covers its content and
 * the previous entry's hash, so an edited, inserted or deleted row breaks the chain at that row.
 */
export interface AuditContent {
  readonly seq: number;
  readonly ts: number;
  readonly actor: string;
  readonly action: string;
  readonly target: string;
  readonly before: unknown;
  readonly after: unknown;
  readonly reason: string | null;
  readonly incident: string | null;
}

export interface AuditEntry extends AuditContent {
  readonly prevHash: string;
  readonly hash: string;
}

export const GENESIS_HASH = '0'.repeat(64);

/** The exact text hashed (SHA-256) for an entry. */
export function auditHashInput(prevHash: string, c: AuditContent): string {
  return `${prevHash}\n${canonicalJson({
    seq: c.seq,
    ts: c.ts,
    actor: c.actor,
    action: c.action,
    target: c.target,
    before: c.before ?? null,
    after: c.after ?? null,
    reason: c.reason,
    incident: c.incident,
  })}`;
}

export type AuditProblem =
  | { readonly seq: number; readonly kind: 'edited'; readonly message: string }
  | { readonly seq: number; readonly kind: 'missing' | 'inserted' | 'reordered'; readonly message: string };

/**
 * Walks the chain in order; `hash(text)` is SHA-256 hex (injected: core does no I/O or crypto). `head` is
 * the newest seq and hash recorded separately, which catches the deletion of the newest rows.
 */
export function verifyChain(
  entries: readonly AuditEntry[],
  hash: (text: string) => string,
  head: { seq: number; hash: string },
): AuditProblem[] {
  const problems: AuditProblem[] = [];
  let prev = GENESIS_HASH;
  let expectedSeq = 1;
  for (const e of entries) {
    if (e.seq !== expectedSeq) {
      problems.push(
        e.seq > expectedSeq
          ? {
              seq: e.seq,
              kind: 'missing',
              message: `rows ${expectedSeq}..${e.seq - 1} are missing before row ${e.seq}`,
            }
          : { seq: e.seq, kind: 'reordered', message: `row ${e.seq} appears after row ${expectedSeq - 1}` },
      );
    }
    if (e.prevHash !== prev)
      problems.push({
        seq: e.seq,
        kind: 'inserted',
        message: `row ${e.seq} does not follow the row before it (previous hash differs)`,
      });
    if (hash(auditHashInput(e.prevHash, e)) !== e.hash)
      problems.push({
        seq: e.seq,
        kind: 'edited',
        message: `row ${e.seq} (${e.action} ${e.target}) was changed after it was written`,
      });
    prev = e.hash;
    expectedSeq = e.seq + 1;
  }
  const lastSeq = entries.at(-1)?.seq ?? 0;
  if (head.seq > lastSeq)
    problems.push({
      seq: head.seq,
      kind: 'missing',
      message: `rows ${lastSeq + 1}..${head.seq} (the newest) are missing`,
    });
  else if (head.seq < lastSeq)
    problems.push({
      seq: lastSeq,
      kind: 'inserted',
      message: `rows ${head.seq + 1}..${lastSeq} were added outside Firebreak`,
    });
  else if (head.hash !== prev)
    problems.push({
      seq: lastSeq,
      kind: 'edited',
      message: `row ${lastSeq} does not match the chain head recorded with it`,
    });
  return problems;
}
