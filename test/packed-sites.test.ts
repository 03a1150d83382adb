/**
 * The published package, as a user installs it (issues 11 and 17): `npm pack` the built package, install the
 * tarball into folders of their own under the system temp folder (outside this repository, so nothing resolves
 * from its node_modules), and use it there:
 * - a store-only project: no Docusaurus is installed (its peers are optional); the store loads under
 *   `import` and `require` and reads a real store; the `pfs` CLI runs;
 * - standalone Docusaurus sites (test/fixtures/packed-sites): a CommonJS `docusaurus.config.js`, an ES-module
 *   `docusaurus.config.mjs` in a `"type": "module"` package and a `docusaurus.config.ts` (with local search and
 *   a plugin of its own that reads the docs folder), each with its own remark plugin and MDX component map.
 *
 * The build matrix: {CJS, ESM, TS} × {webpack, Docusaurus Faster (Rspack)} × {oldest, newest supported
 * Docusaurus}. `npm test` runs ONE light cell (ESM + Faster + newest, the small fixture book). With
 * `PFS_MATRIX=1` every cell builds a generated book of ≥ 700 pages (relative images, a site MDX component) and
 * is compared with the same book built from a plain `docs/` folder (the floor site): same page count, every page
 * has its article, the search index holds the same docs. Two builds at a time; expect ~1 h on two cores
 * (PFS_MATRIX_CELLS=<names> builds only some cells, e.g. `esm-faster-3.10.2,ts-faster-3.10.2`).
 *
 * Installing: `npm install --prefer-offline` of the tarball plus Docusaurus and React, once per Docusaurus
 * version into a folder whose subfolders are the sites (Node resolves upwards), so npm's cache serves nearly
 * everything. The tarball's Docusaurus peers resolve to the site's copies, as in a real site.
 */
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import pLimit from "p-limit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore } from "../src/index.js";
import { createTestDatabase, type TestDatabase } from "./support/postgres.js";
import { REPO_DIR, html, listFiles, seedBook } from "./fixtures/docusaurus/harness.js";
import { CALLOUT_TEXT, LARGE_BOOK_PAGES, generateLargeBook } from "./fixtures/packed-sites/large-book.js";

const exec = promisify(execFile);
const FIXTURES = join(REPO_DIR, "test", "fixtures", "packed-sites");
const MATRIX = process.env.PFS_MATRIX === "1";
const SMALL_BOOK = "packed-book";
const LARGE_BOOK = "packed-large-book";

const lock = JSON.parse(readFileSync(join(REPO_DIR, "package-lock.json"), "utf8")) as { packages: Record<string, { version: string }> };
const locked = (name: string) => lock.packages[`node_modules/${name}`]!.version;
/** The newest Docusaurus we claim is the one this repository is tested with; the oldest, the first 3.x we claim. */
const NEWEST = locked("@docusaurus/core");
const OLDEST = "3.9.2";
const SEARCH_LOCAL = "0.55.3";

type Style = "cjs" | "esm" | "ts";
type Bundler = "webpack" | "faster";
interface Cell {
  style: Style;
  bundler: Bundler;
  version: string;
  book: "small" | "large";
}
const STYLES: Style[] = ["cjs", "esm", "ts"];
const BUNDLERS: Bundler[] = ["webpack", "faster"];
/** The one cell `npm test` builds: what `create-docusaurus` gives today (ESM package, Faster) on the small book. */
const LIGHT: Cell = { style: "esm", bundler: "faster", version: NEWEST, book: "small" };
const cellName = (c: Cell) => `${c.style}-${c.bundler}-${c.version}`;
/** PFS_MATRIX_CELLS=esm-faster-3.10.2,ts-faster-3.10.2 builds only those cells of the matrix. */
const ONLY = process.env.PFS_MATRIX_CELLS?.split(",").filter(Boolean);
const CELLS: Cell[] = MATRIX
  ? [NEWEST, OLDEST]
      .flatMap((version) => STYLES.flatMap((style) => BUNDLERS.map((bundler) => ({ style, bundler, version, book: "large" as const }))))
      .filter((c) => !ONLY || ONLY.includes(cellName(c)))
  : [LIGHT];
