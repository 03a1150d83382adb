/** Pure decisions of the Docusaurus plugin: options, layout, cache plan, sidebar, summaries, report. No I/O. */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { normalizePluginOptions } from "@docusaurus/utils-validation";
import { validateOptions, verifyCacheOf, DEFAULT_OPTIONS } from "../src/docusaurus/options.js";
import { bookPathOfViewFile, desiredState, lessonOfSummary, rewriteAssetUrl, rewriteOverlayPageLink, targetOf, type ViewSpec } from "../src/docusaurus/cache-layout.js";
import { applyLoadPlan, loadFingerprint, planDelta, planObjects, planTargets, viewsOf, type CacheManifest, type FileStat } from "../src/docusaurus/cache-plan.js";
import { manifestHash } from "../src/store/manifest.js";
import { frontMatterFirst, sidebarsDefinition, wrapSidebarItemsGenerator } from "../src/docusaurus/sidebar.js";
import { overlayDocOf, personalizeDocs, userRoute } from "../src/docusaurus/overlay-routes.js";
import { OVERLAY_ROUTES_KEY, baseRouteOf, personalRoute, readerAfter, routeMapsOf } from "../src/docusaurus/client/reader.js";
import { attachSummaries, summaryKeyOfDoc } from "../src/docusaurus/summaries.js";
import { formatLoadLine } from "../src/docusaurus/report.js";
import { rewriteTree } from "../src/docusaurus/remark-static-links.js";
import { syncOptionsOf } from "../src/docusaurus/index.js";

const h = (c: string) => c.repeat(64).slice(0, 64);
const validate = (options: unknown) => validateOptions({ validate: normalizePluginOptions as never, options: options as never });

describe("options", () => {
  it("applies the documented defaults and returns an id", () => {
    const o = validate({ bookId: "python-book" });
    expect(o).toMatchObject({ ...DEFAULT_OPTIONS, bookId: "python-book", id: "default" });
    expect(o.docs).toMatchObject({ id: "default", path: ".panaversity-cache/docs", routeBasePath: "/docs" });
  });

  it("forwards docs-plugin options, validated by the docs plugin's own schema", () => {
    const remark = () => () => {};
    const o = validate({ bookId: "python-book", routeBasePath: "book", cacheDir: "tmp/c", remarkPlugins: [remark], editUrl: "https://e.x/edit", exclude: ["**/draft-*"], sidebarCollapsed: false });
    expect(o.docs.remarkPlugins).toEqual([remark]);
    expect(o.docs.editUrl).toBe("https://e.x/edit");
    expect(o.docs.exclude).toEqual(["**/draft-*"]);
    expect(o.docs).toMatchObject({ path: "tmp/c/docs", routeBasePath: "/book", sidebarCollapsed: false });
  });

  it("resolves a relative dataDir and local storage dir against the site folder; S3 and URLs pass through", () => {
    const local = syncOptionsOf(validate({ bookId: "python-book", dataDir: ".pfs", storage: { kind: "local", dir: "objs" } }), "/site", "/site/.c");
    expect(local.store).toEqual({ databaseUrl: undefined, dataDir: "/site/.pfs", storage: { kind: "local", dir: "/site/objs" } });
    const s3 = { kind: "s3", bucket: "b", endpoint: "http://127.0.0.1:9000", forcePathStyle: true };
    const remote = syncOptionsOf(validate({ bookId: "python-book", databaseUrl: "postgres://h/db", storage: s3 }), "/site", "/site/.c");
    expect(remote.store).toEqual({ databaseUrl: "postgres://h/db", dataDir: undefined, storage: s3 });
  });

  it.each([
    [{}, /"bookId" is required/],
    [{ bookId: "Bad Book" }, /"bookId" must be 3-64 lowercase/],
    [{ bookId: "python-book", previewUser: "__base__" }, /"previewUser" must be a user id/],
    [{ bookId: "python-book", overlayUsers: ["a1", "a1"] }, /duplicate value/],
    [{ bookId: "python-book", overlayUsers: ["u-1"], previewUser: "u-1" }, /both previewUser and in overlayUsers/],
    [{ bookId: "python-book", offline: "maybe" }, /"offline" must be one of \[fail, use-cache\]/],
    [{ bookId: "python-book", concurrency: 0 }, /"concurrency" must be greater than or equal to 1/],
    [{ bookId: "python-book", storage: { kind: "s3" } }, /"storage.bucket" is required/],
    [{ bookId: "python-book", databaseUrl: "mysql://x" }, /"databaseUrl" must be a postgres/],
    [{ bookId: "python-book", path: "docs" }, /"path" option is not supported/],
    [{ bookId: "python-book", bookID: "typo" }, /"bookID" is not allowed/],
    [{ bookId: "python-book", editUrl: 42 }, /"editUrl"/],
  ])("rejects %j", (options, message) => {
    expect(() => validate(options)).toThrow(message);
  });
});

