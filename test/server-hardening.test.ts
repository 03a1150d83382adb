/**
 * Issue 14, "a server that stays up": every finding against a real server, real sockets, real PGlite /
 * PostgreSQL and (for uploads) s3rver. Each test fails on the code before the fix.
 */
import { connect, type AddressInfo, type Socket } from "node:net";
import type { Server } from "node:http";
import { chmod, mkdtemp, readdir, readlink, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { sql } from "drizzle-orm";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore, type Store } from "../src/index.js";
import { BASE_USER } from "../src/paths/index.js";
import { createPfsServer, type ServerOptions } from "../src/server/app.js";
import { hashToken, parseTokens, parseTokensFile } from "../src/server/auth.js";
import { clientError } from "../src/server/errors.js";
import { httpStatus } from "../src/server/routes.js";
import { ConcurrencyLimit, TokenBuckets } from "../src/server/rate-limit.js";
import { boundedPath, REFUSAL_PATH_MAX } from "../src/server/refusals.js";
import { assertGlobBounded, decodeCursor, globToRegex } from "../src/store/audit-query.js";
import { ByteBudget } from "../src/store/spool-budget.js";
import { journalError, statementTimeoutMs } from "../src/journal/db.js";
import { loadTokenTable, looseModeWarning, newTokenEntry } from "../src/cli/commands/tokens.js";
import { PfsError } from "../src/errors/index.js";
import { makeBackend, type BackendInstance, type DbKind, type StorageKind } from "./support/backends.js";
import { auditRows } from "./support/state.js";

const ADMIN = "token-for-the-admin-0123456789";
const MD = "content/01-p/01-c/01-l.md";
const MB = 1024 * 1024;
const entry = (agent: string, token: string, scope: Record<string, unknown>) => ({ agent, sha256: hashToken(token), ...scope });

