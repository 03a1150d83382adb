/**
 * Issue 17: an existing Docusaurus site with its own docs/ folder moves to the store with one config change
 * (test/fixtures/migration/site: relative images beside lessons, a custom MDX component, its own sidebars
 * file with a navbar `docSidebar`, and a plugin of its own that reads the docs from disk and from
 * `allContent`). Real builds, the real `pfs` binary, a PostgreSQL journal and a local-folder bucket.
 *
 *  1. the site builds from docs/ (the preset's docs plugin);
 *  2. `pfs import docs` stores the book (images beside lessons become static/img/…);
 *  3. the one config change (the preset's docs entry → panaversity-fs/docusaurus, same docs options) builds
 *     the same set of HTML pages, the images keep their links, the other plugin reads the same
 *     `loadedVersions`;
 *  4. `pfs export` gives the pages back byte for byte, and re-importing changes nothing;
 *  5. drop-in options: `sidebarId` (no sidebars file), `showSummaries`, and the docs folder filled by
 *     `syncDocsFolder` before the build for a plugin that reads it in its constructor.
 */
import { execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { cp, mkdir, readFile, rm, symlink } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { syncDocsFolder } from "../src/docusaurus/index.js";
import { createTestDatabase, type TestDatabase } from "./support/postgres.js";
import { REPO_DIR, allHtml, html, listFiles } from "./fixtures/docusaurus/harness.js";

const BIN = fileURLToPath(new URL("../dist/cli/main.js", import.meta.url));
const DOCUSAURUS_BIN = join(REPO_DIR, "node_modules", "@docusaurus", "core", "bin", "docusaurus.mjs");
const FIXTURE = join(REPO_DIR, "test", "fixtures", "migration", "site");
const BOOK = "migrating-book";
const BUILD_TIMEOUT = 15 * 60_000;

interface ReadsDocs {
  atConstruction: string[];
  atPostBuild: string[];
  loaded: { contentPath: string; permalinks: string[]; summaries: Record<string, string>; sidebars: string[] } | null;
}

/** The children's environment: no store settings leak in from the machine. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(DATABASE_URL|PFS_|AWS_)/.test(k)));
  return { ...env, FORCE_COLOR: "0", NODE_NO_WARNINGS: "1", ...extra };
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(cmd, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  return new Promise((res) => child.on("close", (code) => res({ code, stdout, stderr })));
}

describe("migrating a site with its own docs/ folder to the store (one config change)", () => {
  let db: TestDatabase;
  let siteDir: string;
  let storeDir: string;
  let cliEnv: NodeJS.ProcessEnv;
  let storeOptions: { bookId: string; databaseUrl: string; storage: { kind: "local"; dir: string } };
  let before: { outDir: string; pages: string[]; reads: ReadsDocs };
  let after: { outDir: string; pages: string[]; reads: ReadsDocs };

  async function build(outName: string, env: Record<string, string>): Promise<{ outDir: string; pages: string[]; reads: ReadsDocs; output: string }> {
    const outDir = join(siteDir, outName);
    const output = await new Promise<string>((res, rej) =>
      execFile(
        process.execPath,
        [DOCUSAURUS_BIN, "build", siteDir, "--out-dir", outDir, "--no-minify"],
        { cwd: siteDir, env: cleanEnv({ NODE_ENV: "production", ...env }), maxBuffer: 64 * 1024 * 1024 },
        (err, stdout, stderr) => (err ? rej(new Error(`docusaurus build failed:\n${`${stdout}\n${stderr}`.slice(-6000)}`)) : res(`${stdout}\n${stderr}`)),
      ),
    );
    const pages = [...(await allHtml(outDir)).keys()].sort();
    const reads = JSON.parse(await readFile(join(outDir, "reads-docs.json"), "utf8")) as ReadsDocs;
    return { outDir, pages, reads, output };
  }

  const pfs = (args: string[]) => run(process.execPath, [BIN, ...args], siteDir, cliEnv);

  beforeAll(async () => {
    if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npm run build\` first (npm test does).`);
    db = await createTestDatabase();
    siteDir = join(REPO_DIR, "test-artifacts", `migration-${randomBytes(4).toString("hex")}`);
    await mkdir(dirname(siteDir), { recursive: true });
    await cp(FIXTURE, siteDir, { recursive: true });
    await mkdir(join(siteDir, "node_modules"), { recursive: true });
    await symlink(REPO_DIR, join(siteDir, "node_modules", "panaversity-fs"), "dir"); // as if installed
    storeDir = join(siteDir, ".store");
    cliEnv = cleanEnv({ DATABASE_URL: db.url, PFS_DATA_DIR: storeDir });
    storeOptions = { bookId: BOOK, databaseUrl: db.url, storage: { kind: "local", dir: join(storeDir, "objects") } };
  });

  afterAll(async () => {
    if (siteDir) await rm(siteDir, { recursive: true, force: true });
    await db?.drop();
  });

  it("1. the site builds from its own docs/ folder", { timeout: BUILD_TIMEOUT }, async () => {
    const b = await build("build-docs", {});
    before = b;
    expect(b.pages).toContain("docs/Basics/Start/hello/index.html");
    expect(b.reads.loaded?.contentPath).toBe("docs");
    expect(b.reads.loaded?.sidebars).toEqual(["tutorialSidebar"]);
    expect(await html(b.outDir, "/docs/Basics/Start/quiz")).toContain("QUIZ-COMPONENT: What did you print?");
  });

  it("2. pfs import stores the book; images beside lessons become static/img/…", { timeout: 120_000 }, async () => {
    const help = await pfs(["import", "--help"]);
    const create = /--create\b/.test(help.stdout) ? ["--create"] : []; // a new book may need --create
    const r = await pfs(["import", "docs", "--book", BOOK, "--agent", "migrator", ...create, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).created).toEqual([
      "content/01-Basics/01-Start/01-hello.md",
      "content/01-Basics/01-Start/01-hello.summary.md",
      "content/01-Basics/01-Start/02-quiz.mdx",
      "content/01-Basics/01-Start/README.md",
      "content/01-Basics/02-Data/01-lists.md",
      "content/01-Basics/README.md",
      "content/preface.md",
      "static/img/01-Basics/01-Start/img/a.png",
      "static/img/01-Basics/01-Start/img/chapter.svg",
    ]);
  });

  it("3. one config change: the same HTML pages, images beside lessons resolved, the same loadedVersions for other plugins", { timeout: BUILD_TIMEOUT }, async () => {
    // (The site's plugin that reads the docs from disk is pointed at the plugin's docs folder: docs/plugin.md.)
    const b = await build("build-store", { PFS_MIGRATION_STORE: JSON.stringify(storeOptions), PFS_MIGRATION_DOCS_DIR: ".panaversity-cache/docs" });
    after = b;
    expect(b.output).toMatch(/\[panaversity-fs\] migrating-book: 6 pages/);
    expect(b.pages).toEqual(before.pages);
    // Another plugin reads the docs plugin's content where it always has: the same docs, the site's sidebar id.
    expect(b.reads.loaded?.permalinks).toEqual(before.reads.loaded?.permalinks);
    expect(b.reads.loaded?.sidebars).toEqual(["tutorialSidebar"]);
    expect(b.reads.loaded?.contentPath).toBe(".panaversity-cache/docs");
    expect(b.reads.loaded?.summaries).toEqual({ "/docs/Basics/Start/hello": "SUMMARY-OF-HELLO: you said hello {to the world} <b>once\n" });
    // …and once the plugin's loadContent is done, the docs folder on disk holds every page; a constructor, which runs
    // before any loadContent, saw what the previous sync left: nothing, on a cold cache (test 5 syncs first).
    expect(b.reads.atConstruction).toEqual([]);
    expect(b.reads.atPostBuild).toEqual(before.reads.atPostBuild.filter((p) => !p.endsWith(".summary.md")));
    // Relative images beside lessons (./img/a.png, img/a.png, ../01-Start/img/chapter.svg) were bundled.
    const img = (page: string, alt: string) => new RegExp(`<img[^>]*alt="${alt}"[^>]*src="(/assets/images/|data:image/)[^"]+"`).test(page);
    const hello = (await html(b.outDir, "/docs/Basics/Start/hello"))!;
    expect(img(hello, "A picture")).toBe(true);
    expect(img((await html(b.outDir, "/docs/Basics/Start/quiz"))!, "Same picture")).toBe(true);
    expect(img((await html(b.outDir, "/docs/Basics/Start/"))!, "Chapter picture")).toBe(true);
    expect(img((await html(b.outDir, "/docs/Basics/Data/lists"))!, "chapter")).toBe(true);
    expect(await html(b.outDir, "/docs/Basics/Start/quiz")).toContain("QUIZ-COMPONENT: What did you print?");
    // Every page shows the very images of the docs-folder build (same bundled URLs or inlined bytes).
    const images = async (outDir: string) => {
      const out: Record<string, string[]> = {};
      for (const [page, text] of await allHtml(outDir)) out[page] = [...text.matchAll(/<img[^>]*src="([^"]+)"/g)].map((m) => m[1]!);
      return out;
    };
    const imagesBefore = await images(before.outDir);
    expect(Object.values(imagesBefore).flat()).toHaveLength(4);
    expect(await images(b.outDir)).toEqual(imagesBefore);
    // The navbar's docSidebar item (the site's sidebar id) links into the book.
    const navbarLinks = [...hello.matchAll(/<a [^>]*navbar__item[^>]*>/g)].map((m) => /href="([^"]+)"/.exec(m[0])?.[1]);
    expect(navbarLinks).toContain("/docs/preface");
  });

  it("4. pfs export gives the pages back byte for byte; re-importing the export changes nothing", { timeout: 120_000 }, async () => {
    const r = await pfs(["export", "exported", "--book", BOOK]);
    expect(r.code, r.stderr).toBe(0);
    const original = await listFiles(join(siteDir, "docs"));
    for (const rel of original) {
      const back = /\.mdx?$/.test(rel) ? rel : `static/img/${rel}`; // images beside lessons come back under static/
      expect((await readFile(join(siteDir, "exported", back))).equals(await readFile(join(siteDir, "docs", rel))), rel).toBe(true);
    }
    expect((await listFiles(join(siteDir, "exported"))).length).toBe(original.length);
    const again = await pfs(["import", "exported", "--book", BOOK, "--agent", "migrator", "--json"]);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ created: [], updated: [], deleted: [], unchanged: original.length });
  });

  it("5. drop-in options: sidebarId for the navbar, showSummaries, a docs folder filled before the build", { timeout: BUILD_TIMEOUT }, async () => {
    const options = { ...storeOptions, cacheDir: ".pfs-prebuilt", sidebarId: "tutorialSidebar", showSummaries: true };
    // The pre-build step (a site's `prebuild` script): plugins that read the docs in their constructor see them.
    const pre = await syncDocsFolder(siteDir, options);
    expect(pre.docsDir).toBe(join(siteDir, ".pfs-prebuilt", "docs"));
    expect(pre.stats).toMatchObject({ pages: 6, fetched: 9 });
    const b = await build("build-dropin", {
      PFS_MIGRATION_STORE: JSON.stringify({ ...options, sidebarPath: null }), // no sidebars file: the plugin's own sidebar, named for the navbar
      PFS_MIGRATION_DOCS_DIR: ".pfs-prebuilt/docs",
    });
    expect(b.reads.atConstruction).toEqual(after.reads.atPostBuild);
    const report = JSON.parse(await readFile(join(siteDir, ".pfs-prebuilt", "report.json"), "utf8"));
    expect(report).toMatchObject({ fetched: 0, written: 0, deleted: 0 }); // the build's own load found it current
    expect(b.pages).toEqual(before.pages);
    expect(b.reads.loaded?.sidebars).toEqual(["tutorialSidebar"]);
    // showSummaries: the lesson's summary above the doc footer (the plugin's theme component, no swizzling), as text.
    const hello = (await html(b.outDir, "/docs/Basics/Start/hello"))!;
    expect(hello).toMatch(/<section class="pfs-lesson-summary alert alert--info" data-pfs-summary="">/);
    expect(hello).toContain("SUMMARY-OF-HELLO: you said hello {to the world} &lt;b&gt;once");
    expect(await html(b.outDir, "/docs/Basics/Start/quiz")).not.toContain("pfs-lesson-summary");
    expect(await html(after.outDir, "/docs/Basics/Start/hello")).not.toContain("pfs-lesson-summary"); // off by default
  });
});
