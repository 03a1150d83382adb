/**
 * The recommended CI setup (docs/plugin-sources.md): a site build whose environment holds ONLY the HTTP
 * source's read token — no DATABASE_URL, no bucket keys — builds the book from `pfs serve`; and that
 * same token is refused (403) for any write, for any other book, for overlays it was not given, and
 * for the audit log.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore, type Store } from "../src/index.js";
import { makeBackend, type BackendInstance } from "./support/backends.js";
import { startSourceServer, type RunningServer } from "./support/source-server.js";
import { AGENT, build, html, makeSite, seedBook } from "./fixtures/docusaurus/harness.js";

const BOOK = "fixture-book";
const OTHER = "other-book";
const READ_TOKEN = "ci-read-token-fixture-book-only";

describe("a site build that holds only a read-only token (PostgreSQL + S3 behind pfs serve)", () => {
  let backend: BackendInstance;
  let store: Store;
  let server: RunningServer;
  let site: Awaited<ReturnType<typeof makeSite>>;
  const call = (method: string, path: string, body?: string) =>
    fetch(`${server.url}${path}`, { method, body, headers: { authorization: `Bearer ${READ_TOKEN}` } });

  beforeAll(async () => {
    backend = await makeBackend({ name: "postgres+s3", db: "postgres", storage: "s3" });
    store = await openStore(backend.options);
    await seedBook(store, BOOK);
    await store.write({ bookId: OTHER, path: "content/01-Part/01-Chapter/01-secret.md", content: "# Secret\n\nOTHER-BOOK-TEXT.\n", agentId: AGENT });
    await store.write({ bookId: BOOK, path: "content/01-Basics/01-Start/01-hello.md", userId: "alice", content: "# Hello\n\nALICE-PRIVATE.\n", agentId: AGENT });
    // The tokens-file entry `pfs token new --books fixture-book --read-only` stands for: one book, nothing else.
    server = await startSourceServer(store, [{ agent: "ci-build", token: READ_TOKEN, books: [BOOK] }]);
    site = await makeSite();
  }, 120_000);

  afterAll(async () => {
    await server?.close();
    await store?.close();
    await site?.cleanup();
    await backend?.cleanup();
  });

  it("builds the book with PFS_SOURCE_URL and PFS_SOURCE_TOKEN as its only store settings", async () => {
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, PFS_SOURCE_URL: server.url, PFS_SOURCE_TOKEN: READ_TOKEN };
    const r = await build(site.siteDir, { bookId: BOOK, cacheDir: "http-cache" }, "build", env);
    expect(r.report).toMatchObject({ bookId: BOOK, pages: 11, fetched: 13, mode: "snapshot" });
    expect(await html(r.outDir, "/docs/Basics/Start/loops")).toContain("LOOPS-BASE-TEXT");
    expect(r.output).not.toMatch(/DATABASE_URL|PFS_S3|AWS_/);
  }, 600_000);

  it("the same token is refused for writes, another book, overlays it was not given and the audit log", async () => {
    const page = "content/01-Basics/01-Start/01-hello.md";
    const before = await store.read({ bookId: BOOK, path: page });
    const refused = [
      await call("PUT", `/v1/books/${BOOK}/files/${page}`, "# Hijacked\n"),
      await call("DELETE", `/v1/books/${BOOK}/files/${page}`),
      await call("PUT", `/v1/books/${BOOK}/files/${page}?user=alice`, "# Hijacked\n"),
      await call("GET", `/v1/books/${OTHER}/files/content/01-Part/01-Chapter/01-secret.md`),
      await call("GET", `/v1/books/${OTHER}/load-plan`),
      await call("GET", `/v1/books/${BOOK}/load-plan?users=alice`),
      await call("GET", `/v1/audit?bookId=${BOOK}`),
      await call("GET", `/v1/admin/verify`),
    ];
    expect(refused.map((r) => r.status)).toEqual([403, 403, 403, 403, 403, 403, 403, 403]);
    // Nothing changed.
    expect((await store.read({ bookId: BOOK, path: page })).hash).toBe(before.hash);
    expect((await store.read({ bookId: BOOK, path: page, userId: "alice" })).content.toString()).toContain("ALICE-PRIVATE");
  });

  it("objects are served only when the book references them: another book's object is 404 with this token", async () => {
    const secret = await store.read({ bookId: OTHER, path: "content/01-Part/01-Chapter/01-secret.md" });
    const own = await store.read({ bookId: BOOK, path: "content/01-Basics/01-Start/03-loops.md" });
    const alice = await store.read({ bookId: BOOK, path: "content/01-Basics/01-Start/01-hello.md", userId: "alice" });
    expect((await call("GET", `/v1/books/${BOOK}/objects/${secret.hash}`)).status).toBe(404);
    expect((await call("GET", `/v1/books/${BOOK}/objects/${alice.hash}`)).status).toBe(404); // an overlay it was not given
    expect((await call("GET", `/v1/books/${BOOK}/objects/${alice.hash}?users=alice`)).status).toBe(403);
    const ok = await call("GET", `/v1/books/${BOOK}/objects/${own.hash}`);
    expect(ok.status).toBe(200);
    expect(ok.headers.get("etag")).toBe(`"${own.hash}"`);
    expect(Buffer.from(await ok.arrayBuffer()).toString()).toContain("LOOPS-BASE-TEXT");
    expect((await call("GET", `/v1/books/${BOOK}/objects/not-a-hash`)).status).toBe(400);
  });
});
