/** Which books a store holds; a tool addressing an unknown book fails naming the ones that exist. */
import { PfsError } from "../errors/index.js";
import { assertBookId } from "../paths/index.js";
import { bookCounts, type BookCounts } from "../journal/book-queries.js";
import { journalError } from "../journal/db.js";
import type { StoreContext } from "./context.js";

export type BookSummary = BookCounts;

export async function bookSummariesOp(ctx: StoreContext): Promise<BookSummary[]> {
  try {
    return await bookCounts(ctx.journal.db);
  } catch (err) {
    throw journalError(err, ctx.journal.description);
  }
}

/** Pure: NOT_FOUND naming the books that exist, or nothing when `bookId` is one of them. */
export function unknownBookError(bookId: string, known: readonly string[]): PfsError | null {
  if (known.includes(bookId)) return null;
  const list = known.length === 0 ? "the store holds no books yet" : `books in this store: ${known.join(", ")}`;
  return new PfsError("NOT_FOUND", `No book "${bookId}" in this store (${list}).`, { bookId, books: [...known] });
}

export async function assertBookExistsOp(ctx: StoreContext, bookId: string): Promise<void> {
  assertBookId(bookId);
  const err = unknownBookError(bookId, (await bookSummariesOp(ctx)).map((b) => b.bookId));
  if (err) throw err;
}