describe("staying up: pure decisions", () => {
  it("translates a glob in one pass, collapsing runs of stars, and refuses globs past the bounds", () => {
    expect(globToRegex(`${"**".repeat(511)}x`)).toBe("^.*x$");
    expect(globToRegex("content/***/a?.md")).toBe("^content/.*/a[^/]\\.md$");
    expect(globToRegex("static/*.png")).toBe("^static/[^/]*\\.png$");
    expect(() => assertGlobBounded(`${"**".repeat(511)}x`)).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    expect(() => assertGlobBounded("**/".repeat(9))).toThrow(/8 wildcards.*got 27 characters and 9 wildcards/);
    expect(() => assertGlobBounded(`content/${"a".repeat(300)}*`)).toThrow(/at most 256 characters.*got 309 characters/);
    expect(() => assertGlobBounded("content/**/*.md")).not.toThrow();
  });

  it("token buckets refill with time; concurrency limits count per key and in total", () => {
    let now = 0;
    const b = new TokenBuckets({ capacity: 2, refillPerSecond: 1, now: () => now });
    expect([b.take("a"), b.take("a"), b.take("a"), b.take("b")]).toEqual([true, true, false, true]);
    expect(b.retryAfterSeconds("a")).toBe(1);
    now = 1000;
    expect([b.take("a"), b.take("a")]).toEqual([true, false]);
    const c = new ConcurrencyLimit(1, 2);
    const a1 = c.acquire("a");
    expect(c.acquire("a")).toEqual({ ok: false, limit: "per-token" });
    const b1 = c.acquire("b");
    expect(c.acquire("c")).toEqual({ ok: false, limit: "total" });
    if (a1.ok) a1.release();
    if (a1.ok) a1.release(); // twice: counted once
    expect(c.active).toBe(1);
    expect(c.acquire("c").ok).toBe(true);
    expect(b1.ok).toBe(true);
  });

  it("a spool budget makes the second large object wait until the first is released", async () => {
    const budget = new ByteBudget(10);
    const first = await budget.acquire(8);
    let second = false;
    const waiting = budget.acquire(8).then((r) => ((second = true), r));
    await new Promise((r) => setTimeout(r, 20));
    expect(second).toBe(false);
    first();
    (await waiting)();
    expect(budget.inUse).toBe(0);
    const stop = new AbortController();
    const big = await budget.acquire(100); // alone, larger than the budget: goes through
    const blocked = budget.acquire(1, stop.signal);
    stop.abort();
    await expect(blocked).rejects.toMatchObject({ code: "STORAGE_UNAVAILABLE" });
    big();
  });

  it("refusal paths are bounded; a statement timeout is a 503 that says the query took too long", () => {
    expect(boundedPath("a".repeat(1024))!.length).toBe(REFUSAL_PATH_MAX);
    expect(boundedPath("content/x.md")).toBe("content/x.md");
    const err = journalError(Object.assign(new Error("canceling statement due to statement timeout"), { code: "57014" }), "PostgreSQL postgres://x");
    const { status, body } = clientError(err, "r1", [], httpStatus);
    expect(status).toBe(503);
    expect(body).toMatchObject({ code: "JOURNAL_UNAVAILABLE", reason: "statement-timeout" });
    expect(body.message).toMatch(/took too long/);
    expect(httpStatus("RATE_LIMITED")).toBe(429);
    expect(statementTimeoutMs(undefined, {})).toBe(5000);
    expect(statementTimeoutMs(undefined, { PFS_STATEMENT_TIMEOUT_MS: "750" })).toBe(750);
    expect(() => statementTimeoutMs(undefined, { PFS_STATEMENT_TIMEOUT_MS: "soon" })).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
  });

  it("pfs token new: no books unless --books; --read-only grants only reads of the named books", () => {
    expect(() => newTokenEntry({ agent: "bot", users: "bob", writeBase: false, audit: false, admin: false, readOnly: false })).toThrow(/Give --books/);
    expect(newTokenEntry({ agent: "reader", books: "python-book", writeBase: false, audit: false, admin: false, readOnly: true })).toEqual({
      agent: "reader",
      books: ["python-book"],
      users: [],
      writeBase: false,
      audit: false,
      admin: false,
    });
    expect(() => newTokenEntry({ agent: "r", books: "b", writeBase: true, audit: false, admin: false, readOnly: true })).toThrow(/--read-only cannot/);
    expect(() => newTokenEntry({ agent: "r", books: "b", users: "*", writeBase: false, audit: false, admin: false, readOnly: true })).toThrow(/--read-only cannot/);
  });

  it("warns when a tokens file is readable or writable by others", async () => {
    expect(looseModeWarning("t.json", 0o100600)).toBeNull();
    expect(looseModeWarning("t.json", 0o100644)).toMatch(/mode 644.*chmod 600/);
    const dir = await mkdtemp(join(tmpdir(), "pfs-tokmode-"));
    const file = join(dir, "tokens.json");
    await writeFile(file, JSON.stringify({ tokens: [entry("a-bot", ADMIN, { books: "*" })] }));
    const warnings: string[] = [];
    await chmod(file, 0o666);
    expect(await loadTokenTable(file, (l) => warnings.push(l))).toHaveLength(1);
    expect(warnings).toEqual([expect.stringContaining("mode 666")]);
    await chmod(file, 0o600);
    await loadTokenTable(file, (l) => warnings.push(l));
    expect(warnings).toHaveLength(1);
    await rm(dir, { recursive: true, force: true });
  });
});

interface Running {
  instance: BackendInstance;
  store: Store;
  server: Server;
  port: number;
  base: string;
}

async function start(db: DbKind, storage: StorageKind, tokens: object[], extra: Partial<ServerOptions> = {}): Promise<Running> {
  const instance = await makeBackend({ name: `${db}+${storage}`, db, storage });
  const store = await openStore(instance.options);
  const table = [...parseTokensFile(JSON.stringify({ tokens })), ...parseTokens(`admin-bot=${ADMIN}`)];
  const server = createPfsServer({ store, tokens: table, headersTimeoutMs: 1000, ...extra });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return { instance, store, server, port, base: `http://127.0.0.1:${port}` };
}

async function stop(r: Running | undefined): Promise<void> {
  if (!r) return;
  r.server.closeAllConnections();
  await new Promise((resolve) => r.server.close(resolve));
  await r.store.close();
  await r.instance.cleanup();
}

/** A socket that sends `head` and then trickles body bytes until the server closes it (or `ms` pass). */
function trickle(port: number, head: string, ms: number): Promise<{ closed: boolean; response: string }> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1");
    let response = "";
    s.on("data", (d) => (response += d.toString("latin1")));
    s.on("error", () => {});
    s.write(head);
    const drip = setInterval(() => s.writable && s.write(Buffer.alloc(512, 120)), 25);
    const give = setTimeout(() => done(false), ms);
    const done = (closed: boolean) => {
      clearInterval(drip);
      clearTimeout(give);
      s.destroy();
      resolve({ closed, response });
    };
    s.on("close", () => done(true));
  });
}

