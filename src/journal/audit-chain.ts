import { sha256Hex } from "../hashing/index.js";

export type AuditStatus = "ok" | "conflict" | "rejected" | "error";

/** The fields of an audit entry that its entry_hash covers. */
export interface AuditFields {
  bookSeq: number;
  at: Date;
  agentId: string;
  operation: string;
  bookId: string;
  path: string | null;
  userId: string;
  prevHash: string | null;
  newHash: string | null;
  mode: string | null;
  status: AuditStatus;
  errorCode: string | null;
  errorMessage: string | null;
  durationMs: number;
}

/** A fixed-order JSON array: stable across databases and drivers, unambiguous for any string. */
export function canonicalAuditEncoding(e: AuditFields): string {
  return JSON.stringify([
    "pfs-audit-v1",
    e.bookSeq,
    e.at.toISOString(),
    e.agentId,
    e.operation,
    e.bookId,
    e.path,
    e.userId,
    e.prevHash,
    e.newHash,
    e.mode,
    e.status,
    e.errorCode,
    e.errorMessage,
    e.durationMs,
  ]);
}

/** entry_hash = sha256(previous entry_hash of the same book ‖ "\n" ‖ canonical encoding). */
export function auditEntryHash(prevEntryHash: string | null, e: AuditFields): string {
  return sha256Hex(`${prevEntryHash ?? ""}\n${canonicalAuditEncoding(e)}`);
}

export interface ChainEntry extends AuditFields {
  id: number;
  prevEntryHash: string | null;
  entryHash: string;
}

export interface ChainProblem {
  kind: "book-chain" | "file-chain";
  bookId: string;
  bookSeq: number;
  path: string | null;
  userId: string;
  message: string;
}

/**
 * Checks one book's entries (ordered by bookSeq): the per-book entry_hash chain (detects an edited,
 * inserted or removed row) and every per-file prev/new hash chain of successful mutations.
 */
export function verifyBookChain(entries: ChainEntry[], head?: { seq: number; lastEntryHash: string | null }): ChainProblem[] {
  const problems: ChainProblem[] = [];
  const lastHashOfFile = new Map<string, string | null>();
  let prevEntryHash: string | null = null;
  let expectedSeq = 1;
  for (const e of entries) {
    const where = { bookId: e.bookId, bookSeq: e.bookSeq, path: e.path, userId: e.userId };
    if (e.bookSeq !== expectedSeq) {
      problems.push({ kind: "book-chain", ...where, message: `expected entry #${expectedSeq}, found #${e.bookSeq} (a row is missing)` });
    }
    expectedSeq = e.bookSeq + 1;
    if (e.prevEntryHash !== prevEntryHash) {
      problems.push({ kind: "book-chain", ...where, message: "prev_entry_hash does not match the previous entry" });
    }
    if (auditEntryHash(e.prevEntryHash, e) !== e.entryHash) {
      problems.push({ kind: "book-chain", ...where, message: "entry_hash does not match the entry's contents (the row was edited)" });
    }
    prevEntryHash = e.entryHash;
    if (e.status === "ok" && e.operation === BOOK_REMOVED) lastHashOfFile.clear();
    if (e.status === "ok" && e.path !== null) {
      const key = `${e.path}\u0000${e.userId}`;
      const last = lastHashOfFile.has(key) ? lastHashOfFile.get(key)! : null;
      if (e.prevHash !== last) {
        problems.push({ kind: "file-chain", ...where, message: `prev_hash ${e.prevHash} does not follow the file's last hash ${last}` });
      }
      lastHashOfFile.set(key, e.newHash);
    }
  }
  if (head && (head.seq !== expectedSeq - 1 || head.lastEntryHash !== prevEntryHash)) {
    problems.push({
      kind: "book-chain",
      bookId: entries[0]?.bookId ?? "",
      bookSeq: head.seq,
      path: null,
      userId: "",
      message: `the chain head (#${head.seq}) does not match the last entry (#${expectedSeq - 1}): entries were removed at the end`,
    });
  }
  return problems;
}

/**
 * The audit operation `pfs books rm` appends as a removed book's last entry: its journal rows are gone,
 * its chain (and the anchors of it) stay. After it, every file of the book starts a new chain.
 */
export const BOOK_REMOVED = "book-removed";
