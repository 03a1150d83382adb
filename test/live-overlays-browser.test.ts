/**
 * Live overlays end to end in headless Chromium (DESIGN 4.10): ONE real `docusaurus build` of the fixture
 * site with `overlays: "live"`, a real `pfs serve` (createPfsServer) on a PostgreSQL journal, and a real
 * OpenID Connect issuer's discovery document + JWKS on 127.0.0.1 with keys the test makes via jose
 * (support/oidc-issuer.ts). The site's sign-in contract is played by an init script that puts the reader's
 * ID token in localStorage["panaversity-fs:id-token"].
 */
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore, type Store } from "../src/index.js";
import { createPfsServer } from "../src/server/app.js";
import { parseTokens } from "../src/server/auth.js";
import { createReaderVerifier } from "../src/server/oidc.js";
import { build, listFiles, makeSite, seedBook } from "./fixtures/docusaurus/harness.js";
import { makeBackend, type BackendInstance } from "./support/backends.js";
import { startTestIssuer, type TestIssuer } from "./support/oidc-issuer.js";
import { serveStatic, type StaticServer } from "./support/static-server.js";

const CHROMIUM = process.env.PFS_CHROMIUM ?? "/usr/bin/chromium";
const BOOK = "fixture-book";
const AGENT_TOKEN = "token-for-tutor-bot-0123456789";
const HELLO = "/docs/Basics/Start/hello";
const LOOPS = "/docs/Basics/Start/loops";
const MARKER = "Personalized for you";

