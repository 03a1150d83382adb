/**
 * write and delete: the write protocol of DESIGN 4.1. The object is stored first (content-addressed),
 * then one transaction locks the book's chain head and the journal row, applies the pure contract,
 * changes the row and appends the audit entry. A failure before the commit leaves the journal as it was.
 */
import { PfsError, isPfsError } from "../errors/index.js";
import { isSha256Hex } from "../hashing/index.js";
import { BASE_USER, BOOK_ID_PATTERN, assertAgentId, assertNoLookalike, validateTarget, type ParsedPath } from "../paths/index.js";
import { pathsForLookalikeCheck } from "../journal/name-queries.js";
import { appendAudit, deleteFile, getFile, lockBookHead, lockExistingBookHead, upsertFile, type FileRow } from "../journal/queries.js";
import { journalError, type Tx } from "../journal/db.js";
import type { AuditStatus } from "../journal/audit-chain.js";
import type { PutResult } from "../blobs/index.js";
import { assertContent, assertMarkdown, collect, isStream, toBuffer, tooLarge, type Content } from "./body.js";
import { decideDelete, decideWrite, type WriteMode } from "./contract.js";
import type { StoreContext } from "./context.js";

export interface WriteInput {
  bookId: string;
  path: string;
  content: Content;
  expectedHash?: string;
  userId?: string;
  agentId: string;
}

export interface WriteResult {
  mode: WriteMode;
  hash: string;
  previousHash: string | null;
  size: number;
}

export interface DeleteInput {
  bookId: string;
  path: string;
  userId?: string;
  expectedHash?: string;
  agentId: string;
}

export interface DeleteResult {
  existed: boolean;
}

/** Called after a commit that changed a base file (the public mirror listens here). */
export type CommitListener = (change: { bookId: string; path: string; parsed: ParsedPath; hash: string | null }) => Promise<void>;

interface Attempt {
  operation: string;
  bookId: string;
  path: string;
  userId: string;
  agentId: string;
  started: number;
}

type Outcome<T> =
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
async function recordFailure(ctx: StoreContext, a: Attempt, err: unknown): Promise<never> {
  const error = isPfsError(err) ? err : journalError(err, ctx.journal.description);
  const status = statusOf(error);
  await recordRefusedAttempt(ctx, { ...a, error, durationMs: elapsed(a.started) });
  ctx.metrics.writeTotal.inc({ status, mode: "none" });
  ctx.metrics.writeDuration.observe({ operation: a.operation }, (performance.now() - a.started) / 1000);
  throw error;
}

