import { sql } from "drizzle-orm";
import { bigint, check, index, integer, pgTable, primaryKey, text, timestamp } from "drizzle-orm/pg-core";

/** The journal: which bytes (by SHA-256) each (book, path, user) currently points to. */
export const fileJournal = pgTable(
  "file_journal",
  {
    bookId: text("book_id").notNull(),
    path: text("path").notNull(),
    userId: text("user_id").notNull().default("__base__"),
    sha256: text("sha256").notNull(),
    size: bigint("size", { mode: "number" }).notNull(),
    writtenAt: timestamp("written_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
    writtenBy: text("written_by").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.bookId, t.path, t.userId] }),
    index("file_journal_sha256_idx").on(t.sha256),
    // Overlay rows only: serves the plugin's per-load overlay query in O(overlays) and, being partial,
    // is never a candidate for base-row queries (which keep the primary key).
    index("file_journal_overlay_idx").on(t.bookId, t.userId, t.path).where(sql`${t.userId} <> '__base__'`),
    check("file_journal_sha256_format", sql`${t.sha256} ~ '^[0-9a-f]{64}$'`),
    check("file_journal_agent", sql`btrim(${t.writtenBy}) <> '' AND lower(btrim(${t.writtenBy})) <> 'system'`),
    check("file_journal_size", sql`${t.size} >= 0`),
  ],
);

/**
 * One row per book: the head of its audit chain. Locking it FOR UPDATE serializes every mutation
 * of the book (and so its chain) across processes.
 */
export const bookHead = pgTable("book_head", {
  bookId: text("book_id").primaryKey(),
  seq: bigint("seq", { mode: "number" }).notNull().default(0),
  lastEntryHash: text("last_entry_hash"),
});

/** Append-only (triggers), hash-chained per book. */
export const auditLog = pgTable(
  "audit_log",
  {
    id: bigint("id", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
    bookSeq: bigint("book_seq", { mode: "number" }).notNull(),
    at: timestamp("at", { withTimezone: true, mode: "date" }).notNull(),
    agentId: text("agent_id").notNull(),
    operation: text("operation").notNull(),
    bookId: text("book_id").notNull(),
    path: text("path"),
    userId: text("user_id").notNull(),
    prevHash: text("prev_hash"),
    newHash: text("new_hash"),
    mode: text("mode"),
    status: text("status").notNull(),
    errorCode: text("error_code"),
    errorMessage: text("error_message"),
    durationMs: integer("duration_ms").notNull(),
    prevEntryHash: text("prev_entry_hash"),
    entryHash: text("entry_hash").notNull(),
  },
  (t) => [
    index("audit_log_book_seq_idx").on(t.bookId, t.bookSeq),
    index("audit_log_file_idx").on(t.bookId, t.path, t.userId, t.bookSeq),
    index("audit_log_at_idx").on(t.at),
    index("audit_log_agent_idx").on(t.agentId),
    check("audit_log_agent", sql`btrim(${t.agentId}) <> '' AND lower(btrim(${t.agentId})) <> 'system'`),
    check("audit_log_status", sql`${t.status} IN ('ok', 'conflict', 'rejected', 'error')`),
    check("audit_log_prev_hash_format", sql`${t.prevHash} IS NULL OR ${t.prevHash} ~ '^[0-9a-f]{64}$'`),
    check("audit_log_new_hash_format", sql`${t.newHash} IS NULL OR ${t.newHash} ~ '^[0-9a-f]{64}$'`),
  ],
);

/** Manifest hashes a book has had, with the audit sequence at which each was current (for delta plans). */
export const bookManifest = pgTable(
  "book_manifest",
  {
    bookId: text("book_id").notNull(),
    manifestHash: text("manifest_hash").notNull(),
    seq: bigint("seq", { mode: "number" }).notNull(),
    recordedAt: timestamp("recorded_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  },
  // The seq index serves planBuild's "which remembered manifest is current" lookup.
  (t) => [primaryKey({ columns: [t.bookId, t.manifestHash] }), index("book_manifest_seq_idx").on(t.bookId, t.seq)],
);

export const schema = { fileJournal, bookHead, auditLog, bookManifest };