function metric(text: string, name: string, labels: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(" ").pop()) : 0;
}

for (const db of ["pglite", "postgres"] as const) {
  describe(`staying up over HTTP (${db}+local)`, () => {
    let r: Running;
    const TUTOR = "token-for-the-tutor-0123456789";
    const STRANGER = "token-for-a-stranger-012345678";
    const VIEWER = "token-for-the-viewer-012345678";
    const EDGE = "token-for-the-edge-bot-0123456";
    beforeAll(async () => {
      r = await start(db, "local", [
        entry("edge-bot", EDGE, { books: ["book-a"] }),
        entry("tutor-bot", TUTOR, { books: ["book-b"], users: [] }),
        entry("stranger-bot", STRANGER, { books: ["book-a"], writeBase: true }),
        entry("viewer-bot", VIEWER, { books: ["book-c"], audit: true }),
      ], { refusals: { burst: 40, perSecond: 0.001 } });
      await r.store.write({ bookId: "book-b", path: MD, content: "# b\n", agentId: "seed" });
      await r.store.write({ bookId: "book-c", path: MD, content: "# c1\n", agentId: "seed" });
      await r.store.write({ bookId: "book-c", path: MD, content: "# c2\n", expectedHash: (await r.store.read({ bookId: "book-c", path: MD })).hash, agentId: "seed" });
      for (let i = 0; i < 5; i++) await r.store.write({ bookId: "book-c", path: `content/01-p/01-c/0${i + 2}-l.md`, content: `# ada ${i}\n`, userId: "ada", agentId: "tutor" });
    });
    afterAll(() => stop(r));

    it("a 401/403/400 answered before the body closes the connection: a 1 GB trickled body cannot hold a socket", async () => {
      const heads = [
        `PUT /v1/books/book-b/files/static/img/x.png HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\n`,
        `PUT /v1/books/book-b/files/static/img/x.png HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${EDGE}\r\nContent-Length: 1000000000\r\n\r\n`,
        `PUT /v1/books/book-b/files/static//x.png HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN}\r\nContent-Length: 1000000000\r\n\r\n`,
      ];
      const results = await Promise.all(heads.map((h) => trickle(r.port, h, 8000)));
      expect(results.map((x) => /^HTTP\/1\.1 (\d+)/.exec(x.response)?.[1])).toEqual(["401", "403", "400"]);
      for (const x of results) {
        expect(x.response.toLowerCase()).toContain("connection: close");
        expect(x.closed).toBe(true);
      }
    });

    it("a slow-header client is cut by the headers timeout", async () => {
      const res = await trickle(r.port, "GET /healthz HTTP/1.1\r\nHost: x\r\n", 8000);
      expect(res.closed).toBe(true);
    });

    it("a pathological audit glob is a 400 INVALID_ARGUMENT before any query", async () => {
      const res = await fetch(`${r.base}/v1/audit?path=${encodeURIComponent(`${"**".repeat(511)}x`)}`, { headers: { authorization: `Bearer ${ADMIN}` } });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: "INVALID_ARGUMENT", message: expect.stringMatching(/wildcards/) });
    });

    it("every journal connection has a statement timeout", async () => {
      const rows = (await r.store.ctx.journal.db.execute(sql`SHOW statement_timeout`)) as unknown as { rows?: { statement_timeout: string }[] };
      expect((rows.rows ?? (rows as unknown as { statement_timeout: string }[]))[0]!.statement_timeout).toBe("5s");
    });

    it("refusals outside the token's books are counted, never chained; then rate-limited to 429", async () => {
      const before = (await auditRows(r.store)).length;
      const countBefore = metric(await r.store.metrics(), "panaversityfs_refused_total", 'operation="write",code="FORBIDDEN"');
      const statuses: number[] = [];
      for (let i = 0; i < 50; i++) {
        const res = await fetch(`${r.base}/v1/books/book-b/files/content/${"a".repeat(1000)}${i}.md`, { method: "PUT", body: "x", headers: { authorization: `Bearer ${STRANGER}` } });
        statuses.push(res.status);
        if (res.status === 429) expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
        await res.arrayBuffer();
      }
      expect(statuses.filter((s) => s === 403)).toHaveLength(40);
      expect(statuses.slice(40)).toEqual(Array(10).fill(429));
      expect((await auditRows(r.store)).length).toBe(before);
      expect(metric(await r.store.metrics(), "panaversityfs_refused_total", 'operation="write",code="FORBIDDEN"')).toBe(countBefore + 40);
    });

    it("refusals within the token's books are audited with a bounded path, and rate-limited", async () => {
      const before = (await auditRows(r.store)).length;
      const statuses: number[] = [];
      for (let i = 0; i < 45; i++) {
        const res = await fetch(`${r.base}/v1/books/book-b/files/content/${"b".repeat(1000)}${i}.md?user=bob`, { method: "PUT", body: "x", headers: { authorization: `Bearer ${TUTOR}` } });
        statuses.push(res.status);
        await res.arrayBuffer();
      }
      expect(statuses).toEqual([...Array(40).fill(403), ...Array(5).fill(429)]);
      const added = (await auditRows(r.store)).slice(before);
      expect(added).toHaveLength(40);
      for (const e of added) {
        expect(e).toMatchObject({ bookId: "book-b", agentId: "tutor-bot", errorCode: "FORBIDDEN" });
        expect(e.path!.length).toBeLessThanOrEqual(REFUSAL_PATH_MAX);
      }
    });

    it("an audit page's cursor comes only from entries the caller may see", async () => {
      const res = await fetch(`${r.base}/v1/audit?bookId=book-c&limit=1`, { headers: { authorization: `Bearer ${VIEWER}` } });
      const page = (await res.json()) as { entries: { id: number; userId: string }[]; nextCursor: string | null };
      expect(page.entries).toHaveLength(1);
      expect(page.entries[0]!.userId).toBe(BASE_USER);
      const visible = (await r.store.audit({ bookId: "book-c", limit: 1000 })).entries.filter((e) => e.userId === BASE_USER).map((e) => e.id);
      expect(page.nextCursor).not.toBeNull();
      expect(visible).toContain(decodeCursor(page.nextCursor!));
      const last = (await (await fetch(`${r.base}/v1/audit?bookId=book-c&limit=1&cursor=${page.nextCursor}`, { headers: { authorization: `Bearer ${VIEWER}` } })).json()) as typeof page;
      expect(last.entries.map((e) => e.userId)).toEqual([BASE_USER]);
      expect(last.nextCursor).toBeNull();
    });

    it("/metrics on the main listener needs an admin token", async () => {
      expect((await fetch(`${r.base}/metrics`)).status).toBe(401);
      expect((await fetch(`${r.base}/metrics`, { headers: { authorization: `Bearer ${VIEWER}` } })).status).toBe(403);
      const res = await fetch(`${r.base}/metrics`, { headers: { authorization: `Bearer ${ADMIN}` } });
      expect(res.status).toBe(200);
      expect(await res.text()).toContain("panaversityfs_write_total");
    });
  });
}

