/** Store-wide questions about books: which exist and how big they are. */
import { and, count, eq, inArray, or, sum } from "drizzle-orm";
import { BASE_USER } from "../paths/index.js";
import { fileJournal } from "./schema.js";
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

/** Every book with a journal row or an audit chain (a book whose files were all deleted still exists). */
export async function bookCounts(tx: Tx): Promise<BookCounts[]> {
  const base = await tx
    .select({ bookId: fileJournal.bookId, files: count(), bytes: sum(fileJournal.size) })
    .from(fileJournal)
    .where(eq(fileJournal.userId, BASE_USER))
    .groupBy(fileJournal.bookId);
  const all = await tx.select({ bookId: fileJournal.bookId, rows: count() }).from(fileJournal).groupBy(fileJournal.bookId);
  const byBook = new Map<string, BookCounts>();
  for (const id of await auditBooks(tx)) byBook.set(id, { bookId: id, files: 0, bytes: 0, overlays: 0 });
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
 * The size of object `sha256` if book `bookId` references it from its base or from an overlay of one of
 * `users` ("*": any user); null otherwise. Served by the sha256 index.
 */
export async function objectSizeInBook(tx: Tx, bookId: string, sha256: string, users: "*" | readonly string[]): Promise<number | null> {
  const whose = users === "*" ? undefined : or(eq(fileJournal.userId, BASE_USER), users.length ? inArray(fileJournal.userId, [...users]) : undefined);
  const [row] = await tx
    .select({ size: fileJournal.size })
    .from(fileJournal)
    .where(and(eq(fileJournal.sha256, sha256), eq(fileJournal.bookId, bookId), whose))
    .limit(1);
  return row?.size ?? null;
}
