import { afterEach, describe, expect, it } from "vitest";
import type { Readable } from "node:stream";
import { openStore, type Store } from "../src/index.js";
import { mirrorKey } from "../src/blobs/index.js";
import { isMirrored, planMirrorRepair } from "../src/store/mirror.js";
import { BACKENDS, makeBackend, type BackendInstance } from "./support/backends.js";

const BOOK = "mirror-book";
const AGENT = "mirror-tester";
const LESSON = "content/01-Part/01-Chapter/01-intro.md";
const ASSET = "static/img/diagram one.png";

async function mirrored(store: Store, path: string, bookId = BOOK): Promise<Buffer | null> {
  const storage = store.ctx.blobs.storage;
  if (!(await storage.head(mirrorKey(bookId, path)))) return null;
  const chunks: Buffer[] = [];
  for await (const c of (await storage.getStream(mirrorKey(bookId, path))) as Readable) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe("mirror decisions (pure)", () => {
  it("mirrors assets in 'assets' mode, everything in 'all', nothing when off", () => {
    expect(isMirrored("assets", { kind: "asset" })).toBe(true);
    expect(isMirrored("assets", { kind: "lesson" })).toBe(false);
    expect(isMirrored("all", { kind: "summary" })).toBe(true);
    expect(isMirrored(false, { kind: "asset" })).toBe(false);
  });

  it("plans copies for missing or stale copies and removals for strays", () => {
    const t = new Date("2026-01-01T00:00:10Z");
    const rows = [
      { bookId: "b1", path: "static/img/a.png", size: 3, writtenAt: t },
      { bookId: "b1", path: "static/img/b.png", size: 3, writtenAt: t },
      { bookId: "b1", path: "static/img/c.png", size: 3, writtenAt: t },
      { bookId: "b1", path: LESSON, size: 3, writtenAt: t },
    ];
    const existing = [
      { key: "books/b1/static/img/a.png", size: 3, lastModified: new Date(t.getTime() + 5) }, // current
      { key: "books/b1/static/img/b.png", size: 9, lastModified: new Date(t.getTime() + 5) }, // wrong size
      { key: "books/b1/static/img/stray.png", size: 1, lastModified: t },
      { key: `books/b1/${LESSON}`, size: 3, lastModified: t }, // not mirrored in "assets" mode
    ];
    const plan = planMirrorRepair("assets", rows, existing);
    expect(plan.copy.map((r) => r.path)).toEqual(["static/img/b.png", "static/img/c.png"]);
    expect(plan.remove).toEqual(["books/b1/static/img/stray.png", `books/b1/${LESSON}`]);
    expect(plan.unchanged).toBe(1);
  });
});

describe.each(BACKENDS)("public mirror on $name", (backend) => {
  let instance: BackendInstance | undefined;
  let store: Store | undefined;
  afterEach(async () => {
    await store?.close();
    await instance?.cleanup();
    store = instance = undefined;
  });

  async function open(mirror: false | "assets" | "all"): Promise<Store> {
    instance = await makeBackend(backend, { mirror });
    store = await openStore(instance.options);
    return store;
  }

  it('"assets": a base asset is copied after each commit and removed on delete; markdown is not', async () => {
    const s = await open("assets");
    const v1 = await s.write({ bookId: BOOK, path: ASSET, content: Buffer.from("png v1"), agentId: AGENT });
    expect(await mirrored(s, ASSET)).toEqual(Buffer.from("png v1"));
    await s.write({ bookId: BOOK, path: ASSET, content: Buffer.from("png version 2"), expectedHash: v1.hash, agentId: AGENT });
    expect(await mirrored(s, ASSET)).toEqual(Buffer.from("png version 2"));
    await s.write({ bookId: BOOK, path: LESSON, content: "# lesson", agentId: AGENT });
    expect(await mirrored(s, LESSON)).toBeNull();
    await s.delete({ bookId: BOOK, path: ASSET, agentId: AGENT });
    expect(await mirrored(s, ASSET)).toBeNull();
  });

  it('"all": content is mirrored too, but overlays never are', async () => {
    const s = await open("all");
    await s.write({ bookId: BOOK, path: LESSON, content: "# base", agentId: AGENT });
    expect((await mirrored(s, LESSON))?.toString()).toBe("# base");
    await s.write({ bookId: BOOK, path: LESSON, content: "# only for ana", userId: "ana", agentId: AGENT });
    expect((await mirrored(s, LESSON))?.toString()).toBe("# base");
    await s.delete({ bookId: BOOK, path: LESSON, userId: "ana", agentId: AGENT });
    expect((await mirrored(s, LESSON))?.toString()).toBe("# base");
    const keys: string[] = [];
    for await (const o of s.ctx.blobs.storage.list("books/")) keys.push(o.key);
    expect(keys).toEqual([mirrorKey(BOOK, LESSON)]);
  });

  it("repairMirror restores missing and stale copies and removes strays (dry run first)", async () => {
    const s = await open("assets");
    const storage = s.ctx.blobs.storage;
    const other = "static/slides/deck.pdf";
    const third = "static/audio/clip.mp3";
    await s.write({ bookId: BOOK, path: ASSET, content: Buffer.from("asset bytes"), agentId: AGENT });
    await s.write({ bookId: BOOK, path: other, content: Buffer.from("a deck"), agentId: AGENT });
    await s.write({ bookId: BOOK, path: third, content: Buffer.from("a clip"), agentId: AGENT });
    await s.write({ bookId: "other-book", path: ASSET, content: Buffer.from("other book asset"), agentId: AGENT });
    // Damage: a lost copy, a stale copy, a stray copy, and a copy of a book the journal never had.
    await storage.delete(mirrorKey(BOOK, ASSET));
    await storage.delete(mirrorKey(BOOK, other));
    await storage.putBuffer(mirrorKey(BOOK, other), Buffer.from("an old, longer deck"));
    await storage.putBuffer(mirrorKey(BOOK, "static/img/stray.png"), Buffer.from("stray"));
    await storage.putBuffer(mirrorKey("ghost-book", "static/img/x.png"), Buffer.from("ghost"));

    const dry = await s.repairMirror({ bookId: BOOK, dryRun: true });
    expect(dry.copied.sort()).toEqual([mirrorKey(BOOK, ASSET), mirrorKey(BOOK, other)].sort());
    expect(dry.removed).toEqual([mirrorKey(BOOK, "static/img/stray.png")]);
    expect(dry.unchanged).toBe(1);
    expect(await mirrored(s, ASSET)).toBeNull(); // nothing changed yet

    const fixed = await s.repairMirror({ bookId: BOOK });
    expect(fixed).toMatchObject({ copied: dry.copied, removed: dry.removed, unchanged: 1, dryRun: false });
    expect(await mirrored(s, ASSET)).toEqual(Buffer.from("asset bytes"));
    expect(await mirrored(s, other)).toEqual(Buffer.from("a deck"));
    expect(await mirrored(s, "static/img/stray.png")).toBeNull();
    expect(await mirrored(s, "static/img/x.png", "ghost-book")).not.toBeNull(); // one book's repair leaves other books alone

    const everything = await s.repairMirror();
    expect(everything.removed).toEqual([mirrorKey("ghost-book", "static/img/x.png")]);
    expect(everything.copied).toEqual([]);
    expect(everything.unchanged).toBe(4);
  });

  it("is off by default: no copies, and repairMirror refuses rather than deleting public copies", async () => {
    const s = await open(false);
    await s.write({ bookId: BOOK, path: ASSET, content: Buffer.from("x"), agentId: AGENT });
    expect(await mirrored(s, ASSET)).toBeNull();
    await expect(s.repairMirror()).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });
});
