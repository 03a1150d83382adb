/**
 * Issue 16 (1, 3) at build time: whatever the journal holds, overlay pages are compiled as safe markdown
 * (R10) and are not indexed. The pure parts (which targets are overlays, the inert page, the remark
 * stripper compiled by the real MDX compiler), then one real `docusaurus build` of the fixture site
 * (PostgreSQL + local folder) where the attacker's corpus was written straight into the journal and the
 * object folder, around the store's check, and the result opened in headless Chromium.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { existsSync } from "node:fs";
import { compile, createProcessor } from "@mdx-js/mdx";
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore, type Store } from "../src/index.js";
import { lockBookHead, upsertFile } from "../src/journal/queries.js";
import { inertOverlayPage, overlayBytes, overlayTargetsOf } from "../src/docusaurus/overlay-safety.js";
import remarkSafeOverlay, { stripUnsafe } from "../src/docusaurus/remark-safe-overlay.js";
import { checkSafeMarkdown } from "../src/books/safe-markdown.js";
import { makeBackend, type BackendInstance } from "./support/backends.js";
import { AGENT, build, html, listFiles, makeSite, seedBook, type BuildResult } from "./fixtures/docusaurus/harness.js";
import { serveStatic, type StaticServer } from "./support/static-server.js";
import { OVERLAY_COMPONENTS, SECRET_ENV, UNSAFE_CORPUS } from "./support/unsafe-corpus.js";

const LESSON = "content/01-Basics/01-Start/01-hello.md";
const h = (c: string) => c.repeat(64);

describe("build-time overlay safety (pure)", () => {
  it("knows overlay targets from the view's user and the overlay's hash (user views and previewUser's main view)", () => {
    const targets: [string, { hash: string; bookPath: string }][] = [
      ["docs/u/ada/01-a/01-b.md", { hash: h("a"), bookPath: "content/01-a/01-b.md" }],
      ["docs/01-a/01-b.md", { hash: h("b"), bookPath: "content/01-a/01-b.md" }],
      ["docs/01-a/02-c.md", { hash: h("c"), bookPath: "content/01-a/02-c.md" }],
      ["static/img/x.png", { hash: h("d"), bookPath: "static/img/x.png" }],
    ];
    const overlays = [
      { userId: "ada", path: "content/01-a/01-b.md", hash: h("a"), size: 1 },
      { userId: "bob", path: "content/01-a/02-c.md", hash: h("c"), size: 1 },
    ];
    expect([...overlayTargetsOf(targets, overlays, undefined)]).toEqual(["docs/u/ada/01-a/01-b.md"]);
    expect([...overlayTargetsOf(targets, overlays, "bob")].sort()).toEqual(["docs/01-a/02-c.md", "docs/u/ada/01-a/01-b.md"]);
  });

  it("the inert page is itself safe markdown and quotes nothing of the overlay but line:col and the construct's words", () => {
    for (const c of UNSAFE_CORPUS) {
      const r = overlayBytes(Buffer.from(c.content), LESSON, OVERLAY_COMPONENTS);
      expect(r.safe, c.name).toBe(false);
      if (r.safe) continue;
      expect(checkSafeMarkdown(r.page, { path: LESSON }), c.name).toEqual([]);
      expect(r.page).toContain(`line ${c.at.replace(":", ", column ")}`);
      expect(r.page.replace(/\(line .*?\)/, "")).not.toMatch(/javascript|[{}<>`[\]]/); // the construct, quoted only as words
      expect(r.page).not.toMatch(/process|fetch|alert|evil|[{}<>`[\]]/);
    }
    expect(inertOverlayPage(LESSON, [])).toContain("unknown position");
  });

  it("the remark plugin strips ESM, expressions, handlers, script URLs and off-list JSX from overlay files and adds noindex; base files are untouched", async () => {
    const viewDir = "/site/.panaversity-cache/docs";
    const plugin = [remarkSafeOverlay, { viewDir, components: ["Quiz"], isOverlay: (rel: string) => rel.startsWith("u/") }] as const;
    const evil = [
      "import fs from 'node:fs'",
      "",
      `# Hi {process.env.${SECRET_ENV}}`,
      "",
      '<Quiz title="ok" onClick="steal()" /> <Tabs><b>kept</b></Tabs> [x](javascript:alert(1)) text',
      "",
      "<Quiz title={process.env.X} />",
      "",
    ].join("\n");
    const overlay = String(await compile({ path: `${viewDir}/u/ada/01-Basics/01-Start/01-hello.mdx`, value: evil }, { remarkPlugins: [plugin as never] }));
    for (const bad of ["process.env", "node:fs", "steal", "javascript:", "Tabs"]) expect(overlay, bad).not.toContain(bad);
    expect(overlay).toContain("kept");
    expect(overlay).toContain('"noindex"');
    const base = String(await compile({ path: `${viewDir}/01-Basics/01-Start/01-hello.mdx`, value: "# Base {1 + 1}\n" }, { remarkPlugins: [plugin as never] }));
    expect(base).toContain("1 + 1");
    expect(base).not.toContain("noindex");
  });

  it("stripUnsafe leaves a safe tree as it was", () => {
    const source = "# Title\n\n| a |\n|---|\n| 1 |\n\n```js\n{x}\n```\n\n<Quiz title=\"q\" />\n";
    const tree = createProcessor({ format: "mdx" }).parse(source);
    const before = JSON.stringify(tree);
    expect(stripUnsafe(tree as never, { source, components: ["Quiz"], path: LESSON })).toBe(0);
    expect(JSON.stringify(tree)).toBe(before);
  });
});

describe("docusaurus build with the attacker's corpus in the journal (bypassing the store)", () => {
  const BOOK = "safe-build-book";
  const SECRET = `s3cr3t-${Date.now()}-do-not-leak`;
  const CHROMIUM = process.env.PFS_CHROMIUM ?? "/usr/bin/chromium";
  const attackers = UNSAFE_CORPUS.map((c, i) => ({ user: `attacker-${i}`, ...c }));
  let backend: BackendInstance;
  let store: Store;
  let site: { siteDir: string; cleanup(): Promise<void> };
  let built: BuildResult;
  let server: StaticServer | undefined;

  beforeAll(async () => {
    backend = await makeBackend({ name: "postgres+local", db: "postgres", storage: "local" }, { overlayComponents: [...OVERLAY_COMPONENTS, "Callout"] });
    store = await openStore(backend.options);
    await seedBook(store, BOOK);
    // Around the store's check: the object goes into the folder, the row into the journal, as a hand edit would.
    for (const a of attackers) {
      const put = await store.ctx.blobs.putBytes(Buffer.from(a.content));
      await store.ctx.journal.db.transaction(async (tx) => {
        await lockBookHead(tx, BOOK);
        await upsertFile(tx, { bookId: BOOK, path: LESSON, userId: a.user, sha256: put.hash, size: put.size, writtenAt: new Date(), writtenBy: "hand-edit" });
      });
    }
    await store.write({ bookId: BOOK, path: LESSON, userId: "good-student", content: "# Hello, good student\n\nGOOD-OVERLAY-TEXT\n\n<Callout>Kept callout</Callout>\n", agentId: AGENT });
    site = await makeSite();
    process.env[SECRET_ENV] = SECRET; // the build's environment (the child inherits it)
    built = await build(site.siteDir, {
      bookId: BOOK,
      databaseUrl: backend.databaseUrl,
      storage: backend.options.storage,
      overlayUsers: [...attackers.map((a) => a.user), "good-student"],
      overlayComponents: [...OVERLAY_COMPONENTS, "Callout"],
    });
  }, 15 * 60_000);

  afterAll(async () => {
    delete process.env[SECRET_ENV];
    await server?.close();
    await store?.close();
    await site?.cleanup();
    await backend?.cleanup();
  });

  it("no secret of the build's environment in any output file; every attacker page is the inert notice with line:col", async () => {
    for (const f of await listFiles(built.outDir)) {
      expect((await readFile(join(built.outDir, f))).includes(SECRET), f).toBe(false);
    }
    for (const a of attackers) {
      const page = (await html(built.outDir, `/docs/u/${a.user}/Basics/Start/hello`))!;
      expect(page, a.name).toContain("Personalized page unavailable");
      expect(page, a.name).toContain(`line ${a.at.replace(":", ", column ")}`);
      // The notice names the construct in words ("event handler attribute onMouseOver"); nothing of it is markup.
      for (const bad of ["evil.example", "alert(1)", "javascript:alert", "node:fs"]) expect(page, `${a.name}: ${bad}`).not.toContain(bad);
      expect(page, a.name).not.toMatch(/<[^>]+\son[a-z]+\s*=/i);
    }
    expect(built.output).toMatch(/attacker-0.*not safe markdown|not safe markdown.*attacker-0/s);
  });

  it("a safe overlay builds as written, allowlisted component included; overlay pages carry noindex and are out of sitemap.xml", async () => {
    const good = (await html(built.outDir, "/docs/u/good-student/Basics/Start/hello"))!;
    expect(good).toContain("GOOD-OVERLAY-TEXT");
    expect(good).toContain("fixture-callout");
    expect(good).toMatch(/<meta[^>]*name="robots"[^>]*content="noindex"/);
    expect((await html(built.outDir, `/docs/u/${attackers[0]!.user}/Basics/Start/hello`))!).toMatch(/<meta[^>]*name="robots"[^>]*content="noindex"/);
    const base = (await html(built.outDir, "/docs/Basics/Start/hello"))!;
    expect(base).not.toMatch(/<meta[^>]*name="robots"/);
    const sitemap = await readFile(join(built.outDir, "sitemap.xml"), "utf8");
    expect(sitemap).toContain("/docs/Basics/Start/hello");
    expect(sitemap).not.toContain("/u/");
  });

  it("in Chromium: no event handler in the DOM of any attacker page and no request leaves the site", { timeout: 300_000 }, async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`Chromium is not installed at ${CHROMIUM}: apt-get install -y chromium (or set PFS_CHROMIUM).`);
    server = await serveStatic(built.outDir);
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"] });
    try {
      const page = await browser.newPage();
      const offsite: string[] = [];
      const dialogs: string[] = [];
      page.on("request", (r) => {
        if (!r.url().startsWith(server!.url)) offsite.push(r.url());
      });
      page.on("dialog", (d) => {
        dialogs.push(d.message());
        void d.dismiss();
      });
      for (const a of attackers) {
        await page.goto(`${server.url}/docs/u/${a.user}/Basics/Start/hello`, { waitUntil: "networkidle" });
        await page.mouse.move(300, 300);
        await page.locator("article").hover();
        await page.locator("article").click({ position: { x: 5, y: 5 } });
        // Every element's attributes, read in the page (a string: this file is not compiled with the DOM types).
        const handlers = (await page.evaluate(
          "[...document.querySelectorAll('*')].flatMap((el) => [...el.attributes].filter((at) => /^on/i.test(at.name)).map((at) => el.tagName + ' ' + at.name))",
        )) as string[];
        expect(handlers, a.name).toEqual([]);
        expect(await page.locator("article iframe, article script, article object, article embed").count(), a.name).toBe(0);
      }
      expect(offsite).toEqual([]);
      expect(dialogs).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
