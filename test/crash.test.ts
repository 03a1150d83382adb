/**
 * Crash and fault injection (issue 6): after each fault, verify finds no journal row without its
 * object, the audit chains are intact, and retrying the operation succeeds.
 */
import { fork } from "node:child_process";
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore, PfsError, type Store, type StoreOptions } from "../src/index.js";
import { sha256Hex } from "../src/hashing/index.js";
import { BACKENDS, makeBackend, type BackendInstance } from "./support/backends.js";
import { invariantViolations } from "./support/invariants.js";

const CRASH_WORKER = fileURLToPath(new URL("./support/crash-worker.ts", import.meta.url));
const LESSON = "content/01-part/01-chapter/01-crash.md";
const ASSET = "static/videos/talk.bin";

async function expectCode(p: Promise<unknown>, codes: string[]): Promise<PfsError> {
  const err = await p.then(
    () => new Error("expected a failure, the operation succeeded"),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PfsError);
  expect(codes).toContain((err as PfsError).code);
  return err as PfsError;
}

/** verify: no row without its object, chains intact; returns the orphans it saw. */
async function expectHealthy(store: Store, books: string[]) {
  expect(await invariantViolations(store, books)).toEqual([]);
  const report = await store.verify();
  expect([report.objectProblems, report.chainProblems, report.journalAuditProblems]).toEqual([[], [], []]);
  return report;
}

function runCrashWorker(options: StoreOptions, write: object): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const child = fork(CRASH_WORKER, [], {
    execArgv: ["--import", "tsx"],
    env: { ...process.env, PFS_WORKER_OPTIONS: JSON.stringify(options), PFS_CRASH_WRITE: JSON.stringify(write) },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  return new Promise((res) => child.once("exit", (code, signal) => res({ code, signal })));
}

/** Body that yields `half` bytes, then fails like a dropped upload. */
function failingHalfway(total: number): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= total / 2) {
        this.destroy(new Error("client connection reset mid-upload"));
        return;
      }
      sent += 16 * 1024;
      this.push(Buffer.alloc(16 * 1024, sent % 251));
    },
  });
}

describe.each(BACKENDS)("crash and faults on $name", (backend) => {
  let instance: BackendInstance;

  beforeAll(async () => {
    instance = await makeBackend(backend);
  });
  afterAll(async () => {
    await instance?.cleanup();
  });

  it("SIGKILL of a writer process between the object upload and the commit leaves only an orphan; retry succeeds", async () => {
    const bookId = "crash-kill";
    let store = await openStore(instance.options);
    const v1 = await store.write({ bookId, path: LESSON, content: "# v1\n", agentId: "setup" });
    await store.close(); // the embedded journal belongs to one process at a time
    const content = `# v2 written by a process that dies ${backend.name}\n`;
    const write = { bookId, path: LESSON, content, expectedHash: v1.hash, agentId: "doomed-writer" };
    const exit = await runCrashWorker(instance.options, write);
    expect(exit.signal).toBe("SIGKILL");

    store = await openStore(instance.options); // PGlite: the dead holder's lock file is detected as stale
    try {
      expect((await store.read({ bookId, path: LESSON })).hash).toBe(v1.hash); // the journal never saw v2
      const report = await expectHealthy(store, [bookId]);
      const orphan = report.orphans.find((o) => o.hash === sha256Hex(content));
      expect(orphan?.pastGrace).toBe(false); // the uploaded object is an orphan inside its grace period
      const retried = await store.write({ ...write, agentId: "retrying-writer" });
      expect(retried).toMatchObject({ mode: "updated", previousHash: v1.hash, hash: sha256Hex(content) });
      expect((await store.verify()).orphans.map((o) => o.hash)).not.toContain(sha256Hex(content));
      await expectHealthy(store, [bookId]);
    } finally {
      await store.close();
    }
  });

  it("a body stream that fails half-way changes nothing (asset and markdown); retry succeeds", async () => {
    const bookId = "crash-stream";
    const store = await openStore(instance.options);
    try {
      const before = await store.list({ bookId });
      await expectCode(store.write({ bookId, path: ASSET, content: failingHalfway(256 * 1024), agentId: "uploader" }), ["STORAGE_UNAVAILABLE", "INVALID_CONTENT"]);
      const md = Readable.from((async function* () {
        yield Buffer.from("# half a lesson\n");
        throw new Error("client went away");
      })());
      // A failing caller stream is the caller's content problem, not a journal outage.
      await expectCode(store.write({ bookId, path: LESSON, content: md, agentId: "uploader" }), ["INVALID_CONTENT"]);
      expect(await store.list({ bookId })).toEqual(before);
      // The book has no chain yet: refused input leaves no head or audit chain behind (issue 9), only a count.
      expect((await store.audit({ bookId })).entries).toEqual([]);
      expect(await store.metrics()).toMatch(/panaversityfs_refused_total\{operation="write",code="INVALID_CONTENT"\} [1-9]/);
      const report = await expectHealthy(store, [bookId]);
      // No half-written temporary object is left behind (local folder and S3 alike).
      const temps: string[] = [];
      for await (const o of store.ctx.blobs.storage.list("tmp/")) temps.push(o.key);
      expect(temps).toEqual([]);
      expect(report.orphans.filter((o) => o.pastGrace)).toEqual([]);
      const body = Buffer.alloc(256 * 1024, 7);
      expect((await store.write({ bookId, path: ASSET, content: Readable.from([body]), agentId: "uploader" })).hash).toBe(sha256Hex(body));
      expect((await store.write({ bookId, path: LESSON, content: "# whole lesson\n", agentId: "uploader" })).mode).toBe("created");
      await expectHealthy(store, [bookId]);
    } finally {
      await store.close();
    }
  });
});

