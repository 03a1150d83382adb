import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { sql } from "drizzle-orm";
import { sha256Hex, type Store } from "../src/index.js";
import { applyPlan, diffChanges } from "../src/store/plan.js";
import { BACKENDS, openStoreFor } from "./support/backends.js";

const AGENT = "plan-tester";
const h = (s: string) => sha256Hex(s);
const L1 = "content/01-part/01-chapter/01-one.md";
const L2 = "content/01-part/01-chapter/02-two.md";
const L3 = "content/01-part/01-chapter/03-three.md";
const IMG = "static/img/diagram.png";

describe("diffChanges (pure)", () => {
  it("takes the target hash from the first change after the target and skips paths back where they were", () => {
    const files = diffChanges(
      [
        { path: "b", prevHash: h("b0") }, // modified
        { path: "b", prevHash: h("b1") },
        { path: "a", prevHash: null }, // added
        { path: "c", prevHash: h("c0") }, // deleted
        { path: "d", prevHash: h("d0") }, // changed, then back
        { path: "d", prevHash: h("d1") },
        { path: "e", prevHash: null }, // created, then deleted
      ],
      new Map([
        ["a", h("a1")],
        ["b", h("b2")],
        ["d", h("d0")],
      ]),
    );
    expect(files).toEqual([
      { path: "a", currentHash: h("a1"), targetHash: null, change: "added" },
      { path: "b", currentHash: h("b2"), targetHash: h("b0"), change: "modified" },
      { path: "c", currentHash: null, targetHash: h("c0"), change: "deleted" },
    ]);
  });

  it("applyPlan turns the target's files into the current ones", () => {
    const target = new Map([
      ["b", h("b0")],
      ["c", h("c0")],
      ["z", h("z")],
    ]);
    const next = applyPlan(target, [
      { path: "a", currentHash: h("a1"), targetHash: null, change: "added" },
      { path: "b", currentHash: h("b2"), targetHash: h("b0"), change: "modified" },
      { path: "c", currentHash: null, targetHash: h("c0"), change: "deleted" },
    ]);
    expect([...next].sort()).toEqual([
      ["a", h("a1")],
      ["b", h("b2")],
      ["z", h("z")],
    ]);
  });
});

