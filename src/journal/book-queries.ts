/** Store-wide questions about books: which exist and how big they are. */
import { and, count, desc, eq, inArray, or, sum } from "drizzle-orm";
import { BASE_USER } from "../paths/index.js";
import { auditLog, bookManifest, fileJournal } from "./schema.js";
import { BOOK_REMOVED } from "./audit-chain.js";
import { auditBooks } from "./queries.js";
import type { Tx } from "./db.js";

export interface BookCounts {
  bookId: string;
  /** Base files (overlays are per user and not counted). */
  files: number;
  bytes: number;
  /** Overlay rows across all users. */
  overlays: number;
}

/** Whether a book without rows was removed (`pfs books rm`): its last successful audit entry says so. */
async function wasRemoved(tx: Tx, bookId: string): Promise<boolean> {
  const [last] = await tx
    .select({ operation: auditLog.operation })
    .from(auditLog)
    .where(and(eq(auditLog.bookId, bookId), eq(auditLog.status, "ok")))
    .orderBy(desc(auditLog.bookSeq))
    .limit(1);
  return last?.operation === BOOK_REMOVED;
}

/**
 * Every book with a journal row or an audit chain (a book whose files were all deleted still exists),
 * except books removed with `pfs books rm` and not written since.
 */
export async function bookCounts(tx: Tx): Promise<BookCounts[]> {
  const base = await tx
    .select({ bookId: fileJournal.bookId, files: count(), bytes: sum(fileJournal.size) })
    .from(fileJournal)
    .where(eq(fileJournal.userId, BASE_USER))
    .groupBy(fileJournal.bookId);
  const all = await tx.select({ bookId: fileJournal.bookId, rows: count() }).from(fileJournal).groupBy(fileJournal.bookId);
  const byBook = new Map<string, BookCounts>();
  const withRows = new Set(all.map((r) => r.bookId));
  for (const id of await auditBooks(tx)) {
    if (!withRows.has(id) && (await wasRemoved(tx, id))) continue;
    byBook.set(id, { bookId: id, files: 0, bytes: 0, overlays: 0 });
  }
  for (const r of all) byBook.set(r.bookId, { bookId: r.bookId, files: 0, bytes: 0, overlays: Number(r.rows) });
  for (const r of base) {
    const b = byBook.get(r.bookId)!;
    b.files = Number(r.files);
    b.bytes = Number(r.bytes ?? 0);
    b.overlays -= b.files;
  }
  return [...byBook.values()].sort((a, b) => (a.bookId < b.bookId ? -1 : a.bookId > b.bookId ? 1 : 0));
}

/**
 * The sizes of those of `hashes` that book `bookId` references from its base or from an overlay of one
 * of `users` ("*": any user); the others are absent from the map. Served by the sha256 index.
 */
export async function objectSizesInBook(tx: Tx, bookId: string, hashes: readonly string[], users: "*" | readonly string[]): Promise<Map<string, number>> {
  if (hashes.length === 0) return new Map();
  const whose = users === "*" ? undefined : or(eq(fileJournal.userId, BASE_USER), users.length ? inArray(fileJournal.userId, [...users]) : undefined);
  const rows = await tx
    .selectDistinct({ sha256: fileJournal.sha256, size: fileJournal.size })
    .from(fileJournal)
    .where(and(inArray(fileJournal.sha256, [...hashes]), eq(fileJournal.bookId, bookId), whose));
  return new Map(rows.map((r) => [r.sha256, r.size]));
}

/** Deletes a book's journal rows and remembered manifests (the caller holds its head lock and audits it). */
export async function deleteBookRows(tx: Tx, bookId: string): Promise<{ files: number; overlays: number }> {
  const rows = await tx.delete(fileJournal).where(eq(fileJournal.bookId, bookId)).returning({ userId: fileJournal.userId });
  // Old manifests would let a build cache plan a delta across the removal: forget them, the next build is full.
  await tx.delete(bookManifest).where(eq(bookManifest.bookId, bookId));
  const files = rows.filter((r) => r.userId === BASE_USER).length;
  return { files, overlays: rows.length - files };
}
