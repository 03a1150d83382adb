import { asc } from "drizzle-orm";
import type { Store } from "../../src/index.js";
import { auditLog, fileJournal } from "../../src/journal/schema.js";
import { auditBooks, bookChain, getBookHead } from "../../src/journal/queries.js";
import { verifyBookChain, type ChainProblem } from "../../src/journal/audit-chain.js";

/** Everything a rejected operation must leave untouched: journal rows and stored objects. */
export async function captureState(store: Store) {
  const db = store.ctx.journal.db;
  const rows = await db.select().from(fileJournal).orderBy(asc(fileJournal.bookId), asc(fileJournal.path), asc(fileJournal.userId));
  const objects: string[] = [];
  for await (const o of store.ctx.blobs.list()) objects.push(o.hash);
  objects.sort();
  return {
    rows: rows.map((r) => ({ ...r, writtenAt: r.writtenAt.toISOString() })),
    objects,
  };
}

export async function auditRows(store: Store) {
  return store.ctx.journal.db.select().from(auditLog).orderBy(asc(auditLog.id));
}

/** All per-book and per-file chain problems in the journal (empty when intact). */
export async function chainProblems(store: Store): Promise<ChainProblem[]> {
  const db = store.ctx.journal.db;
  const problems: ChainProblem[] = [];
  for (const bookId of await auditBooks(db)) {
    const head = await getBookHead(db, bookId);
    problems.push(...verifyBookChain(await bookChain(db, bookId), head ?? undefined));
  }
  return problems;
}
