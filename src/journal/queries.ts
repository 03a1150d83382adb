/** Every SQL statement of the journal, each a small function over a database or a transaction. */
import { and, asc, desc, eq, gt, gte, inArray, like, lt, lte, sql, type SQL } from "drizzle-orm";
import { BASE_USER } from "../paths/index.js";
import { auditLog, bookHead, bookManifest, fileJournal } from "./schema.js";
import { auditEntryHash, type AuditFields, type ChainEntry } from "./audit-chain.js";
import type { Tx } from "./db.js";

export type FileRow = typeof fileJournal.$inferSelect;
export type AuditRow = typeof auditLog.$inferSelect;

export interface FileKey {
  bookId: string;
  path: string;
  userId: string;
}

export interface BookHead {
  bookId: string;
  seq: number;
  lastEntryHash: string | null;
}

/** Locks the book's chain head for the rest of the transaction, creating it on first use. */
export async function lockBookHead(tx: Tx, bookId: string): Promise<BookHead> {
  await tx.insert(bookHead).values({ bookId }).onConflictDoNothing();
  const [head] = await tx.select().from(bookHead).where(eq(bookHead.bookId, bookId)).for("update");
  return head!;
}

/** Locks the chain head of a book that already exists; null (and nothing created) for an unknown book. */
export async function lockExistingBookHead(tx: Tx, bookId: string): Promise<BookHead | null> {
  const [head] = await tx.select().from(bookHead).where(eq(bookHead.bookId, bookId)).for("update");
  return head ?? null;
}

export async function getBookHead(tx: Tx, bookId: string): Promise<BookHead | null> {
  const [head] = await tx.select().from(bookHead).where(eq(bookHead.bookId, bookId));
  return head ?? null;
}

const fileWhere = (k: FileKey) => and(eq(fileJournal.bookId, k.bookId), eq(fileJournal.path, k.path), eq(fileJournal.userId, k.userId));

export async function getFile(tx: Tx, key: FileKey, opts: { forUpdate?: boolean } = {}): Promise<FileRow | null> {
  const q = tx.select().from(fileJournal).where(fileWhere(key));
  const [row] = opts.forUpdate ? await q.for("update") : await q;
  return row ?? null;
}

export async function upsertFile(tx: Tx, row: FileKey & { sha256: string; size: number; writtenAt: Date; writtenBy: string }): Promise<void> {
  await tx
    .insert(fileJournal)
    .values(row)
    .onConflictDoUpdate({
      target: [fileJournal.bookId, fileJournal.path, fileJournal.userId],
      set: { sha256: row.sha256, size: row.size, writtenAt: row.writtenAt, writtenBy: row.writtenBy },
    });
}

export async function deleteFile(tx: Tx, key: FileKey): Promise<void> {
  await tx.delete(fileJournal).where(fileWhere(key));
}

/** Appends one entry to the book's chain; the caller holds the head lock (lockBookHead). */
export async function appendAudit(tx: Tx, head: BookHead, fields: Omit<AuditFields, "bookSeq">): Promise<BookHead> {
  const entry: AuditFields = { ...fields, bookSeq: head.seq + 1 };
  const entryHash = auditEntryHash(head.lastEntryHash, entry);
  await tx.insert(auditLog).values({ ...entry, prevEntryHash: head.lastEntryHash, entryHash });
  await tx.update(bookHead).set({ seq: entry.bookSeq, lastEntryHash: entryHash }).where(eq(bookHead.bookId, head.bookId));
  return { bookId: head.bookId, seq: entry.bookSeq, lastEntryHash: entryHash };
}

export interface ListFilter {
  bookId: string;
  prefix?: string;
  /** Only this user's rows (BASE_USER for the base). Absent: every user. */
  userId?: string;
}

/** Rows sorted by path in byte order (COLLATE "C"), as the manifest needs. */
export async function listFiles(tx: Tx, f: ListFilter): Promise<FileRow[]> {
  const conds: SQL[] = [eq(fileJournal.bookId, f.bookId)];
  if (f.userId !== undefined) conds.push(eq(fileJournal.userId, f.userId));
  if (f.prefix) conds.push(like(fileJournal.path, `${escapeLike(f.prefix)}%`));
  return tx
    .select()
    .from(fileJournal)
    .where(and(...conds))
    .orderBy(sql`${fileJournal.path} COLLATE "C"`, asc(fileJournal.userId));
}

/** Base rows plus the given user's overlays (both, so the caller can merge). */
export async function listBaseAndUser(tx: Tx, bookId: string, userId: string, prefix?: string): Promise<FileRow[]> {
  const conds: SQL[] = [eq(fileJournal.bookId, bookId), sql`${fileJournal.userId} IN (${BASE_USER}, ${userId})`];
  if (prefix) conds.push(like(fileJournal.path, `${escapeLike(prefix)}%`));
  return tx.select().from(fileJournal).where(and(...conds)).orderBy(sql`${fileJournal.path} COLLATE "C"`);
}

