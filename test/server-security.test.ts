/**
 * Issue 9, findings 3, 4, 7, 8, 10 against real parts: pure scope/token rules, malformed URLs, request ids
 * and leaks, the connection cap, verified reads (local folder and s3rver's folder), MCP binary reads.
 */
import { connect, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { openStore, sha256Hex, type Store } from "../src/index.js";
import { BASE_USER } from "../src/paths/index.js";
import { objectKey } from "../src/blobs/keys.js";
import { fileJournal } from "../src/journal/schema.js";
import { createPfsServer, reprDigest } from "../src/server/app.js";
import { createMcpServer } from "../src/server/mcp.js";
import { hashToken, parseTokens, parseTokensFile, scopeForToken } from "../src/server/auth.js";
import { authorize, fullScope, type Scope } from "../src/server/scopes.js";
import { clientError, logLine, redactCredentials } from "../src/server/errors.js";
import { httpStatus, route } from "../src/server/routes.js";
import { PfsError, isPfsError } from "../src/errors/index.js";
import fc from "fast-check";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { createMetricsServer } from "../src/server/app.js";
import { scopeOf } from "../src/cli/commands/mcp.js";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { makeBackend, type BackendInstance } from "./support/backends.js";
import { superuserQuery, ADMIN_URL } from "./support/postgres.js";
import { auditRows, captureState } from "./support/state.js";
import { unzip } from "./support/zip.js";

const TOKEN = "token-for-agent-a-0123456789";
const MD = "content/01-p/01-c/01-l.md";
const BIG = "static/img/big.png";
const BIG_SIZE = 9 * 1024 * 1024; // above the 8 MB verify-before-sending limit: checked while streaming

describe("scopes and tokens (pure)", () => {
  const tutor: Scope = { agentId: "tutor-bot", books: ["bk1"], users: ["ada"], writeBase: false, audit: false, admin: false };

  it("authorizes base reads by book only, overlays by user, base changes by writeBase, and names the missing scope", () => {
    expect(authorize(tutor, { op: "read", bookId: "bk1" })).toEqual({ ok: true });
    expect(authorize(tutor, { op: "write", bookId: "bk1", userId: "ada" })).toEqual({ ok: true });
    expect(authorize(tutor, { op: "write", bookId: "bk1", userId: "bob" })).toEqual({
      ok: false,
      scope: "users",
      message: "token for agent tutor-bot may not write overlays of user bob (scope: users)",
    });
    expect(authorize(tutor, { op: "delete", bookId: "bk1" })).toMatchObject({ ok: false, scope: "writeBase" });
    expect(authorize(tutor, { op: "read", bookId: "bk2" })).toMatchObject({ ok: false, scope: "books" });
    expect(authorize(tutor, { op: "audit", bookId: "bk1" })).toMatchObject({ ok: false, scope: "audit" });
    expect(authorize({ ...tutor, audit: true }, { op: "audit" })).toMatchObject({ ok: false, scope: "books" });
    expect(authorize(tutor, { op: "admin" })).toMatchObject({ ok: false, scope: "admin" });
    const all = fullScope("root-bot");
    for (const op of ["read", "write", "delete", "list", "snapshot", "archive"] as const) {
      expect(authorize(all, { op, bookId: "any-book", userId: "anyone" })).toEqual({ ok: true });
    }
  });

  it("keeps only token hashes, finds tokens of any length, and reads PFS_SERVER_TOKENS as full access", () => {
    const file = JSON.stringify({ tokens: [{ agent: "tutor-bot", sha256: hashToken(TOKEN), books: ["bk1"], users: ["ada"] }] });
    const table = parseTokensFile(file);
    expect(JSON.stringify(table)).not.toContain(TOKEN);
    expect(scopeForToken(table, TOKEN)).toMatchObject({ agentId: "tutor-bot", books: ["bk1"], users: ["ada"], writeBase: false });
    for (const wrong of ["x", TOKEN.slice(0, -1), `${TOKEN}x`, "é".repeat(500)]) {
      expect(() => scopeForToken(table, wrong)).toThrow(expect.objectContaining({ code: "UNAUTHORIZED" }));
    }
    expect(scopeForToken(parseTokens(`agent-a=${TOKEN}`), TOKEN)).toEqual(fullScope("agent-a"));
    expect(() => parseTokensFile('{"tokens":[{"agent":"a","sha256":"nothex"}]}')).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    expect(() => parseTokensFile('{"tokens":[{"agent":"system","sha256":"' + "a".repeat(64) + '"}]}')).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    expect(() => parseTokensFile("not json")).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
  });

  it("routes malformed or ambiguous URLs to INVALID_ARGUMENT, never to a file", () => {
    const bad = [
      "/v1/books/b1/files/static/img/%E0%A4%A.png",
      "/v1/books/b1/files/static/img/%C0%AE.png",
      "/v1/books/b1/files/static/img/a.png?user=%E0%A4%A",
      "/v1/books/b1/files/static/img/a%2fb.png",
      "/v1/books/b1/files/static/img/a%2Fb.png",
      "/v1/books/b1/files/static/img/a%5cb.png",
      "/v1/books/b1/files/static\\img\\a.png",
      "/v1/books/b1/files/./static/img/a.png",
      "/v1/books/b1/files/static/img/../img/a.png",
      "/v1/books/b1/files/static/img/%2e%2e/a.png",
      "/v1/books/b1/files/static//img/a.png",
      "/v1/books/b1/files/static/img/a.png?user=",
    ];
    for (const url of bad) expect(() => route("PUT", url), url).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    expect(route("PUT", "/v1/books/bk1/files/static/img/a%20b.png?user=ada")).toEqual({ op: "write", bookId: "bk1", path: "static/img/a b.png", userId: "ada" });
  });

  it("property: any URL either is refused with INVALID_ARGUMENT or names the file its canonical encoding names", () => {
    const segment = fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom(".", "..", "", "%2f", "%5c", "%E0%A4%A", "%C0%AE", "a\\b", "%2e"));
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 4 }), fc.boolean(), (segs, encode) => {
        const rest = segs.map((x) => (encode ? encodeURIComponent(x) : x)).join("/");
        let r;
        try {
          r = route("GET", `/v1/books/bk1/files/${rest}`);
        } catch (err) {
          expect(isPfsError(err)).toBe(true);
          expect((err as PfsError).code).toMatch(/^(INVALID_ARGUMENT|NOT_FOUND)$/);
          return;
        }
        if (r.op !== "read") return;
        const canonical = r.path.split("/").map(encodeURIComponent).join("/");
        expect(route("GET", `/v1/books/bk1/files/${canonical}`)).toEqual(r);
        for (const seg of r.path.split("/")) expect(seg === "" || seg === "." || seg === "..").toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it("pfs token new prints a token and an entry holding only its hash", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ["dist/cli/main.js", "token", "new", "--agent", "tutor-bot", "--books", "python-book", "--users", "ada,bob"]);
    const { token, entry } = JSON.parse(stdout) as { token: string; entry: Record<string, unknown> };
    expect(token.length).toBeGreaterThanOrEqual(40);
    expect(entry).toEqual({ agent: "tutor-bot", sha256: hashToken(token), books: ["python-book"], users: ["ada", "bob"], writeBase: false, audit: false, admin: false });
    expect(JSON.stringify(entry)).not.toContain(token);
    expect(scopeForToken(parseTokensFile(JSON.stringify({ tokens: [entry] })), token).agentId).toBe("tutor-bot");
  });

  it("pfs mcp takes its scope from a tokens file + PFS_TOKEN, or from flags, or (neither) full access", async () => {
    const dir = await mkdtemp(join(tmpdir(), "pfs-tokens-"));
    const file = join(dir, "tokens.json");
    await writeFile(file, JSON.stringify({ tokens: [{ agent: "tutor-bot", sha256: hashToken(TOKEN), books: ["bk1"], users: ["ada"] }] }));
    const saved = { token: process.env.PFS_TOKEN, file: process.env.PFS_SERVER_TOKENS_FILE };
    delete process.env.PFS_SERVER_TOKENS_FILE;
    try {
      process.env.PFS_TOKEN = TOKEN;
      expect(await scopeOf({ tokensFile: file })).toMatchObject({ agentId: "tutor-bot", books: ["bk1"], users: ["ada"], writeBase: false });
      process.env.PFS_TOKEN = "some-other-token-0123456789";
      await expect(scopeOf({ tokensFile: file })).rejects.toMatchObject({ code: "UNAUTHORIZED" });
      expect(await scopeOf({ agent: "bot", books: "bk1,bk2", users: "ada", audit: true })).toEqual({
        agentId: "bot",
        books: ["bk1", "bk2"],
        users: ["ada"],
        writeBase: false,
        audit: true,
        admin: false,
      });
      await expect(scopeOf({ agent: "bot", users: "ada" })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
      expect(await scopeOf({ agent: "bot" })).toEqual(fullScope("bot"));
    } finally {
      for (const [k, v] of [["PFS_TOKEN", saved.token], ["PFS_SERVER_TOKENS_FILE", saved.file]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });

  it("tells clients the code and a request id, never the inner message of a server failure; logs redact credentials", () => {
    const inner = new PfsError("JOURNAL_UNAVAILABLE", "The journal (PostgreSQL postgres://pfs:secret@db.internal:5432/prod) failed: boom");
    const { status, body, logged } = clientError(inner, "rid-1", [], httpStatus);
    expect(status).toBe(503);
    expect(JSON.stringify(body)).not.toMatch(/postgres|secret|db\.internal|prod/);
    expect(body).toMatchObject({ code: "JOURNAL_UNAVAILABLE", requestId: "rid-1" });
    expect(logged).toBe(true);
    const line = logLine("rid-1", "GET", "/x", status, inner);
    expect(line).toContain("rid-1");
    expect(line).not.toContain("secret");
    expect(redactCredentials("postgres://u:p@h/db?password=x")).toBe("postgres://***@h/db?password=***");
    const folder = clientError(new PfsError("NOT_FOUND", "No x in local folder /srv/objects"), "rid-2", ["local folder /srv/objects"], httpStatus);
    expect(JSON.stringify(folder.body)).not.toContain("/srv/objects");
  });
});

function metricValue(text: string, operation: string): number {
  const m = new RegExp(`panaversityfs_integrity_errors_total\\{operation="${operation}"\\} (\\d+)`).exec(text);
  return m ? Number(m[1]) : 0;
}

function bigAsset(): Buffer {
  const b = Buffer.alloc(BIG_SIZE);
  for (let i = 0; i < b.length; i += 4) b.writeUInt32LE((i * 2654435761) >>> 0, i);
  return b;
}

/** What a client gets for a GET: status and whether a complete, correct body arrived. */
async function getOutcome(url: string, expected: Buffer): Promise<{ status: number; completeAndCorrect: boolean; failedMidBody: boolean }> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } });
  if (res.status !== 200) {
    await res.arrayBuffer().catch(() => {});
    return { status: res.status, completeAndCorrect: false, failedMidBody: false };
  }
  try {
    const body = Buffer.from(await res.arrayBuffer());
    return { status: 200, completeAndCorrect: body.equals(expected), failedMidBody: false };
  } catch {
    return { status: 200, completeAndCorrect: false, failedMidBody: true };
  }
}