describe("a statement timeout ends a stuck query as a clear 503 (postgres; fault injection: a superuser holds a table lock)", () => {
  let r: Running;
  beforeAll(async () => {
    process.env.PFS_STATEMENT_TIMEOUT_MS = "400";
    try {
      r = await start("postgres", "local", []);
    } finally {
      delete process.env.PFS_STATEMENT_TIMEOUT_MS;
    }
    await r.store.write({ bookId: "book-t", path: MD, content: "# t\n", agentId: "seed" });
  });
  afterAll(() => stop(r));

  it("an audit query behind a held lock → 503 JOURNAL_UNAVAILABLE saying the query took too long, never a 500", async () => {
    const locker = new pg.Client({ connectionString: r.instance.databaseUrl });
    await locker.connect();
    try {
      await locker.query("BEGIN");
      await locker.query("LOCK TABLE audit_log IN ACCESS EXCLUSIVE MODE");
      const res = await fetch(`${r.base}/v1/audit?bookId=book-t`, { headers: { authorization: `Bearer ${ADMIN}` }, signal: AbortSignal.timeout(20_000) });
      expect(res.status).toBe(503);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe("JOURNAL_UNAVAILABLE");
      expect(body.error.message).toMatch(/took too long/);
    } finally {
      await locker.query("ROLLBACK").catch(() => {});
      await locker.end();
    }
    expect((await fetch(`${r.base}/v1/audit?bookId=book-t`, { headers: { authorization: `Bearer ${ADMIN}` } })).status).toBe(200);
  });
});

