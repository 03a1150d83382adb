import { describe, expect, it } from "vitest";
import { sql } from "drizzle-orm";
import { openStore, PfsError, sha256Hex, type Store } from "../src/index.js";
import { BACKENDS, makeBackend, openStoreFor } from "./support/backends.js";
import { ACCEPTED_PATHS, HOSTILE_PATHS } from "./support/hostile-paths.js";
import { auditRows, captureState, chainProblems } from "./support/state.js";

const AGENT = "agent-writer";
const LESSON = "content/01-part/01-chapter/01-lesson.md";

/** The database's own message (drizzle wraps driver errors in "Failed query: …"). */
async function dbFailure(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    const e = err as Error & { cause?: Error };
    return `${e.message} ${e.cause?.message ?? ""}`;
  }
  throw new Error("expected the database to refuse the statement");
}

async function rejection(promise: Promise<unknown>): Promise<PfsError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(PfsError);
    return err as PfsError;
  }
  throw new Error("expected the operation to be rejected");
}

describe.each(BACKENDS)("store on $name", (backend) => {
  let store: Store;
  let n = 0;
  /** A fresh book per test keeps tests independent on one shared store. */
  const newBook = () => `book-${backend.db}-${++n}`;

  openStoreFor(backend, (s) => (store = s));

  const lastAudit = async () => (await auditRows(store)).at(-1)!;
  const fileRow = async (bookId: string, path: string, userId = "__base__") =>
    (await captureState(store)).rows.find((r) => r.bookId === bookId && r.path === path && r.userId === userId);

  describe("write contract", () => {
    it("creates an absent path without expectedHash", async () => {
      const bookId = newBook();
      const result = await store.write({ bookId, path: LESSON, content: "# One\n", agentId: AGENT });
      expect(result).toEqual({ mode: "created", hash: sha256Hex("# One\n"), previousHash: null, size: 6 });
      expect(await fileRow(bookId, LESSON)).toMatchObject({ sha256: result.hash, size: 6, writtenBy: AGENT });
      expect(await lastAudit()).toMatchObject({ bookId, path: LESSON, operation: "write", status: "ok", mode: "created", prevHash: null, newHash: result.hash, agentId: AGENT });
    });

    it("updates with the matching expectedHash", async () => {
      const bookId = newBook();
      const first = await store.write({ bookId, path: LESSON, content: "v1", agentId: AGENT });
      const second = await store.write({ bookId, path: LESSON, content: "v2", expectedHash: first.hash, agentId: "agent-editor" });
      expect(second).toEqual({ mode: "updated", hash: sha256Hex("v2"), previousHash: first.hash, size: 2 });
      expect(await fileRow(bookId, LESSON)).toMatchObject({ sha256: second.hash, writtenBy: "agent-editor" });
      expect(await lastAudit()).toMatchObject({ status: "ok", mode: "updated", prevHash: first.hash, newHash: second.hash });
      expect((await store.read({ bookId, path: LESSON })).content.toString()).toBe("v2");
    });

    it("refuses an update without expectedHash (HASH_REQUIRED with the current hash)", async () => {
      const bookId = newBook();
      const first = await store.write({ bookId, path: LESSON, content: "v1", agentId: AGENT });
      const before = await captureState(store);
      const err = await rejection(store.write({ bookId, path: LESSON, content: "v2", agentId: AGENT }));
      expect(err.code).toBe("HASH_REQUIRED");
      expect(err.currentHash).toBe(first.hash);
      expect((await captureState(store)).rows).toEqual(before.rows);
      expect(await lastAudit()).toMatchObject({ status: "conflict", errorCode: "HASH_REQUIRED", newHash: null, prevHash: first.hash });
    });

    it("refuses a stale expectedHash (CONFLICT with the current hash)", async () => {
      const bookId = newBook();
      const first = await store.write({ bookId, path: LESSON, content: "v1", agentId: AGENT });
      const before = await captureState(store);
      const err = await rejection(store.write({ bookId, path: LESSON, content: "v2", expectedHash: sha256Hex("other"), agentId: AGENT }));
      expect(err.code).toBe("CONFLICT");
      expect(err.currentHash).toBe(first.hash);
      expect((await captureState(store)).rows).toEqual(before.rows);
      expect(await lastAudit()).toMatchObject({ status: "conflict", errorCode: "CONFLICT" });
      expect((await store.read({ bookId, path: LESSON })).content.toString()).toBe("v1");
    });

    it("refuses an update of an absent path (NOT_FOUND)", async () => {
      const bookId = newBook();
      const err = await rejection(store.write({ bookId, path: LESSON, content: "v1", expectedHash: sha256Hex("x"), agentId: AGENT }));
      expect(err.code).toBe("NOT_FOUND");
      expect(await fileRow(bookId, LESSON)).toBeUndefined();
      expect(await lastAudit()).toMatchObject({ bookId, status: "rejected", errorCode: "NOT_FOUND" });
    });

    it("treats the same bytes with the right hash as a no-op update, and says so in the audit", async () => {
      const bookId = newBook();
      const first = await store.write({ bookId, path: LESSON, content: "same", agentId: AGENT });
      const rowBefore = await fileRow(bookId, LESSON);
      const again = await store.write({ bookId, path: LESSON, content: "same", expectedHash: first.hash, agentId: "agent-2" });
      expect(again).toEqual({ mode: "updated", hash: first.hash, previousHash: first.hash, size: 4 });
      expect(await fileRow(bookId, LESSON)).toEqual(rowBefore);
      expect(await lastAudit()).toMatchObject({ status: "ok", mode: "unchanged", prevHash: first.hash, newHash: first.hash, agentId: "agent-2" });
    });

    it("rejects a malformed expectedHash", async () => {
      const err = await rejection(store.write({ bookId: newBook(), path: LESSON, content: "x", expectedHash: "ABC", agentId: AGENT }));
      expect(err.code).toBe("INVALID_ARGUMENT");
    });
  });

  describe("bytes", () => {
    it("stores content byte for byte (BOM, CRLF, trailing spaces, no final newline)", async () => {
      const bookId = newBook();
      const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from("  # Title  \r\n\r\nText\t \n\n  ")]);
      const w = await store.write({ bookId, path: LESSON, content: bytes, agentId: AGENT });
      const r = await store.read({ bookId, path: LESSON });
      expect(r.content.equals(bytes)).toBe(true);
      expect(r).toMatchObject({ hash: sha256Hex(bytes), size: bytes.length, source: "base" });
      expect(w.hash).toBe(sha256Hex(bytes));
    });

    it("rejects markdown that is not UTF-8 and writes nothing", async () => {
      const bookId = newBook();
      const before = await captureState(store);
      const err = await rejection(store.write({ bookId, path: LESSON, content: Buffer.from([0x23, 0x20, 0xff, 0xfe, 0x0a]), agentId: AGENT }));
      expect(err.code).toBe("INVALID_CONTENT");
      expect(await captureState(store)).toEqual(before);
    });

    it("accepts binary assets", async () => {
      const bookId = newBook();
      const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0xff, 0x00]);
      await store.write({ bookId, path: "static/img/x.png", content: png, agentId: AGENT });
      expect((await store.read({ bookId, path: "static/img/x.png" })).content.equals(png)).toBe(true);
    });

    it("stores the same bytes once, whatever book or path", async () => {
      const before = (await captureState(store)).objects.length;
      const content = `shared ${backend.name} ${Date.now()}`;
      await store.write({ bookId: newBook(), path: LESSON, content, agentId: AGENT });
      await store.write({ bookId: newBook(), path: "content/02-p/03-c/04-l.md", content, agentId: AGENT });
      expect((await captureState(store)).objects.length).toBe(before + 1);
    });

    it("rejects a body over the size limit with a clear error", async () => {
      const small = await makeBackend(backend, { limits: { markdownBytes: 10, assetBytes: 20 } });
      const limited = await openStore(small.options);
      try {
        const before = await captureState(limited);
        const err = await rejection(limited.write({ bookId: "limits", path: LESSON, content: "x".repeat(11), agentId: AGENT }));
        expect(err.code).toBe("INVALID_CONTENT");
        expect(err.message).toMatch(/limit of 10 bytes/);
        const asset = await rejection(limited.write({ bookId: "limits", path: "static/img/a.bin", content: Buffer.alloc(21), agentId: AGENT }));
        expect(asset.code).toBe("INVALID_CONTENT");
        expect(await captureState(limited)).toEqual(before);
        await limited.write({ bookId: "limits", path: LESSON, content: "x".repeat(10), agentId: AGENT });
      } finally {
        await limited.close();
        await small.cleanup();
      }
    });
  });

  describe("hostile paths", () => {
    it("rejects every hostile path with the right code and writes nothing but the audited rejection", async () => {
      const bookId = newBook();
      await store.write({ bookId, path: LESSON, content: "keep", agentId: AGENT });
      const before = await captureState(store);
      const auditBefore = (await auditRows(store)).length;
      for (const { path, code, why } of HOSTILE_PATHS) {
        const err = await rejection(store.write({ bookId, path: path as string, content: "evil", agentId: AGENT }));
        expect(err.code, why).toBe(code);
        const del = await rejection(store.delete({ bookId, path: path as string, agentId: AGENT }));
        expect(del.code, why).toBe(code);
      }
      expect(await captureState(store)).toEqual(before);
      const added = (await auditRows(store)).slice(auditBefore);
      expect(added).toHaveLength(HOSTILE_PATHS.length * 2);
      expect(added.every((e) => e.status === "rejected" && e.newHash === null && e.bookId === bookId)).toBe(true);
      expect(await chainProblems(store)).toEqual([]);
    });

    it("accepts the real shapes of a book", async () => {
      const bookId = newBook();
      for (const { path } of ACCEPTED_PATHS) await store.write({ bookId, path, content: `# ${path}\n`, agentId: AGENT });
      const listed = await store.list({ bookId });
      expect(listed.map((e) => e.path).sort()).toEqual(ACCEPTED_PATHS.map((p) => p.path).sort());
      expect((await store.list({ bookId, kind: "asset" })).length).toBe(ACCEPTED_PATHS.filter((p) => p.kind === "asset").length);
      expect((await store.list({ bookId, prefix: "content/01-Introducing-AI/" })).length).toBe(5);
    });

    it("rejects bad book and user ids", async () => {
      expect((await rejection(store.write({ bookId: "../x", path: LESSON, content: "x", agentId: AGENT }))).code).toBe("INVALID_ARGUMENT");
      expect((await rejection(store.write({ bookId: newBook(), path: LESSON, content: "x", userId: "__base__", agentId: AGENT }))).code).toBe("INVALID_ARGUMENT");
    });
  });

  describe("overlays", () => {
    it("never change what the base or another user reads, and fall back to the base when deleted", async () => {
      const bookId = newBook();
      const base = await store.write({ bookId, path: LESSON, content: "base", agentId: AGENT });
      const ov = await store.write({ bookId, path: LESSON, content: "for alice", userId: "alice", agentId: "personalizer" });
      expect(ov.mode).toBe("created");
      expect(await store.read({ bookId, path: LESSON })).toMatchObject({ source: "base", hash: base.hash });
      expect(await store.read({ bookId, path: LESSON, userId: "alice" })).toMatchObject({ source: "overlay", hash: ov.hash });
      expect(await store.read({ bookId, path: LESSON, userId: "bob" })).toMatchObject({ source: "base", hash: base.hash });
      expect((await store.list({ bookId, userId: "alice" })).map((e) => [e.path, e.source])).toEqual([[LESSON, "overlay"]]);
      expect((await store.list({ bookId })).map((e) => e.hash)).toEqual([base.hash]);

      // The contract applies to the overlay on its own: updating it needs its own hash.
      expect((await rejection(store.write({ bookId, path: LESSON, content: "x", userId: "alice", agentId: AGENT }))).code).toBe("HASH_REQUIRED");
      expect((await store.delete({ bookId, path: LESSON, userId: "alice", agentId: AGENT })).existed).toBe(true);
      expect(await store.read({ bookId, path: LESSON, userId: "alice" })).toMatchObject({ source: "base", hash: base.hash });
      expect(await fileRow(bookId, LESSON)).toMatchObject({ sha256: base.hash });
    });

    it("deleting the base leaves overlays and a user still reads their own version", async () => {
      const bookId = newBook();
      const base = await store.write({ bookId, path: LESSON, content: "base", agentId: AGENT });
      await store.write({ bookId, path: LESSON, content: "mine", userId: "carol", agentId: AGENT });
      await store.delete({ bookId, path: LESSON, expectedHash: base.hash, agentId: AGENT });
      expect((await store.read({ bookId, path: LESSON, userId: "carol" })).content.toString()).toBe("mine");
      expect((await rejection(store.read({ bookId, path: LESSON }))).code).toBe("NOT_FOUND");
    });

    it("exist only for content pages", async () => {
      const err = await rejection(store.write({ bookId: newBook(), path: "static/img/a.png", content: "x", userId: "alice", agentId: AGENT }));
      expect(err.code).toBe("SCHEMA_VIOLATION");
    });
  });

  describe("delete", () => {
    it("is idempotent: deleting twice leaves the same state as deleting once", async () => {
      const bookId = newBook();
      await store.write({ bookId, path: LESSON, content: "x", agentId: AGENT });
      expect(await store.delete({ bookId, path: LESSON, agentId: AGENT })).toEqual({ existed: true });
      const once = await captureState(store);
      expect(await store.delete({ bookId, path: LESSON, agentId: AGENT })).toEqual({ existed: false });
      expect(await captureState(store)).toEqual(once);
      expect(await lastAudit()).toMatchObject({ operation: "delete", status: "ok", mode: "absent", prevHash: null, newHash: null });
      expect((await rejection(store.read({ bookId, path: LESSON }))).code).toBe("NOT_FOUND");
    });

    it("refuses a stale expectedHash and keeps the file", async () => {
      const bookId = newBook();
      const w = await store.write({ bookId, path: LESSON, content: "x", agentId: AGENT });
      const err = await rejection(store.delete({ bookId, path: LESSON, expectedHash: sha256Hex("y"), agentId: AGENT }));
      expect(err.code).toBe("CONFLICT");
      expect(err.currentHash).toBe(w.hash);
      expect((await store.read({ bookId, path: LESSON })).hash).toBe(w.hash);
    });

    it("lets a new create follow a delete, with the chain restarting at null", async () => {
      const bookId = newBook();
      const a = await store.write({ bookId, path: LESSON, content: "a", agentId: AGENT });
      await store.delete({ bookId, path: LESSON, agentId: AGENT });
      const b = await store.write({ bookId, path: LESSON, content: "b", agentId: AGENT });
      expect(b).toMatchObject({ mode: "created", previousHash: null });
      const chain = (await auditRows(store)).filter((e) => e.bookId === bookId).map((e) => [e.prevHash, e.newHash]);
      expect(chain).toEqual([[null, a.hash], [a.hash, null], [null, b.hash]]);
    });
  });

  describe("reads", () => {
    it("reports NOT_FOUND for a missing file and INTEGRITY_ERROR for a missing or corrupt object", async () => {
      const bookId = newBook();
      expect((await rejection(store.read({ bookId, path: LESSON }))).code).toBe("NOT_FOUND");
      const w = await store.write({ bookId, path: "content/09-p/09-c/09-missing.md", content: `gone ${bookId}`, agentId: AGENT });
      await store.ctx.blobs.delete(w.hash);
      const err = await rejection(store.read({ bookId, path: "content/09-p/09-c/09-missing.md" }));
      expect(err.code).toBe("INTEGRITY_ERROR");
    });
  });

  describe("audit", () => {
    it("refuses UPDATE, DELETE and TRUNCATE at the database", async () => {
      await store.write({ bookId: newBook(), path: LESSON, content: "audited", agentId: AGENT });
      const db = store.ctx.journal.db;
      expect(await dbFailure(db.execute(sql`UPDATE audit_log SET agent_id = 'mallory'`))).toMatch(/append-only/);
      expect(await dbFailure(db.execute(sql`DELETE FROM audit_log`))).toMatch(/append-only/);
      expect(await dbFailure(db.execute(sql`TRUNCATE audit_log`))).toMatch(/append-only/);
      expect((await auditRows(store)).some((e) => e.agentId === "mallory")).toBe(false);
    });

    it("refuses a missing or 'system' agent, records nothing, and the database refuses it too", async () => {
      const bookId = newBook();
      const before = (await auditRows(store)).length;
      for (const agentId of [undefined, "", "system", "System "]) {
        const err = await rejection(store.write({ bookId, path: LESSON, content: "x", agentId: agentId as string }));
        expect(err.code).toBe("INVALID_ARGUMENT");
        expect((await rejection(store.delete({ bookId, path: LESSON, agentId: agentId as string }))).code).toBe("INVALID_ARGUMENT");
      }
      expect((await auditRows(store)).length).toBe(before);
      expect(await dbFailure(store.ctx.journal.db.execute(
          sql`INSERT INTO audit_log (book_seq, at, agent_id, operation, book_id, user_id, status, duration_ms, entry_hash) VALUES (999, now(), 'system', 'write', ${bookId}, '__base__', 'ok', 0, 'x')`,
        ))).toMatch(/audit_log_agent/);
      expect(await dbFailure(store.ctx.journal.db.execute(
          sql`INSERT INTO file_journal (book_id, path, user_id, sha256, size, written_by) VALUES (${bookId}, 'p', '__base__', 'nothex', 1, 'a')`,
        ))).toMatch(/file_journal_sha256_format/);
    });

    it("filters by agent, path glob, operation and status, newest first, paginated without gaps", async () => {
      const bookId = newBook();
      const paths = ["content/01-a/01-b/01-x.md", "content/01-a/01-b/02-y.md", "content/01-a/02-c/01-z.md", "static/img/p.png"];
      for (const [i, path] of paths.entries()) await store.write({ bookId, path, content: `c${i}`, agentId: i % 2 ? "odd-agent" : "even-agent" });
      await store.delete({ bookId, path: paths[0]!, agentId: "even-agent" });
      await store.write({ bookId, path: paths[1]!, content: "no hash", agentId: "odd-agent" }).catch(() => {});

      const byAgent = await store.audit({ bookId, agentId: "odd-agent" });
      expect(byAgent.entries.map((e) => e.path)).toEqual([paths[1], paths[3], paths[1]]);
      expect((await store.audit({ bookId, path: "content/01-a/01-b/*.md" })).entries).toHaveLength(4);
      expect((await store.audit({ bookId, path: "content/**" })).entries).toHaveLength(5);
      expect((await store.audit({ bookId, pathPrefix: "static/" })).entries).toHaveLength(1);
      expect((await store.audit({ bookId, operation: "delete" })).entries.map((e) => e.path)).toEqual([paths[0]]);
      expect((await store.audit({ bookId, status: "conflict" })).entries.map((e) => e.errorCode)).toEqual(["HASH_REQUIRED"]);
      expect((await store.audit({ bookId, since: new Date(Date.now() + 60_000) })).entries).toHaveLength(0);

      const all = (await store.audit({ bookId, limit: 1000 })).entries;
      const seen: number[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.audit({ bookId, limit: 2, cursor });
        seen.push(...page.entries.map((e) => e.id));
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      expect(seen).toEqual(all.map((e) => e.id));
      expect(seen).toEqual([...seen].sort((a, b) => b - a));
      expect((await rejection(store.audit({ cursor: "bogus" }))).code).toBe("INVALID_ARGUMENT");
    });

    it("keeps per-file and per-book chains intact across a sequence of operations", async () => {
      const bookId = newBook();
      let hash: string | undefined;
      for (let i = 0; i < 12; i++) {
        const op = i % 4;
        if (op === 3) {
          await store.delete({ bookId, path: LESSON, agentId: AGENT });
          hash = undefined;
        } else if (op === 2) {
          await store.write({ bookId, path: LESSON, content: `stale ${i}`, expectedHash: sha256Hex("stale"), agentId: AGENT }).catch(() => {});
        } else {
          hash = (await store.write({ bookId, path: LESSON, content: `v${i}`, expectedHash: hash, agentId: AGENT })).hash;
        }
        await store.write({ bookId, path: LESSON, content: "overlay", userId: `u${i}`, agentId: AGENT });
      }
      expect(await chainProblems(store)).toEqual([]);
      const entries = (await auditRows(store)).filter((e) => e.bookId === bookId);
      expect(entries.map((e) => e.bookSeq)).toEqual(entries.map((_, i) => i + 1));
    });
  });
});
