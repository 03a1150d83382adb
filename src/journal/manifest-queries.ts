/** Journal queries of delta builds: the manifest hash in SQL, remembered manifests, hashes of a few paths. */
import { and, between, desc, eq, inArray, sql } from "drizzle-orm";
import { BASE_USER } from "../paths/index.js";
import { bookManifest, fileJournal } from "./schema.js";
import type { Tx } from "./db.js";

/**
 * DESIGN 4.4's manifest hash computed by the database (same bytes as store/manifest.ts): only the
 * hash crosses the wire, not the book's rows. COLLATE "C" is byte order; an empty book hashes "".
 */
export async function manifestHashOfJournal(tx: Tx, bookId: string): Promise<string> {
  const [row] = await tx
    .select({
      hash: sql<string>`encode(sha256(convert_to(coalesce(string_agg(${fileJournal.path} || ':' || ${fileJournal.sha256}, E'\n' ORDER BY ${fileJournal.path} COLLATE "C"), ''), 'UTF8')), 'hex')`,
    })
    .from(fileJournal)
    .where(and(eq(fileJournal.bookId, bookId), eq(fileJournal.userId, BASE_USER)));
  return row!.hash;
}

/** A manifest remembered at some sequence number in [fromSeq, toSeq] (the book's state over that range). */
export async function manifestBetween(tx: Tx, bookId: string, fromSeq: number, toSeq: number): Promise<string | null> {
  const [row] = await tx
    .select({ manifestHash: bookManifest.manifestHash })
    .from(bookManifest)
    .where(and(eq(bookManifest.bookId, bookId), between(bookManifest.seq, fromSeq, toSeq)))
    .orderBy(desc(bookManifest.seq))
    .limit(1);
  return row?.manifestHash ?? null;
}

const IN_CHUNK = 1000;

/** Current base rows (hash and size) of the given paths (absent paths are missing from the map). */
export async function baseRowsOf(tx: Tx, bookId: string, paths: string[]): Promise<Map<string, { sha256: string; size: number }>> {
  const out = new Map<string, { sha256: string; size: number }>();
  for (let i = 0; i < paths.length; i += IN_CHUNK) {
    const rows = await tx
      .select({ path: fileJournal.path, sha256: fileJournal.sha256, size: fileJournal.size })
      .from(fileJournal)
      .where(and(eq(fileJournal.bookId, bookId), eq(fileJournal.userId, BASE_USER), inArray(fileJournal.path, paths.slice(i, i + IN_CHUNK))));
    for (const row of rows) out.set(row.path, row);
  }
  return out;
}

/** Every overlay row of the given users in a book (served by the partial file_journal_overlay_idx: O(overlays), not O(book)). */
export async function overlayRowsOf(tx: Tx, bookId: string, userIds: string[]): Promise<{ userId: string; path: string; sha256: string; size: number }[]> {
  if (userIds.length === 0) return [];
  return tx
    .select({ userId: fileJournal.userId, path: fileJournal.path, sha256: fileJournal.sha256, size: fileJournal.size })
    .from(fileJournal)
    // The literal repeats the partial index's predicate (schema.ts), so the planner can always prove it and use the index.
    .where(and(eq(fileJournal.bookId, bookId), sql`${fileJournal.userId} <> '__base__'`, inArray(fileJournal.userId, userIds)))
    .orderBy(fileJournal.userId, sql`${fileJournal.path} COLLATE "C"`);
}