describe.each(BACKENDS.filter((b) => b.db === "postgres"))("journal connection dropped inside the transaction on $name", (backend) => {
  let instance: BackendInstance;

  beforeAll(async () => {
    instance = await makeBackend(backend);
  });
  afterAll(async () => {
    await instance?.cleanup();
  });

  it("pg_terminate_backend while a write holds the head and row locks: nothing committed, chain intact, retry succeeds", async () => {
    const bookId = "crash-drop";
    // Anchors off: the victim below is found as "the session waiting on audit_log", and an anchor's
    // read transaction running at that moment can be taken for the write's.
    const store = await openStore({ ...instance.options, anchors: false });
    const admin = new pg.Client({ connectionString: instance.databaseUrl });
    await admin.connect();
    admin.on("error", () => {});
    try {
      const v1 = await store.write({ bookId, path: LESSON, content: "# v1\n", agentId: "setup" });
      // Hold the audit table so the write stops after it locked the head, locked the row and
      // updated it, right at its audit insert: inside its transaction.
      await admin.query("BEGIN");
      await admin.query("LOCK TABLE audit_log IN EXCLUSIVE MODE");
      const pending = store.write({ bookId, path: LESSON, content: "# v2\n", expectedHash: v1.hash, agentId: "cut-off-writer" });
      pending.catch(() => {});
      let settled = false;
      void pending.finally(() => (settled = true)).catch(() => {});
      let victim: number | undefined;
      let seen: unknown[] = [];
      while (victim === undefined && !settled) {
        // The session waiting for a lock on audit_log (by pg_locks, not by query text: a statement
        // blocked while being parsed still shows the previous statement's text).
        const { rows } = await admin.query(
          `SELECT l.pid, a.state, a.wait_event_type, left(a.query, 40) AS query
             FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE NOT l.granted AND l.relation = 'audit_log'::regclass AND l.pid <> pg_backend_pid()`,
        );
        seen = rows;
        victim = rows[0]?.pid;
        if (victim === undefined) await new Promise((r) => setTimeout(r, 20));
      }
      expect(victim, `no write waiting at its audit insert; sessions: ${JSON.stringify(seen)}`).toBeDefined();
      // The victim holds the row lock: a plain FOR UPDATE NOWAIT from outside cannot take it.
      await admin.query("SAVEPOINT probe");
      await expect(admin.query("SELECT 1 FROM file_journal WHERE book_id = $1 FOR UPDATE NOWAIT", [bookId])).rejects.toThrow(/lock/);
      await admin.query("ROLLBACK TO SAVEPOINT probe");
      await admin.query("SELECT pg_terminate_backend($1)", [victim]);
      await admin.query("ROLLBACK"); // release the audit table; the store records the failed attempt
      const err = await expectCode(pending, ["JOURNAL_UNAVAILABLE"]);
      expect(err.message).toMatch(/journal/i);
      expect((await store.read({ bookId, path: LESSON })).hash).toBe(v1.hash);
      const entries = (await store.audit({ bookId })).entries;
      expect(entries.map((e) => [e.status, e.errorCode])).toEqual([
        ["error", "JOURNAL_UNAVAILABLE"],
        ["ok", null],
      ]);
      await expectHealthy(store, [bookId]);
      const retried = await store.write({ bookId, path: LESSON, content: "# v2\n", expectedHash: v1.hash, agentId: "cut-off-writer" });
      expect(retried).toMatchObject({ mode: "updated", previousHash: v1.hash });
      await expectHealthy(store, [bookId]);
    } finally {
      await admin.end();
      await store.close();
    }
  });
});