describe.each(BACKENDS)("planBuild on $name", (backend) => {
  let store: Store;
  let n = 0;
  const newBook = () => `plan-book-${++n}`;

  openStoreFor(backend, (s) => (store = s));

  const write = (bookId: string, path: string, content: string, expectedHash?: string, userId?: string) =>
    store.write({ bookId, path, content, expectedHash, userId, agentId: AGENT });
  const del = (bookId: string, path: string) => store.delete({ bookId, path, agentId: AGENT });

  async function bookWith(files: Record<string, string>): Promise<string> {
    const bookId = newBook();
    for (const [path, content] of Object.entries(files)) await write(bookId, path, content);
    return bookId;
  }

  it("with no target lists every file as added, with the snapshot's manifest hash", async () => {
    const bookId = await bookWith({ [L2]: "two", [L1]: "one", [IMG]: "png" });
    const plan = await store.planBuild({ bookId });
    const snap = await store.snapshot({ bookId });
    expect(plan.status).toBe("changed");
    expect(plan.manifestHash).toBe(snap.manifestHash);
    expect(plan.warning).toBeUndefined();
    expect(plan.files).toEqual([
      { path: L1, currentHash: h("one"), targetHash: null, change: "added" },
      { path: L2, currentHash: h("two"), targetHash: null, change: "added" },
      { path: IMG, currentHash: h("png"), targetHash: null, change: "added" },
    ]);
  });

  it("with the current manifest is unchanged and empty", async () => {
    const bookId = await bookWith({ [L1]: "one" });
    const { manifestHash } = await store.snapshot({ bookId });
    expect(await store.planBuild({ bookId, targetManifestHash: manifestHash })).toEqual({ status: "unchanged", manifestHash, files: [] });
  });

  it("an unchanged plan from a manifest remembered at the head writes nothing (the row's xmin stays)", async () => {
    const bookId = await bookWith({ [L1]: "one", [L2]: "two" });
    const first = await store.planLoad({ bookId }); // remembers the current manifest at the head
    const version = async () => {
      const r = await store.ctx.journal.db.execute(sql`SELECT xmin::text AS x, seq FROM book_manifest WHERE book_id = ${bookId} AND manifest_hash = ${first.manifestHash}`);
      return (r as unknown as { rows: { x: string; seq: number }[] }).rows;
    };
    const before = await version();
    expect(before).toHaveLength(1);
    for (let i = 0; i < 2; i++) {
      const plan = await store.planLoad({ bookId, targetManifestHash: first.manifestHash });
      expect(plan).toMatchObject({ status: "unchanged", manifestHash: first.manifestHash, files: [], seq: first.seq });
    }
    expect(await version()).toEqual(before);
    // A change moves the head: the next plan remembers the new manifest, and from it is unchanged again.
    await write(bookId, L3, "three");
    const changed = await store.planLoad({ bookId, targetManifestHash: first.manifestHash });
    expect(changed).toMatchObject({ status: "changed", files: [{ path: L3, change: "added" }] });
    expect(await store.planLoad({ bookId, targetManifestHash: changed.manifestHash })).toMatchObject({ status: "unchanged", seq: changed.seq, io: { rows: 2 } });
  });

  it("reports a create, an update and a delete with their hashes", async () => {
    const bookId = await bookWith({ [L1]: "one", [L2]: "two" });
    const target = (await store.snapshot({ bookId })).manifestHash;
    await write(bookId, L3, "three");
    await write(bookId, L1, "one v2", h("one"));
    await del(bookId, L2);
    const plan = await store.planBuild({ bookId, targetManifestHash: target });
    expect(plan.status).toBe("changed");
    expect(plan.files).toEqual([
      { path: L1, currentHash: h("one v2"), targetHash: h("one"), change: "modified" },
      { path: L2, currentHash: null, targetHash: h("two"), change: "deleted" },
      { path: L3, currentHash: h("three"), targetHash: null, change: "added" },
    ]);
    expect(plan.manifestHash).toBe((await store.snapshot({ bookId })).manifestHash);
  });

  it("reports a rename as a delete plus a create of the same bytes", async () => {
    const bookId = await bookWith({ [L1]: "moving" });
    const target = (await store.snapshot({ bookId })).manifestHash;
    await write(bookId, L2, "moving");
    await del(bookId, L1);
    const plan = await store.planBuild({ bookId, targetManifestHash: target });
    expect(plan.files).toEqual([
      { path: L1, currentHash: null, targetHash: h("moving"), change: "deleted" },
      { path: L2, currentHash: h("moving"), targetHash: null, change: "added" },
    ]);
  });

  it("ignores overlays, failed attempts, no-op updates and changes that were undone", async () => {
    const bookId = await bookWith({ [L1]: "one", [L2]: "two" });
    const target = (await store.snapshot({ bookId })).manifestHash;
    await write(bookId, L1, "mine", undefined, "student-1"); // overlay
    await expect(write(bookId, L2, "x")).rejects.toMatchObject({ code: "HASH_REQUIRED" }); // rejected
    await write(bookId, L2, "two", h("two")); // no-op update
    await write(bookId, L1, "temp", h("one"));
    await write(bookId, L1, "one", h("temp")); // back to the target's bytes
    await write(bookId, L3, "short-lived");
    await del(bookId, L3);
    expect(await store.planBuild({ bookId, targetManifestHash: target })).toEqual({ status: "unchanged", manifestHash: target, files: [] });
  });

  it("diffs from a target taken before a delete (and from the one after it)", async () => {
    const bookId = await bookWith({ [L1]: "one", [L2]: "two" });
    const beforeDelete = (await store.snapshot({ bookId })).manifestHash;
    await del(bookId, L1);
    const afterDelete = (await store.snapshot({ bookId })).manifestHash;
    await write(bookId, L3, "three");
    const fromBefore = await store.planBuild({ bookId, targetManifestHash: beforeDelete });
    expect(fromBefore.files).toEqual([
      { path: L1, currentHash: null, targetHash: h("one"), change: "deleted" },
      { path: L3, currentHash: h("three"), targetHash: null, change: "added" },
    ]);
    const fromAfter = await store.planBuild({ bookId, targetManifestHash: afterDelete });
    expect(fromAfter.files).toEqual([{ path: L3, currentHash: h("three"), targetHash: null, change: "added" }]);
    expect(fromAfter.manifestHash).toBe(fromBefore.manifestHash);
  });

  it("lists every file with a warning for an unknown target", async () => {
    const bookId = await bookWith({ [L1]: "one" });
    const unknown = h("never a manifest");
    const plan = await store.planBuild({ bookId, targetManifestHash: unknown });
    expect(plan.status).toBe("changed");
    expect(plan.warning).toMatch(/not known/);
    expect(plan.files).toEqual([{ path: L1, currentHash: h("one"), targetHash: null, change: "added" }]);
  });

  it("keeps manifests per book: two books with identical content do not share a change position", async () => {
    const a = await bookWith({ [L1]: "one", [L2]: "two" });
    const hash = (await store.snapshot({ bookId: a })).manifestHash;
    // Book b reaches the same content later in its own log, after unrelated history.
    const b = newBook();
    await write(b, L3, "junk");
    await del(b, L3);
    await write(b, L1, "one");
    await write(b, L2, "two");
    expect((await store.snapshot({ bookId: b })).manifestHash).toBe(hash);
    await write(b, IMG, "new in b");
    await write(a, L3, "new in a");
    const planB = await store.planBuild({ bookId: b, targetManifestHash: hash });
    expect(planB.files).toEqual([{ path: IMG, currentHash: h("new in b"), targetHash: null, change: "added" }]);
    const planA = await store.planBuild({ bookId: a, targetManifestHash: hash });
    expect(planA.files).toEqual([{ path: L3, currentHash: h("new in a"), targetHash: null, change: "added" }]);
  });

  it("computes the same manifest hash in the database as in code, for byte-order-sensitive paths", async () => {
    const bookId = await bookWith({
      // An astral letter (UTF-16 surrogates sort below U+E000) and a BMP letter above U+E000 (byte order
      // puts it first): U+FA0E is a unified ideograph, so both are valid, NFKC-stable names.
      "static/img/\u{20000}.png": "astral Han",
      "static/img/\uFA0E.png": "high-BMP Han",
      "static/img/Z.png": "Z",
      "static/img/a.png": "a",
      "content/a-b.md": "ab",
      "content/a.md": "a",
      "static/img/caf\u00e9 menu.png": "café",
    });
    const target = (await store.snapshot({ bookId })).manifestHash;
    await write(bookId, "static/img/\u00e9.png", "e acute");
    // No manifest is remembered for the new state, so the plan computes it in SQL.
    const plan = await store.planBuild({ bookId, targetManifestHash: target });
    const snap = await store.snapshot({ bookId });
    expect(plan.manifestHash).toBe(snap.manifestHash);
    expect(plan.files.map((f) => f.path)).toEqual(["static/img/\u00e9.png"]);
  });

  it("sets the delta files gauge to the size of the last plan", async () => {
    const bookId = await bookWith({ [L1]: "one", [L2]: "two", [L3]: "three" });
    await store.planBuild({ bookId });
    expect(await store.metrics()).toMatch(/^panaversityfs_delta_files_count 3$/m);
    const target = (await store.snapshot({ bookId })).manifestHash;
    await del(bookId, L2);
    await store.planBuild({ bookId, targetManifestHash: target });
    expect(await store.metrics()).toMatch(/^panaversityfs_delta_files_count 1$/m);
  });

  it("rejects a target that is not a hash and a bad book id", async () => {
    await expect(store.planBuild({ bookId: "some-book", targetManifestHash: "HEAD" })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(store.planBuild({ bookId: "Bad Book" })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });

  it("property: applying the plan to any earlier snapshot's files yields the current snapshot", async () => {
    const paths = [L1, L2, L3, IMG, "content/preface.md"];
    const bodies = ["a", "b", "c"];
    const op = fc.oneof(
      fc.record({ kind: fc.constant("write" as const), path: fc.constantFrom(...paths), body: fc.constantFrom(...bodies) }),
      fc.record({ kind: fc.constant("delete" as const), path: fc.constantFrom(...paths) }),
      fc.record({ kind: fc.constant("overlay" as const), path: fc.constantFrom(L1, L2), body: fc.constantFrom(...bodies) }),
      fc.record({ kind: fc.constant("snapshot" as const) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 14 }), async (ops) => {
        const bookId = newBook();
        const model = new Map<string, string>();
        const snapshots = [await store.snapshot({ bookId })];
        for (const o of ops) {
          if (o.kind === "write") {
            await write(bookId, o.path, o.body, model.get(o.path));
            model.set(o.path, h(o.body));
          } else if (o.kind === "delete") {
            await del(bookId, o.path);
            model.delete(o.path);
          } else if (o.kind === "overlay") {
            const current = await store.list({ bookId, userId: "reader-1", prefix: o.path });
            const own = current.find((e) => e.source === "overlay");
            await write(bookId, o.path, `overlay ${o.body}`, own?.hash, "reader-1");
          } else {
            snapshots.push(await store.snapshot({ bookId }));
          }
        }
        const now = await store.snapshot({ bookId });
        const current = new Map(now.files.map((f) => [f.path, f.hash]));
        expect(current).toEqual(model);
        for (const target of snapshots) {
          const plan = await store.planBuild({ bookId, targetManifestHash: target.manifestHash });
          const targetFiles = new Map(target.files.map((f) => [f.path, f.hash]));
          expect(plan.manifestHash).toBe(now.manifestHash);
          expect(applyPlan(targetFiles, plan.files)).toEqual(current);
          // Minimal and truthful: only real differences, each with both sides right.
          for (const f of plan.files) {
            expect(f.targetHash).toBe(targetFiles.get(f.path) ?? null);
            expect(f.currentHash).toBe(current.get(f.path) ?? null);
            expect(f.targetHash).not.toBe(f.currentHash);
          }
          expect(plan.status).toBe(plan.files.length === 0 ? "unchanged" : "changed");
        }
      }),
      { numRuns: 15 },
    );
  });
});
