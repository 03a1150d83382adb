/**
 * Browser check of the example site: seed the sample book into a fresh embedded store, run a real
 * `docusaurus build` of example-site/ with the panaversity-fs plugin, serve the output on 127.0.0.1 and
 * open lesson pages in headless Chromium (Debian's `chromium` package driven by playwright-core).
 * The screenshot is kept at test-artifacts/lesson.png.
 *
 * Chromium missing is a failure, not a skip: `.ci/run` installs it (`apt-get install -y chromium`).
 * PFS_BROWSER_SITE=<built site folder> skips the seed + build and checks that folder instead (for quick
 * iterations on the checks themselves).
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore } from "../src/index.js";
import { generateSampleBook, OVERLAY_MARKER, SAMPLE_USER } from "../scripts/sample-book.js";
import { seedBook } from "../scripts/seed.js";
import { pgliteDirFromTemplate } from "./support/backends.js";
import { serveStatic, type StaticServer } from "./support/static-server.js";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const CHROMIUM = process.env.PFS_CHROMIUM ?? "/usr/bin/chromium";
const ARTIFACTS = join(REPO, "test-artifacts");
const DOCUSAURUS = join(REPO, "node_modules", "@docusaurus", "core", "bin", "docusaurus.mjs");
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Lesson 2 of chapter 1: has a previous and a next lesson, a heading title and an image. */
const LESSON = "/docs/Foundations/getting-started/installing-python";
const MDX_LESSON = "/docs/Working-with-Agents/building-an-agent/interactive-agent-loop";
const OVERLAID = "Foundations/getting-started/why-python-for-ai";

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((ok, fail) => {
    const child = spawn(cmd, args, { cwd: REPO, env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("error", fail);
    child.on("close", (code) => (code === 0 ? ok(out) : fail(new Error(`${cmd} ${args.join(" ")} exited with ${code}:\n${out.slice(-8000)}`))));
  });
}

/** Seeds a fresh embedded store and builds example-site/ from it; returns the build folder. */
async function buildExampleSite(tmp: string): Promise<string> {
  if (!existsSync(join(REPO, "dist", "docusaurus", "index.js"))) {
    throw new Error("dist/docusaurus/index.js is missing: run `npm run build` first (npm test does).");
  }
  const dataDir = join(tmp, "store");
  await pgliteDirFromTemplate(dataDir);
  const store = await openStore({ dataDir, storage: { kind: "local", dir: join(dataDir, "objects") } });
  try {
    await seedBook(store, generateSampleBook(), { agentId: "browser-test" });
  } finally {
    await store.close();
  }
  const outDir = join(tmp, "build");
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PFS_DATA_DIR: dataDir,
    PFS_EXAMPLE_CACHE_DIR: join(tmp, "cache"),
    // Keep this build's generated files apart from a developer's own example build.
    DOCUSAURUS_GENERATED_FILES_DIR_NAME: ".docusaurus-browser-test",
    // Nor webpack's persistent cache (node_modules/.cache/webpack), which `npm run example` fills for the same site
    // with another cacheDir: with it, this build once compiled that other cache's pages (and failed on them).
    DOCUSAURUS_NO_PERSISTENT_CACHE: "1",
    NODE_ENV: "production",
  };
  for (const key of Object.keys(env)) if (key === "DATABASE_URL" || key.startsWith("PFS_S3_")) delete env[key];
  await run(process.execPath, [DOCUSAURUS, "build", "example-site", "--out-dir", outDir], env);
  return outDir;
}

