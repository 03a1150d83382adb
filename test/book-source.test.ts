/**
 * Conformance of the two book sources (DESIGN 4.5 "One narrow source"): the same load scenarios —
 * cold, unchanged, k edits, deletes, overlays, offline cache — against the direct source (read-only
 * store) and the HTTP source (`pfs serve` with a read-only token for one book), on PGlite and
 * PostgreSQL. Object requests are counted at the source boundary: 0 for an unchanged load, k for k edits.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { openStore, type Store } from "../src/index.js";
import { syncBook, type SyncOptions } from "../src/docusaurus/sync.js";
import { closeSources, directSource, httpSource, type BookSource } from "../src/docusaurus/source/index.js";
import { makeBackend, type BackendInstance, type DbKind } from "./support/backends.js";
import { startSourceServer, type RunningServer } from "./support/source-server.js";
import { ADMIN_URL, superuserQuery } from "./support/postgres.js";
import { AGENT, makeSite, seedBook } from "./fixtures/docusaurus/harness.js";

const BOOK = "fixture-book";
const READ_TOKEN = "read-only-token-for-fixture-book";
const HELLO = "content/01-Basics/01-Start/01-hello.md";
const LOOPS = "content/01-Basics/01-Start/03-loops.md";
const LISTS = "content/01-Basics/02-Data/01-lists.md";

/** Counts object opens (what each source fetches from its store or server). */
function counting(source: BookSource): { source: BookSource; objects: () => number; reset: () => void } {
  let n = 0;
  const wrapped: BookSource = {
    kind: source.kind,
    description: source.description,
    session: (fn) =>
      source.session((s) =>
        fn({
          planLoad: (r) => s.planLoad(r),
          openObject: (r) => {
            n++;
            return s.openObject(r);
          },
        }),
      ),
    close: () => source.close(),
  };
  return { source: wrapped, objects: () => n, reset: () => (n = 0) };
}

type Kind = "direct" | "http";
const COMBOS: { db: DbKind; kind: Kind }[] = (["pglite", "postgres"] as DbKind[]).flatMap((db) => (["direct", "http"] as Kind[]).map((kind) => ({ db, kind })));

/** What each scenario gave, per combination: the suite ends by checking all four agree. */
const results = new Map<string, unknown[]>();