/** Open descriptors of this process that point into `dir`. */
async function openFilesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const fd of await readdir("/proc/self/fd").catch(() => [] as string[])) {
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => "");
    if (target.startsWith(dir)) out.push(target);
  }
  return out;
}

async function filesUnder(dir: string, suffix: string): Promise<string[]> {
  const names = await readdir(dir, { recursive: true }).catch(() => [] as string[]);
  return names.filter((n) => n.endsWith(suffix));
}

for (const storage of ["local", "s3"] as const) {
  describe(`an upload dropped mid-way ends at once and leaves nothing (pglite+${storage})`, () => {
    let r: Running;
    beforeAll(async () => {
      r = await start("pglite", storage, []);
      await r.store.write({ bookId: "book-u", path: MD, content: "# u\n", agentId: "seed" });
    });
    afterAll(() => stop(r));

    it("drops after 10 of 30 MB: the write ends, is audited, no temp file or descriptor remains", async () => {
      const path = "static/img/dropped.png";
      const s: Socket = connect(r.port, "127.0.0.1");
      s.on("error", () => {});
      await new Promise((resolve) => s.once("connect", resolve));
      s.write(`PUT /v1/books/book-u/files/${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN}\r\nContent-Length: ${30 * MB}\r\n\r\n`);
      const chunk = randomBytes(MB);
      for (let i = 0; i < 10; i++) await new Promise<void>((resolve, reject) => s.write(chunk, (err) => (err ? reject(err) : resolve())));
      s.destroy();
      await expect
        .poll(async () => (await auditRows(r.store)).filter((e) => e.path === path).map((e) => e.errorCode), { timeout: 15_000, interval: 100 })
        .toEqual(["INVALID_CONTENT"]);
      const audited = (await auditRows(r.store)).find((e) => e.path === path)!;
      expect(audited.errorMessage).toMatch(/closed the connection/);
      if (storage === "local") {
        const objects = join(r.instance.dir, "objects");
        await expect.poll(() => filesUnder(objects, ".tmp"), { timeout: 5000 }).toEqual([]);
        expect(await openFilesUnder(objects)).toEqual([]);
      } else {
        const temps: string[] = [];
        for await (const o of r.store.ctx.blobs.storage.list("tmp/")) temps.push(o.key);
        expect(temps).toEqual([]);
      }
      expect((await r.store.list({ bookId: "book-u" })).map((f) => f.path)).toEqual([MD]);
    });
  });
}

