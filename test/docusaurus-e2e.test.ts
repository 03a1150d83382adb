/**
 * End to end: real `docusaurus build` runs of the fixture site (test/fixtures/docusaurus) against a
 * real store — a PostgreSQL journal and S3 storage on the run's s3rver — in sequence on one site copy.
 *
 * Object GETs are counted at the wire: the build's S3 client talks to s3rver through a proxy that
 * records every request (test/fixtures/docusaurus/counting-proxy.ts). The plugin's own report must
 * agree with it.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore, type S3StorageConfig, type Store } from "../src/index.js";
import { makeBackend, type BackendInstance } from "./support/backends.js";
import { AGENT, allHtml, build, html, listFiles, makeSite, seedBook, type BuildResult } from "./fixtures/docusaurus/harness.js";
import { startCountingProxy, type CountingProxy } from "./fixtures/docusaurus/counting-proxy.js";

const BOOK = "fixture-book";
const BUILD_TIMEOUT = 15 * 60_000;

describe("docusaurus build of the fixture site (PostgreSQL + S3 on s3rver)", () => {
  let backend: BackendInstance;
  let proxy: CountingProxy;
  let store: Store;
  let site: { siteDir: string; cleanup(): Promise<void> };
  let hashes: Map<string, string>;
  let storage: S3StorageConfig;
  const base = () => ({ bookId: BOOK, databaseUrl: backend.databaseUrl, storage });
  const builds: BuildResult[] = [];

  /** Runs a build and returns it with the object GETs the proxy saw during it. */
  async function counted(options: Record<string, unknown>, out: string): Promise<BuildResult & { gets: string[] }> {
    proxy.reset();
    const b = await build(site.siteDir, options, out);
    builds.push(b);
    return { ...b, gets: proxy.objectGets() };
  }

  beforeAll(async () => {
    backend = await makeBackend({ name: "postgres+s3", db: "postgres", storage: "s3" });
    const s3 = backend.options.storage as S3StorageConfig;
    proxy = await startCountingProxy(s3.endpoint!);
    storage = { ...s3, endpoint: proxy.url };
    store = await openStore(backend.options); // the test writes straight to s3rver, not through the proxy
    hashes = await seedBook(store, BOOK);
    site = await makeSite();
  });

  afterAll(async () => {
    await store?.close();
    await proxy?.close();
    await site?.cleanup();
    await backend?.cleanup();
  });

  it("cold build: every object fetched once; sidebar, prev/next, TOC, MDX component, asset, summary", { timeout: BUILD_TIMEOUT }, async () => {
    const b = await counted(base(), "build");
    expect(b.gets.sort()).toEqual([...new Set(hashes.values())].sort()); // every object exactly once
    expect(b.report).toMatchObject({ pages: 11, fetched: 13, reused: 0, deleted: 0, mode: "snapshot", verified: true });
    expect(b.output).toMatch(/\[panaversity-fs\] fixture-book: 11 pages, 13 fetched, 0 reused, 0 deleted/);
    const hello = (await html(b.outDir, "/docs/Basics/Start/hello"))!;
    expect(hello).toContain("HELLO-BASE-TEXT");
    expect(hello).toContain("<title data-rh=\"true\">Hello World | Fixture Book</title>");
    // sidebar: preface first, then Part → Chapter → Lesson in prefix order; README is the folder's page
    const links = [...hello.matchAll(/<a [^>]*>/g)].map((m) => m[0]).filter((a) => a.includes("menu__link")).map((a) => /href="([^"]+)"/.exec(a)?.[1]);
    expect(links.slice(0, 6)).toEqual(["/docs/preface", "/docs/Basics/", "/docs/Basics/Start/", "/docs/Basics/Start/hello", "/docs/Basics/Start/variables", "/docs/Basics/Start/loops"]);
    expect(hello).toMatch(/pagination-nav__link--prev" href="\/docs\/Basics\/Start\/"/);
    expect(hello).toMatch(/pagination-nav__link--next" href="\/docs\/Basics\/Start\/variables"/);
    expect(hello).toContain("table-of-contents"); // TOC of "## A section"
    expect(hello).toMatch(/<img[^>]*alt="A diagram"[^>]*src="(data:image\/svg|\/assets\/)/); // relative ../../../static/img link resolved
    const variables = (await html(b.outDir, "/docs/Basics/Start/variables"))!;
    expect(variables).toContain('<aside class="fixture-callout">CALLOUT-COMPONENT-TEXT</aside>'); // site's MDXComponents
    expect(variables).toMatch(/<img[^>]*alt="Same diagram"[^>]*src="(data:image\/svg|\/assets\/)/); // /static/img/… resolved
    // sidebar_position front matter wins over the file prefix
    const lambdas = (await html(b.outDir, "/docs/Advanced/Functions/lambdas"))!;
    expect(lambdas).toMatch(/pagination-nav__link--next" href="\/docs\/Advanced\/Functions\/defs"/);
    // summaries are not pages, and the (invalid-MDX) summary did not break the build
    expect(await html(b.outDir, "/docs/Basics/Start/hello.summary")).toBeUndefined();
    const all = await allHtml(b.outDir);
    expect([...all.keys()].some((k) => k.includes("summary"))).toBe(false);
    // …its text ships with the lesson's page data (doc metadata → frontMatter.summary)
    const js = await Promise.all((await listFiles(join(b.outDir, "assets", "js"))).map((f) => readFile(join(b.outDir, "assets", "js", f), "utf8")));
    expect(js.filter((code) => code.includes("SUMMARY-HELLO-TEXT"))).toHaveLength(1);
  });

  it("unchanged rebuild: zero object GETs and identical HTML", { timeout: BUILD_TIMEOUT }, async () => {
    const b = await counted(base(), "build2");
    expect(b.gets).toEqual([]);
    // One plan since the cache's manifest hash: two journal rows (the book's head, the remembered manifest).
    expect(b.report).toMatchObject({ fetched: 0, reused: 13, written: 0, deleted: 0, bytes: 0, mode: "delta", verified: false, journal: { rows: 2 } });
    expect(await allHtml(b.outDir)).toEqual(await allHtml(builds[0]!.outDir));
  });

  it("3 pages changed, 1 deleted, 1 renamed: exactly 3 object GETs", { timeout: BUILD_TIMEOUT }, async () => {
    const changed = ["content/01-Basics/01-Start/01-hello.md", "content/01-Basics/01-Start/03-loops.md", "content/01-Basics/02-Data/02-dicts.md"];
    const newHashes: string[] = [];
    for (const path of changed) {
      const before = await store.read({ bookId: BOOK, path });
      const text = before.content.toString("utf8").replace(/([A-Z]+)-BASE-TEXT/, "$1-CHANGED-TEXT");
      const w = await store.write({ bookId: BOOK, path, content: text, expectedHash: before.hash, agentId: AGENT });
      newHashes.push(w.hash);
    }
    await store.delete({ bookId: BOOK, path: "content/01-Basics/02-Data/01-lists.md", agentId: AGENT });
    const defs = await store.read({ bookId: BOOK, path: "content/02-Advanced/01-Functions/01-defs.md" });
    await store.write({ bookId: BOOK, path: "content/02-Advanced/01-Functions/01-defining.md", content: defs.content, agentId: AGENT });
    await store.delete({ bookId: BOOK, path: "content/02-Advanced/01-Functions/01-defs.md", agentId: AGENT });

    const b = await counted(base(), "build3");
    expect(b.gets.sort()).toEqual([...newHashes].sort());
    expect(b.report).toMatchObject({ pages: 10, fetched: 3, deleted: 2, mode: "delta" });
    expect(await html(b.outDir, "/docs/Basics/Start/hello")).toContain("HELLO-CHANGED-TEXT");
    expect(await html(b.outDir, "/docs/Basics/Start/loops")).toContain("LOOPS-CHANGED-TEXT");
    expect(await html(b.outDir, "/docs/Basics/Data/dicts")).toContain("DICTS-CHANGED-TEXT");
    expect(await html(b.outDir, "/docs/Basics/Data/lists")).toBeUndefined();
    expect(await html(b.outDir, "/docs/Advanced/Functions/defs")).toBeUndefined();
    expect(await html(b.outDir, "/docs/Advanced/Functions/defining")).toContain("DEFS-BASE-TEXT");
  });

  it("overlayUsers: the user's routes show the overlay, the base routes do not", { timeout: BUILD_TIMEOUT }, async () => {
    const path = "content/01-Basics/01-Start/01-hello.md";
    const w = await store.write({ bookId: BOOK, path, userId: "alice", content: "# Hello Alice\n\nHELLO-ALICE-OVERLAY.\n", agentId: AGENT });
    const b = await counted({ ...base(), overlayUsers: ["alice"] }, "build4");
    expect(b.gets).toEqual([w.hash]); // only the overlay: the base pages are cached already
    // Her view holds only her overlay; the rest of her book is the base pages.
    expect(b.report).toMatchObject({ pages: 11, fetched: 1, views: ["main", "user:alice"], mode: "snapshot" }); // other views: a full check
    expect(await html(b.outDir, "/docs/u/alice/Basics/Start/hello")).toContain("HELLO-ALICE-OVERLAY");
    expect(await html(b.outDir, "/docs/u/alice/Basics/Start/loops")).toBeUndefined();
    const baseHello = (await html(b.outDir, "/docs/Basics/Start/hello"))!;
    expect(baseHello).toContain("HELLO-CHANGED-TEXT");
    expect(baseHello).not.toContain("HELLO-ALICE-OVERLAY");
    expect(baseHello).not.toContain("/docs/u/alice"); // the main sidebar does not list her view
    // O(overlays): the same pages as the build without her, plus her one page.
    const pagesBefore = [...(await allHtml(builds[2]!.outDir)).keys()];
    const pagesNow = [...(await allHtml(b.outDir)).keys()];
    expect(pagesNow.filter((p) => p.startsWith("docs/u/"))).toEqual(["docs/u/alice/Basics/Start/hello/index.html"]);
    expect(pagesNow.filter((p) => !p.startsWith("docs/u/")).sort()).toEqual(pagesBefore.sort());
    // Her page shows the whole book's sidebar and the base page's previous/next.
    const aliceHello = (await html(b.outDir, "/docs/u/alice/Basics/Start/hello"))!;
    const sidebarLinks = (page: string) => [...page.matchAll(/<a [^>]*>/g)].map((m) => m[0]).filter((a) => a.includes("menu__link")).map((a) => /href="([^"]+)"/.exec(a)?.[1]);
    // (statically rendered with every category closed — no entry of the base sidebar is her route; the client
    // module opens the categories above her page and highlights it, see test/browser.test.ts)
    const hers = sidebarLinks(aliceHello);
    expect(hers).toEqual(["/docs/preface", "/docs/Basics/", "/docs/Advanced/"]);
    expect(sidebarLinks(baseHello)).toEqual(expect.arrayContaining(hers));
    const pagination = (page: string) => [...page.matchAll(/pagination-nav__link--(prev|next)" href="([^"]+)"/g)].map((m) => `${m[1]} ${m[2]}`);
    expect(pagination(aliceHello)).toEqual(pagination(baseHello));
    expect(pagination(aliceHello)).toHaveLength(2);
  });

  it("previewUser: the whole build as alice sees it, and only that build", { timeout: BUILD_TIMEOUT }, async () => {
    const b = await counted({ ...base(), previewUser: "alice" }, "build5");
    expect(b.gets).toEqual([]);
    expect(b.report).toMatchObject({ pages: 10, fetched: 0, views: ["main"] });
    expect(await html(b.outDir, "/docs/Basics/Start/hello")).toContain("HELLO-ALICE-OVERLAY");
    expect(await html(b.outDir, "/docs/Basics/Start/loops")).toContain("LOOPS-CHANGED-TEXT");
    expect(await html(b.outDir, "/docs/u/alice/Basics/Start/hello")).toBeUndefined();
    for (const earlier of builds.slice(0, 3)) expect(await html(earlier.outDir, "/docs/Basics/Start/hello")).not.toContain("ALICE");
    console.log("build times (ms):", builds.map((x) => x.ms).join(", "), "| fetched:", builds.map((x) => x.report.fetched).join(", "), "| load ms:", builds.map((x) => x.report.ms).join(", "));
  });
});