const VERSIONS = [...new Set([NEWEST, ...CELLS.map((c) => c.version)])];

/** Faster on: `v4: true` (3.10 turns Faster on with it); 3.9 names it `experimental_faster` (its SSG threads need v4). */
function futureFlags(version: string, bundler: Bundler): Record<string, unknown> {
  if (bundler === "webpack") return {};
  return version.startsWith("3.9.") ? { v4: true, experimental_faster: true } : { v4: true };
}

/** A site's own dependencies at one Docusaurus version (React and MDX at this repository's lockfile versions). */
function siteDependencies(version: string): Record<string, string> {
  const deps: Record<string, string> = {
    "@docusaurus/core": version,
    "@docusaurus/preset-classic": version,
    "@docusaurus/faster": version,
    "@mdx-js/react": locked("@mdx-js/react"),
    react: locked("react"),
    "react-dom": locked("react-dom"),
  };
  if (MATRIX) deps["@easyops-cn/docusaurus-search-local"] = SEARCH_LOCAL;
  // Docusaurus 3.9's webpackbar 6 hands webpack's ProgressPlugin a `name` option that webpack 5.108 and later (newer
  // than 3.9) refuse, so a fresh 3.9 install fails to build even a plain docs/ site. A real 3.9 site has a lockfile
  // from its time; pin webpack to a release of 3.9's era that accepts it (5.105.4 does, 5.108.4 does not).
  if (version.startsWith("3.9.")) deps.webpack = "5.105.4";
  return deps;
}

/** The children's environment: no store settings leak in from the machine (they would win over the config's). */
function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(DATABASE_URL|PFS_|AWS_|DOCUSAURUS_)/.test(k)));
  return { ...env, FORCE_COLOR: "0", NODE_OPTIONS: "", ...extra };
}

let root: string;
let tarball: string;
let db: TestDatabase;
const stores = {} as Record<"small" | "large", { bookId: string; databaseUrl: string; objectsDir: string }>;
const versionDirs = new Map<string, string>();
let storeOnlyDir: string;

async function install(dir: string, dependencies: Record<string, string>): Promise<void> {
  await writeFile(join(dir, "package.json"), JSON.stringify({ name: "pfs-packed-consumer", private: true, dependencies }, null, 2));
  await exec("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"], {
    cwd: dir,
    env: childEnv({}),
    maxBuffer: 16 * 1024 * 1024,
  });
}

/** Runs a Node one-liner in a folder (CommonJS unless `module`) and parses the JSON it prints last. */
async function nodeEval(dir: string, code: string, module = false): Promise<Record<string, unknown>> {
  const args = module ? ["--input-type=module", "-e", code] : ["-e", code];
  const { stdout } = await exec(process.execPath, args, { cwd: dir, env: childEnv({ PFS_PACKED_STORE: JSON.stringify(stores.small) }) });
  return JSON.parse(stdout.trim().split("\n").pop()!);
}

/** A copy of a fixture site inside a version's install folder. */
async function placeSite(fixture: string, version: string, name: string): Promise<string> {
  const dir = join(versionDirs.get(version)!, name);
  if (!existsSync(dir)) await cp(join(FIXTURES, fixture), dir, { recursive: true });
  return dir;
}

interface Built {
  outDir: string;
  ms: number;
}

async function docusaurusBuild(dir: string, store: object, future: object): Promise<Built> {
  const outDir = join(dir, "build");
  const started = Date.now();
  await exec(process.execPath, [join(dirname(dir), "node_modules", "@docusaurus", "core", "bin", "docusaurus.mjs"), "build", "--out-dir", outDir, "--no-minify"], {
    cwd: dir,
    env: childEnv({ PFS_PACKED_STORE: JSON.stringify(store), PFS_PACKED_FUTURE: JSON.stringify(future), NODE_ENV: "production" }),
    maxBuffer: 256 * 1024 * 1024,
  }).catch((err: Error & { stdout?: string; stderr?: string }) => {
    throw new Error(`docusaurus build in ${dir} failed:\n${`${err.stdout}\n${err.stderr}`.slice(-6000)}`);
  });
  return { outDir, ms: Date.now() - started };
}