async function flipByte(file: string, at: number): Promise<void> {
  const bytes = await readFile(file);
  bytes[at] = bytes[at]! ^ 0xff;
  await writeFile(file, bytes);
}

for (const storage of ["local", "s3"] as const) {
  describe(`every HTTP read verifies (pglite+${storage})`, () => {
    let instance: BackendInstance;
    let store: Store;
    let server: Server;
    let base: string;
    const logs: string[] = [];
    const big = bigAsset();

    beforeAll(async () => {
      instance = await makeBackend({ name: `pglite+${storage}`, db: "pglite", storage });
      store = await openStore(instance.options);
      server = createPfsServer({ store, tokens: parseTokens(`agent-a=${TOKEN}`), log: (l) => logs.push(l) });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      await new Promise((resolve) => server?.close(resolve));
      await store?.close();
      await instance?.cleanup();
    });

    const objectFile = (hash: string) =>
      storage === "local"
        ? join((instance.options.storage as { dir: string }).dir, ...objectKey(hash).split("/"))
        : join(inject("s3Directory"), (instance.options.storage as { bucket: string }).bucket, `${objectKey(hash)}._S3rver_object`);
    const setJournalSize = (book: string, path: string, size: number) =>
      store.ctx.journal.db
        .update(fileJournal)
        .set({ size })
        .where(and(eq(fileJournal.bookId, book), eq(fileJournal.path, path), eq(fileJournal.userId, BASE_USER)));
    const integrity = async () => metricValue(await store.metrics(), "read");

    it("sends ETag and Repr-Digest with a correct body", async () => {
      const { hash } = await store.write({ bookId: "ok-book", path: MD, content: "# fine\n", agentId: "seed" });
      const res = await fetch(`${base}/v1/books/ok-book/files/${MD}`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(res.headers.get("etag")).toBe(`"${hash}"`);
      expect(res.headers.get("repr-digest")).toBe(reprDigest(hash));
      expect(res.headers.get("repr-digest")).toBe(`sha-256=:${Buffer.from(hash, "hex").toString("base64")}:`);
      expect(await res.text()).toBe("# fine\n");
    });

    it("a corrupted markdown object → 500 INTEGRITY_ERROR before any byte, no server path, counted", async () => {
      const content = Buffer.from("# will be corrupted\n");
      const { hash } = await store.write({ bookId: "bad-md", path: MD, content, agentId: "seed" });
      await flipByte(objectFile(hash), 2);
      const before = await integrity();
      const res = await fetch(`${base}/v1/books/bad-md/files/${MD}`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(res.status).toBe(500);
      const text = await res.text();
      const body = JSON.parse(text) as { error: { code: string; requestId: string } };
      expect(body.error.code).toBe("INTEGRITY_ERROR");
      expect(body.error.requestId).toBe(res.headers.get("x-request-id"));
      expect(text).not.toContain(instance.dir);
      expect(text).not.toContain("S3 bucket");
      expect(logs.some((l) => l.includes(body.error.requestId))).toBe(true);
      expect(await integrity()).toBe(before + 1);
    });

    it("a journal size that differs from the object → no successful read (markdown and streamed asset), counted", async () => {
      const md = Buffer.from("# size\n");
      await store.write({ bookId: "bad-size", path: MD, content: md, agentId: "seed" });
      await store.write({ bookId: "bad-size", path: BIG, content: big, agentId: "seed" });
      const before = await integrity();
      await setJournalSize("bad-size", MD, md.length + 5);
      expect((await getOutcome(`${base}/v1/books/bad-size/files/${MD}`, md)).status).toBe(500);
      for (const size of [BIG_SIZE - 10, BIG_SIZE + 10]) {
        await setJournalSize("bad-size", BIG, size);
        const out = await getOutcome(`${base}/v1/books/bad-size/files/${BIG}`, big);
        expect(out.completeAndCorrect, `journal size ${size}`).toBe(false);
        expect(out.status !== 200 || out.failedMidBody, `journal size ${size}`).toBe(true);
      }
      expect(await integrity()).toBe(before + 3);
    });

    it("a corrupted large asset is cut short mid-stream (the client sees a failed body), counted", async () => {
      const { hash } = await store.write({ bookId: "bad-big", path: BIG, content: big, agentId: "seed" });
      await flipByte(objectFile(hash), BIG_SIZE - 100);
      const before = await integrity();
      const out = await getOutcome(`${base}/v1/books/bad-big/files/${BIG}`, big);
      expect(out).toMatchObject({ status: 200, completeAndCorrect: false, failedMidBody: true });
      await expect.poll(integrity).toBe(before + 1);
      // The library stream fails too.
      const file = await store.readStream({ bookId: "bad-big", path: BIG });
      await expect(async () => {
        for await (const _ of file.stream) void _;
      }).rejects.toMatchObject({ code: "INTEGRITY_ERROR" });
    });

    it("an archive leaves a corrupted object out (errors.json) and counts it", async () => {
      const { hash } = await store.write({ bookId: "bad-zip", path: MD, content: "# zip me\n", agentId: "seed" });
      await store.write({ bookId: "bad-zip", path: "content/01-p/01-c/02-l.md", content: "# fine\n", agentId: "seed" });
      await flipByte(objectFile(hash), 1);
      const before = metricValue(await store.metrics(), "archive");
      const res = await fetch(`${base}/v1/books/bad-zip/archive`, { headers: { authorization: `Bearer ${TOKEN}` } });
      const entries = await unzip(Buffer.from(await res.arrayBuffer()));
      expect(entries.map((e) => e.name).sort()).toEqual(["content/01-p/01-c/02-l.md", "errors.json"]);
      expect(metricValue(await store.metrics(), "archive")).toBe(before + 1);
    });
  });
}

describe("HTTP edges: bad input is a 400 with a request id; the connection cap holds", () => {
  let instance: BackendInstance;
  let store: Store;
  let server: Server;
  let port: number;
  const logs: string[] = [];

  beforeAll(async () => {
    instance = await makeBackend({ name: "postgres+local", db: "postgres", storage: "local" });
    store = await openStore(instance.options);
    server = createPfsServer({ store, tokens: parseTokens(`agent-a=${TOKEN}`), maxConnections: 20, headersTimeoutMs: 1500, log: (l) => logs.push(l) });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
    await store.write({ bookId: "edge-book", path: MD, content: "# base\n", agentId: "seed" });
  });
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await store?.close();
    await instance?.cleanup();
  });

  /** Sends a raw request line (fetch would normalise the URL first). */
  function raw(method: string, target: string, withToken = true): Promise<{ status: number; headers: string; body: string }> {
    return new Promise((resolve, reject) => {
      const s = connect(port, "127.0.0.1");
      let data = "";
      s.on("data", (d) => (data += d.toString("latin1")));
      s.on("error", reject);
      s.on("end", () => {
        const [head, ...rest] = data.split("\r\n\r\n");
        resolve({ status: Number(/^HTTP\/1\.1 (\d+)/.exec(head ?? "")?.[1]), headers: head ?? "", body: rest.join("\r\n\r\n") });
      });
      const auth = withToken ? `Authorization: Bearer ${TOKEN}\r\n` : "";
      s.write(`${method} ${target} HTTP/1.1\r\nHost: x\r\n${auth}Content-Length: 1\r\nConnection: close\r\n\r\nx`);
    });
  }

  it("malformed encodings, ambiguous paths, empty user, bad cursors and dates → 400, nothing written, no stack in the log", async () => {
    const before = await captureState(store);
    const auditBefore = (await auditRows(store)).length;
    const cases: [string, string, boolean][] = [
      ["PUT", "/v1/books/edge-book/files/static/img/%E0%A4%A.png", false],
      ["PUT", "/v1/books/edge-book/files/static/img/%C0%AE.png", false],
      ["PUT", "/v1/books/edge-book/files/static/img/a%2fb.png", true],
      ["PUT", "/v1/books/edge-book/files/static/img/a%5cb.png", true],
      ["PUT", "/v1/books/edge-book/files/static\\img\\c.png", true],
      ["PUT", "/v1/books/edge-book/files/./static/img/d.png", true],
      ["PUT", "/v1/books/edge-book/files/static//img/e.png", true],
      ["PUT", `/v1/books/edge-book/files/${MD}?user=`, true],
      ["GET", "/v1/audit?cursor=zzzz", true],
      ["GET", `/v1/audit?cursor=${Buffer.from("audit:99999999999999999999999").toString("base64url")}`, true],
      ["GET", "/v1/audit?since=%2B275760-09-13T00:00:00Z", true],
      ["GET", "/v1/audit?since=10000-01-01", true],
      ["GET", "/v1/audit?until=yesterday", true],
      ["GET", "/v1/audit?path=%00", true],
      ["GET", "/v1/audit?x=%E0%A4%A", false],
    ];
    for (const [method, url, withToken] of cases) {
      const res = await raw(method, url, withToken);
      expect(res.status, url).toBe(400);
      const body = JSON.parse(res.body) as { error: { code: string; requestId: string } };
      expect(body.error.code, url).toMatch(/^INVALID_(ARGUMENT|PATH)$/);
      expect(res.headers.toLowerCase()).toContain(`x-request-id: ${body.error.requestId}`);
    }
    expect(logs.filter((l) => /\n\s+at /.test(l))).toEqual([]);
    expect(await captureState(store)).toEqual(before);
    expect((await auditRows(store)).length).toBe(auditBefore);
  });

  it("a journal outage answers 503 without the connection string; the log line has the request id", async () => {
    const dbName = new URL(instance.databaseUrl!).pathname.slice(1);
    await superuserQuery(ADMIN_URL, `ALTER DATABASE "${dbName}" WITH ALLOW_CONNECTIONS false`);
    await superuserQuery(ADMIN_URL, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", [dbName]);
    try {
      const res = await raw("GET", "/v1/books/edge-book/files");
      expect(res.status).toBe(503);
      expect(res.body).not.toContain(dbName);
      expect(res.body).not.toMatch(/postgres:\/\/|127\.0\.0\.1|5432/);
      const { requestId } = (JSON.parse(res.body) as { error: { requestId: string } }).error;
      expect(logs.find((l) => l.includes(requestId))).toMatch(/JOURNAL_UNAVAILABLE/);
    } finally {
      await superuserQuery(ADMIN_URL, `ALTER DATABASE "${dbName}" WITH ALLOW_CONNECTIONS true`);
    }
  });

  it("60 half-sent requests never hold more than 20 connections, and a real write succeeds afterwards", async () => {
    const sockets: Socket[] = [];
    let closedByServer = 0;
    for (let i = 0; i < 60; i++) {
      const s = connect(port, "127.0.0.1");
      s.on("error", () => {});
      s.on("close", () => closedByServer++);
      s.resume(); // read what the server sends (a 408), so its close reaches us
      s.write("PUT /v1/books/edge-book/files/static/img/slow.png HTTP/1.1\r\nHost: x\r\n"); // headers never finish
      sockets.push(s);
    }
    await new Promise((r) => setTimeout(r, 300));
    const open = await new Promise<number>((resolve, reject) => server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
    expect(open).toBeLessThanOrEqual(20);
    expect(closedByServer).toBeGreaterThanOrEqual(40); // over the cap: dropped at once
    // The header timeout frees the rest; then real work gets through.
    await expect.poll(() => closedByServer, { timeout: 10_000, interval: 100 }).toBe(60);
    const res = await fetch(`http://127.0.0.1:${port}/v1/books/edge-book/files/content/01-p/01-c/09-l.md`, {
      method: "PUT",
      body: "# after the storm\n",
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(res.status).toBe(201);
    sockets.forEach((s) => s.destroy());
  });
});

describe("--metrics-listen: metrics on their own listener only", () => {
  let instance: BackendInstance;
  let store: Store;
  const servers: Server[] = [];

  beforeAll(async () => {
    instance = await makeBackend({ name: "pglite+local", db: "pglite", storage: "local" });
    store = await openStore(instance.options);
  });
  afterAll(async () => {
    for (const s of servers) await new Promise((resolve) => s.close(resolve));
    await store?.close();
    await instance?.cleanup();
  });

  it("the main listener answers /metrics with 404, the metrics listener serves it", async () => {
    const main = createPfsServer({ store, tokens: parseTokens(`agent-a=${TOKEN}`), serveMetrics: false });
    const metrics = createMetricsServer(store);
    servers.push(main, metrics);
    const at = async (s: Server) => {
      await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
      return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
    };
    const [mainUrl, metricsUrl] = [await at(main), await at(metrics)];
    expect((await fetch(`${mainUrl}/metrics`)).status).toBe(404);
    const res = await fetch(`${metricsUrl}/metrics`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("panaversityfs_integrity_errors_total");
    expect((await fetch(`${metricsUrl}/v1/audit`)).status).toBe(404);
  });
});

describe("MCP read_file returns assets as base64 with a mime type", () => {
  let instance: BackendInstance;
  let store: Store;
  let client: Client;

  beforeAll(async () => {
    instance = await makeBackend({ name: "pglite+local", db: "pglite", storage: "local" });
    store = await openStore(instance.options);
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await createMcpServer(store, "tutor-bot").connect(serverSide);
    client = new Client({ name: "t", version: "1" });
    await client.connect(clientSide);
  });
  afterAll(async () => {
    await client?.close();
    await store?.close();
    await instance?.cleanup();
  });

  it("a 100,000-byte PNG comes back byte-exact; markdown stays text", async () => {
    const png = Buffer.alloc(100_000);
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(png);
    for (let i = 8; i < png.length; i++) png[i] = (i * 131) % 256; // every byte value, many invalid as UTF-8
    await store.write({ bookId: "mcp-bin", path: "static/img/photo.png", content: png, agentId: "seed" });
    const r = (await client.callTool({ name: "read_file", arguments: { bookId: "mcp-bin", path: "static/img/photo.png" } })) as {
      content: ({ type: "text"; text: string } | { type: "image"; data: string; mimeType: string })[];
    };
    const image = r.content.find((c) => c.type === "image") as { data: string; mimeType: string };
    expect(image.mimeType).toBe("image/png");
    const back = Buffer.from(image.data, "base64");
    expect(back.length).toBe(100_000);
    expect(sha256Hex(back)).toBe(sha256Hex(png));
    expect(JSON.parse((r.content[0] as { text: string }).text)).toMatchObject({ size: 100_000, hash: sha256Hex(png), mimeType: "image/png" });

    await store.write({ bookId: "mcp-bin", path: MD, content: "# text\n", agentId: "seed" });
    const md = (await client.callTool({ name: "read_file", arguments: { bookId: "mcp-bin", path: MD } })) as { content: { type: string; text: string }[] };
    expect(md.content).toHaveLength(1);
    expect(JSON.parse(md.content[0]!.text)).toMatchObject({ content: "# text\n" });
  });
});
