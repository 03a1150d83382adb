/**
 * The plugin's lifecycle against a real store and Docusaurus' real context loader, with a fake actions
 * object (no webpack): routes, global data, summaries, once-per-process loading, the dev-server poller,
 * and the offline behaviour. Unreachable journal/storage are real (a closed port, a storage path that
 * is not a folder), not mocks.
 */
import { existsSync } from "node:fs";
import { readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import fc from "fast-check";
import { normalizePluginOptions } from "@docusaurus/utils-validation";
// Docusaurus' own context loader (what `docusaurus build` passes to plugin constructors).
import { loadContext } from "@docusaurus/core/lib/server/site.js";
import type { LoadContext, PluginContentLoadedActions, RouteConfig } from "@docusaurus/types";
import pluginPanaversityFs, { validateOptions, type Content } from "../src/docusaurus/index.js";
import { syncBook, currentFingerprint, type SyncOptions } from "../src/docusaurus/sync.js";
import { startPoller, stopPoller, serialized, lastFingerprint } from "../src/docusaurus/shared.js";
import { openStore, sha256Hex, Store } from "../src/index.js";
import { makeBackend, type BackendInstance } from "./support/backends.js";
import { AGENT, BOOK_DIR, listFiles, makeSite, seedBook } from "./fixtures/docusaurus/harness.js";

const BOOK = "fixture-book";
const HELLO = "content/01-Basics/01-Start/01-hello.md";
const ALICE_HELLO = "# Hello Alice\n\nHELLO-ALICE-OVERLAY.\n";

function fakeActions() {
  const routes: RouteConfig[] = [];
  const data = new Map<string, string>();
  let globalData: unknown;
  const actions: PluginContentLoadedActions = {
    addRoute: (r) => void routes.push(r),
    createData: async (name, d) => {
      data.set(name, typeof d === "string" ? d : JSON.stringify(d));
      return `/generated/${name}`;
    },
    setGlobalData: (d) => void (globalData = d),
  };
  const paths = () => {
    const out: string[] = [];
    const walk = (rs: RouteConfig[]) => rs.forEach((r) => (r.routes ? walk(r.routes) : out.push(r.path)));
    walk(routes);
    return out.sort();
  };
  return { actions, routes, data, paths, globalData: () => globalData as Record<string, any> };
}

const validate = (options: unknown) => validateOptions({ validate: normalizePluginOptions as never, options: options as never });

describe("plugin lifecycle (PGlite + local storage, fake actions)", () => {
  let backend: BackendInstance;
  let site: Awaited<ReturnType<typeof makeSite>>;
  let context: LoadContext;

  beforeAll(async () => {
    backend = await makeBackend({ name: "pglite+local", db: "pglite", storage: "local" });
    const store = await openStore(backend.options);
    await seedBook(store, BOOK);
    await store.write({ bookId: BOOK, path: HELLO, userId: "alice", content: ALICE_HELLO, agentId: AGENT });
    await store.close();
    site = await makeSite();
    context = await loadContext({ siteDir: site.siteDir });
  });

  afterAll(async () => {
    await site?.cleanup();
    await backend?.cleanup();
  });

  it("registers as the docs plugin, syncs the store, creates the routes, global data and summaries", async () => {
    const options = validate({ bookId: BOOK, dataDir: backend.dir, storage: backend.options.storage, overlayUsers: ["alice"] });
    const plugin = await pluginPanaversityFs(context, options);
    expect(plugin.name).toBe("docusaurus-plugin-content-docs");
    expect(options.id).toBe("default");
    const cacheDir = join(site.siteDir, ".panaversity-cache");
    expect(context.siteConfig.staticDirectories).toContain(join(cacheDir, "static"));

    const content = (await plugin.loadContent!()) as Content;
    // A user's view holds only that user's overlays (Alice has one page of her own).
    expect(content.sync.stats).toMatchObject({ pages: 12, fetched: 14, reused: 0, views: ["main", "user:alice"], mode: "snapshot", verified: true });
    let bookBytes = Buffer.byteLength(ALICE_HELLO);
    for (const f of await listFiles(BOOK_DIR)) bookBytes += (await stat(join(BOOK_DIR, f))).size;
    expect(content.sync.stats.bytes).toBe(bookBytes);
    // Once per process: a reload and a second plugin instance (another locale) share the same load.
    expect(((await plugin.loadContent!()) as Content).sync).toBe(content.sync);
    const plugin2 = await pluginPanaversityFs(context, options);
    expect(((await plugin2.loadContent!()) as Content).sync).toBe(content.sync);

    const fake = fakeActions();
    await plugin.contentLoaded!({ content, actions: fake.actions, allContent: {} } as never);
    const paths = fake.paths();
    expect(paths).toContain("/docs/Basics/Start/hello");
    expect(paths).toContain("/docs/u/alice/Basics/Start/hello");
    expect(paths).toContain("/docs/Basics/"); // README.md is the part's page
    expect(paths.filter((p) => p.includes("summary"))).toEqual([]);
    expect(paths.filter((p) => p.startsWith("/docs/u/alice/"))).toEqual(["/docs/u/alice/Basics/Start/hello"]);

    const gd = fake.globalData();
    expect(gd.path).toBe("/docs");
    expect(Object.keys(gd.versions[0].sidebars)).toEqual(["book"]);
    // The route map: only the pages Alice has her own version of.
    expect(gd.panaversityOverlayRoutes).toEqual({ alice: { "/docs/Basics/Start/hello": "/docs/u/alice/Basics/Start/hello" } });
    expect(content.overlayRoutes).toEqual(gd.panaversityOverlayRoutes);
    // …read in the browser by the client module the plugin adds when there are overlay users.
    const clientModules = plugin.getClientModules!();
    expect(clientModules).toHaveLength(1);
    expect(existsSync(clientModules[0]!)).toBe(true);
    const docsData = [...fake.data.values()].map((s) => JSON.parse(s)).filter((d) => d.permalink);
    const hello = docsData.find((d) => d.permalink === "/docs/Basics/Start/hello");
    const aliceHello = docsData.find((d) => d.permalink === "/docs/u/alice/Basics/Start/hello");
    expect(hello.frontMatter.summary).toContain("SUMMARY-HELLO-TEXT");
    expect(hello.sidebar).toBe("book");
    expect(hello.previous.permalink).toBe("/docs/Basics/Start/");
    expect(aliceHello.title).toBe("Hello Alice");
    // Her page is shown with the whole book's sidebar and the base page's neighbours.
    expect(aliceHello.sidebar).toBe("book");
    expect(aliceHello.previous).toEqual(hello.previous);
    expect(aliceHello.next).toEqual(hello.next);
    expect(aliceHello.next.permalink).toBe("/docs/Basics/Start/variables");
    expect(aliceHello.frontMatter.summary).toContain("SUMMARY-HELLO-TEXT");
    // The view files are hard links to the cached objects: a page is stored once.
    const a = await stat(join(cacheDir, "docs/01-Basics/01-Start/03-loops.md"));
    const manifest = JSON.parse(await readFile(join(cacheDir, "manifest-files.json"), "utf8"));
    const loopsHash = manifest.targets["docs/01-Basics/01-Start/03-loops.md"].hash;
    expect((await stat(join(cacheDir, "objects", loopsHash.slice(0, 2), loopsHash))).ino).toBe(a.ino);

    // Only the reload trigger is watched, never the view folder the sync writes.
    expect(plugin.getPathsToWatch!()).toEqual([join(cacheDir, "reload-trigger.json")]);
    const report = JSON.parse(await readFile(join(cacheDir, "report.json"), "utf8"));
    expect(report).toMatchObject({ bookId: BOOK, pages: 12, fetched: 14, mode: "snapshot", journal: { queries: expect.any(Number), rows: expect.any(Number) } });
  });

  describe("offline", () => {
    const cacheDir = () => join(site.siteDir, "offline-cache");
    const opts = (over: Partial<SyncOptions> = {}): SyncOptions => ({
      bookId: BOOK,
      cacheDir: cacheDir(),
      store: { dataDir: backend.dir, storage: backend.options.storage },
      overlayUsers: [],
      includeSummaries: true,
      concurrency: 4,
      offline: "fail",
      fetchAttempts: 2,
      ...over,
    });
    const unreachableJournal = { databaseUrl: "postgres://postgres@127.0.0.1:1/unreachable" };

    it("unreachable journal: fails naming it, or builds from a complete cache with a loud warning", async () => {
      await syncBook(opts());
      const journalDown = { ...opts(), store: { ...unreachableJournal, storage: backend.options.storage } };
      await expect(syncBook(journalDown)).rejects.toThrow(/cannot load book "fixture-book".*journal.*offline: "use-cache"/s);
      const warn = vi.fn();
      const r = await syncBook({ ...journalDown, offline: "use-cache", warn });
      expect(r.stats).toMatchObject({ offline: true, fetched: 0, pages: 11 });
      expect(warn.mock.calls[0]![0]).toMatch(/OFFLINE BUILD: the journal is unreachable/);
      expect(r.summaries.get(`main|${HELLO}`)).toContain("SUMMARY-HELLO-TEXT");
    });

    it("a corrupt cache is never used silently: refused offline, found and repaired online by verifyCache", async () => {
      const file = join(cacheDir(), "docs/01-Basics/01-Start/03-loops.md");
      await writeFile(file, "tampered\n");
      const journalDown = { ...opts(), store: { ...unreachableJournal, storage: backend.options.storage }, offline: "use-cache" as const };
      await expect(syncBook(journalDown)).rejects.toThrow(/local cache cannot be used: docs\/01-Basics\/01-Start\/03-loops.md .* does not match its hash/);
      // The documented trade-off: a delta load stats only what the plan touches, so a hand edit survives it…
      const blind = await syncBook(opts());
      expect(blind.stats).toMatchObject({ mode: "delta", verified: false, fetched: 0, written: 0, repaired: 0 });
      expect(await readFile(file, "utf8")).toBe("tampered\n");
      // …until a full check (verifyCache, PFS_VERIFY_CACHE=1) finds it by its changed stat and hash.
      const warn = vi.fn();
      const r = await syncBook(opts({ warn, verifyCache: true }));
      expect(r.stats).toMatchObject({ mode: "delta", verified: true, fetched: 1, repaired: 1, written: 1 });
      expect(warn.mock.calls[0]![0]).toMatch(/is corrupt; fetching it again/);
      expect(await readFile(file, "utf8")).toContain("LOOPS-BASE-TEXT");
    });

    it("unreachable storage while a changed page must be fetched: fails naming the page, or uses the cache", async () => {
      const store = await openStore(backend.options);
      const cur = await store.read({ bookId: BOOK, path: "content/01-Basics/02-Data/02-dicts.md" });
      await store.write({ bookId: BOOK, path: cur.path, content: "# Dicts\n\nDICTS-NEW.\n", expectedHash: cur.hash, agentId: AGENT });
      await store.close();
      const objectsFile = join(backend.dir, "objects-as-file");
      await writeFile(objectsFile, "not a folder");
      const storageDown = opts({ store: { dataDir: backend.dir, storage: { kind: "local", dir: objectsFile } } });
      await expect(syncBook(storageDown)).rejects.toThrow(/STORAGE_UNAVAILABLE|could not stat.*02-dicts\.md/s);
      await expect(syncBook(storageDown)).rejects.toThrow(/while fetching content\/01-Basics\/02-Data\/02-dicts\.md/);
      const warn = vi.fn();
      const r = await syncBook({ ...storageDown, offline: "use-cache", warn });
      expect(r.stats.offline).toBe(true);
      expect(warn.mock.calls[0]![0]).toMatch(/the storage is unreachable/);
      expect(await readFile(join(cacheDir(), "docs/01-Basics/02-Data/02-dicts.md"), "utf8")).toContain("DICTS-BASE-TEXT");
    });

    it("no cache at all: use-cache still fails, naming what was unreachable", async () => {
      const empty = opts({ cacheDir: join(site.siteDir, "never-built"), store: { ...unreachableJournal, storage: backend.options.storage }, offline: "use-cache" });
      await expect(syncBook(empty)).rejects.toThrow(/the journal is unreachable .* there is no complete cache/s);
    });
  });
});

describe("dev server polling (PostgreSQL + local storage)", () => {
  let backend: BackendInstance;
  let site: Awaited<ReturnType<typeof makeSite>>;

  beforeAll(async () => {
    backend = await makeBackend({ name: "postgres+local", db: "postgres", storage: "local" });
    const store = await openStore(backend.options);
    await seedBook(store, BOOK);
    await store.close();
    site = await makeSite();
  });

  afterAll(async () => {
    await site?.cleanup();
    await backend?.cleanup();
  });

  it("reloads only when the store changed, and then rewrites only the changed file", async () => {
    const context = await loadContext({ siteDir: site.siteDir });
    const options = validate({ bookId: BOOK, databaseUrl: backend.databaseUrl, storage: backend.options.storage, cacheDir: "poll-cache" });
    const plugin = await pluginPanaversityFs(context, options);
    const cacheDir = join(site.siteDir, "poll-cache");
    const first = (await plugin.loadContent!()) as Content;
    const loops = join(cacheDir, "docs/01-Basics/01-Start/03-loops.md");
    const loopsBefore = await stat(loops);

    const syncOpts: SyncOptions = { bookId: BOOK, cacheDir, store: backend.options, overlayUsers: [], includeSummaries: true, concurrency: 4, offline: "fail", fetchAttempts: 2 };
    let polls = 0;
    const changes: string[] = [];
    startPoller(cacheDir, {
      intervalMs: 20,
      poll: async () => {
        polls++;
        return currentFingerprint(syncOpts);
      },
      onChange: async (fp) => void changes.push(fp),
      onError: (err) => {
        throw err;
      },
    });
    try {
      await vi.waitFor(() => expect(polls).toBeGreaterThanOrEqual(3), { timeout: 60_000, interval: 20 });
      expect(changes).toEqual([]); // nothing changed: no reload
      const store = await openStore(backend.options);
      const cur = await store.read({ bookId: BOOK, path: HELLO });
      await store.write({ bookId: BOOK, path: HELLO, content: "# Hello\n\nHELLO-LIVE-EDIT.\n", expectedHash: cur.hash, agentId: AGENT });
      await store.close();
      await vi.waitFor(() => expect(changes).toHaveLength(1), { timeout: 60_000, interval: 20 });
      expect(lastFingerprint(cacheDir)).toBe(changes[0]);
      // the reload Docusaurus would trigger: a new load, one object, one file
      const second = (await plugin.loadContent!()) as Content;
      expect(second.sync).not.toBe(first.sync);
      expect(second.sync.stats).toMatchObject({ fetched: 1, written: 1, deleted: 0 });
      expect(await readFile(join(cacheDir, "docs/01-Basics/01-Start/01-hello.md"), "utf8")).toContain("HELLO-LIVE-EDIT");
      const loopsAfter = await stat(loops);
      expect([loopsAfter.ino, loopsAfter.mtimeMs]).toEqual([loopsBefore.ino, loopsBefore.mtimeMs]); // untouched
      const pollsNow = polls;
      await vi.waitFor(() => expect(polls).toBeGreaterThanOrEqual(pollsNow + 3), { timeout: 60_000, interval: 20 });
      expect(changes).toHaveLength(1); // and no reload loop afterwards
    } finally {
      stopPoller(cacheDir);
      await serialized(cacheDir, async () => {});
    }
  });
});

describe("delta loads (PostgreSQL + local storage)", () => {
  let backend: BackendInstance;
  let store: Store;
  let site: Awaited<ReturnType<typeof makeSite>>;
  const LISTS = "content/01-Basics/02-Data/01-lists.md";
  const ARRAYS = "content/01-Basics/02-Data/03-arrays.md";
  const cacheDir = () => join(site.siteDir, "delta-cache");
  const opts = (over: Partial<SyncOptions> = {}): SyncOptions => ({
    bookId: BOOK,
    cacheDir: cacheDir(),
    store: backend.options,
    overlayUsers: ["bob"],
    includeSummaries: true,
    concurrency: 4,
    offline: "fail",
    fetchAttempts: 2,
    ...over,
  });
  const edit = async (path: string, text: string, userId?: string) => {
    const cur = await store.read({ bookId: BOOK, path, userId }).catch(() => undefined);
    const own = cur && (userId === undefined || cur.source === "overlay") ? cur.hash : undefined;
    await store.write({ bookId: BOOK, path, userId, content: text, expectedHash: own, agentId: AGENT });
  };
  const cached = (target: string) => readFile(join(cacheDir(), target), "utf8");
  const gone = (target: string) => stat(join(cacheDir(), target)).then(() => false, () => true);

  beforeAll(async () => {
    backend = await makeBackend({ name: "postgres+local", db: "postgres", storage: "local" });
    store = await openStore(backend.options);
    await seedBook(store, BOOK);
    site = await makeSite();
  });

  afterAll(async () => {
    vi.restoreAllMocks();
    await store?.close();
    await site?.cleanup();
    await backend?.cleanup();
  });

  it("cold: the whole list once; unchanged: one plan of two rows, no snapshot, no cache file written", async () => {
    const planLoad = vi.spyOn(Store.prototype, "planLoad");
    const snapshot = vi.spyOn(Store.prototype, "snapshot");
    const cold = await syncBook(opts());
    expect(cold.stats).toMatchObject({ mode: "snapshot", verified: true, fetched: 13, pages: 11 });
    expect(cold.stats.journal.rows).toBeGreaterThanOrEqual(13);
    const manifestBefore = await stat(join(cacheDir(), "manifest.json"));
    const warm = await syncBook(opts());
    expect(warm.stats).toMatchObject({ mode: "delta", verified: false, fetched: 0, written: 0, deleted: 0, pages: 11, reused: 13 });
    // The book's head and the remembered manifest: no file rows, whatever the book's size.
    expect(warm.stats.journal).toEqual({ queries: 4, rows: 2 });
    expect(snapshot).not.toHaveBeenCalled();
    expect(planLoad).toHaveBeenCalledTimes(2);
    expect(warm.fingerprint).toBe(cold.fingerprint);
    expect(warm.summaries).toEqual(cold.summaries);
    expect((await stat(join(cacheDir(), "manifest.json"))).mtimeMs).toBe(manifestBefore.mtimeMs);
    planLoad.mockRestore();
    snapshot.mockRestore();
  });

  it("3 changed pages: 3 objects fetched through the plan, 3 files written, the rest untouched", async () => {
    const loops = join(cacheDir(), "docs/01-Basics/01-Start/03-loops.md");
    const loopsBefore = await stat(loops);
    const changed = [HELLO, "content/01-Basics/02-Data/02-dicts.md", "content/02-Advanced/01-Functions/01-defs.md"];
    for (const [i, path] of changed.entries()) await edit(path, `# Page ${i}\n\nDELTA-EDIT-${i}.\n`);
    const r = await syncBook(opts());
    expect(r.stats).toMatchObject({ mode: "delta", verified: false, fetched: 3, written: 3, deleted: 0, repaired: 0 });
    // head + manifest + 3 log entries + 3 rows + the manifest hash: grows with the change, not the book.
    expect(r.stats.journal.rows).toBeLessThanOrEqual(9);
    expect(await cached("docs/01-Basics/01-Start/01-hello.md")).toContain("DELTA-EDIT-0");
    expect(await cached("docs/02-Advanced/01-Functions/01-defs.md")).toContain("DELTA-EDIT-2");
    const loopsAfter = await stat(loops);
    expect([loopsAfter.ino, loopsAfter.mtimeMs]).toEqual([loopsBefore.ino, loopsBefore.mtimeMs]);
    expect((await syncBook(opts())).stats).toMatchObject({ mode: "delta", fetched: 0, written: 0 });
  });

  it("a delete and a rename: the files go, the renamed page is written from the object already cached", async () => {
    const lists = await store.read({ bookId: BOOK, path: LISTS });
    await store.write({ bookId: BOOK, path: ARRAYS, content: lists.content, agentId: AGENT });
    await store.delete({ bookId: BOOK, path: LISTS, agentId: AGENT });
    await store.delete({ bookId: BOOK, path: "content/preface.md", agentId: AGENT });
    const r = await syncBook(opts());
    expect(r.stats).toMatchObject({ mode: "delta", fetched: 0, written: 1, deleted: 2, pages: 10 });
    expect(await gone("docs/01-Basics/02-Data/01-lists.md")).toBe(true);
    expect(await gone("docs/preface.md")).toBe(true);
    expect(await cached("docs/01-Basics/02-Data/03-arrays.md")).toBe(lists.content.toString("utf8"));
    const manifest = JSON.parse(await cached("manifest-files.json"));
    expect(Object.keys(manifest.base)).not.toContain(LISTS);
    expect(manifest.base[ARRAYS][0]).toBe(lists.hash);
  });

  it("an overlay user's new, changed and deleted overlays are picked up", async () => {
    const target = "docs/u/bob/01-Basics/01-Start/03-loops.md";
    await edit("content/01-Basics/01-Start/03-loops.md", "# Loops\n\nBOB-1.\n", "bob");
    let r = await syncBook(opts());
    expect(r.stats).toMatchObject({ mode: "delta", fetched: 1, written: 1, deleted: 0, pages: 11 });
    expect(r.stats.journal.rows).toBe(3); // head, manifest, Bob's one overlay
    expect(await cached(target)).toContain("BOB-1");
    await edit("content/01-Basics/01-Start/03-loops.md", "# Loops\n\nBOB-2.\n", "bob");
    r = await syncBook(opts());
    expect(r.stats).toMatchObject({ fetched: 1, written: 1, deleted: 0 });
    expect(await cached(target)).toContain("BOB-2");
    await store.delete({ bookId: BOOK, path: "content/01-Basics/01-Start/03-loops.md", userId: "bob", agentId: AGENT });
    r = await syncBook(opts());
    expect(r.stats).toMatchObject({ fetched: 0, written: 0, deleted: 1, pages: 10 });
    expect(await gone(target)).toBe(true);
    expect(await cached("docs/01-Basics/01-Start/03-loops.md")).toContain("LOOPS-BASE-TEXT"); // the base is untouched
  });

  it("an unknown manifest hash (a reset journal, another store) falls back to the whole list with a warning", async () => {
    const file = join(cacheDir(), "manifest.json");
    const manifest = JSON.parse(await readFile(file, "utf8"));
    await writeFile(file, JSON.stringify({ ...manifest, manifestHash: sha256Hex("never built") }));
    const warn = vi.fn();
    const r = await syncBook(opts({ warn }));
    expect(warn.mock.calls[0]![0]).toMatch(/is not known for book fixture-book.*Loading the whole book/);
    expect(r.stats).toMatchObject({ mode: "snapshot", verified: true, fetched: 0, written: 0, deleted: 0 });
    expect(r.stats.journal.rows).toBeGreaterThanOrEqual(12);
    expect((await syncBook(opts())).stats).toMatchObject({ mode: "delta", verified: false });
  });

  it("an interrupted load (its marker left behind) is finished by a full check", async () => {
    await writeFile(join(cacheDir(), "load-in-progress"), "x");
    await rm(join(cacheDir(), "docs/01-Basics/README.md"));
    const r = await syncBook(opts());
    expect(r.stats).toMatchObject({ mode: "delta", verified: true, written: 1, fetched: 0 });
    expect(await gone("load-in-progress")).toBe(true);
    expect(await gone("docs/01-Basics/README.md")).toBe(false);
  });

  it("the manifest's head names its file lists and summary texts: lists or texts of another load are never used", async () => {
    await syncBook(opts());
    const warm = await syncBook(opts());
    expect(warm.stats).toMatchObject({ mode: "delta", verified: false, written: 0 });
    expect(warm.summaries.size).toBeGreaterThan(0);
    // Lists that are not the ones the head was written with (here: one page left out) read as no manifest.
    const listsFile = join(cacheDir(), "manifest-files.json");
    const lists = JSON.parse(await readFile(listsFile, "utf8"));
    delete lists.targets["docs/01-Basics/README.md"];
    await writeFile(listsFile, JSON.stringify(lists));
    await edit(HELLO, "# Hello\n\nHEAD-CHECK.\n");
    const checked = await syncBook(opts());
    expect(checked.stats).toMatchObject({ mode: "snapshot", verified: true, fetched: 1 }); // every view file rewritten: none is known
    expect(JSON.parse(await readFile(listsFile, "utf8")).targets["docs/01-Basics/README.md"]).toBeDefined();
    // Summary texts that are not the head's: a warning, then a full check that reads them from the objects again.
    const summariesFile = join(cacheDir(), "summaries.json");
    await writeFile(summariesFile, JSON.stringify(Object.fromEntries([...checked.summaries.keys()].map((k) => [k, "TAMPERED"]))));
    const warn = vi.fn();
    const again = await syncBook(opts({ warn }));
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/cached summaries are unreadable/));
    expect(again.stats).toMatchObject({ verified: true, fetched: 0, written: 0 });
    expect(again.summaries).toEqual(checked.summaries);
    expect((await syncBook(opts())).summaries).toEqual(checked.summaries);
  });

  it("property: after any sequence of base and overlay edits, a delta load leaves the cache exactly as the journal says", async () => {
    const pool = [HELLO, "content/01-Basics/02-Data/04-sets.md", "content/02-Advanced/01-Functions/02-lambdas.md", "content/02-Advanced/02-More/01-more.md", "content/01-Basics/01-Start/03-loops.md"];
    const op = fc.record({ kind: fc.constantFrom("write", "delete", "overlay", "unoverlay"), path: fc.constantFrom(...pool), text: fc.integer({ min: 0, max: 3 }) });
    const dir = join(site.siteDir, "property-cache");
    const views = async () => {
      const out = new Map<string, string>();
      for (const folder of ["docs", "static"]) {
        const root = join(dir, folder);
        for (const f of await listFiles(root).catch(() => [] as string[])) out.set(`${folder}/${f}`, sha256Hex(await readFile(join(root, f))));
      }
      return out;
    };
    const expected = async () => {
      const out = new Map<string, string>();
      for (const f of (await store.snapshot({ bookId: BOOK })).files) {
        if (f.path.includes(".summary.")) continue;
        out.set(f.path.startsWith("static/") ? f.path : `docs/${f.path.slice("content/".length)}`, f.hash);
      }
      for (const f of await store.list({ bookId: BOOK, userId: "bob" })) if (f.userId === "bob") out.set(`docs/u/bob/${f.path.slice("content/".length)}`, f.hash);
      return out;
    };
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(op, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 3 }), async (batches) => {
        await syncBook(opts({ cacheDir: dir }));
        for (const batch of batches) {
          for (const o of batch) {
            const userId = o.kind === "overlay" || o.kind === "unoverlay" ? "bob" : undefined;
            if (o.kind === "write" || o.kind === "overlay") await edit(o.path, `# T\n\nV${o.text}\n`, userId);
            else await store.delete({ bookId: BOOK, path: o.path, userId, agentId: AGENT });
          }
          const r = await syncBook(opts({ cacheDir: dir }));
          expect(r.stats).toMatchObject({ mode: "delta", verified: false });
          expect(await views()).toEqual(await expected());
        }
      }),
      { numRuns: 8 },
    );
  });

  it("previewUser: the main view is the book as that user sees it, and their overlay edits load as a delta", async () => {
    const DICTS = "content/01-Basics/02-Data/02-dicts.md";
    const preview = (over: Partial<SyncOptions> = {}) => opts({ cacheDir: join(site.siteDir, "preview-cache"), overlayUsers: [], previewUser: "carol", ...over });
    await edit(DICTS, "# Hello Carol\n\nCAROL-1.\n", "carol");
    let r = await syncBook(preview());
    expect(r.stats).toMatchObject({ mode: "snapshot", views: ["main"] });
    expect(await readFile(join(site.siteDir, "preview-cache/docs/01-Basics/02-Data/02-dicts.md"), "utf8")).toContain("CAROL-1");
    await edit(DICTS, "# Hello Carol\n\nCAROL-2.\n", "carol");
    r = await syncBook(preview());
    expect(r.stats).toMatchObject({ mode: "delta", fetched: 1, written: 1 });
    expect(await readFile(join(site.siteDir, "preview-cache/docs/01-Basics/02-Data/02-dicts.md"), "utf8")).toContain("CAROL-2");
    await store.delete({ bookId: BOOK, path: DICTS, userId: "carol", agentId: AGENT });
    r = await syncBook(preview());
    expect(r.stats).toMatchObject({ mode: "delta", fetched: 1, written: 1 }); // the base page was never in this cache
    const baseDicts = await store.read({ bookId: BOOK, path: DICTS });
    expect(await readFile(join(site.siteDir, "preview-cache/docs/01-Basics/02-Data/02-dicts.md"), "utf8")).toBe(baseDicts.content.toString("utf8"));
  });
});