describe("live overlays in headless Chromium (one build, no per-user pages)", () => {
  let backend: BackendInstance;
  let store: Store;
  let idp: TestIssuer;
  let other: TestIssuer;
  let api: Server;
  let apiUrl: string;
  let site: StaticServer;
  let siteDir: { siteDir: string; cleanup(): Promise<void> };
  let outDir: string;
  let browser: Browser;
  let tmp: string;
  /** Status of every answer the reader endpoints gave to the tab opened last, in order. */
  let answers: { url: string; status: number }[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`Chromium is not installed at ${CHROMIUM}: apt-get install -y chromium (or set PFS_CHROMIUM).`);
    if (!existsSync(join(fileURLToPath(new URL("..", import.meta.url)), "dist", "docusaurus", "client", "live-overlays.js"))) throw new Error("run `npm run build` first (npm test does).");
    tmp = await mkdtemp(join(tmpdir(), "pfs-live-"));
    idp = await startTestIssuer();
    other = await startTestIssuer();
    backend = await makeBackend({ name: "postgres+local", db: "postgres", storage: "local" });
    store = await openStore(backend.options);
    await seedBook(store, BOOK);
    await store.write({ bookId: BOOK, path: "content/01-Basics/01-Start/01-hello.md", content: "---\ntitle: Hello World\n---\n\nHELLO-ADA-OVERLAY, just for Ada.\n", userId: "student-a", agentId: "tutor-bot" });
    siteDir = await makeSite();
    outDir = join(siteDir.siteDir, "build");
    site = await serveStatic(outDir); // the site's origin, known before the build
    api = createPfsServer({
      store,
      tokens: parseTokens(`tutor-bot=${AGENT_TOKEN}`),
      readers: createReaderVerifier({ issuer: idp.issuer, audience: "book-site" }),
      corsOrigins: [site.url],
    });
    await new Promise<void>((resolve) => api.listen(0, "127.0.0.1", resolve));
    apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
    await build(siteDir.siteDir, {
      bookId: BOOK,
      databaseUrl: backend.databaseUrl,
      storage: backend.options.storage,
      cacheDir: ".live-cache", // relative: the harness reads report.json below the site
      overlays: "live",
      live: { serverUrl: apiUrl, pendingTimeoutMs: 3000 },
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-gpu", "--no-first-run"] });
  }, 900_000);

  afterAll(async () => {
    await browser?.close();
    await site?.close();
    if (api?.listening) await new Promise((resolve) => api.close(resolve));
    await store?.close();
    await backend?.cleanup();
    await idp?.close();
    await other?.close();
    await siteDir?.cleanup();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  /** A tab whose site sign-in left `token` (or none) for the reader. */
  async function readerTab(token: string | undefined): Promise<Page> {
    const context = await browser.newContext();
    // The site's sign-in contract: the ID token in localStorage. Also records whether the shared text was hidden at DOMContentLoaded.
    await context.addInitScript({
      content:
        (token ? `localStorage.setItem("panaversity-fs:id-token", ${JSON.stringify(token)});` : "") +
        `document.addEventListener("DOMContentLoaded", () => { window.pendingAtDcl = document.getElementById("pfs-live-pending") !== null; });`,
    });
    const page = await context.newPage();
    const mine: { url: string; status: number }[] = [];
    answers = mine;
    page.on("response", (r) => {
      if (r.url().startsWith(apiUrl) && r.request().method() === "GET") mine.push({ url: r.url().slice(apiUrl.length), status: r.status() });
    });
    return page;
  }

  const text = (page: Page) => page.locator("article").innerText();

  it("builds no per-user page and ships nothing private", async () => {
    const files = await listFiles(outDir);
    expect(files.filter((f) => f.includes("/u/"))).toEqual([]);
    expect(files.filter((f) => f.endsWith(".html") && f.startsWith("docs/")).length).toBeGreaterThan(5);
    for (const f of files.filter((f) => /\.(html|js|json|xml)$/.test(f))) {
      expect(await readFile(join(outDir, f), "utf8"), f).not.toContain("HELLO-ADA-OVERLAY");
    }
  });

  it("student A sees their overlay with the marker, can go back to the shared page, and gets no flash on the next load", async () => {
    const page = await readerTab(await idp.mint("student-a"));
    await page.goto(site.url + HELLO, { waitUntil: "networkidle" });
    await expect.poll(() => text(page), { timeout: 15_000 }).toContain("HELLO-ADA-OVERLAY");
    expect(await page.getByText(MARKER).isVisible()).toBe(true);
    expect(await page.getByText("HELLO-BASE-TEXT").isVisible()).toBe(false);
    await page.getByRole("button", { name: "Show the shared page" }).click();
    expect(await page.getByText("HELLO-BASE-TEXT").isVisible()).toBe(true);
    expect(await page.getByText("HELLO-ADA-OVERLAY").isVisible()).toBe(false);
    // Full reload: the tab's cached list says this page is personalized, so the shared text is hidden before paint.
    await page.reload({ waitUntil: "networkidle" });
    expect(await page.evaluate("window.pendingAtDcl")).toBe(true);
    await expect.poll(() => page.getByText("HELLO-ADA-OVERLAY").isVisible(), { timeout: 15_000 }).toBe(true);
    // Client-side navigation to a page without an overlay: the shared page, no marker.
    await page.locator("a.pagination-nav__link--next").click();
    await expect.poll(() => new URL(page.url()).pathname, { timeout: 15_000 }).toBe("/docs/Basics/Start/variables");
    await expect.poll(() => page.getByText(MARKER).count(), { timeout: 15_000 }).toBe(0);
    await page.context().close();
  });

  it("student B sees the shared page", async () => {
    const page = await readerTab(await idp.mint("student-b"));
    await page.goto(site.url + HELLO, { waitUntil: "networkidle" });
    await expect.poll(() => answers.length, { timeout: 15_000 }).toBeGreaterThan(0);
    expect(answers[0]).toEqual({ url: `/v1/reader/books/${BOOK}/overlays`, status: 200 });
    expect(await page.getByText("HELLO-BASE-TEXT").isVisible()).toBe(true);
    expect(await page.getByText(MARKER).count()).toBe(0);
    await page.context().close();
  });

  it("forged, expired, wrong-audience and wrong-issuer tokens: the shared page, and the server answered 401", async () => {
    const cases = {
      forged: await idp.forge("student-a", "book-site"),
      expired: await idp.mint("student-a", { expiresIn: Math.floor(Date.now() / 1000) - 3600 }),
      "wrong audience": await idp.mint("student-a", { audience: "another-site" }),
      "wrong issuer": await other.mint("student-a"),
    };
    for (const [name, token] of Object.entries(cases)) {
      const page = await readerTab(token);
      await page.goto(site.url + HELLO, { waitUntil: "networkidle" });
      await expect.poll(() => answers.length, { message: name, timeout: 15_000 }).toBeGreaterThan(0);
      await page.waitForTimeout(300); // nothing more comes after a refusal
      expect(answers.map((a) => a.status), name).toEqual([401]);
      expect(await page.getByText("HELLO-BASE-TEXT").isVisible(), name).toBe(true);
      expect(await page.getByText("HELLO-ADA-OVERLAY").count(), name).toBe(0);
      expect(await page.getByText(MARKER).count(), name).toBe(0);
      await page.context().close();
    }
  });

  it("an overlay an agent writes shows on A's next page load, without a build; with the server down the shared page stays", async () => {
    const page = await readerTab(await idp.mint("student-a"));
    await page.goto(site.url + LOOPS, { waitUntil: "networkidle" });
    await expect.poll(() => answers.some((a) => a.url.endsWith("/overlays")), { timeout: 15_000 }).toBe(true);
    expect(await page.getByText("LOOPS-BASE-TEXT").isVisible()).toBe(true);
    const put = await fetch(`${apiUrl}/v1/books/${BOOK}/files/content/01-Basics/01-Start/03-loops.md?user=student-a`, {
      method: "PUT",
      headers: { authorization: `Bearer ${AGENT_TOKEN}` },
      body: "# Loops\n\nLOOPS-ADA-OVERLAY, written by the tutor.\n",
    });
    expect(put.status).toBe(201);
    await page.reload({ waitUntil: "networkidle" });
    await expect.poll(() => page.getByText("LOOPS-ADA-OVERLAY").isVisible(), { timeout: 15_000 }).toBe(true);
    expect(await page.getByText(MARKER).isVisible()).toBe(true);
    // The server goes away: the page still loads and shows the shared text (after the pending timeout at most).
    api.closeAllConnections();
    await new Promise((resolve) => api.close(resolve));
    await page.reload({ waitUntil: "load" });
    await expect.poll(() => page.getByText("LOOPS-BASE-TEXT").isVisible(), { timeout: 10_000 }).toBe(true);
    expect(await page.getByText(MARKER).count()).toBe(0);
    await page.context().close();
  });
});
