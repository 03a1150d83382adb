/** The sample-book generator and the idempotent seed behind example-site/ and bench/build. */
import { afterEach, describe, expect, it } from "vitest";
import { openStore, parsePath, sha256Hex, type Store } from "../src/index.js";
import { generateSampleBook, generateSyntheticBook, OVERLAY_MARKER, SAMPLE_USER } from "../scripts/sample-book.js";
import { seedBook } from "../scripts/seed.js";
import { makeBackend, type BackendInstance } from "./support/backends.js";

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

describe("sample book generator", () => {
  it("makes the book issue 5 asks for, every path on the schema", () => {
    const book = generateSampleBook();
    const { stats } = book;
    expect(stats.parts).toBeGreaterThanOrEqual(3);
    expect(stats.chapters).toBeGreaterThanOrEqual(8);
    expect(stats.lessons).toBeGreaterThanOrEqual(60);
    expect(stats.mdx).toBeGreaterThanOrEqual(1);
    const kinds = new Map<string, number>();
    for (const f of book.files) {
      const kind = parsePath(f.path).kind;
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
    }
    expect(kinds.get("lesson")).toBe(stats.lessons);
    expect(kinds.get("summary")).toBe(stats.summaries);
    expect(kinds.get("intro")).toBe(stats.parts + stats.chapters);
    expect(kinds.get("frontmatter")).toBe(1);
    expect(kinds.get("asset")).toBe(stats.assets);
    expect(book.files.some((f) => f.path === "content/preface.md")).toBe(true);

    const lessons = book.files.filter((f) => parsePath(f.path).kind === "lesson").map((f) => f.content.toString("utf8"));
    expect(lessons.filter((t) => /^sidebar_position: \d+$/m.test(t)).length).toBeGreaterThan(0);
    expect(lessons.filter((t) => /^title: /m.test(t)).length).toBeGreaterThan(0);
    expect(lessons.filter((t) => !/^title: /m.test(t) && /^# /m.test(t)).length).toBeGreaterThan(0);
    expect(lessons.some((t) => t.includes("<AgentLoop"))).toBe(true);

    const pngs = book.files.filter((f) => f.path.endsWith(".png"));
    const svgs = book.files.filter((f) => f.path.endsWith(".svg"));
    expect(pngs.length).toBeGreaterThan(0);
    expect(svgs.length).toBeGreaterThan(0);
    for (const png of pngs) expect(png.content.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    for (const svg of svgs) expect(svg.content.toString("utf8")).toMatch(/^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    // Every image a page links is in the book.
    const assets = new Set(book.files.filter((f) => parsePath(f.path).kind === "asset").map((f) => f.path));
    for (const f of book.files.filter((x) => parsePath(x.path).isContent)) {
      for (const [, url] of f.content.toString("utf8").matchAll(/!\[[^\]]*\]\(([^)]+)\)/g)) {
        const target = url!.startsWith("/") ? `static${url}` : new URL(url!, `file:///${f.path}`).pathname.slice(1);
        expect(assets.has(target), `${f.path} links ${url}`).toBe(true);
      }
    }

    expect(book.overlays.length).toBeGreaterThanOrEqual(3);
    for (const o of book.overlays) {
      expect(o.userId).toBe(SAMPLE_USER);
      expect(parsePath(o.path).isContent).toBe(true);
      expect(book.files.some((f) => f.path === o.path)).toBe(true);
      expect(o.content.toString("utf8").toLowerCase()).toContain(OVERLAY_MARKER.toLowerCase());
    }
  });

  it("is deterministic, and scales to the benchmark's 1,000 pages", () => {
    const a = generateSampleBook();
    const b = generateSampleBook();
    expect(a.files.map((f) => `${f.path}:${sha256Hex(f.content)}`)).toEqual(b.files.map((f) => `${f.path}:${sha256Hex(f.content)}`));
    const big = generateSyntheticBook({ parts: 5, chaptersPerPart: 10, lessonsPerChapter: 20, summaries: false });
    expect(big.stats.lessons).toBe(1000);
    expect(new Set(big.files.map((f) => f.path)).size).toBe(big.files.length);
    for (const f of big.files) parsePath(f.path);
  });
});

describe("seedBook", () => {
  let backend: BackendInstance | undefined;
  let store: Store | undefined;
  afterEach(async () => {
    await store?.close();
    await backend?.cleanup();
    store = backend = undefined;
  });

  it("creates, then skips unchanged files, updates changed ones with their hash, and prunes only when asked", async () => {
    backend = await makeBackend({ name: "pglite+local", db: "pglite", storage: "local" });
    store = await openStore(backend.options);
    const book = generateSampleBook();
    const total = book.files.length + book.overlays.length;

    const first = await seedBook(store, book, { agentId: "seed-test" });
    expect(first).toMatchObject({ created: total, updated: 0, unchanged: 0, deleted: 0, extra: [] });
    const again = await seedBook(store, book, { agentId: "seed-test" });
    expect(again).toMatchObject({ created: 0, updated: 0, unchanged: total, deleted: 0 });

    const [changed] = book.files;
    const edited = { ...book, files: [{ ...changed!, content: Buffer.from("edited\n") }, ...book.files.slice(1)] };
    expect(await seedBook(store, edited, { agentId: "seed-test" })).toMatchObject({ created: 0, updated: 1, unchanged: total - 1 });
    expect((await store.read({ bookId: book.bookId, path: changed!.path })).content.toString()).toBe("edited\n");

    const fewer = { ...book, files: book.files.slice(1), overlays: book.overlays.slice(1) };
    const kept = await seedBook(store, fewer, { agentId: "seed-test" });
    expect(kept.extra).toHaveLength(2);
    expect(kept.deleted).toBe(0);
    const pruned = await seedBook(store, fewer, { agentId: "seed-test", prune: true });
    expect(pruned.deleted).toBe(2);
    expect(await store.list({ bookId: book.bookId })).toHaveLength(book.files.length - 1);

    const overlay = book.overlays[1]!;
    const read = await store.read({ bookId: book.bookId, path: overlay.path, userId: SAMPLE_USER });
    expect(read.source).toBe("overlay");
    expect(read.content.equals(overlay.content)).toBe(true);
    expect((await store.read({ bookId: book.bookId, path: overlay.path })).source).toBe("base");
  });
});