export async function listBooks(tx: Tx): Promise<string[]> {
  const rows = await tx.selectDistinct({ bookId: fileJournal.bookId }).from(fileJournal).orderBy(fileJournal.bookId);
  return rows.map((r) => r.bookId);
}

/** Every hash any journal row points to (for garbage collection and verify). */
export async function referencedHashes(tx: Tx): Promise<Set<string>> {
  const rows = await tx.selectDistinct({ sha256: fileJournal.sha256 }).from(fileJournal);
  return new Set(rows.map((r) => r.sha256));
}

export function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

export interface AuditFilter {
  bookId?: string;
  path?: string;
  pathPrefix?: string;
  /** POSIX regular expression compiled from a glob by the caller. */
  pathRegex?: string;
  agentId?: string;
  operation?: string;
  userId?: string;
  /** Only entries of these users (the base is BASE_USER): what the caller may see. */
  userIn?: readonly string[];
  status?: string;
  since?: Date;
  until?: Date;
  /** Only entries with id below this (cursor pagination, newest first). */
  beforeId?: number;
  limit: number;
}

export async function queryAudit(tx: Tx, f: AuditFilter): Promise<AuditRow[]> {
  const conds: (SQL | undefined)[] = [
    f.bookId !== undefined ? eq(auditLog.bookId, f.bookId) : undefined,
    f.path !== undefined ? eq(auditLog.path, f.path) : undefined,
    f.pathPrefix !== undefined ? like(auditLog.path, `${escapeLike(f.pathPrefix)}%`) : undefined,
    f.pathRegex !== undefined ? sql`${auditLog.path} ~ ${f.pathRegex}` : undefined,
    f.agentId !== undefined ? eq(auditLog.agentId, f.agentId) : undefined,
    f.operation !== undefined ? eq(auditLog.operation, f.operation) : undefined,
    f.userId !== undefined ? eq(auditLog.userId, f.userId) : undefined,
    f.userIn !== undefined ? inArray(auditLog.userId, [...f.userIn]) : undefined,
    f.status !== undefined ? eq(auditLog.status, f.status) : undefined,
    f.since !== undefined ? gte(auditLog.at, f.since) : undefined,
    f.until !== undefined ? lte(auditLog.at, f.until) : undefined,
    f.beforeId !== undefined ? lt(auditLog.id, f.beforeId) : undefined,
  ];
  return tx
    .select()
    .from(auditLog)
    .where(and(...conds.filter((c): c is SQL => c !== undefined)))
    .orderBy(desc(auditLog.id))
    .limit(f.limit);
}

/** One book's whole chain in order, for verification. */
export async function bookChain(tx: Tx, bookId: string): Promise<ChainEntry[]> {
  const rows = await tx.select().from(auditLog).where(eq(auditLog.bookId, bookId)).orderBy(asc(auditLog.bookSeq));
  return rows as ChainEntry[];
}

export async function auditBooks(tx: Tx): Promise<string[]> {
  const rows = await tx.select({ bookId: bookHead.bookId }).from(bookHead).orderBy(bookHead.bookId);
  return rows.map((r) => r.bookId);
}

/** Successful base changes of a book after a sequence number (the delta-build change log). */
export async function baseChangesSince(tx: Tx, bookId: string, afterSeq: number): Promise<AuditRow[]> {
  // Only (book_id, book_seq) in SQL: any other column would let the planner pick audit_log_file_idx and
  // walk the whole book's index entries; the entries after afterSeq are few, so the rest is filtered here.
  const rows = await tx
    .select()
    .from(auditLog)
    .where(and(eq(auditLog.bookId, bookId), gt(auditLog.bookSeq, afterSeq)))
    .orderBy(asc(auditLog.bookSeq));
  return rows.filter((r) => r.userId === BASE_USER && r.status === "ok" && r.operation !== "repair");
}

export async function recordManifest(tx: Tx, bookId: string, manifestHash: string, seq: number): Promise<void> {
  await tx
    .insert(bookManifest)
    .values({ bookId, manifestHash, seq })
    .onConflictDoUpdate({ target: [bookManifest.bookId, bookManifest.manifestHash], set: { seq: sql`GREATEST(${bookManifest.seq}, ${seq})` } });
}

export async function findManifest(tx: Tx, bookId: string, manifestHash: string): Promise<{ seq: number } | null> {
  const [row] = await tx
    .select({ seq: bookManifest.seq })
    .from(bookManifest)
    .where(and(eq(bookManifest.bookId, bookId), eq(bookManifest.manifestHash, manifestHash)));
  return row ?? null;
}