describe("layout", () => {
  const files = [
    { path: "content/preface.md", hash: h("1"), size: 1 },
    { path: "content/01-P/README.md", hash: h("2"), size: 2 },
    { path: "content/01-P/01-C/01-a.md", hash: h("3"), size: 3 },
    { path: "content/01-P/01-C/01-a.summary.md", hash: h("4"), size: 4 },
    { path: "content/01-P/01-C/02-b.mdx", hash: h("5"), size: 5 },
    { path: "content/01-P/01-C/02-b.summary.md", hash: h("6"), size: 6 },
    { path: "content/01-P/01-C/09-orphan.summary.md", hash: h("7"), size: 7 },
    { path: "static/img/x.png", hash: h("8"), size: 8 },
  ];
  const views: ViewSpec[] = [
    { key: "main", prefix: "", files },
    { key: "user:al", user: "al", prefix: "u/al", files: files.map((f) => (f.path.endsWith("01-a.md") ? { ...f, hash: h("9") } : f)) },
  ];

  it("maps content into docs/ (and docs/u/<user>/), assets into static/, summaries nowhere", () => {
    expect(targetOf("content/01-P/01-C/01-a.md", "lesson", "")).toBe("docs/01-P/01-C/01-a.md");
    expect(targetOf("content/preface.md", "frontmatter", "u/al")).toBe("docs/u/al/preface.md");
    expect(targetOf("static/img/x.png", "asset", "")).toBe("static/img/x.png");
    expect(targetOf("content/01-P/01-C/01-a.summary.md", "summary", "")).toBeUndefined();
    expect(bookPathOfViewFile("u/al/01-P/01-C/01-a.md")).toEqual({ bookPath: "content/01-P/01-C/01-a.md", user: "al" });
    expect(bookPathOfViewFile("01-P/README.md")).toEqual({ bookPath: "content/01-P/README.md" });
  });

  it("desired state: pages per view, shared objects, summaries keyed by view and lesson, assets once", () => {
    const d = desiredState(views, { includeSummaries: true });
    expect(d.pages).toBe(8);
    expect([...d.targets.keys()].filter((t) => t.startsWith("static/"))).toEqual(["static/img/x.png"]);
    expect(d.targets.get("docs/u/al/01-P/01-C/01-a.md")!.hash).toBe(h("9"));
    expect(d.targets.get("docs/01-P/01-C/02-b.mdx")!.view).toBe("main");
    expect(d.summaries).toEqual(
      new Map([
        ["main|content/01-P/01-C/01-a.md", h("4")],
        ["main|content/01-P/01-C/02-b.mdx", h("6")],
        ["user:al|content/01-P/01-C/01-a.md", h("4")],
        ["user:al|content/01-P/01-C/02-b.mdx", h("6")],
      ]),
    );
    expect(d.objects.size).toBe(8); // 1,2,3,5,8 + summaries 4,6 + overlay 9; orphan summary 7 not fetched
    expect(desiredState(views, { includeSummaries: false }).objects.has(h("4"))).toBe(false);
  });

  it("finds a summary's lesson (.md or .mdx)", () => {
    const set = new Set(["content/a/b/01-x.mdx"]);
    expect(lessonOfSummary("content/a/b/01-x.summary.md", set)).toBe("content/a/b/01-x.mdx");
    expect(lessonOfSummary("content/a/b/02-y.summary.md", set)).toBeUndefined();
  });

  it.each([
    ["../../../static/img/a.png", "content/01-P/01-C/01-a.md", "/img/a.png"],
    ["../../static/img/a.png", "content/01-P/README.md", "/img/a.png"],
    ["./../../../static/slides/d.pdf#page=2", "content/01-P/01-C/01-a.md", "/slides/d.pdf#page=2"],
    ["/static/images/b.png?x=1", "content/preface.md", "/images/b.png?x=1"],
    ["static/img/c.png", "content/preface.md", undefined], // relative: content/static/…, not the book root
    ["/img/a.png", "content/preface.md", undefined],
    ["https://x.y/static/img/a.png", "content/preface.md", undefined],
    ["#heading", "content/preface.md", undefined],
    ["./02-b.md", "content/01-P/01-C/01-a.md", undefined],
  ])("rewrites asset URL %s in %s", (url, page, expected) => {
    expect(rewriteAssetUrl(url, page)).toBe(expected);
  });

  it("the remark plugin rewrites images, links and definitions in the tree", () => {
    const tree = {
      type: "root",
      children: [
        { type: "paragraph", children: [{ type: "image", url: "../../../static/img/a.png" }, { type: "link", url: "/static/slides/s.pdf", children: [] }] },
        { type: "definition", url: "https://example.com" },
      ],
    };
    expect(rewriteTree(tree, "content/01-P/01-C/01-a.md")).toBe(2);
    expect(JSON.stringify(tree)).toContain('"/img/a.png"');
    expect(JSON.stringify(tree)).toContain('"/slides/s.pdf"');
  });

  it("on an overlay page, relative links to other pages point at the base pages; base pages keep theirs", () => {
    expect(rewriteOverlayPageLink("./02-b.md#x", "content/01-P/01-C/01-a.md")).toBe("/01-P/01-C/02-b.md#x");
    expect(rewriteOverlayPageLink("../02-D/README.mdx", "content/01-P/01-C/01-a.md")).toBe("/01-P/02-D/README.mdx");
    expect(rewriteOverlayPageLink("/01-P/x.md", "content/01-P/01-C/01-a.md")).toBeUndefined(); // already from the docs root
    expect(rewriteOverlayPageLink("https://x.org/a.md", "content/a.md")).toBeUndefined();
    expect(rewriteOverlayPageLink("./img.png", "content/a.md")).toBeUndefined();
    expect(rewriteOverlayPageLink("../../outside.md", "content/a.md")).toBeUndefined();
    const tree = () => ({ type: "root", children: [{ type: "link", url: "./02-b.md", children: [] }] });
    const mine = tree();
    expect(rewriteTree(mine, "content/01-P/01-C/01-a.md", true)).toBe(1);
    expect(mine.children[0]!.url).toBe("/01-P/01-C/02-b.md");
    const shared = tree();
    expect(rewriteTree(shared, "content/01-P/01-C/01-a.md")).toBe(0);
  });
});

