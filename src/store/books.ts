/** Which books a store holds; a tool addressing an unknown book fails naming the ones that exist. */
import { PfsError } from "../errors/index.js";
import { assertAgentId, assertBookId, BASE_USER } from "../paths/index.js";
import { bookCounts, deleteBookRows, type BookCounts } from "../journal/book-queries.js";
import { BOOK_REMOVED } from "../journal/audit-chain.js";
import { appendAudit, getBookHead, lockExistingBookHead } from "../journal/queries.js";
import { journalError } from "../journal/db.js";
import { inJournal, type StoreContext } from "./context.js";

export type BookSummary = BookCounts;

export async function bookSummariesOp(ctx: StoreContext): Promise<BookSummary[]> {
  return inJournal(ctx, () => bookCounts(ctx.journal.db));
}

/** Pure: NOT_FOUND naming the books that exist, or nothing when `bookId` is one of them. */
export function unknownBookError(bookId: string, known: readonly string[]): PfsError | null {
  if (known.includes(bookId)) return null;
  const list = known.length === 0 ? "the store holds no books yet" : `books in this store: ${known.join(", ")}`;
  return new PfsError("NOT_FOUND", `No book "${bookId}" in this store (${list}).`, { bookId, books: [...known] });
}

/** `includeRemoved`: a book removed with `pfs books rm` still counts (its audit log and anchors remain). */
export async function assertBookExistsOp(ctx: StoreContext, bookId: string, opts: { includeRemoved?: boolean } = {}): Promise<void> {
  assertBookId(bookId);
  const err = unknownBookError(bookId, (await bookSummariesOp(ctx)).map((b) => b.bookId));
  if (err && opts.includeRemoved && (await inJournal(ctx, () => getBookHead(ctx.journal.db, bookId)))) return;
  if (err) throw err;
}

export interface RemoveBookInput {
  bookId: string;
  /** Who removes it (recorded in the book's audit chain). */
  agentId: string;
}

export interface RemoveBookResult {
  bookId: string;
  /** Base files and overlay rows the journal no longer holds. */
  files: number;
  overlays: number;
  /** The audit entry that records the removal: the chain's last entry (anchors keep covering it). */
  auditSeq: number;
}

/**
 * Removes a book from the journal in one transaction: its file rows (base and overlays) and remembered
 * manifests go, and a `book-removed` entry closes its audit chain. The chain, its head and its anchors
 * stay, so history remains verifiable; the objects become orphans that gc collects after the grace period.
 * Importing into the id again (with --create) continues the same chain.
 */
export async function removeBookOp(ctx: StoreContext, input: RemoveBookInput): Promise<RemoveBookResult> {
  assertBookId(input.bookId);
  assertAgentId(input.agentId);
  await assertBookExistsOp(ctx, input.bookId);
  const started = performance.now();
  try {
    return await ctx.journal.db.transaction(async (tx) => {
      const head = await lockExistingBookHead(tx, input.bookId);
      if (!head) throw unknownBookError(input.bookId, [])!;
      const removed = await deleteBookRows(tx, input.bookId);
      const after = await appendAudit(tx, head, {
        at: new Date(),
        agentId: input.agentId,
        operation: BOOK_REMOVED,
        bookId: input.bookId,
        path: null,
        userId: BASE_USER,
        prevHash: null,
        newHash: null,
        mode: `${removed.files} files, ${removed.overlays} overlays`,
        status: "ok",
        errorCode: null,
        errorMessage: null,
        durationMs: Math.max(0, Math.round(performance.now() - started)),
      });
      return { bookId: input.bookId, ...removed, auditSeq: after.seq };
    });
  } catch (err) {
    throw err instanceof PfsError ? err : journalError(err, ctx.journal.description);
  }
}