/** Builds run two at a time (two cores); each starts when a test first asks for it. */
const limit = pLimit(2);
const builds = new Map<string, Promise<Built>>();
function built(key: string, run: () => Promise<Built>): Promise<Built> {
  if (!builds.has(key)) builds.set(key, limit(run));
  return builds.get(key)!;
}

function buildCell(cell: Cell): Promise<Built> {
  return built(cellName(cell), async () =>
    docusaurusBuild(await placeSite(cell.style, cell.version, cellName(cell)), stores[cell.book], futureFlags(cell.version, cell.bundler)),
  );
}

/** The same large book from a plain docs/ folder, webpack, at one version. */
function buildFloor(version: string): Promise<Built> {
  return built(`floor-${version}`, async () => {
    const dir = await placeSite("floor", version, "floor");
    for (const f of generateLargeBook(LARGE_BOOK)) {
      const target = join(dir, f.path.replace(/^content\//, "docs/"));
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, f.content);
    }
    return docusaurusBuild(dir, {}, {});
  });
}

/** The built docs pages: route → HTML. */
async function docsPages(outDir: string): Promise<Map<string, string>> {
  const pages = new Map<string, string>();
  for (const f of await listFiles(join(outDir, "docs"))) if (f.endsWith("index.html")) pages.set(f, await readFile(join(outDir, "docs", f), "utf8"));
  return pages;
}

/** The doc URLs in @easyops-cn/docusaurus-search-local's index files (`search-index*.json`, hashed or not). */
async function searchDocs(outDir: string): Promise<Set<string>> {
  const urls = new Set<string>();
  for (const f of await readdir(outDir)) {
    if (!/^search-index.*\.json$/.test(f)) continue;
    const parts = JSON.parse(await readFile(join(outDir, f), "utf8")) as { documents: { u?: string }[] }[];
    for (const part of parts) for (const d of part.documents) if (d.u?.startsWith("/docs/")) urls.add(d.u.split("#")[0]!);
  }
  return urls;
}

/** A page rendered with its content (a page whose chunk failed to load has no article). */
const ARTICLE = /<article[^>]*>[\s\S]*?theme-doc-markdown[\s\S]*?<\/article>/;
/** The site's `<Callout>` as rendered (Faster's HTML minifier drops the quotes around attribute values). */
const callout = (site: string, text: string) => new RegExp(`<aside class="?packed-callout"? data-site="?${site}"?>${text}</aside>`);
const imageSources = (page: string) => [...page.matchAll(/<img [^>]*src="?([^" >]+)/g)].map((m) => m[1]!);

beforeAll(async () => {
  expect(existsSync(join(REPO_DIR, "dist", "docusaurus", "index.js")), "run `npm run build` first").toBe(true);
  root = await mkdtemp(join(tmpdir(), "pfs-packed-"));
  const { stdout } = await exec("npm", ["pack", "--json", "--pack-destination", root], { cwd: REPO_DIR, env: childEnv({}) });
  tarball = join(root, (JSON.parse(stdout) as { filename: string }[])[0]!.filename);

  db = await createTestDatabase();
  stores.small = { bookId: SMALL_BOOK, databaseUrl: db.url, objectsDir: join(root, "objects") };
  stores.large = { ...stores.small, bookId: LARGE_BOOK };
  const store = await openStore({ databaseUrl: db.url, storage: { kind: "local", dir: stores.small.objectsDir } });
  try {
    await seedBook(store, SMALL_BOOK);
    if (MATRIX) {
      for (const f of generateLargeBook(LARGE_BOOK)) await store.write({ bookId: LARGE_BOOK, path: f.path, content: f.content, agentId: "packed-sites" });
    }
  } finally {
    await store.close();
  }

  storeOnlyDir = join(root, "store-only");
  await mkdir(storeOnlyDir);
  for (const version of VERSIONS) {
    versionDirs.set(version, join(root, `docusaurus-${version}`));
    await mkdir(versionDirs.get(version)!);
  }
  // The installs are mostly waiting on the cache and the disk: run them side by side.
  await Promise.all([
    install(storeOnlyDir, { "panaversity-fs": `file:${tarball}` }),
    ...VERSIONS.map((v) => install(versionDirs.get(v)!, { ...siteDependencies(v), "panaversity-fs": `file:${tarball}` })),
  ]);
}, MATRIX ? 3_600_000 : 900_000);