describe("cache plan", () => {
  const st = (ino: number, size = 3, mtimeMs = 1000): FileStat => ({ ino, size, mtimeMs });
  const desired = desiredState([{ key: "main", prefix: "", files: [
    { path: "content/01-P/01-C/01-a.md", hash: h("a"), size: 3 },
    { path: "content/01-P/01-C/02-b.md", hash: h("b"), size: 3 },
    { path: "content/01-P/01-C/03-c.md", hash: h("c"), size: 3 },
  ] }], { includeSummaries: true });
  const manifest = (over: Partial<CacheManifest> = {}): CacheManifest => ({
    version: 3, bookId: "b-1", manifestHash: h("m"), seq: 7, fingerprint: h("f"), viewsKey: "[]", views: ["main"], pages: 3, summaries: {}, writtenAt: "", base: {}, overlays: [],
    objects: { [h("a")]: st(1), [h("b")]: st(2) },
    targets: {
      "docs/01-P/01-C/01-a.md": { hash: h("a"), bookPath: "", stat: st(1) },
      "docs/01-P/01-C/02-b.md": { hash: h("b"), bookPath: "", stat: st(2) },
      "docs/01-P/01-C/09-gone.md": { hash: h("d"), bookPath: "", stat: st(4) },
    },
    ...over,
  });

  it("cold cache: fetch everything, write everything", () => {
    expect(planObjects(desired.objects, null, new Map())).toEqual({ trusted: [], verify: [], missing: [h("a"), h("b"), h("c")] });
    expect(planTargets(desired, null, new Map()).write).toHaveLength(3);
  });

  it("reuses verified objects, re-hashes changed or unknown ones, fetches only what is missing", () => {
    const stats = new Map([[h("a"), st(1)], [h("b"), st(2, 3, 2000)], [h("c"), null]]);
    expect(planObjects(desired.objects, manifest(), stats)).toEqual({ trusted: [h("a")], verify: [h("b")], missing: [h("c")] });
  });

  it("keeps untouched targets, rewrites changed or tampered ones, removes what the book no longer has", () => {
    const onDisk = new Map([
      ["docs/01-P/01-C/01-a.md", st(1)],
      ["docs/01-P/01-C/02-b.md", st(99)], // replaced behind our back
      ["docs/01-P/01-C/09-gone.md", st(4)],
      ["docs/stray.md", st(5)], // left by an interrupted load
    ]);
    expect(planTargets(desired, manifest(), onDisk)).toEqual({
      write: ["docs/01-P/01-C/02-b.md", "docs/01-P/01-C/03-c.md"],
      keep: ["docs/01-P/01-C/01-a.md"],
      remove: ["docs/01-P/01-C/09-gone.md", "docs/stray.md"],
    });
  });

  it("delta: only new or changed targets are written, gone ones removed, objects added and dropped, from the manifest alone", () => {
    expect(planDelta(desired, manifest())).toEqual({
      write: ["docs/01-P/01-C/03-c.md"],
      remove: ["docs/01-P/01-C/09-gone.md"],
      newObjects: new Map([[h("c"), 3]]),
      dropObjects: [],
    });
    const renamed = desiredState([{ key: "main", prefix: "", files: [
      { path: "content/01-P/01-C/01-a.md", hash: h("e"), size: 5 }, // edited
      { path: "content/01-P/01-C/05-b-renamed.md", hash: h("b"), size: 3 }, // renamed: same object, new target
    ] }], { includeSummaries: true });
    expect(planDelta(renamed, manifest())).toEqual({
      write: ["docs/01-P/01-C/01-a.md", "docs/01-P/01-C/05-b-renamed.md"],
      remove: ["docs/01-P/01-C/02-b.md", "docs/01-P/01-C/09-gone.md"],
      newObjects: new Map([[h("e"), 5]]),
      dropObjects: [h("a")],
    });
    const same = manifest({ targets: Object.fromEntries([...desired.targets].map(([t, w]) => [t, { hash: w.hash, bookPath: w.bookPath, stat: st(1) }])), objects: { [h("a")]: st(1), [h("b")]: st(2), [h("c")]: st(3) } });
    expect(planDelta(desired, same)).toEqual({ write: [], remove: [], newObjects: new Map(), dropObjects: [] });
  });

  it("property: the last load's manifest plus planDelta gives exactly the new desired targets and objects", () => {
    const page = fc.constantFrom("content/01-P/01-C/01-a.md", "content/01-P/01-C/02-b.md", "content/01-P/README.md", "content/preface.md", "static/img/x.png");
    const book = fc.dictionary(page, fc.constantFrom("1", "2", "3", "4").map(h), { maxKeys: 5 });
    fc.assert(
      fc.property(book, book, (before, after) => {
        const state = (files: Record<string, string>) =>
          desiredState([{ key: "main", prefix: "", files: Object.entries(files).map(([path, hash]) => ({ path, hash, size: 1 })) }], { includeSummaries: true });
        const d1 = state(before);
        const d2 = state(after);
        const previous = {
          targets: Object.fromEntries([...d1.targets].map(([t, w]) => [t, { hash: w.hash, bookPath: w.bookPath, stat: st(1) }])),
          objects: Object.fromEntries([...d1.objects.keys()].map((o) => [o, st(1)])),
        };
        const delta = planDelta(d2, previous);
        const targets = new Map(Object.entries(previous.targets).map(([t, e]) => [t, e.hash]));
        for (const t of delta.remove) targets.delete(t);
        for (const t of delta.write) targets.set(t, d2.targets.get(t)!.hash);
        expect(targets).toEqual(new Map([...d2.targets].map(([t, w]) => [t, w.hash])));
        const objects = new Set([...Object.keys(previous.objects), ...delta.newObjects.keys()].filter((o) => !delta.dropObjects.includes(o)));
        expect(objects).toEqual(new Set(d2.objects.keys()));
        // Nothing is written that was already right.
        for (const t of delta.write) expect(previous.targets[t]?.hash).not.toBe(d2.targets.get(t)!.hash);
      }),
    );
  });

  it("applying a plan to the cache's base list gives the journal's book (its manifest hash)", () => {
    const base = { "content/a.md": [h("1"), 1], "content/b.md": [h("2"), 2], "static/x.png": [h("3"), 3] } as Record<string, [string, number]>;
    const next = applyLoadPlan(base, [
      { path: "content/a.md", currentHash: h("4"), targetHash: h("1"), change: "modified", size: 4 },
      { path: "content/b.md", currentHash: null, targetHash: h("2"), change: "deleted", size: null },
      { path: "content/c.md", currentHash: h("5"), targetHash: null, change: "added", size: 5 },
    ]);
    expect([...next.values()].sort((x, y) => (x.path < y.path ? -1 : 1))).toEqual([
      { path: "content/a.md", hash: h("4"), size: 4 },
      { path: "content/c.md", hash: h("5"), size: 5 },
      { path: "static/x.png", hash: h("3"), size: 3 },
    ]);
    expect(manifestHash(next.values())).toBe(manifestHash([{ path: "content/a.md", hash: h("4") }, { path: "content/c.md", hash: h("5") }, { path: "static/x.png", hash: h("3") }]));
  });

  it("views: previewUser's overlays replace base files in the main view; an overlay user's view holds only their overlays", () => {
    const base = new Map([["content/a.md", { path: "content/a.md", hash: h("1"), size: 1 }], ["content/b.md", { path: "content/b.md", hash: h("2"), size: 2 }]]);
    const overlays = [
      { userId: "pv", path: "content/a.md", hash: h("3"), size: 3 },
      { userId: "al", path: "content/b.md", hash: h("4"), size: 4 },
    ];
    const [main, al] = viewsOf(base, overlays, { previewUser: "pv", overlayUsers: ["al"] });
    expect(main).toMatchObject({ key: "main", user: "pv", prefix: "" });
    expect(main!.files.map((f) => f.hash).sort()).toEqual([h("2"), h("3")].sort());
    expect(al).toEqual({ key: "user:al", user: "al", prefix: "u/al", files: [{ path: "content/b.md", hash: h("4"), size: 4 }] });
    expect(viewsOf(base, [], { overlayUsers: [] })[0]!.files).toHaveLength(2);
    // The base summary of a user's page comes along (it is metadata of the page), unless the user has their own.
    const withSummary = new Map([...base, ["content/b.summary.md", { path: "content/b.summary.md", hash: h("5"), size: 5 }]]);
    expect(viewsOf(withSummary, overlays, { overlayUsers: ["al"] })[1]!.files.map((f) => f.hash)).toEqual([h("4"), h("5")]);
    const ownSummary = [...overlays, { userId: "al", path: "content/b.summary.md", hash: h("6"), size: 6 }];
    expect(viewsOf(withSummary, ownSummary, { overlayUsers: ["al"] })[1]!.files.map((f) => f.hash).sort()).toEqual([h("4"), h("6")].sort());
  });

  it("the load fingerprint changes with the base hash and with overlays, not with their order", () => {
    const o1 = { userId: "al", path: "content/a.md", hash: h("1"), size: 1 };
    const o2 = { userId: "bo", path: "content/a.md", hash: h("2"), size: 1 };
    expect(loadFingerprint(h("m"), [o1, o2])).toBe(loadFingerprint(h("m"), [o2, o1]));
    expect(loadFingerprint(h("m"), [o1])).not.toBe(loadFingerprint(h("m"), [o1, o2]));
    expect(loadFingerprint(h("m"), [o1])).not.toBe(loadFingerprint(h("m"), [{ ...o1, hash: h("3") }]));
    expect(loadFingerprint(h("m"), [])).not.toBe(loadFingerprint(h("n"), []));
  });

  it("a full cache check is asked for by the verifyCache option or PFS_VERIFY_CACHE, never by argv", () => {
    expect(verifyCacheOf(false, {})).toBe(false);
    expect(verifyCacheOf(true, {})).toBe(true);
    expect(verifyCacheOf(false, { PFS_VERIFY_CACHE: "1" })).toBe(true);
    expect(verifyCacheOf(false, { PFS_VERIFY_CACHE: "yes" })).toBe(true);
    expect(verifyCacheOf(false, { PFS_VERIFY_CACHE: "0" })).toBe(false);
    const before = process.env.PFS_VERIFY_CACHE;
    try {
      process.env.PFS_VERIFY_CACHE = "1";
      expect(syncOptionsOf(validate({ bookId: "python-book" }), "/site", "/site/.c").verifyCache).toBe(true);
      delete process.env.PFS_VERIFY_CACHE;
      expect(syncOptionsOf(validate({ bookId: "python-book" }), "/site", "/site/.c").verifyCache).toBe(false);
    } finally {
      if (before === undefined) delete process.env.PFS_VERIFY_CACHE;
      else process.env.PFS_VERIFY_CACHE = before;
    }
  });
});

