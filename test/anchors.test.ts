/**
 * Anchors (issue 9 finding 5): a database superuser rewrites history — the rechain, delete-book,
 * truncation and written_by/written_at attacks are played for real (triggers disabled as an attacker
 * would) and verify must name each divergence against the anchors kept in object storage.
 */
import { sql } from "drizzle-orm";
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openStore, type Store } from "../src/index.js";
import { auditEntryHash, type ChainEntry } from "../src/journal/audit-chain.js";
import { bookChain } from "../src/journal/queries.js";
import { anchorKey, auditKeyId, makeAnchor, manifestAtSeq, parseAnchorKey, type Anchor } from "../src/store/anchors.js";
import { BOOK_INDEX_KEY, headRecordKey } from "../src/store/anchor-marks.js";
import { BACKENDS, makeBackend, openStoreFor, type Backend } from "./support/backends.js";

const L1 = "content/01-part/01-chapter/01-one.md";
const L2 = "content/01-part/01-chapter/02-two.md";
const KEY = "test-audit-key-0123456789abcdef";
const NEW_KEY = "rotated-audit-key-fedcba9876543210";

/** A superuser with direct database access: the append-only triggers are off for the change. */
async function tamper(store: Store, ...statements: string[]): Promise<void> {
  await store.ctx.journal.db.transaction(async (tx) => {
    await tx.execute(sql.raw("ALTER TABLE audit_log DISABLE TRIGGER USER"));
    for (const s of statements) await tx.execute(sql.raw(s));
    await tx.execute(sql.raw("ALTER TABLE audit_log ENABLE TRIGGER USER"));
  });
}

/** Writes `n` versions of L1, anchoring after each (so every seq has an anchor). */
async function history(store: Store, bookId: string, n: number): Promise<string> {
  let h: string | undefined;
  for (let i = 1; i <= n; i++) {
    h = (await store.write({ bookId, path: L1, content: `# version ${i}\n`, expectedHash: h, agentId: "author" })).hash;
    await store.flushAnchors();
  }
  return h!;
}

async function anchorSeqs(store: Store, bookId: string): Promise<number[]> {
  const seqs: number[] = [];
  for await (const o of store.ctx.blobs.storage.list(`anchors/${bookId}/`)) if (parseAnchorKey(o.key)) seqs.push(parseAnchorKey(o.key)!.seq);
  return seqs;
}

async function readAnchor(store: Store, bookId: string, seq: number): Promise<Anchor> {
  const chunks: Buffer[] = [];
  for await (const c of await store.ctx.blobs.storage.getStream(anchorKey(bookId, seq))) chunks.push(c as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString("utf8")) as Anchor;
}

/**
 * The rechain attack: edit entry #2, then recompute every later entry_hash (and the head) with the
 * store's own algorithm, so the per-book chain links again.
 */
async function rechain(store: Store, bookId: string, edit: (e: ChainEntry) => ChainEntry, at = 2): Promise<void> {
  const entries = await bookChain(store.ctx.journal.db, bookId);
  const statements: string[] = [];
  let prev: string | null = null;
  for (const original of entries) {
    const e = original.bookSeq === at ? edit(original) : original;
    const entryHash = auditEntryHash(prev, e);
    statements.push(
      `UPDATE audit_log SET agent_id = '${e.agentId}', prev_entry_hash = ${prev === null ? "NULL" : `'${prev}'`}, entry_hash = '${entryHash}' WHERE id = ${e.id}`,
    );
    prev = entryHash;
  }
  statements.push(`UPDATE book_head SET last_entry_hash = '${prev}' WHERE book_id = '${bookId}'`);
  await tamper(store, ...statements);
}