afterAll(async () => {
  if (root && !process.env.PFS_KEEP_PACKED) await rm(root, { recursive: true, force: true });
  await db?.drop();
});

describe("the packed tarball", () => {
  it("installs without Docusaurus or React (optional peers); the store works under import and require; the CLI runs", async () => {
    const dir = storeOnlyDir;
    expect(existsSync(join(dir, "node_modules", "panaversity-fs", "dist", "index.js"))).toBe(true);
    expect(existsSync(join(dir, "node_modules", "@docusaurus"))).toBe(false);
    expect(existsSync(join(dir, "node_modules", "react"))).toBe(false);

    const read = `const s = JSON.parse(process.env.PFS_PACKED_STORE);
      const store = await openStore({ databaseUrl: s.databaseUrl, storage: { kind: "local", dir: s.objectsDir } });
      const r = await store.read({ bookId: s.bookId, path: "content/01-Basics/01-Start/01-hello.md" });
      await store.close();
      console.log(JSON.stringify({ hello: r.content.toString().includes("HELLO-BASE-TEXT") }));`;
    expect(await nodeEval(dir, `import { openStore } from "panaversity-fs"; ${read}`, true)).toEqual({ hello: true });
    expect(await nodeEval(dir, `const { openStore } = require("panaversity-fs"); (async () => { ${read} })();`)).toEqual({ hello: true });

    const { stdout } = await exec(join(dir, "node_modules", ".bin", "pfs"), ["--help"], { cwd: dir, env: childEnv({}) });
    expect(stdout).toContain("Usage: pfs");
  });

  it.each(["cjs", "esm"] as const)("%s site: the plugin entry loads and validates options under Node ESM and require", async (style) => {
    const dir = await placeSite(style, NEWEST, `${style}-entry`);
    // validateOptions runs Joi (utils-validation) and the docs plugin's own schema: the CommonJS packages really load.
    const validate = (p: string, v: string) =>
      `const opts = ${p}.validateOptions({ validate: ${v}.normalizePluginOptions, options: { bookId: "my-book" } });
       console.log(JSON.stringify({ plugin: typeof ${p}.default, syncBook: typeof ${p}.syncBook, concurrency: opts.concurrency, docsPath: opts.docs.path }));`;
    const expected = { plugin: "function", syncBook: "function", concurrency: 64, docsPath: ".panaversity-cache/docs" };
    const esm = await nodeEval(
      dir,
      `const p = await import("panaversity-fs/docusaurus"); const v = (await import("@docusaurus/utils-validation")).default; ${validate("p", "v")}`,
      true,
    );
    expect(esm).toEqual(expected);
    const cjs = await nodeEval(dir, `const p = require("panaversity-fs/docusaurus"); const v = require("@docusaurus/utils-validation"); ${validate("p", "v")}`);
    expect(cjs).toEqual(expected);
  });
});

describe.runIf(!MATRIX)("the light cell: ESM package + Docusaurus Faster + newest Docusaurus, small book", () => {
  it(
    "docusaurus build renders every page with its article, the site's remark plugin and MDX components",
    async () => {
      // Before the fix, Rspack's server chunks were CommonJS .js files that Node loads as ES modules in a
      // "type": "module" site: every page rendered without its article, and the 404 page failed the build.
      const { outDir } = await buildCell(LIGHT);
      const pages = await docsPages(outDir);
      expect(pages.size).toBeGreaterThanOrEqual(8);
      for (const [route, page] of pages) expect(page, route).toMatch(ARTICLE);
      expect(existsSync(join(outDir, "404.html"))).toBe(true);
      const hello = await html(outDir, "/docs/Basics/Start/hello");
      expect(hello).toContain("HELLO-BASE-TEXT");
      expect(hello).toContain("STAMPED-BY-ESM-REMARK");
      expect(await html(outDir, "/docs/Basics/Start/variables")).toMatch(callout("esm", "CALLOUT-COMPONENT-TEXT"));
      expect(existsSync(join(dirname(outDir), ".panaversity-cache", "report.json"))).toBe(true);
    },
    900_000,
  );
});