describe("sidebar", () => {
  const doc = (id: string, sourceDirName: string, extra: Record<string, unknown> = {}) => ({ id, sourceDirName, frontMatter: {}, source: `@site/${id}.md`, title: id, ...extra });
  const docs = [doc("preface", "."), doc("P/a", "01-P"), doc("u/al/preface", "u/al"), doc("u/al/P/a", "u/al/01-P"), doc("appendix", ".", { sidebarPosition: 9 })];

  it("one sidebar, the book's: overlay users' pages are shown with it", () => {
    expect(sidebarsDefinition()).toEqual({ book: [{ type: "autogenerated", dirName: "." }] });
  });

  it("the main sidebar hides user views; unnumbered top-level pages come first", async () => {
    const seen: string[][] = [];
    const generator = wrapSidebarItemsGenerator(async (args) => {
      seen.push(args.docs.map((d) => d.id));
      return [{ type: "category", label: "P", items: [] }, { type: "doc", id: "appendix" }, { type: "doc", id: "preface" }] as never;
    });
    const items = await generator({ item: { type: "autogenerated", dirName: "." }, docs } as never);
    expect(seen[0]).toEqual(["preface", "P/a", "appendix"]);
    expect(items.map((i) => (i as { id?: string; label?: string }).id ?? (i as { label: string }).label)).toEqual(["preface", "P", "appendix"]);
  });

  it("front matter first works inside a user view too", () => {
    const items = [{ type: "category" }, { type: "doc", id: "u/al/preface" }];
    expect(frontMatterFirst(items, docs, "u/al")).toEqual([{ type: "doc", id: "u/al/preface" }, { type: "category" }]);
  });
});

