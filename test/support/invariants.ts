/** Checks of the invariants (DESIGN 5) against a live store, shared by the model, race and crash tests. */
import type { Store } from "../../src/index.js";
import { parsePath } from "../../src/paths/index.js";
import { BASE_USER } from "../../src/paths/index.js";
import { bookChain, getBookHead, listFiles, type FileRow } from "../../src/journal/queries.js";
import { verifyBookChain, type ChainEntry, type ChainProblem } from "../../src/journal/audit-chain.js";
import { compareJournalWithChain } from "../../src/store/verify.js";

export interface BookState {
  rows: FileRow[];
  entries: ChainEntry[];
}

export async function bookState(store: Store, bookId: string): Promise<BookState> {
  const db = store.ctx.journal.db;
  return { rows: await listFiles(db, { bookId }), entries: await bookChain(db, bookId) };
}

/**
 * R1 (schema of stored paths; overlays only on content), R2 (every row's object exists and hashes
 * right), R6 (book and file chains verify, journal agrees with the chains), R7 (real agents).
 * Returns human-readable violations (empty when all hold).
 */
export async function invariantViolations(store: Store, bookIds: string[], agents?: ReadonlySet<string>): Promise<string[]> {
  const db = store.ctx.journal.db;
  const out: string[] = [];
  const checked = new Set<string>();
  for (const bookId of bookIds) {
    const { rows, entries } = await bookState(store, bookId);
    for (const row of rows) {
      try {
        const parsed = parsePath(row.path);
        if (row.userId !== BASE_USER && !parsed.isContent) out.push(`R1: overlay on a non-content path ${row.path}`);
      } catch (err) {
        out.push(`R1: stored path ${JSON.stringify(row.path)} fails the schema: ${(err as Error).message}`);
      }
      if (!checked.has(row.sha256)) {
        checked.add(row.sha256);
        try {
          await store.ctx.blobs.getBuffer(row.sha256);
        } catch (err) {
          out.push(`R2: ${bookId}:${row.path} (${row.userId}) → ${row.sha256}: ${(err as Error).message}`);
        }
      }
    }
    const head = await getBookHead(db, bookId);
    const problems: ChainProblem[] = verifyBookChain(entries, head ?? undefined);
    for (const p of problems) out.push(`R6: ${p.kind} ${p.bookId}#${p.bookSeq}: ${p.message}`);
    for (const p of compareJournalWithChain(bookId, rows, entries)) out.push(`R6: journal/audit ${p.path} (${p.userId}): ${p.message}`);
    for (const e of entries) {
      const a = e.agentId;
      if (!a || a.trim() === "" || a.trim().toLowerCase() === "system" || (agents && !agents.has(a))) out.push(`R7: entry #${e.bookSeq} has agent ${JSON.stringify(a)}`);
    }
  }
  return out;
}
