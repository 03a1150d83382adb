/**
 * store.verify / store.repair (issue 6 item 4): each kind of damage is planted for real (objects
 * removed or rewritten in storage, audit and journal rows changed by a superuser who bypasses the
 * triggers) and must be reported; repair fixes only what needs no guess.
 */
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { type Store } from "../src/index.js";
import { mirrorKey, objectKey } from "../src/blobs/index.js";
import { sha256Hex } from "../src/hashing/index.js";
import { BACKENDS, openStoreFor } from "./support/backends.js";

const L1 = "content/01-part/01-chapter/01-one.md";
const L2 = "content/01-part/01-chapter/02-two.md";

/** Plays a superuser with direct database access: the append-only triggers are switched off for the change. */
async function tamper(store: Store, statement: string): Promise<void> {
  const db = store.ctx.journal.db;
  await db.transaction(async (tx) => {
    await tx.execute(sql.raw("ALTER TABLE audit_log DISABLE TRIGGER USER"));
    await tx.execute(sql.raw(statement));
    await tx.execute(sql.raw("ALTER TABLE audit_log ENABLE TRIGGER USER"));
  });
}

describe.each(BACKENDS)("verify and repair on $name", (backend) => {
  let store: Store;

  openStoreFor(backend, (s) => (store = s), { mirror: "assets" });

  it("a healthy store verifies clean and repair changes nothing", async () => {
    const bookId = "v-clean";
    const a = await store.write({ bookId, path: L1, content: "# one\n", agentId: "author" });
    await store.write({ bookId, path: L1, content: "# one, again\n", expectedHash: a.hash, agentId: "author" });
    await store.write({ bookId, path: L1, content: "# mine\n", userId: "stu", agentId: "tutor" });
    await store.write({ bookId, path: "static/img/x.png", content: Buffer.from([1, 2, 3]), agentId: "author" });
    await store.delete({ bookId, path: L1, userId: "stu", agentId: "tutor" });
    await store.write({ bookId, path: L2, content: "# two\n", expectedHash: sha256Hex("nope"), agentId: "author" }).catch(() => {});
    const report = await store.verify({ bookId });
    expect(report).toMatchObject({ ok: true, books: [bookId], objectProblems: [], chainProblems: [], journalAuditProblems: [] });
    expect(report.checked).toMatchObject({ rows: 2, objects: 2, auditEntries: 6 });
    expect(report.mirror).toMatchObject({ checked: true, stale: [], extra: [], unchanged: 1 });
    const repaired = await store.repair({ bookId });
    expect(repaired.fixed).toEqual({ removedOrphans: [], abortedUploads: [], mirrorCopied: [], mirrorRemoved: [] });
    expect(repaired.unfixable).toEqual([]);
  });

  it("(a) a missing object and an object whose bytes changed are reported per journal row; repair only lists them", async () => {
    const bookId = "v-objects";
    const gone = await store.write({ bookId, path: L1, content: `# soon missing ${backend.name}\n`, agentId: "author" });
    await store.write({ bookId, path: L1, content: `# soon missing ${backend.name}\n`, userId: "stu", agentId: "tutor" });
    const bad = await store.write({ bookId, path: L2, content: `# soon corrupt ${backend.name}\n`, agentId: "author" });
    await store.ctx.blobs.delete(gone.hash);
    await store.ctx.blobs.storage.delete(objectKey(bad.hash));
    await store.ctx.blobs.storage.putBuffer(objectKey(bad.hash), Buffer.from("bit rot"));
    const report = await store.verify({ bookId });
    expect(report.ok).toBe(false);
    expect(report.objectProblems.map((p) => [p.kind, p.path, p.userId, p.hash, p.actualHash]).sort()).toEqual(
      [
        ["corrupt", L2, "__base__", bad.hash, sha256Hex("bit rot")],
        ["missing", L1, "__base__", gone.hash, undefined],
        ["missing", L1, "stu", gone.hash, undefined],
      ].sort(),
    );
    expect(report.chainProblems).toEqual([]);
    const repaired = await store.repair({ bookId });
    expect(repaired.unfixable).toHaveLength(3);
    expect(repaired.unfixable.join("\n")).toMatch(/restore object/);
    expect(await store.ctx.blobs.storage.head(objectKey(bad.hash))).not.toBeNull(); // repair does not guess
  });

  it("(b) an audit row edited, a row removed from the middle, and the newest row removed are all detected", async () => {
    const bookId = "v-chain";
    let h = (await store.write({ bookId, path: L1, content: "# 1\n", agentId: "author" })).hash;
    for (const n of [2, 3, 4, 5]) h = (await store.write({ bookId, path: L1, content: `# ${n}\n`, expectedHash: h, agentId: "author" })).hash;
    expect((await store.verify({ bookId })).chainProblems).toEqual([]);

    await tamper(store, `UPDATE audit_log SET agent_id = 'someone-else' WHERE book_id = '${bookId}' AND book_seq = 2`);
    let report = await store.verify({ bookId });
    expect(report.chainProblems.map((p) => [p.kind, p.bookSeq])).toEqual([["book-chain", 2]]);
    expect(report.chainProblems[0]!.message).toMatch(/edited/);

    await tamper(store, `DELETE FROM audit_log WHERE book_id = '${bookId}' AND book_seq = 3`);
    report = await store.verify({ bookId });
    const kinds = report.chainProblems.map((p) => `${p.kind}#${p.bookSeq}: ${p.message}`).join("\n");
    expect(kinds).toMatch(/book-chain#4: expected entry #3, found #4/);
    expect(kinds).toMatch(/file-chain#4/); // the file's prev/new chain breaks where the write vanished

    await tamper(store, `DELETE FROM audit_log WHERE book_id = '${bookId}' AND book_seq = 5`);
    report = await store.verify({ bookId });
    expect(report.chainProblems.map((p) => p.message).join("\n")).toMatch(/chain head \(#5\) does not match the last entry \(#4\)/);
    // ... and the journal no longer matches the last surviving write of the file.
    expect(report.journalAuditProblems.map((p) => [p.path, p.journalHash])).toEqual([[L1, h]]);
    const repaired = await store.repair({ bookId });
    expect(repaired.unfixable.length).toBeGreaterThanOrEqual(4);
    expect(repaired.fixed.removedOrphans).toEqual([]);
  });

  it("(b') a journal row repointed by a superuser disagrees with its audit chain", async () => {
    const bookId = "v-journal";
    await store.write({ bookId, path: L1, content: "# real\n", agentId: "author" });
    const other = await store.write({ bookId, path: L2, content: "# other\n", agentId: "author" });
    await tamper(store, `UPDATE file_journal SET sha256 = '${other.hash}' WHERE book_id = '${bookId}' AND path = '${L1}'`);
    const report = await store.verify({ bookId });
    expect(report.objectProblems).toEqual([]); // the object exists, only the pointer was changed
    expect(report.journalAuditProblems).toMatchObject([{ path: L1, journalHash: other.hash, auditHash: sha256Hex("# real\n") }]);
    expect(report.ok).toBe(false);
  });

  it("(c) orphan objects: reported within or past grace; repair removes only those past grace and never a referenced one", async () => {
    const orphan = await store.ctx.blobs.putBytes(Buffer.from(`orphan of ${backend.name}`));
    const kept = await store.write({ bookId: "v-orphans", path: L1, content: "# referenced\n", agentId: "author" });
    let report = await store.verify({ bookId: "v-orphans", graceSeconds: 3600 });
    expect(report.orphans.find((o) => o.hash === orphan.hash)).toMatchObject({ pastGrace: false });
    expect(report.orphans.map((o) => o.hash)).not.toContain(kept.hash);
    report = await store.verify({ bookId: "v-orphans", graceSeconds: 0 });
    expect(report.orphans.find((o) => o.hash === orphan.hash)).toMatchObject({ pastGrace: true });
    expect(report.ok).toBe(false);

    expect((await store.repair({ bookId: "v-orphans", graceSeconds: 3600 })).fixed.removedOrphans).not.toContain(objectKey(orphan.hash));
    const dry = await store.repair({ bookId: "v-orphans", graceSeconds: 0, dryRun: true });
    expect(dry.fixed.removedOrphans).toContain(objectKey(orphan.hash));
    expect(await store.ctx.blobs.has(orphan.hash)).toBe(true);
    const done = await store.repair({ bookId: "v-orphans", graceSeconds: 0 });
    expect(done.fixed.removedOrphans).toContain(objectKey(orphan.hash));
    expect(await store.ctx.blobs.has(orphan.hash)).toBe(false);
    expect((await store.read({ bookId: "v-orphans", path: L1 })).hash).toBe(kept.hash);
  });

  it("(d) a stale, missing or extra mirror copy is reported and rebuilt by repair", async () => {
    const bookId = "v-mirror";
    await store.write({ bookId, path: "static/img/a.png", content: Buffer.from("image a"), agentId: "author" });
    await store.write({ bookId, path: "static/img/b.png", content: Buffer.from("image b"), agentId: "author" });
    const storage = store.ctx.blobs.storage;
    await storage.delete(mirrorKey(bookId, "static/img/a.png"));
    await storage.delete(mirrorKey(bookId, "static/img/b.png"));
    await storage.putBuffer(mirrorKey(bookId, "static/img/b.png"), Buffer.from("old b, a different size"));
    await storage.putBuffer(mirrorKey(bookId, "static/img/gone.png"), Buffer.from("deleted long ago"));
    const report = await store.verify({ bookId });
    expect(report.mirror).toMatchObject({
      checked: true,
      stale: [mirrorKey(bookId, "static/img/a.png"), mirrorKey(bookId, "static/img/b.png")],
      extra: [mirrorKey(bookId, "static/img/gone.png")],
    });
    expect(report.ok).toBe(false);
    const repaired = await store.repair({ bookId });
    expect(repaired.fixed.mirrorCopied).toHaveLength(2);
    expect(repaired.fixed.mirrorRemoved).toEqual([mirrorKey(bookId, "static/img/gone.png")]);
    const after = await store.verify({ bookId });
    expect(after.mirror).toMatchObject({ checked: true, stale: [], extra: [] });
    const copy = await storage.getStream(mirrorKey(bookId, "static/img/b.png"));
    const chunks: Buffer[] = [];
    for await (const c of copy) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe("image b");
  });
});
