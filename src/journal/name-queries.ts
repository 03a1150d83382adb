/** The names the look-alike check (paths/lookalike.ts) compares a new path with. */
import { and, eq, sql, type SQL } from "drizzle-orm";
import { BASE_USER } from "../paths/index.js";
import { fileJournal } from "./schema.js";
import type { Tx } from "./db.js";

/**
 * Paths of the book visible beside `userId`'s own (base + that user's overlays). With `nonAsciiOnly`
 * only paths with a non-ASCII character: an ASCII-only new path can only be imitated by those.
 */
export async function pathsForLookalikeCheck(tx: Tx, bookId: string, userId: string, nonAsciiOnly: boolean): Promise<string[]> {
  const conds: SQL[] = [eq(fileJournal.bookId, bookId), sql`${fileJournal.userId} IN (${BASE_USER}, ${userId})`];
  if (nonAsciiOnly) conds.push(sql`octet_length(${fileJournal.path}) <> char_length(${fileJournal.path})`);
  const rows = await tx.selectDistinct({ path: fileJournal.path }).from(fileJournal).where(and(...conds));
  return rows.map((r) => r.path);
}
