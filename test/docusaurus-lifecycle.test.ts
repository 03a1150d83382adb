/**
 * The plugin's lifecycle against a real store and Docusaurus' real context loader, with a fake actions
 * object (no webpack): routes, global data, summaries, once-per-process loading, the dev-server poller,
 * and the offline behaviour. Unreachable journal/storage are real (a closed port, a storage path that
 * is not a folder), not mocks.
 */
import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { normalizePluginOptions } from "@docusaurus/utils-validation";
// Docusaurus' own context loader (what `docusaurus build` passes to plugin constructors).
import { loadContext } from "@docusaurus/core/lib/server/site.js";
import type { LoadContext, PluginContentLoadedActions, RouteConfig } from "@docusaurus/types";
import pluginPanaversityFs, { validateOptions, type Content } from "../src/docusaurus/index.js";
import { syncBook, currentFingerprint, type SyncOptions } from "../src/docusaurus/sync.js";
import { startPoller, stopPoller, serialized, lastFingerprint } from "../src/docusaurus/shared.js";
import { openStore } from "../src/index.js";
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
    expect(content.sync.stats).toMatchObject({ pages: 22, fetched: 14, reused: 0, views: ["main", "user:alice"] });
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
    expect(paths.filter((p) => p.startsWith("/docs/u/alice/"))).toHaveLength(11);

    const gd = fake.globalData();
    expect(gd.path).toBe("/docs");
    expect(Object.keys(gd.versions[0].sidebars).sort()).toEqual(["book", "user-alice"]);
    const docsData = [...fake.data.values()].map((s) => JSON.parse(s)).filter((d) => d.permalink);
    const hello = docsData.find((d) => d.permalink === "/docs/Basics/Start/hello");
    const aliceHello = docsData.find((d) => d.permalink === "/docs/u/alice/Basics/Start/hello");
    expect(hello.frontMatter.summary).toContain("SUMMARY-HELLO-TEXT");
    expect(hello.sidebar).toBe("book");
    expect(hello.previous.permalink).toBe("/docs/Basics/Start/");
    expect(aliceHello.title).toBe("Hello Alice");
    expect(aliceHello.sidebar).toBe("user-alice");
    expect(aliceHello.frontMatter.summary).toContain("SUMMARY-HELLO-TEXT");
    // The view files are hard links to the cached objects: pages shared by views are stored once.
    const a = await stat(join(cacheDir, "docs/01-Basics/01-Start/03-loops.md"));
    const b = await stat(join(cacheDir, "docs/u/alice/01-Basics/01-Start/03-loops.md"));
    expect(a.ino).toBe(b.ino);

    // Only the reload trigger is watched, never the view folder the sync writes.
    expect(plugin.getPathsToWatch!()).toEqual([join(cacheDir, "reload-trigger.json")]);
    const report = JSON.parse(await readFile(join(cacheDir, "report.json"), "utf8"));
    expect(report).toMatchObject({ bookId: BOOK, pages: 22, fetched: 14 });
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

    it("a corrupt cache is never used silently: refused offline, repaired online", async () => {
      const file = join(cacheDir(), "docs/01-Basics/01-Start/03-loops.md");
      await writeFile(file, "tampered\n");
      const journalDown = { ...opts(), store: { ...unreachableJournal, storage: backend.options.storage }, offline: "use-cache" as const };
      await expect(syncBook(journalDown)).rejects.toThrow(/local cache cannot be used: docs\/01-Basics\/01-Start\/03-loops.md .* does not match its hash/);
      const warn = vi.fn();
      const r = await syncBook(opts({ warn }));
      expect(r.stats).toMatchObject({ fetched: 1, repaired: 1, written: 1 });
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