/** One transaction: lock head and row, decide, apply, audit. Contract failures are audited and thrown. */
async function commit<T>(ctx: StoreContext, a: Attempt, decide: (current: FileRow | null, at: Date) => Outcome<T>): Promise<T> {
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


function attemptOf(operation: Attempt["operation"], input: { bookId: unknown; path: unknown; userId?: unknown; agentId: unknown }): Attempt {
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

function assertExpectedHash(expectedHash: unknown): void {
  if (expectedHash !== undefined && !isSha256Hex(expectedHash)) {
    throw new PfsError("INVALID_ARGUMENT", `expectedHash must be a lowercase hex SHA-256 (64 characters); got ${JSON.stringify(expectedHash)}.`);
  }
}

/** The caller's own body stream failed: their content problem, not a journal outage (which recordFailure would assume). */
function callerStreamFailed(err: unknown): never {
  if (isPfsError(err)) throw err;
  throw new PfsError("INVALID_CONTENT", `The content stream failed before it ended: ${err instanceof Error ? err.message : String(err)}`, {}, { cause: err });
}

/** An overlay is untrusted markdown (DESIGN 4.9): refused before anything is stored unless it is safe. */
async function assertSafeOverlay(ctx: StoreContext, bytes: Buffer, path: string): Promise<void> {
  const { checkSafeMarkdown, formatViolation } = await import("../books/safe-markdown.js"); // the MDX parser loads on the first overlay
  const violations = checkSafeMarkdown(bytes, { components: ctx.config.overlayComponents, path });
  if (violations.length === 0) return;
  const first = violations[0]!;
  throw new PfsError(
    "UNSAFE_CONTENT",
    `Overlay ${formatViolation(first, path)} is not allowed: overlays are untrusted markdown (no import/export, {expressions}, event handlers, script URLs or raw HTML; JSX only for allowlisted components with literal props; allowlist: ${ctx.config.overlayComponents.join(", ") || "none"}).` +
      (violations.length > 1 ? ` ${violations.length - 1} more: ${violations.slice(1, 4).map((v) => formatViolation(v)).join("; ")}.` : ""),
    { path, line: first.line, column: first.column, construct: first.construct, violations: violations.slice(0, 20) },
  );
}

/** Refuses, before anything is stored, a name that imitates an existing sibling (UTS #39 skeletons). */
async function assertNoLookalikeSibling(ctx: StoreContext, a: Attempt, path: string): Promise<void> {
  // eslint-disable-next-line no-control-regex
  const asciiOnly = /^[\u0000-\u007f]*$/.test(path);
  assertNoLookalike(path, await pathsForLookalikeCheck(ctx.journal.db, a.bookId, a.userId, asciiOnly));
}

async function storeBody(ctx: StoreContext, parsed: ParsedPath, content: Content, overlay: boolean): Promise<PutResult> {
  const { markdownBytes, assetBytes } = ctx.config.limits;
  if (parsed.isContent) {
    const bytes = isStream(content) ? await collect(content, markdownBytes).catch(callerStreamFailed) : toBuffer(content);
    if (bytes.length > markdownBytes) throw tooLarge(markdownBytes, "markdown");
    assertMarkdown(bytes, parsed.path);
    if (overlay) await assertSafeOverlay(ctx, bytes, parsed.path);
    return ctx.blobs.putBytes(bytes);
  }
  if (isStream(content)) return ctx.blobs.putStream(content, { maxBytes: assetBytes });
  const bytes = toBuffer(content);
  if (bytes.length > assetBytes) throw tooLarge(assetBytes, "asset");
  return ctx.blobs.putBytes(bytes);
}

export async function writeFile(ctx: StoreContext, input: WriteInput, onCommit?: CommitListener): Promise<WriteResult> {
  const a = attemptOf("write", input);
  let parsed: ParsedPath;
  let put: PutResult;
  try {
    parsed = validateTarget(input);
    assertExpectedHash(input.expectedHash);
    assertContent(input.content);
      await assertNoLookalikeSibling(ctx, a, parsed.path);
    put = await storeBody(ctx, parsed, input.content, input.userId !== undefined);
  } catch (err) {
    if (isStream(input.content)) input.content.destroy();
    return recordFailure(ctx, a, err);
  }
  const result = await commit<WriteResult>(ctx, a, (current, at) => {
    const decision = decideWrite(parsed.path, current?.sha256 ?? null, input.expectedHash, put.hash);
    if (!decision.ok) return { ok: false, prevHash: current?.sha256 ?? null, error: decision.error };
    const result = { mode: decision.mode, hash: put.hash, previousHash: decision.previousHash, size: put.size };
    return {
      ok: true,
      prevHash: decision.previousHash,
      newHash: put.hash,
      mode: decision.noop ? "unchanged" : decision.mode,
      result,
      apply: decision.noop
        ? undefined
        : (tx) => upsertFile(tx, { ...a, sha256: put.hash, size: put.size, writtenAt: at, writtenBy: a.agentId }),
    };
  });
  if (onCommit && a.userId === BASE_USER) await onCommit({ bookId: a.bookId, path: parsed.path, parsed, hash: put.hash });
  return result;
}

export async function deleteFileOp(ctx: StoreContext, input: DeleteInput, onCommit?: CommitListener): Promise<DeleteResult> {
  const a = attemptOf("delete", input);
  let parsed: ParsedPath;
  try {
    parsed = validateTarget(input);
    assertExpectedHash(input.expectedHash);
  } catch (err) {
    return recordFailure(ctx, a, err);
  }
  const result = await commit<DeleteResult>(ctx, a, (current) => {
    const decision = decideDelete(parsed.path, current?.sha256 ?? null, input.expectedHash);
    if (!decision.ok) return { ok: false, prevHash: current?.sha256 ?? null, error: decision.error };
    return {
      ok: true,
      prevHash: decision.previousHash,
      newHash: null,
      mode: decision.existed ? "deleted" : "absent",
      result: { existed: decision.existed },
      apply: decision.existed ? (tx) => deleteFile(tx, a) : undefined,
    };
  });
  if (onCommit && result.existed && a.userId === BASE_USER) await onCommit({ bookId: a.bookId, path: parsed.path, parsed, hash: null });
  return result;
}
