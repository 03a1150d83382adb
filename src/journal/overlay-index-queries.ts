/**
 * The queries behind the reader endpoints' per-process overlay index (DESIGN 4.10): who has an overlay of
 * which page in a book, and what changed in the book since a sequence number. Every change to a book's
 * journal rows appends to its audit chain in the same transaction (book_seq, under the head lock), so the
 * chain's sequence is a version of the book's rows: entries after `seq` name every user whose overlays moved.
 */
import { and, asc, eq, gt, inArray, sql } from "drizzle-orm";
import { auditLog, bookHead, fileJournal } from "./schema.js";
import type { Tx } from "./db.js";

export interface OverlayRow {
  path: string;
  userId: string;
  sha256: string;
}

export interface ChainStep {
  bookSeq: number;
  userId: string;
  operation: string;
  status: string;
}

/** The book's chain sequence (0 for a book without a chain). Read before the rows it labels. */
export async function bookSeq(tx: Tx, bookId: string): Promise<number> {
  const [row] = await tx.select({ seq: bookHead.seq }).from(bookHead).where(eq(bookHead.bookId, bookId));
  return row?.seq ?? 0;
}

/**
 * Overlay rows of a book, of every user or of the given ones. The base user is excluded by a literal (not a
 * parameter) so the planner can match the partial file_journal_overlay_idx, as manifest-queries does.
 */
export async function overlayRows(tx: Tx, bookId: string, users?: readonly string[]): Promise<OverlayRow[]> {
  const whose = users ? inArray(fileJournal.userId, [...users]) : undefined;
  return tx
    .select({ path: fileJournal.path, userId: fileJournal.userId, sha256: fileJournal.sha256 })
    .from(fileJournal)
    .where(and(eq(fileJournal.bookId, bookId), sql`${fileJournal.userId} <> '__base__'`, whose));
}

/** At most `limit` chain entries after `afterSeq`, in order (served by audit_log_book_seq_idx). */
export async function chainStepsAfter(tx: Tx, bookId: string, afterSeq: number, limit: number): Promise<ChainStep[]> {
  return tx
    .select({ bookSeq: auditLog.bookSeq, userId: auditLog.userId, operation: auditLog.operation, status: auditLog.status })
    .from(auditLog)
    .where(and(eq(auditLog.bookId, bookId), gt(auditLog.bookSeq, afterSeq)))
    .orderBy(asc(auditLog.bookSeq))
    .limit(limit);
}