describe("summaries and report", () => {
  it("attaches summary text to the lesson's doc metadata, per view, never overriding the author", () => {
    const docs = [
      { source: "@site/.panaversity-cache/docs/01-P/01-C/01-a.md", sourceDirName: "01-P/01-C", frontMatter: {} as Record<string, unknown> },
      { source: "@site/.panaversity-cache/docs/u/al/01-P/01-C/01-a.md", sourceDirName: "u/al/01-P/01-C", frontMatter: {} as Record<string, unknown> },
      { source: "@site/.panaversity-cache/docs/01-P/01-C/02-b.md", sourceDirName: "01-P/01-C", frontMatter: { summary: "author's" } as Record<string, unknown> },
    ];
    expect(summaryKeyOfDoc(docs[1]!)).toBe("user:al|content/01-P/01-C/01-a.md");
    const n = attachSummaries(docs, new Map([
      ["main|content/01-P/01-C/01-a.md", "base summary <not mdx"],
      ["user:al|content/01-P/01-C/01-a.md", "al summary"],
      ["main|content/01-P/01-C/02-b.md", "ignored"],
    ]));
    expect(n).toBe(2);
    expect(docs.map((d) => d.frontMatter.summary)).toEqual(["base summary <not mdx", "al summary", "author's"]);
  });

  it("formats the one log line per load", () => {
    const stats = { bookId: "b-1", manifestHash: h("0"), pages: 479, fetched: 3, reused: 700, written: 3, deleted: 1, bytes: 4096, ms: 812, views: ["main"], offline: false, repaired: 0, mode: "delta" as const, verified: false, journal: { queries: 4, rows: 9 } };
    expect(formatLoadLine(stats)).toBe(
      "[panaversity-fs] b-1: 479 pages, 3 fetched, 700 reused, 1 deleted, 3 written, 4.0 KB downloaded in 812 ms (delta; 4 journal queries, 9 rows)",
    );
    expect(formatLoadLine({ ...stats, mode: "snapshot", verified: true })).toContain("(snapshot, cache verified; 4 journal queries, 9 rows)");
  });
});