describe.each(BACKENDS)("anchors on $name", (backend: Backend) => {
  let store: Store;
  openStoreFor(backend, (s) => (store = s), { auditKey: KEY });

  it("after commits each book's head is anchored in storage, signed, and a clean store verifies", async () => {
    const bookId = "a-clean";
    await history(store, bookId, 3);
    await store.write({ bookId, path: L2, content: "# two\n", agentId: "author" });
    await store.flushAnchors();
    expect(await anchorSeqs(store, bookId)).toEqual([1, 2, 3, 4]);
    const a = await readAnchor(store, bookId, 4);
    const head = (await bookChain(store.ctx.journal.db, bookId)).at(-1)!;
    expect(a).toMatchObject({ format: "pfs-anchor-v2", bookId, seq: 4, prevSeq: 3, entryHash: head.entryHash, keyId: auditKeyId(KEY) });
    expect(a.hmac).toMatch(/^[0-9a-f]{64}$/);
    // Never overwritten, on either storage.
    expect(await store.ctx.blobs.storage.putIfAbsent(anchorKey(bookId, 4), Buffer.from("{}"))).toBe(false);
    expect(await readAnchor(store, bookId, 4)).toEqual(a);
    const report = await store.verify({ bookId });
    expect(report.ok).toBe(true);
    expect(report.anchors).toMatchObject({ checked: true, signing: "hmac", problems: [], books: [{ bookId, anchoredSeq: 4, headSeq: 4 }], read: 1 });
  });

  it("the rechain attack (entry #2 edited, every later entry_hash recomputed) passes the chain check but not the anchors", async () => {
    const bookId = "a-rechain";
    await history(store, bookId, 5);
    await rechain(store, bookId, (e) => ({ ...e, agentId: "mallory" }));
    const report = await store.verify({ bookId });
    expect(report.chainProblems).toEqual([]); // the attack defeats the in-database chain ...
    expect(report.ok).toBe(false); // ... but not the witness outside it
    expect(report.anchors.problems).toHaveLength(1);
    expect(report.anchors.problems[0]).toMatchObject({ kind: "rewritten-chain", bookId, seq: 2 });
    expect(report.anchors.problems[0]!.message).toMatch(/rewritten from entry #2 on \(anchor #1 still matches\)/);
    expect((await store.repair({ bookId, dryRun: true })).unfixable.join("\n")).toMatch(/rewritten-chain in book a-rechain/);
  });

  it("the delete-book attack (audit rows, head and journal rows removed) is reported as a deleted book", async () => {
    const bookId = "a-deleted";
    await history(store, bookId, 2);
    await store.write({ bookId, path: L2, content: "# two\n", agentId: "author" });
    await store.flushAnchors();
    await tamper(
      store,
      `DELETE FROM audit_log WHERE book_id = '${bookId}'`,
      `DELETE FROM book_head WHERE book_id = '${bookId}'`,
      `DELETE FROM file_journal WHERE book_id = '${bookId}'`,
      `DELETE FROM book_manifest WHERE book_id = '${bookId}'`,
    );
    for (const report of [await store.verify({ bookId }), await store.verify()]) {
      expect(report.ok).toBe(false);
      expect(report.anchors.problems.filter((p) => p.bookId === bookId)).toMatchObject([{ kind: "deleted-book", bookId, seq: 3 }]);
    }
    expect(report0Message(await store.verify({ bookId }))).toMatch(/had 3 audit entries .* the book was deleted/);
  });

  it("truncated history (newest entries removed and the head moved back) is reported", async () => {
    const bookId = "a-truncated";
    await history(store, bookId, 4);
    const third = (await bookChain(store.ctx.journal.db, bookId))[2]!;
    await tamper(
      store,
      `DELETE FROM audit_log WHERE book_id = '${bookId}' AND book_seq > 3`,
      `UPDATE book_head SET seq = 3, last_entry_hash = '${third.entryHash}' WHERE book_id = '${bookId}'`,
      // a careful attacker makes the journal row agree with the new last entry in every column
      `UPDATE file_journal SET sha256 = '${third.newHash}', written_at = '${third.at.toISOString()}' WHERE book_id = '${bookId}' AND path = '${L1}'`,
    );
    const report = await store.verify({ bookId });
    expect(report.chainProblems).toEqual([]);
    expect(report.journalAuditProblems).toEqual([]);
    expect(report.anchors.problems).toMatchObject([{ kind: "truncated-chain", bookId, seq: 4 }]);
  });

  it("a journal row whose written_by or written_at was changed is named", async () => {
    const bookId = "a-provenance";
    await store.write({ bookId, path: L1, content: "# one\n", agentId: "author" });
    await store.write({ bookId, path: L2, content: "# two\n", agentId: "author" });
    expect((await store.verify({ bookId })).journalAuditProblems).toEqual([]);
    await tamper(
      store,
      `UPDATE file_journal SET written_by = 'mallory' WHERE book_id = '${bookId}' AND path = '${L1}'`,
      `UPDATE file_journal SET written_at = written_at - interval '1 hour' WHERE book_id = '${bookId}' AND path = '${L2}'`,
    );
    const report = await store.verify({ bookId });
    expect(report.ok).toBe(false);
    const found = report.journalAuditProblems.map((p) => [p.path, p.message]).sort();
    expect(found).toHaveLength(2);
    expect(found[0]![0]).toBe(L1);
    expect(found[0]![1]).toMatch(/written by "mallory" but audit entry #1 says "author"/);
    expect(found[1]![0]).toBe(L2);
    expect(found[1]![1]).toMatch(/written at .* but audit entry #2 says/);
  });

  it("a journal row edited before the next anchor: the anchored manifest disagrees with the audit history", async () => {
    const bookId = "a-manifest";
    const one = await store.write({ bookId, path: L1, content: "# one\n", agentId: "author" });
    const two = await store.write({ bookId, path: L2, content: "# two\n", agentId: "author" });
    await store.flushAnchors();
    await tamper(store, `UPDATE file_journal SET sha256 = '${two.hash}' WHERE book_id = '${bookId}' AND path = '${L1}'`);
    await store.write({ bookId, path: "content/01-part/01-chapter/03-three.md", content: "# three\n", agentId: "author" });
    await store.flushAnchors();
    const report = await store.verify({ bookId });
    expect(report.journalAuditProblems).toMatchObject([{ path: L1, journalHash: two.hash, auditHash: one.hash }]);
    expect(report.anchors.problems).toMatchObject([{ kind: "manifest-mismatch", bookId, seq: 3 }]);
  });

  it("a forged anchor (entry hash changed, HMAC kept) is reported and not trusted", async () => {
    const bookId = "a-forged";
    await history(store, bookId, 2);
    const forged = { ...(await readAnchor(store, bookId, 2)), entryHash: "0".repeat(64) };
    await store.ctx.blobs.storage.delete(anchorKey(bookId, 2)); // the attacker holds storage write access
    await store.ctx.blobs.storage.putBuffer(anchorKey(bookId, 2), Buffer.from(JSON.stringify(forged)));
    const report = await store.verify({ bookId });
    expect(report.anchors.problems).toMatchObject([{ kind: "forged-anchor", bookId, seq: 2 }]);
    expect(report.anchors.problems[0]!.message).toMatch(/does not verify/);
    expect(report.anchors.books).toEqual([{ bookId, anchoredSeq: 1, headSeq: 2, unanchored: 1 }]); // fell back to the genuine #1
  });
  // Issue 14: the gaps a superuser with bucket delete rights (but without the key) used.
  it("an unsigned anchor planted at the head while a key is configured is forged-anchor, and verify fails", async () => {
    const bookId = "a-unsigned";
    await history(store, bookId, 3);
    await rechain(store, bookId, (e) => ({ ...e, agentId: "mallory" }));
    const entries = await bookChain(store.ctx.journal.db, bookId);
    const head = entries.at(-1)!;
    const planted = makeAnchor({ bookId, seq: 3, entryHash: head.entryHash, manifestHash: manifestAtSeq(entries, 3), prevSeq: 2 }, new Date(), null);
    await store.ctx.blobs.storage.delete(anchorKey(bookId, 3));
    await store.ctx.blobs.storage.putBuffer(anchorKey(bookId, 3), Buffer.from(JSON.stringify(planted)));
    const report = await store.verify({ bookId });
    expect(report.ok).toBe(false);
    expect(report.anchors.unsigned).toBe(1);
    expect(report.anchors.problems.map((p) => [p.kind, p.seq])).toEqual([
      ["forged-anchor", 3],
      ["rewritten-chain", 2],
    ]);
    expect(report.anchors.problems[0]!.message).toMatch(/not signed although an audit key is configured/);
  });

  it("deleting the newest anchors, then rewriting what they covered, is missing-anchors (also after more writes)", async () => {
    const bookId = "a-gap";
    await history(store, bookId, 5);
    await store.ctx.blobs.storage.delete(anchorKey(bookId, 5));
    await store.ctx.blobs.storage.delete(anchorKey(bookId, 4));
    await rechain(store, bookId, (e) => ({ ...e, agentId: "mallory" }), 4);
    let report = await store.verify({ bookId });
    expect(report.chainProblems).toEqual([]);
    expect(report.ok).toBe(false);
    expect(report.anchors.problems).toMatchObject([{ kind: "missing-anchors", bookId, seq: 5 }]);
    expect(report.anchors.problems[0]!.message).toMatch(/names anchor #5 .* gone and the newest anchor left is #3/);
    // The head record deleted too: anchors written with one exist, so its absence is the finding.
    await store.ctx.blobs.storage.delete(headRecordKey(bookId));
    report = await store.verify({ bookId });
    expect(report.anchors.problems).toMatchObject([{ kind: "missing-anchors", bookId }]);
    // The store goes on writing: the next anchor's signed link still points at the deleted #5... or #3.
    await store.write({ bookId, path: L2, content: "# after\n", agentId: "author" });
    await store.flushAnchors();
    report = await store.verify({ bookId });
    expect(report.ok).toBe(false);
    expect(report.anchors.problems.map((p) => p.kind)).toContain("missing-anchors");
  });

  it("a book deleted together with all its anchors and its head record is named by the signed book index", async () => {
    const bookId = "a-vanished";
    await history(store, bookId, 2);
    await tamper(
      store,
      `DELETE FROM audit_log WHERE book_id = '${bookId}'`,
      `DELETE FROM book_head WHERE book_id = '${bookId}'`,
      `DELETE FROM file_journal WHERE book_id = '${bookId}'`,
      `DELETE FROM book_manifest WHERE book_id = '${bookId}'`,
    );
    const keys: string[] = [];
    for await (const o of store.ctx.blobs.storage.list(`anchors/${bookId}/`)) keys.push(o.key);
    expect(keys.length).toBeGreaterThanOrEqual(3); // two anchors and the head record
    for (const k of keys) await store.ctx.blobs.storage.delete(k);
    for (const report of [await store.verify({ bookId }), await store.verify()]) {
      expect(report.ok).toBe(false);
      expect(report.anchors.problems.filter((p) => p.bookId === bookId)).toMatchObject([{ kind: "missing-anchors", bookId }]);
      expect(report.anchors.problems.find((p) => p.bookId === bookId)!.message).toMatch(/deleted together with all its anchors/);
    }
    // Deleting the index as well is itself a finding.
    await store.ctx.blobs.storage.delete(BOOK_INDEX_KEY);
    const report = await store.verify();
    expect(report.ok).toBe(false);
    expect(report.anchors.problems).toContainEqual(expect.objectContaining({ kind: "missing-anchors", bookId: "*" }));
  });

  it("a forged entry appended after the last anchor (an impersonation) is reported as the unprotected tail", async () => {
    const bookId = "a-append";
    const first = (await store.write({ bookId, path: L1, content: "# version 1\n", agentId: "author" })).hash;
    await store.flushAnchors();
    const second = (await store.write({ bookId, path: L1, content: "# version 2\n", expectedHash: first, agentId: "author" })).hash;
    await store.flushAnchors();
    const last = (await bookChain(store.ctx.journal.db, bookId)).at(-1)!;
    const forged: ChainEntry = { ...last, id: 0, bookSeq: 3, at: new Date(), prevHash: second, newHash: first, mode: "updated", durationMs: 3, prevEntryHash: last.entryHash, entryHash: "" };
    const entryHash = auditEntryHash(last.entryHash, forged);
    await tamper(
      store,
      `INSERT INTO audit_log (book_seq, at, agent_id, operation, book_id, path, user_id, prev_hash, new_hash, mode, status, error_code, error_message, duration_ms, prev_entry_hash, entry_hash)
       VALUES (3, '${forged.at.toISOString()}', 'author', 'write', '${bookId}', '${L1}', '__base__', '${second}', '${first}', 'updated', 'ok', NULL, NULL, 3, '${last.entryHash}', '${entryHash}')`,
      `UPDATE book_head SET seq = 3, last_entry_hash = '${entryHash}' WHERE book_id = '${bookId}'`,
      `UPDATE file_journal SET sha256 = '${first}', written_at = '${forged.at.toISOString()}' WHERE book_id = '${bookId}' AND path = '${L1}'`,
    );
    const report = await store.verify({ bookId });
    expect(report.chainProblems).toEqual([]);
    expect(report.journalAuditProblems).toEqual([]);
    expect(report.anchors.books).toEqual([{ bookId, anchoredSeq: 2, headSeq: 3, unanchored: 1 }]);
    expect(report.anchors.unprotectedEntries).toBe(1);
  });
});


function report0Message(report: { anchors: { problems: { message: string }[] } }): string {
  return report.anchors.problems[0]?.message ?? "";
}

describe("anchor writing: batching, failures, keys (pglite+local)", () => {
  const backend = BACKENDS[0]!;

  it("a burst of commits gives at most one anchor per interval, and close anchors the newest head", async () => {
    const instance = await makeBackend(backend);
    try {
      let store = await openStore({ ...instance.options, anchors: { intervalMs: 60_000 } });
      const bookId = "a-burst";
      let h: string | undefined;
      for (let i = 0; i < 10; i++) h = (await store.write({ bookId, path: L1, content: `# ${i}\n`, expectedHash: h, agentId: "author" })).hash;
      await new Promise((r) => setTimeout(r, 50));
      const before = await anchorSeqs(store, bookId);
      expect(before.length).toBeLessThanOrEqual(1);
      expect(before.every((s) => s < 10)).toBe(true);
      await store.close();
      store = await openStore(instance.options);
      const after = await anchorSeqs(store, bookId);
      expect(after.length).toBeLessThanOrEqual(2);
      expect(after.at(-1)).toBe(10);
      expect((await store.verify({ bookId })).ok).toBe(true);
      await store.close();
    } finally {
      await instance.cleanup();
    }
  });

  it("anchors are on unless turned off explicitly; a failed anchor never fails the write and is retried", async () => {
    const instance = await makeBackend(backend);
    try {
      const off = await openStore({ ...instance.options, anchors: false });
      await off.write({ bookId: "a-off", path: L1, content: "# off\n", agentId: "author" });
      await off.close();
      const store = await openStore(instance.options);
      expect(await anchorSeqs(store, "a-off")).toEqual([]);

      // A real fault: a plain file where the anchors folder must go makes every anchor write fail.
      const blocker = join(instance.dir, "objects", "anchors");
      await writeFile(blocker, "not a folder");
      const w = await store.write({ bookId: "a-fail", path: L1, content: "# kept\n", agentId: "author" });
      expect(w.mode).toBe("created");
      await store.flushAnchors();
      expect(await store.metrics()).toMatch(/panaversityfs_anchor_errors_total [1-9]/);
      expect((await store.read({ bookId: "a-fail", path: L1 })).hash).toBe(w.hash);
      await rm(blocker);
      expect((await store.verify({ bookId: "a-fail" })).anchors.writeErrors).toBeGreaterThanOrEqual(1);
      await store.flushAnchors(); // the retry
      expect(await anchorSeqs(store, "a-fail")).toEqual([1]);
      expect(await store.ctx.blobs.storage.putIfAbsent(anchorKey("a-fail", 1), Buffer.from("{}"))).toBe(false); // never overwritten
      expect((await readAnchor(store, "a-fail", 1)).seq).toBe(1);
      await store.close();
    } finally {
      await instance.cleanup();
    }
  });

  it("rotating the audit key: old anchors verify with PFS_AUDIT_KEYS_PREVIOUS, and are reported without it", async () => {
    const instance = await makeBackend(backend);
    try {
      const bookId = "a-rotate";
      let store = await openStore({ ...instance.options, auditKey: KEY });
      await store.write({ bookId, path: L1, content: "# one\n", agentId: "author" });
      await store.close();

      store = await openStore({ ...instance.options, auditKey: NEW_KEY, auditKeysPrevious: [KEY] });
      await store.write({ bookId, path: L2, content: "# two\n", agentId: "author" });
      await store.flushAnchors();
      expect((await readAnchor(store, bookId, 2)).keyId).toBe(auditKeyId(NEW_KEY));
      expect((await store.verify({ bookId })).ok).toBe(true);
      await store.close();

      store = await openStore({ ...instance.options, auditKey: NEW_KEY, auditKeysPrevious: [] });
      // Only #2 is read: it matches, so the unverifiable #1 is never needed.
      expect((await store.verify({ bookId })).ok).toBe(true);
      await store.close();

      store = await openStore({ ...instance.options, auditKey: "some-other-key-0000000000000" });
      const report = await store.verify({ bookId });
      // The book index (seq 0), both anchors and the head record (naming #2) are all signed with keys it does not know.
      expect(report.anchors.problems.map((p) => [p.kind, p.seq])).toEqual([
        ["forged-anchor", 0],
        ["forged-anchor", 2],
        ["forged-anchor", 1],
        ["forged-anchor", 2],
      ]);
      expect(report.anchors.problems[0]!.message).toMatch(/neither the current key nor in PFS_AUDIT_KEYS_PREVIOUS/);
      await store.close();
    } finally {
      await instance.cleanup();
    }
  });
});