describe("example site in headless Chromium", () => {
  let tmp: string;
  let server: StaticServer;
  let context: BrowserContext;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`Chromium is not installed at ${CHROMIUM}: apt-get install -y chromium (or set PFS_CHROMIUM).`);
    }
    tmp = await mkdtemp(join(tmpdir(), "pfs-browser-"));
    const site = process.env.PFS_BROWSER_SITE ? resolve(process.env.PFS_BROWSER_SITE) : await buildExampleSite(tmp);
    server = await serveStatic(site);
    context = await chromium.launchPersistentContext(join(tmp, "profile"), {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 900 },
    });
  }, 900_000);

  afterAll(async () => {
    await context?.close();
    await server?.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  async function open(path: string): Promise<Page> {
    const page = await context.newPage();
    const response = await page.goto(server.url + path, { waitUntil: "networkidle" });
    expect(response?.status(), `GET ${path}`).toBe(200);
    return page;
  }

  it("shows a lesson with its sidebar, title, image and previous/next links", async () => {
    const page = await open(LESSON);
    await expect.poll(() => page.title()).toContain("Installing Python");
    const title = page.locator("article h1").first();
    expect(await title.isVisible()).toBe(true);
    expect(await title.textContent()).toBe("Installing Python");

    // Sidebar: Part → Chapter → Lesson, the current lesson highlighted.
    const sidebar = page.locator("aside.theme-doc-sidebar-container nav.menu");
    expect(await sidebar.isVisible()).toBe(true);
    const active = sidebar.locator("a.menu__link--active");
    expect(await active.last().textContent()).toBe("Installing Python");
    expect(await sidebar.getByText("Part 1: Foundations", { exact: true }).isVisible()).toBe(true);
    expect(await sidebar.getByText("Chapter 1: Getting Started", { exact: true }).first().isVisible()).toBe(true);

    // Previous / next.
    const prev = page.locator("a.pagination-nav__link--prev");
    const next = page.locator("a.pagination-nav__link--next");
    await prev.scrollIntoViewIfNeeded();
    expect(await prev.isVisible()).toBe(true);
    expect(await next.isVisible()).toBe(true);
    expect(await prev.locator(".pagination-nav__label").textContent()).toBe("Why Python for AI");
    expect(await next.locator(".pagination-nav__label").textContent()).toBe("Your First Program");

    // The lesson's summary (a .summary.md in the store, not a page) is shown by the site's DocItem wrapper.
    expect(await page.getByTestId("lesson-summary").textContent()).toContain("Installing Python");

    // The image from the book's static/ folder loaded.
    const img = page.locator("article img").first();
    expect(await img.evaluate((el) => {
      const image = el as unknown as { complete: boolean; naturalWidth: number };
      return image.complete && image.naturalWidth > 0;
    })).toBe(true);

    await page.evaluate("window.scrollTo(0, 0)");
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, "lesson.png"), fullPage: true });

    // Following "next" is client-side navigation to a real page.
    await next.click();
    await page.waitForURL(/your-first-program/);
    // The URL changes before React renders the new page: under load the old H1 is still there, so wait
    // for the content itself (the H1 text), not only the URL.
    await expect.poll(() => page.locator("article h1").first().textContent(), { timeout: 30_000 }).toBe("Your First Program");
    await page.close();
  });

  it("renders the site's own MDX component in the MDX lesson, interactively", async () => {
    const page = await open(MDX_LESSON);
    const loop = page.getByTestId("agent-loop");
    expect(await loop.isVisible()).toBe(true);
    await loop.getByRole("button", { name: /Act/ }).click();
    await expect.poll(() => loop.locator("p").textContent()).toContain("Call the tool");
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, "mdx-lesson.png") });
    await page.close();
  });

  it(`shows ${SAMPLE_USER}'s overlay only under their prefix, with the whole book's sidebar`, async () => {
    const personal = await open(`/docs/u/${SAMPLE_USER}/${OVERLAID}`);
    expect(await personal.getByText(OVERLAY_MARKER).first().isVisible()).toBe(true);
    // The whole book's sidebar, the page's own entry highlighted (by the client module).
    const sidebar = personal.locator("aside.theme-doc-sidebar-container nav.menu");
    expect(await sidebar.getByText("Part 3: Working with Agents", { exact: true }).isVisible()).toBe(true);
    await expect.poll(() => sidebar.locator("a.menu__link--active").last().textContent()).toBe("Why Python for AI");
    // Its next page is the shared base page (the user has no version of it).
    const next = personal.locator("a.pagination-nav__link--next");
    expect(new URL((await next.getAttribute("href")) ?? "", server.url).pathname).toBe("/docs/Foundations/getting-started/installing-python");
    await personal.close();
    // Their summary overlay replaces the base summary on their page only.
    const summaryPage = await open(`/docs/u/${SAMPLE_USER}/Building-Programs/functions/defining-functions`);
    expect(await summaryPage.getByTestId("lesson-summary").textContent()).toContain(OVERLAY_MARKER.toLowerCase());
    await summaryPage.close();
    const base = await open(`/docs/${OVERLAID}`);
    expect(await base.locator("article h1").first().isVisible()).toBe(true);
    expect(await base.getByText(OVERLAY_MARKER).count()).toBe(0);
    await base.close();
  });

  it(`walks ${SAMPLE_USER}'s book through next, previous and sidebar links: their pages where they have one, the shared pages elsewhere`, async () => {
    const page = await open(`/docs/preface?reader=${SAMPLE_USER}`);
    const h1 = () => page.locator("article h1").first().textContent();
    const marker = () => page.getByText(OVERLAY_MARKER).count();
    const path = () => new URL(page.url()).pathname;
    const next = async () => {
      const link = page.locator("a.pagination-nav__link--next");
      await link.scrollIntoViewIfNeeded();
      await link.click();
    };
    await expect.poll(h1).toBe("Preface");
    // preface → Part 1 → Chapter 1 → lesson 1 (theirs) → lesson 2 (shared).
    const walk: { path: string; mine: boolean }[] = [];
    let title = "Preface";
    for (let i = 0; i < 4; i++) {
      await next();
      await expect.poll(h1, { timeout: 15_000 }).not.toBe(title);
      title = (await h1())!;
      walk.push({ path: path(), mine: (await marker()) > 0 });
    }
    expect(walk).toEqual([
      { path: "/docs/Foundations/", mine: false },
      { path: "/docs/Foundations/getting-started/", mine: false },
      { path: `/docs/u/${SAMPLE_USER}/${OVERLAID}`, mine: true },
      { path: "/docs/Foundations/getting-started/installing-python", mine: false },
    ]);
    // previous from the shared page goes back to their version.
    const prev = page.locator("a.pagination-nav__link--prev");
    await prev.scrollIntoViewIfNeeded();
    await prev.click();
    await expect.poll(path).toBe(`/docs/u/${SAMPLE_USER}/${OVERLAID}`);
    await expect.poll(marker).toBeGreaterThan(0);

    // Sidebar: open chapter 2, click a lesson they have their own version of, then one they do not.
    const sidebar = page.locator("aside.theme-doc-sidebar-container nav.menu");
    await sidebar.getByText("Chapter 2: Values and Types", { exact: true }).first().click();
    await expect.poll(path).toBe("/docs/Foundations/values-and-types/");
    const mine = sidebar.getByRole("link", { name: "Variables and Names", exact: true });
    expect(new URL((await mine.getAttribute("href")) ?? "", server.url).pathname).toBe(`/docs/u/${SAMPLE_USER}/Foundations/values-and-types/variables-and-names`);
    await mine.click();
    await expect.poll(path).toBe(`/docs/u/${SAMPLE_USER}/Foundations/values-and-types/variables-and-names`);
    await expect.poll(h1).toBe("Variables and Names");
    await expect.poll(marker).toBeGreaterThan(0);
    await expect.poll(() => sidebar.locator("a.menu__link--active").last().textContent()).toBe("Variables and Names");
    await sidebar.getByRole("link", { name: "Strings", exact: true }).click();
    await expect.poll(path).toBe("/docs/Foundations/values-and-types/strings");
    await expect.poll(h1).toBe("Strings");
    expect(await marker()).toBe(0);

    // A typed base URL of one of their pages (full page load) lands on their version; `?reader=` leaves their book.
    await page.goto(`${server.url}/docs/${OVERLAID}`, { waitUntil: "networkidle" });
    await expect.poll(path).toBe(`/docs/u/${SAMPLE_USER}/${OVERLAID}`);
    await expect.poll(marker).toBeGreaterThan(0);
    await page.goto(`${server.url}/docs/${OVERLAID}?reader=`, { waitUntil: "networkidle" });
    await page.waitForTimeout(500);
    expect(path()).toBe(`/docs/${OVERLAID}`);
    expect(await marker()).toBe(0);
    await next();
    await expect.poll(path).toBe("/docs/Foundations/getting-started/installing-python");
    await page.close();
  });
});
