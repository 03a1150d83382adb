/**
 * The journal against the audit log (invariant R6): each file's row must be what its chain's last
 * successful entry says, written by that agent at that time. Pure.
 */
import type { FileRow } from "../journal/queries.js";
import { BOOK_REMOVED, type ChainEntry } from "../journal/audit-chain.js";

/** A journal row that disagrees with the last successful audit entry of its file. */
export interface JournalAuditProblem {
  bookId: string;
  path: string;
  userId: string;
  journalHash: string | null;
  auditHash: string | null;
  message: string;
}

/** The hash each file's chain says it holds now (last successful entry's new_hash). */
function chainHeads(entries: ChainEntry[]): Map<string, ChainHead> {
  const heads = new Map<string, ChainHead>();
  for (const e of entries) {
    if (e.status === "ok" && e.operation === BOOK_REMOVED) heads.clear(); // `pfs books rm`: no file remains
    if (e.status !== "ok" || e.path === null || (e.operation !== "write" && e.operation !== "delete")) continue;
    // An "unchanged" write leaves the row (and its written_at/by) as the previous write made it.
    if (e.mode === "unchanged") continue;
    heads.set(`${e.path}\u0000${e.userId}`, { path: e.path, userId: e.userId, hash: e.newHash, agentId: e.agentId, at: e.at, bookSeq: e.bookSeq });
  }
  return heads;
}

interface ChainHead {
  path: string;
  userId: string;
  hash: string | null;
  agentId: string;
  at: Date;
  bookSeq: number;
}

/**
 * Rows written before the write path stored one timestamp in both tables took written_at a moment
 * before the audit entry's `at`, in the same transaction; such a gap (written_at ≤ at < written_at + 1 s)
 * is accepted. Newer rows carry the identical instant.
 */
const LEGACY_TIME_SKEW_MS = 1000;

/** Pure: why a journal row's agent or time disagrees with its last audit entry, or null. */
function rowProvenanceMismatch(row: Pick<FileRow, "writtenBy" | "writtenAt">, head: Pick<ChainHead, "agentId" | "at" | "bookSeq">): string | null {
  if (row.writtenBy !== head.agentId) {
    return `the journal row says it was written by ${JSON.stringify(row.writtenBy)} but audit entry #${head.bookSeq} says ${JSON.stringify(head.agentId)}`;
  }
  const gap = head.at.getTime() - row.writtenAt.getTime();
  if (gap < 0 || gap >= LEGACY_TIME_SKEW_MS) {
    return `the journal row says it was written at ${row.writtenAt.toISOString()} but audit entry #${head.bookSeq} says ${head.at.toISOString()}`;
  }
  return null;
}

/** Pure: journal rows of one book against the heads of its file chains. */
export function compareJournalWithChain(bookId: string, rows: FileRow[], entries: ChainEntry[]): JournalAuditProblem[] {
  const heads = chainHeads(entries);
  const problems: JournalAuditProblem[] = [];
  const seen = new Set<string>();
  for (const row of rows) {
    const key = `${row.path}\u0000${row.userId}`;
    seen.add(key);
    const head = heads.get(key);
    const auditHash = head?.hash ?? null;
    const provenance = head && auditHash === row.sha256 ? rowProvenanceMismatch(row, head) : null;
    if (provenance) problems.push({ bookId, path: row.path, userId: row.userId, journalHash: row.sha256, auditHash, message: provenance });
    if (auditHash !== row.sha256) {
      problems.push({
        bookId,
        path: row.path,
        userId: row.userId,
        journalHash: row.sha256,
        auditHash,
        message: auditHash === null ? "the journal has a row the audit log never created" : "the journal row differs from the audit log's last write",
      });
    }
  }
  for (const [key, head] of heads) {
    if (seen.has(key) || head.hash === null) continue;
    problems.push({ bookId, path: head.path, userId: head.userId, journalHash: null, auditHash: head.hash, message: "the audit log says this file exists but the journal has no row" });
  }
  return problems;
}