describe.runIf(MATRIX)("the build matrix (PFS_MATRIX=1): a 726-page book, each cell against the floor site", () => {
  const largeBook = generateLargeBook(LARGE_BOOK);
  const calloutPages = largeBook.filter((f) => f.content.includes(CALLOUT_TEXT)).length;

  beforeAll(() => {
    // Queue every build now (floors first) so that two always run; each test awaits its own.
    for (const version of VERSIONS) buildFloor(version).catch(() => {});
    for (const cell of CELLS) buildCell(cell).catch(() => {});
  });

  it.each(CELLS.map((c) => [cellName(c), c] as const))(
    "%s: builds; page count equals the floor's; every page has its article, images and the site's MDX component",
    async (_name, cell) => {
      const [floor, ours] = await Promise.all([buildFloor(cell.version), buildCell(cell)]);
      const floorPages = await docsPages(floor.outDir);
      const pages = await docsPages(ours.outDir);
      process.stderr.write(`[matrix] ${cellName(cell)}: ${pages.size} pages in ${(ours.ms / 1000).toFixed(0)} s (floor ${floorPages.size} pages in ${(floor.ms / 1000).toFixed(0)} s)\n`);
      expect(floorPages.size).toBe(LARGE_BOOK_PAGES);
      expect([...pages.keys()].sort()).toEqual([...floorPages.keys()].sort());
      const withoutArticle = [...pages].filter(([, page]) => !ARTICLE.test(page)).map(([route]) => route);
      expect(withoutArticle).toEqual([]);
      const withCallout = [...pages.values()].filter((p) => callout(cell.style, CALLOUT_TEXT).test(p));
      expect(withCallout.length).toBe(calloutPages);
      expect([...pages.values()].filter((p) => p.includes(`STAMPED-BY-${cell.style.toUpperCase()}-REMARK`)).length).toBe(pages.size);
      // Relative image links (../../../static/img/…) are bundled (or inlined) as the floor's are, on every page.
      const differentImages = [...pages].filter(([route, page]) => imageSources(page).join(" ") !== imageSources(floorPages.get(route) ?? "").join(" "));
      expect(differentImages.map(([route]) => route)).toEqual([]);
      expect(imageSources(pages.get("Part-1/chapter-1/index.html")!).length).toBeGreaterThan(0);
    },
    3_600_000,
  );

  // The site plugin reading the docs folder and the search index: TS cells (the production-shaped site). The search
  // assertion needs the plugin's content to carry `loadedVersions` at its top level (issue 17, merged separately).
  it.each(CELLS.filter((c) => c.style === "ts").map((c) => [cellName(c), c] as const))(
    "%s: the site's disk-reading plugin finds every page; the local search index holds the same docs as the floor's",
    async (_name, cell) => {
      const [floor, ours] = await Promise.all([buildFloor(cell.version), buildCell(cell)]);
      const disk = async (b: Built) => (JSON.parse(await readFile(join(b.outDir, "disk-docs.json"), "utf8")) as { pages: number }).pages;
      expect(await disk(floor)).toBe(LARGE_BOOK_PAGES);
      expect(await disk(ours)).toBe(LARGE_BOOK_PAGES);
      const floorDocs = await searchDocs(floor.outDir);
      const docs = await searchDocs(ours.outDir);
      process.stderr.write(`[matrix] ${cellName(cell)}: search index ${docs.size} docs (floor ${floorDocs.size})\n`);
      expect(floorDocs.size).toBe(LARGE_BOOK_PAGES);
      expect([...docs].sort()).toEqual([...floorDocs].sort());
    },
    3_600_000,
  );
});