describe.each(COMBOS)("book source conformance: $kind on $db", ({ db, kind }) => {
  let backend: BackendInstance;
  let site: Awaited<ReturnType<typeof makeSite>>;
  let serverStore: Store | undefined;
  let server: RunningServer | undefined;
  let counted: ReturnType<typeof counting>;
  const seen: unknown[] = [];

  /** Writes through the server's store (HTTP) or a store opened for the edit (direct; PGlite allows one holder). */
  const writer = async <T>(fn: (store: Store) => Promise<T>): Promise<T> => {
    if (serverStore) return fn(serverStore);
    const store = await openStore(backend.options);
    try {
      return await fn(store);
    } finally {
      await store.close();
    }
  };
  const edit = (path: string, text: string, userId?: string) =>
    writer(async (store) => {
      const cur = await store.read({ bookId: BOOK, path, userId }).catch(() => undefined);
      const own = cur && (userId === undefined || cur.source === "overlay") ? cur.hash : undefined;
      await store.write({ bookId: BOOK, path, userId, content: text, expectedHash: own, agentId: AGENT });
    });
  const opts = (over: Partial<SyncOptions> = {}): SyncOptions => ({
    bookId: BOOK,
    cacheDir: join(site.siteDir, "cache"),
    store: backend.options,
    source: counted.source,
    overlayUsers: [],
    includeSummaries: true,
    concurrency: 4,
    offline: "fail",
    fetchAttempts: 2,
    ...over,
  });
  const load = async (over: Partial<SyncOptions> = {}) => {
    counted.reset();
    const r = await syncBook(opts(over));
    const { ms: _ms, journal: _journal, ...stats } = r.stats;
    seen.push({ ...stats, gets: counted.objects() });
    return { stats: r.stats, gets: counted.objects() };
  };

  beforeAll(async () => {
    backend = await makeBackend({ name: `${db}+local`, db, storage: "local" });
    await writer((store) => seedBook(store, BOOK));
    site = await makeSite();
    if (kind === "http") {
      serverStore = await openStore(backend.options);
      server = await startSourceServer(serverStore, [{ agent: "ci-build", token: READ_TOKEN, books: [BOOK], users: ["alice"] }]);
      counted = counting(httpSource({ url: server.url, token: READ_TOKEN }));
    } else {
      counted = counting(directSource(backend.options));
    }
  });

  afterAll(async () => {
    results.set(`${kind}/${db}`, seen);
    await counted?.source.close();
    await server?.close();
    await serverStore?.close();
    await closeSources();
    await site?.cleanup();
    await backend?.cleanup();
  });

  it("cold: every object once; unchanged: zero object requests", async () => {
    const cold = await load();
    expect(cold.stats).toMatchObject({ mode: "snapshot", fetched: 13, reused: 0 });
    expect(cold.gets).toBe(13);
    expect(await readFile(join(site.siteDir, "cache/docs/01-Basics/01-Start/01-hello.md"), "utf8")).toContain("title: Hello World");
    const warm = await load();
    expect(warm.stats).toMatchObject({ mode: "delta", fetched: 0, written: 0, deleted: 0 });
    expect(warm.gets).toBe(0);
  });

  it("k edits: exactly k object requests and k files written; a delete: none, and the file is gone", async () => {
    await edit(HELLO, "# Hello\n\nHELLO-EDIT.\n");
    await edit(LOOPS, "# Loops\n\nLOOPS-EDIT.\n");
    const edited = await load();
    expect(edited.stats).toMatchObject({ mode: "delta", fetched: 2, written: 2, deleted: 0 });
    expect(edited.gets).toBe(2);
    expect(await readFile(join(site.siteDir, "cache/docs/01-Basics/01-Start/03-loops.md"), "utf8")).toContain("LOOPS-EDIT");

    await writer(async (store) => {
      const cur = await store.read({ bookId: BOOK, path: LISTS });
      await store.delete({ bookId: BOOK, path: LISTS, expectedHash: cur.hash, agentId: AGENT });
    });
    const deleted = await load();
    expect(deleted.stats).toMatchObject({ mode: "delta", fetched: 0, deleted: 1 });
    expect(deleted.gets).toBe(0);
    expect(existsSync(join(site.siteDir, "cache/docs/01-Basics/02-Data/01-lists.md"))).toBe(false);
  });

  it("overlays: a user's page comes with the plan, and only its object is fetched", async () => {
    await edit(HELLO, "# Hello\n\nALICE-OWN-HELLO.\n", "alice");
    const r = await load({ cacheDir: join(site.siteDir, "alice-cache"), overlayUsers: ["alice"] });
    expect(r.stats.views).toEqual(["main", "user:alice"]);
    expect(await readFile(join(site.siteDir, "alice-cache/docs/u/alice/01-Basics/01-Start/01-hello.md"), "utf8")).toContain("ALICE-OWN-HELLO");
    const again = await load({ cacheDir: join(site.siteDir, "alice-cache"), overlayUsers: ["alice"] });
    expect(again.gets).toBe(0);
    await edit(HELLO, "# Hello\n\nALICE-SECOND.\n", "alice");
    const changed = await load({ cacheDir: join(site.siteDir, "alice-cache"), overlayUsers: ["alice"] });
    expect(changed.gets).toBe(1);
    expect(changed.stats).toMatchObject({ fetched: 1, written: 1 });
  });

  it("offline: an unreachable source builds from the complete cache with a warning, or fails naming it", async () => {
    const unreachable =
      kind === "http" ? httpSource({ url: "http://127.0.0.1:1", token: READ_TOKEN, attempts: 1 }) : directSource({ ...backend.options, databaseUrl: "postgres://postgres@127.0.0.1:1/unreachable" });
    await expect(syncBook(opts({ source: unreachable }))).rejects.toThrow(/cannot load book "fixture-book".*offline: "use-cache"/s);
    const warnings: string[] = [];
    const r = await syncBook(opts({ source: unreachable, offline: "use-cache", warn: (m) => warnings.push(m) }));
    expect(r.stats).toMatchObject({ offline: true, fetched: 0, mode: "offline" });
    expect(warnings.join("\n")).toMatch(/OFFLINE BUILD/);
    const { ms: _ms, journal: _journal, ...stats } = r.stats;
    seen.push({ ...stats, gets: 0 });
  });
});

