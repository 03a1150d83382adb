/**
 * write and delete: the write protocol of DESIGN 4.1. The object is stored first (content-addressed),
 * then one transaction locks the book's chain head and the journal row, applies the pure contract,
 * changes the row and appends the audit entry. A failure before the commit leaves the journal as it was.
 */
import { PfsError, isPfsError } from "../errors/index.js";
import { isSha256Hex } from "../hashing/index.js";
import { BASE_USER, assertNoLookalike, validateTarget, type ParsedPath } from "../paths/index.js";
import { pathsForLookalikeCheck } from "../journal/name-queries.js";
import { deleteFile, upsertFile } from "../journal/queries.js";
import { attemptOf, commit, recordFailure, type Attempt } from "./audited-commit.js";
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

export { recordRefusedAttempt, type RefusedAttempt } from "./audited-commit.js";

/** Called after a commit that changed a base file (the public mirror listens here). */
export type CommitListener = (change: { bookId: string; path: string; parsed: ParsedPath; hash: string | null }) => Promise<void>;

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