describe("overlay routes (a user's pages inside the one book)", () => {
  const link = (permalink: string, title = permalink) => ({ title, permalink });
  const doc = (id: string, permalink: string, extra: Record<string, unknown> = {}) => ({ id, title: `T ${id}`, permalink, slug: permalink.slice(5), ...extra });
  const base = [
    doc("preface", "/docs/preface", { sidebar: "book", next: link("/docs/P/a", "A") }),
    doc("P/a", "/docs/P/a", { sidebar: "book", previous: link("/docs/preface", "Preface"), next: link("/docs/P/b", "B") }),
    doc("P/b", "/docs/P/b", { sidebar: "book", previous: link("/docs/P/a", "A") }),
  ];
  const overlays = [
    doc("u/al/P/a", "/docs/u/al/P/a"),
    doc("u/al/P/b", "/docs/custom-slug"), // a slug front matter must not move it off the user's routes
    doc("u/bo/P/b", "/docs/u/bo/P/b"),
    doc("u/bo/new-page", "/docs/u/bo/new-page"), // no base page: keeps its own route, no map entry
  ];

  it("maps only overlaid pages; user pages get the base slug, the book's sidebar and the base neighbours", () => {
    const { docs, routes } = personalizeDocs([...base, ...overlays], "/docs");
    expect(routes).toEqual({ al: { "/docs/P/a": "/docs/u/al/P/a", "/docs/P/b": "/docs/u/al/P/b" }, bo: { "/docs/P/b": "/docs/u/bo/P/b" } });
    expect(docs.slice(0, 3)).toEqual(base); // base pages untouched
    const byId = new Map(docs.map((d) => [d.id, d]));
    expect(byId.get("u/al/P/a")).toMatchObject({ permalink: "/docs/u/al/P/a", slug: "/u/al/P/a", sidebar: "book", previous: link("/docs/preface", "Preface"), next: link("/docs/u/al/P/b", "T u/al/P/b") });
    expect(byId.get("u/al/P/b")).toMatchObject({ permalink: "/docs/u/al/P/b", sidebar: "book", previous: link("/docs/u/al/P/a", "T u/al/P/a") });
    expect(byId.get("u/bo/P/b")).toMatchObject({ previous: link("/docs/P/a", "A"), next: undefined });
    expect(byId.get("u/bo/new-page")).toEqual(overlays[3]);
  });

  it("property: the map has one entry per overlaid base page, and every user route is below /u/<user>/", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom("al", "bo", "cy"), fc.constantFrom("preface", "P/a", "P/b", "Q/c")), { maxLength: 12 }), (pairs) => {
        const ids = [...new Set(pairs.map(([u, p]) => `u/${u}/${p}`))];
        const { docs, routes } = personalizeDocs([...base, ...ids.map((id) => doc(id, `/docs/${id}`))], "/");
        const expected = ids.filter((id) => base.some((b) => id.endsWith(`/${b.id}`))).length;
        expect(Object.values(routes).reduce((n, r) => n + Object.keys(r).length, 0)).toBe(expected);
        for (const [user, r] of Object.entries(routes)) for (const [from, to] of Object.entries(r)) expect(to).toBe(`/u/${user}${from}`);
        expect(docs).toHaveLength(base.length + ids.length);
      }),
    );
  });

  it("user routes keep the base slug below the version path, with or without a trailing slash", () => {
    expect(userRoute("/docs/P/", "/docs", "al")).toBe("/docs/u/al/P/");
    expect(userRoute("/docs", "/docs/", "al")).toBe("/docs/u/al");
    expect(userRoute("/a/b", "/", "al")).toBe("/u/al/a/b");
    expect(userRoute("/other/x", "/docs", "al")).toBeUndefined();
    expect(overlayDocOf("u/al/P/a")).toEqual({ user: "al", baseId: "P/a" });
    expect(overlayDocOf("u/al")).toBeUndefined();
    expect(overlayDocOf("P/a")).toBeUndefined();
  });

  it("the reader: entered by a user route or ?reader=X, kept elsewhere, left by ?reader=", () => {
    const maps = { al: { "/docs/P/a": "/docs/u/al/P/a" }, bo: { "/docs/P/": "/docs/u/bo/P/" } };
    expect(readerAfter(null, "/docs/u/al/P/a", "", maps)).toBe("al");
    expect(readerAfter("al", "/docs/u/bo/P", "", maps)).toBe("bo");
    expect(readerAfter("al", "/docs/P/b", "", maps)).toBe("al");
    expect(readerAfter(null, "/docs/P/b", "?reader=cy", maps)).toBe("cy");
    expect(readerAfter("al", "/docs/u/al/P/a", "?reader=", maps)).toBeNull();
    expect(personalRoute("/docs/P/a", "al", maps)).toBe("/docs/u/al/P/a");
    expect(personalRoute("/docs/P/a/", "al", maps)).toBe("/docs/u/al/P/a");
    expect(personalRoute("/docs/P", "bo", maps)).toBe("/docs/u/bo/P/");
    expect(personalRoute("/docs/P/a", "bo", maps)).toBeUndefined();
    expect(personalRoute("/docs/P/a", null, maps)).toBeUndefined();
    expect(personalRoute("/docs/P/a", "cy", maps)).toBeUndefined();
    expect(baseRouteOf("/docs/u/al/P/a/", "al", maps)).toBe("/docs/P/a");
    expect(baseRouteOf("/docs/u/al/P/a", "bo", maps)).toBeUndefined();
    const gd = { "docusaurus-plugin-content-docs": { default: { path: "/docs", [OVERLAY_ROUTES_KEY]: maps } }, other: { default: {} } };
    expect(routeMapsOf(gd, OVERLAY_ROUTES_KEY)).toEqual(maps);
  });
});