describe("archives: capped per token and in total; a client that stops reading frees the spool (pglite+local)", () => {
  const BIG_OBJECTS = 6;
  let r: Running;
  let spoolRoot: string;
  const savedTmp = process.env.TMPDIR;
  const OTHER = "token-for-another-reader-0123";
  beforeAll(async () => {
    r = await start("pglite", "local", [entry("reader-bot", OTHER, { books: ["book-z"] })], { archivesPerToken: 1, archivesTotal: 2, archiveStallMs: 400 });
    await r.store.write({ bookId: "book-z", path: MD, content: "# z\n", agentId: "seed" });
    // Above the 8 MB in-memory limit: these are spooled to disk while being checked. 54 MB in all: more than
    // loopback's socket buffers can take (tcp_rmem may grow to 32 MB), so a client that stops reading stalls it.
    for (let i = 1; i <= BIG_OBJECTS; i++) await r.store.write({ bookId: "book-z", path: `static/img/big-${i}.png`, content: randomBytes(9 * MB), agentId: "seed" });
    spoolRoot = await mkdtemp(join(tmpdir(), "pfs-spool-root-"));
    process.env.TMPDIR = spoolRoot; // os.tmpdir() reads it on each call; this test file runs in its own process
  });
  afterAll(async () => {
    if (savedTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmp;
    await stop(r);
    await rm(spoolRoot, { recursive: true, force: true });
  });

  it("a second archive of one token, or a third in all, is 429 RATE_LIMITED until one ends", async () => {
    const url = `${r.base}/v1/books/book-z/archive`;
    const first = await fetch(url, { headers: { authorization: `Bearer ${ADMIN}` } });
    expect(first.status).toBe(200);
    const again = await fetch(url, { headers: { authorization: `Bearer ${ADMIN}` } });
    expect(again.status).toBe(429);
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe("RATE_LIMITED");
    const other = await fetch(url, { headers: { authorization: `Bearer ${OTHER}` } });
    expect(other.status).toBe(200);
    await first.body!.cancel();
    await other.arrayBuffer();
    await expect.poll(async () => {
      const res = await fetch(url, { headers: { authorization: `Bearer ${ADMIN}` } });
      await res.arrayBuffer().catch(() => {});
      return res.status;
    }, { timeout: 10_000, interval: 200 }).toBe(200);
  });

  it("a client that stops reading is cut after the stall time and the spool is deleted at once", async () => {
    const s = connect(r.port, "127.0.0.1");
    s.on("error", () => {});
    let closed = false;
    s.on("close", () => (closed = true));
    let got = 0;
    let stopped = false;
    s.on("data", (d) => {
      got += d.length;
      if (got > 64 * 1024 && !stopped) {
        stopped = true;
        s.pause(); // read a little, then stop reading (but keep the connection)
      }
    });
    const spools = async () => (await readdir(spoolRoot)).filter((n) => n.startsWith("pfs-archive-"));
    const earlier = new Set(await spools());
    s.write(`GET /v1/books/book-z/archive?scope=assets HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN}\r\n\r\n`);
    const mine = async () => (await spools()).filter((n) => !earlier.has(n)); // not one an earlier test's archive is still removing
    await expect.poll(mine, { timeout: 15_000, interval: 50 }).toHaveLength(1);
    const [spool] = await mine();
    await expect.poll(async () => (await spools()).includes(spool!), { timeout: 15_000, interval: 100 }).toBe(false);
    s.resume(); // the server cut it: what was buffered drains, then the close shows
    await expect.poll(() => closed, { timeout: 15_000 }).toBe(true);
    expect(got).toBeLessThan(BIG_OBJECTS * 9 * MB); // cut, not finished
    s.destroy();
  });
});

describe("PfsError RATE_LIMITED is a known code", () => {
  it("maps to 429 and keeps its retryAfter detail for the client", () => {
    const { status, body } = clientError(new PfsError("RATE_LIMITED", "slow down", { retryAfter: 3 }), "r", [], httpStatus);
    expect(status).toBe(429);
    expect(body).toMatchObject({ code: "RATE_LIMITED", retryAfter: 3, message: "slow down" });
  });
});

describe("pfs serve reloads its tokens file on SIGHUP", () => {
  it("a new file takes effect; a bad file keeps the old table; the server stays up", async () => {
    const { spawn } = await import("node:child_process");
    const { createServer } = await import("node:net");
    const instance = await makeBackend({ name: "pglite+local", db: "pglite", storage: "local" });
    const file = join(instance.dir, "tokens.json");
    const [t1, t2] = ["token-number-one-0123456789ab", "token-number-two-0123456789ab"];
    await writeFile(file, JSON.stringify({ tokens: [entry("one-bot", t1, { books: "*" })] }), { mode: 0o600 });
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, "127.0.0.1", () => {
        const p = (probe.address() as AddressInfo).port;
        probe.close(() => resolve(p));
      });
    });
    const child = spawn(process.execPath, ["dist/cli/main.js", "serve", "--port", String(port), "--tokens-file", file], {
      env: { ...process.env, PFS_DATA_DIR: instance.dir, DATABASE_URL: "", PFS_SERVER_TOKENS: "", NODE_NO_WARNINGS: "1" },
    });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d.toString()));
    try {
      await expect.poll(() => stderr, { timeout: 60_000, interval: 100 }).toContain("pfs server on");
      const list = (t: string) => fetch(`http://127.0.0.1:${port}/v1/books/any-book/files`, { headers: { authorization: `Bearer ${t}` } }).then((res) => res.status);
      expect(await list(t1)).toBe(200);
      expect(await list(t2)).toBe(401);
      await writeFile(file, JSON.stringify({ tokens: [entry("two-bot", t2, { books: "*" })] }));
      child.kill("SIGHUP");
      await expect.poll(() => stderr, { timeout: 10_000 }).toContain("reloaded the tokens (1 token(s))");
      expect(await list(t2)).toBe(200);
      expect(await list(t1)).toBe(401);
      await writeFile(file, "{ not json");
      child.kill("SIGHUP");
      await expect.poll(() => stderr, { timeout: 10_000 }).toMatch(/kept the previous 1 token\(s\).*not valid JSON/);
      expect(child.exitCode).toBeNull();
      expect(await list(t2)).toBe(200);
    } finally {
      child.kill("SIGTERM");
      await new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once("exit", resolve)));
      await instance.cleanup();
    }
  });
});
