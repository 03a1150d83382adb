/**
 * Every change as one audited transaction (DESIGN 4.1): lock the book head and the row, decide, apply,
 * append the audit entry; refused attempts on existing books stay on the record, and metrics count both.
 */
import { PfsError, isPfsError } from "../errors/index.js";
import { BASE_USER, BOOK_ID_PATTERN, assertAgentId } from "../paths/index.js";
import { appendAudit, getFile, lockBookHead, lockExistingBookHead, type FileRow } from "../journal/queries.js";
import { journalError, type Tx } from "../journal/db.js";
import type { AuditStatus } from "../journal/audit-chain.js";
import type { StoreContext } from "./context.js";

export interface Attempt {
  operation: string;
  bookId: string;
  path: string;
  userId: string;
  agentId: string;
  started: number;
}

export type Outcome<T> =
  | { ok: true; prevHash: string | null; newHash: string | null; mode: string; result: T; apply?: (tx: Tx) => Promise<void> }
  | { ok: false; prevHash: string | null; error: PfsError };

function statusOf(err: PfsError): AuditStatus {
  if (err.code === "CONFLICT" || err.code === "HASH_REQUIRED") return "conflict";
  if (err.code === "STORAGE_UNAVAILABLE" || err.code === "JOURNAL_UNAVAILABLE" || err.code === "INTEGRITY_ERROR") return "error";
  return "rejected";
}

/** Text fit for the audit table: no NUL or control bytes, bounded length. */
function auditText(value: unknown, max = 1024): string {
  const s = typeof value === "string" ? value : JSON.stringify(value) ?? String(value);
  // eslint-disable-next-line no-control-regex
  const escaped = s.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  return Buffer.from(escaped, "utf8").toString("utf8").slice(0, max);
}

function elapsed(started: number): number {
  return Math.max(0, Math.round(performance.now() - started));
}

function observe(ctx: StoreContext, a: Attempt, status: AuditStatus, mode: string): void {
  ctx.metrics.writeTotal.inc({ status, mode });
  ctx.metrics.writeDuration.observe({ operation: a.operation }, (performance.now() - a.started) / 1000);
  // Only called once the book has a head: the label set stays bounded by the books that exist.
  ctx.metrics.journalEntries.inc({ book_id: a.bookId });
}

/** An attempt the store (or the server, for a 403) refused; recorded by `recordRefusedAttempt`. */
export interface RefusedAttempt {
  /** write, delete, or what the server was asked to do (read, list, audit, …): a fixed name, it is a metric label. */
  operation: string;
  bookId: string;
  path?: string | null;
  userId?: string;
  agentId: string;
  error: PfsError;
  durationMs?: number;
}

/**
 * Records a refused attempt in its book's audit chain, but only when that book already exists (a
 * valid id with a chain head): rejected input must create no head, chain or metric label (issue 9),
 * while attempts on real books stay on the record (DESIGN: the audit log records rejections).
 * Every refusal is counted in `panaversityfs_refused_total`, which has no book label.
 * Returns whether an audit entry was appended; never throws (a journal outage is only counted).
 */
export async function recordRefusedAttempt(ctx: StoreContext, r: RefusedAttempt): Promise<boolean> {
  ctx.metrics.refusedTotal.inc({ operation: r.operation, code: r.error.code });
  if (!BOOK_ID_PATTERN.test(r.bookId)) return false;
  try {
    return await ctx.journal.db.transaction(async (tx) => {
      const head = await lockExistingBookHead(tx, r.bookId);
      if (!head) return false;
      await appendAudit(tx, head, {
        at: new Date(),
        agentId: auditText(r.agentId, 200),
        operation: auditText(r.operation, 40),
        bookId: r.bookId,
        path: r.path === undefined || r.path === null ? null : auditText(r.path),
        userId: r.userId === undefined ? BASE_USER : auditText(r.userId, 200),
        prevHash: null,
        newHash: null,
        mode: null,
        status: statusOf(r.error),
        errorCode: r.error.code,
        errorMessage: auditText(r.error.message),
        durationMs: Math.max(0, Math.round(r.durationMs ?? 0)),
      });
      ctx.metrics.journalEntries.inc({ book_id: r.bookId });
      return true;
    });
  } catch {
    return false; // the journal itself is down: the caller still reports the original error
  }
}

/** A write or delete that failed before or outside its transaction: recorded per the rule above, then rethrown. */
export async function recordFailure(ctx: StoreContext, a: Attempt, err: unknown): Promise<never> {
  const error = isPfsError(err) ? err : journalError(err, ctx.journal.description);
  const status = statusOf(error);
  await recordRefusedAttempt(ctx, { ...a, error, durationMs: elapsed(a.started) });
  ctx.metrics.writeTotal.inc({ status, mode: "none" });
  ctx.metrics.writeDuration.observe({ operation: a.operation }, (performance.now() - a.started) / 1000);
  throw error;
}

/** One transaction: lock head and row, decide, apply, audit. Contract failures are audited and thrown. */
export async function commit<T>(ctx: StoreContext, a: Attempt, decide: (current: FileRow | null, at: Date) => Outcome<T>): Promise<T> {
  let outcome: Outcome<T>;
  try {
    outcome = await ctx.journal.db.transaction(async (tx) => {
      const head = await lockBookHead(tx, a.bookId);
      const current = await getFile(tx, a, { forUpdate: true });
      // One instant for the journal row's written_at and the audit entry's at: verify compares them.
      const at = new Date();
      const decided = decide(current, at);
      if (decided.ok && decided.apply) await decided.apply(tx);
      await appendAudit(tx, head, {
        at,
        agentId: a.agentId,
        operation: a.operation,
        bookId: a.bookId,
        path: a.path,
        userId: a.userId,
        prevHash: decided.prevHash,
        newHash: decided.ok ? decided.newHash : null,
        mode: decided.ok ? decided.mode : null,
        status: decided.ok ? "ok" : statusOf(decided.error),
        errorCode: decided.ok ? null : decided.error.code,
        errorMessage: decided.ok ? null : auditText(decided.error.message),
        durationMs: elapsed(a.started),
      });
      return decided;
    });
  } catch (err) {
    return recordFailure(ctx, a, err);
  }
  if (!outcome.ok) {
    ctx.metrics.refusedTotal.inc({ operation: a.operation, code: outcome.error.code });
    observe(ctx, a, statusOf(outcome.error), "none");
    throw outcome.error;
  }
  observe(ctx, a, "ok", outcome.mode);
  return outcome.result;
}

export function attemptOf(operation: Attempt["operation"], input: { bookId: unknown; path: unknown; userId?: unknown; agentId: unknown }): Attempt {
  assertAgentId(input.agentId); // without a real agent nothing is recorded: the database refuses it too
  return {
    operation,
    bookId: auditText(input.bookId, 200),
    path: auditText(input.path),
    userId: input.userId === undefined ? BASE_USER : auditText(input.userId, 200),
    agentId: input.agentId,
    started: performance.now(),
  };
}