function canMountTmpfs(dir: string): boolean {
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=256k", "tmpfs", dir], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

describe.each(BACKENDS.filter((b) => b.storage === "local"))("disk full (a real 256 KiB tmpfs mounted as root) on $name", (backend) => {
  let instance: BackendInstance;
  let mountDir: string;
  let mounted = false;

  beforeAll(async () => {
    mountDir = await mkdtemp(join(tmpdir(), "pfs-tmpfs-"));
    mounted = canMountTmpfs(mountDir);
    instance = await makeBackend(backend, { storage: { kind: "local", dir: join(mountDir, "objects") } });
  });
  afterAll(async () => {
    await instance?.cleanup();
    if (mounted) execFileSync("umount", [mountDir]);
    await rm(mountDir, { recursive: true, force: true });
  });

  it("ENOSPC while storing an asset: nothing committed, no partial object, retry succeeds once there is room", async (ctx) => {
    if (!mounted) ctx.skip(); // needs root to mount a tmpfs
    await mkdir(join(mountDir, "objects"), { recursive: true });
    const bookId = "crash-full";
    const store = await openStore(instance.options);
    try {
      await store.write({ bookId, path: "static/img/small.png", content: Buffer.alloc(1000, 1), agentId: "setup" });
      const big = Buffer.alloc(400 * 1024, 9);
      const err = await expectCode(store.write({ bookId, path: "static/img/big.png", content: big, agentId: "filler" }), ["STORAGE_UNAVAILABLE"]);
      expect(err.message).toMatch(/ENOSPC/);
      const streamed = await expectCode(store.write({ bookId, path: "static/img/big.png", content: Readable.from([big]), agentId: "filler" }), ["STORAGE_UNAVAILABLE"]);
      expect(streamed.message).toMatch(/ENOSPC/);
      expect((await store.list({ bookId })).map((e) => e.path)).toEqual(["static/img/small.png"]);
      // No partial file is left to fill the disk further (temporary files removed on failure).
      const leftovers = (await readdir(join(mountDir, "objects"), { recursive: true, withFileTypes: true })).filter((d) => d.isFile() && !/^([0-9]{16}|head|_books)\.json$/.test(d.name)) // anchors, heads, book index (tiny, complete or absent)
        .map((d) => d.name);
      expect(leftovers).toEqual([sha256Hex(Buffer.alloc(1000, 1))]);
      await expectHealthy(store, [bookId]);
      execFileSync("mount", ["-o", "remount,size=2m", mountDir]);
      expect((await store.write({ bookId, path: "static/img/big.png", content: big, agentId: "filler" })).mode).toBe("created");
      await expectHealthy(store, [bookId]);
    } finally {
      await store.close();
    }
  });
});