describe("direct source: a read-only store on a role with SELECT grants only (PostgreSQL)", () => {
  let backend: BackendInstance;
  let site: Awaited<ReturnType<typeof makeSite>>;
  let readerUrl: string;
  const role = `pfs_reader_${Math.random().toString(36).slice(2, 8)}`;

  beforeAll(async () => {
    backend = await makeBackend({ name: "postgres+local", db: "postgres", storage: "local" });
    const store = await openStore(backend.options);
    await seedBook(store, BOOK);
    await store.close();
    // The grants docs/plugin-sources.md lists, without the optional INSERT/UPDATE on book_manifest.
    for (const sql of [
      `CREATE ROLE ${role} LOGIN`,
      `GRANT USAGE ON SCHEMA public, drizzle TO ${role}`,
      `GRANT SELECT ON file_journal, book_head, audit_log, book_manifest TO ${role}`,
      `GRANT SELECT ON drizzle.__drizzle_migrations TO ${role}`,
    ])
      await superuserQuery(backend.databaseUrl!, sql);
    const url = new URL(backend.databaseUrl!);
    url.username = role;
    readerUrl = url.toString();
    site = await makeSite();
  });

  afterAll(async () => {
    await closeSources();
    await site?.cleanup();
    await backend?.cleanup(); // drops the database (and the role's grants in it) first
    await superuserQuery(ADMIN_URL, `DROP ROLE IF EXISTS ${role}`).catch(() => {});
  });

  it("loads the book cold and unchanged, and the store it opens refuses every mutation, changing nothing", async () => {
    const options = { databaseUrl: readerUrl, storage: backend.options.storage };
    const sync = (): SyncOptions => ({ bookId: BOOK, cacheDir: join(site.siteDir, "ro-cache"), store: options, overlayUsers: [], includeSummaries: true, concurrency: 4, offline: "fail", fetchAttempts: 2 });
    expect((await syncBook(sync())).stats).toMatchObject({ fetched: 13, pages: 11 });
    // Nothing can be remembered on this role, yet an unchanged load reads 2 rows (head, the hash computed by the
    // database), not the whole file list.
    expect((await syncBook(sync())).stats).toMatchObject({ fetched: 0, written: 0, mode: "delta", journal: { rows: 2 } });

    const ro = await openStore({ ...options, readOnly: true });
    try {
      // The manifest memo is refused once (no INSERT grant); the store does not ask again on later plans.
      const insert = vi.spyOn(ro.ctx.journal.db, "insert");
      for (let i = 0; i < 3; i++) expect((await ro.planLoad({ bookId: BOOK })).files.length).toBeGreaterThan(0);
      expect(insert).toHaveBeenCalledTimes(1);
      insert.mockRestore();
      const before = await ro.read({ bookId: BOOK, path: HELLO });
      await expect(ro.write({ bookId: BOOK, path: HELLO, content: "# x\n", expectedHash: before.hash, agentId: AGENT })).rejects.toMatchObject({ code: "FORBIDDEN" });
      await expect(ro.delete({ bookId: BOOK, path: HELLO, expectedHash: before.hash, agentId: AGENT })).rejects.toMatchObject({ code: "FORBIDDEN" });
      await expect(ro.gc({})).rejects.toMatchObject({ code: "FORBIDDEN" });
      expect((await ro.read({ bookId: BOOK, path: HELLO })).hash).toBe(before.hash);
      expect((await ro.audit({ bookId: BOOK, limit: 1000 })).entries.filter((e) => e.status !== "ok")).toEqual([]);
    } finally {
      await ro.close();
    }
  });
});

describe("both sources, both databases", () => {
  it("gave the same numbers in every scenario", () => {
    const all = [...results.values()].map((r) => JSON.stringify(r));
    expect(results.size).toBe(4);
    expect(new Set(all).size).toBe(1);
  });
});
