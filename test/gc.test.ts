import { afterEach, describe, expect, it } from "vitest";
import { setTimeout as sleep } from "node:timers/promises";
import { utimes } from "node:fs/promises";
import { join } from "node:path";
import { openStore, sha256Hex, type Store } from "../src/index.js";
import { objectKey } from "../src/blobs/index.js";
import { decideGc } from "../src/store/gc.js";
import { BACKENDS, makeBackend, type BackendInstance } from "./support/backends.js";
import { invariantViolations } from "./support/invariants.js";

const BOOK = "gc-book";
const AGENT = "gc-tester";

describe("decideGc (pure)", () => {
  const now = new Date("2026-01-02T00:00:00Z");
  const cutoff = new Date(now.getTime() - 3600_000);
  const old = new Date(cutoff.getTime() - 1);
  const young = new Date(cutoff.getTime() + 1);
  const h = (c: string) => sha256Hex(c);

  it("removes only unreferenced objects and temp uploads older than the cutoff", () => {
    const objects = [
      { key: objectKey(h("ref-old")), hash: h("ref-old"), size: 1, lastModified: old },
      { key: objectKey(h("orphan-old")), hash: h("orphan-old"), size: 2, lastModified: old },
      { key: objectKey(h("orphan-young")), hash: h("orphan-young"), size: 3, lastModified: young },
      { key: "tmp/dead", hash: null, size: 4, lastModified: old },
      { key: "tmp/in-flight", hash: null, size: 5, lastModified: young },
    ];
    const d = decideGc(objects, new Set([h("ref-old")]), cutoff);
    expect(d.remove.map((o) => o.key)).toEqual([objectKey(h("orphan-old")), "tmp/dead"]);
    expect(d.keptReferenced).toBe(1);
    expect(d.keptFresh).toBe(2);
  });

  it("an object exactly at the cutoff counts as old", () => {
    const d = decideGc([{ key: "tmp/x", hash: null, size: 1, lastModified: cutoff }], new Set(), cutoff);
    expect(d.remove).toHaveLength(1);
  });
});

describe.each(BACKENDS)("gc on $name", (backend) => {
  let instance: BackendInstance | undefined;
  let store: Store | undefined;
  afterEach(async () => {
    await store?.close();
    await instance?.cleanup();
    store = instance = undefined;
  });

  it("removes an orphan and a dead temp upload past grace; keeps a fresh orphan and every referenced object", async () => {
    instance = await makeBackend(backend);
    store = await openStore(instance.options);
    const storage = store.ctx.blobs.storage;
    const lesson = "content/01-Part/01-Chapter/01-kept.md";
    const asset = "static/img/kept.png";
    await store.write({ bookId: BOOK, path: lesson, content: "# kept", agentId: AGENT });
    await store.write({ bookId: BOOK, path: asset, content: Buffer.from([1, 2, 3, 4]), agentId: AGENT });
    // An orphan the normal way: a version that was deleted.
    const gone = await store.write({ bookId: BOOK, path: "content/01-Part/01-Chapter/02-gone.md", content: "# gone", agentId: AGENT });
    await store.delete({ bookId: BOOK, path: "content/01-Part/01-Chapter/02-gone.md", agentId: AGENT });
    await storage.putBuffer("tmp/dead-upload", Buffer.from("half an upload"));

    // S3 reports modification times in whole seconds: leave a clear gap between "old" and "fresh".
    await sleep(3_500);
    const fresh = await store.ctx.blobs.putBytes(Buffer.from("uploaded by a write still in flight"));
    const grace = 2.5;

    const dry = await store.gc({ graceSeconds: grace, dryRun: true });
    expect(dry.dryRun).toBe(true);
    expect(dry.deleted.sort()).toEqual([objectKey(gone.hash), "tmp/dead-upload"].sort());
    expect(dry.kept).toEqual({ referenced: 2, fresh: 1 });
    expect(await store.ctx.blobs.has(gone.hash)).toBe(true); // a dry run removes nothing
    expect(await storage.head("tmp/dead-upload")).not.toBeNull();

    const report = await store.gc({ graceSeconds: grace });
    expect(report.deleted.sort()).toEqual(dry.deleted.sort());
    expect(report.deletedBytes).toBe("# gone".length + "half an upload".length);
    expect(await store.ctx.blobs.has(gone.hash)).toBe(false);
    expect(await storage.head("tmp/dead-upload")).toBeNull();
    expect(await store.ctx.blobs.has(fresh.hash)).toBe(true);
    expect((await store.read({ bookId: BOOK, path: lesson })).content.toString()).toBe("# kept");
    expect((await store.read({ bookId: BOOK, path: asset })).content).toEqual(Buffer.from([1, 2, 3, 4]));
    expect(await invariantViolations(store, [BOOK])).toEqual([]);

    // The default grace (24 h) keeps the young orphan; a zero grace removes it but still no referenced object.
    expect((await store.gc()).deleted).toEqual([]);
    const all = await store.gc({ graceSeconds: 0 });
    expect(all.deleted).toEqual([objectKey(fresh.hash)]);
    expect(all.kept.referenced).toBe(2);
    expect(await invariantViolations(store, [BOOK])).toEqual([]);
  });

  it("refuses a negative grace period", async () => {
    instance = await makeBackend(backend);
    store = await openStore(instance.options);
    await expect(store.gc({ graceSeconds: -1 })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });
});

describe("gc never removes an object a write relies on", () => {
  it("a write that dedupes onto an old orphan re-stores it, so a gc with a longer grace keeps it", async () => {
    const instance = await makeBackend({ name: "pglite+local", db: "pglite", storage: "local" });
    const store = await openStore(instance.options);
    try {
      const path = "content/01-Part/01-Chapter/03-again.md";
      const first = await store.write({ bookId: BOOK, path, content: "# same bytes", agentId: AGENT });
      await store.delete({ bookId: BOOK, path, agentId: AGENT });
      // Age the orphan past the refresh window (an hour old), as if deleted long ago.
      const file = join(instance.dir, "objects", ...objectKey(first.hash).split("/"));
      const anHourAgo = new Date(Date.now() - 3600_000);
      await utimes(file, anHourAgo, anHourAgo);
      // A new write of the same bytes: the object is re-stored, young again.
      await store.write({ bookId: BOOK, path, content: "# same bytes", agentId: AGENT });
      const info = await store.ctx.blobs.storage.head(objectKey(first.hash));
      expect(Date.now() - info!.lastModified.getTime()).toBeLessThan(3600_000 / 2);
      // A gc whose grace is half an hour (longer than the refresh window) must keep it even if it
      // had listed the object before the write committed.
      const report = await store.gc({ graceSeconds: 1800 });
      expect(report.deleted).not.toContain(objectKey(first.hash));
      expect((await store.read({ bookId: BOOK, path })).content.toString()).toBe("# same bytes");
    } finally {
      await store.close();
      await instance.cleanup();
    }
  });
});
