import { spawn } from "node:child_process";
import { join } from "node:path";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { readdirSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore, PfsError, type Store } from "../src/index.js";
import { makeBackend, type BackendInstance } from "./support/backends.js";
import { chainProblems } from "./support/state.js";
import { createTestDatabase, superuserQuery } from "./support/postgres.js";

const PATH = "content/01-race/01-round/01-page.md";

describe("no lost update across two store instances on one PostgreSQL database", () => {
  let instance: BackendInstance;
  let a: Store;
  let b: Store;

  beforeAll(async () => {
    instance = await makeBackend({ name: "postgres+local", db: "postgres", storage: "local" });
    // Two instances = two separate connection pools, as two server processes would have.
    a = await openStore({ ...instance.options, poolSize: 4 });
    b = await openStore({ ...instance.options, poolSize: 4 });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await instance?.cleanup();
  });

  it("8 writers holding the same expectedHash: exactly one updated, seven CONFLICT, in every round", async () => {
    const bookId = "race-book";
    let current = (await a.write({ bookId, path: PATH, content: "round 0", agentId: "seed" })).hash;
    for (let round = 1; round <= 5; round++) {
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, (_, i) =>
          (i % 2 ? b : a).write({ bookId, path: PATH, content: `round ${round} writer ${i}`, expectedHash: current, agentId: `writer-${i}` }),
        ),
      );
      const winners = results.flatMap((r, i) => (r.status === "fulfilled" ? [{ i, ...r.value }] : []));
      const losers = results.filter((r): r is PromiseRejectedResult => r.status === "rejected").map((r) => r.reason as PfsError);
      expect(winners).toHaveLength(1);
      expect(winners[0]!.mode).toBe("updated");
      expect(losers.map((e) => e.code)).toEqual(Array(7).fill("CONFLICT"));
      expect(new Set(losers.map((e) => e.currentHash))).toEqual(new Set([winners[0]!.hash]));
      const read = await b.read({ bookId, path: PATH });
      expect(read.content.toString()).toBe(`round ${round} writer ${winners[0]!.i}`);
      current = winners[0]!.hash;
    }
    expect(await chainProblems(a)).toEqual([]);
  });
});

describe("the embedded journal's folder lock", () => {
  let instance: BackendInstance;
  let store: Store;

  beforeAll(async () => {
    instance = await makeBackend({ name: "pglite+local", db: "pglite", storage: "local" });
    store = await openStore(instance.options);
  });
  afterAll(async () => {
    await store?.close();
    await instance?.cleanup();
  });

  async function openInChild(dataDir: string): Promise<{ code: number | null; out: string }> {
    const script = join(instance.dir, "child.mjs");
    const entry = new URL("../src/index.ts", import.meta.url).href;
    await writeFile(
      script,
      `const { openStore } = await import(${JSON.stringify(entry)});
       const waits = [];
       try { const s = await openStore({ dataDir: ${JSON.stringify(dataDir)}, lockWaitMs: 400, onLockWait: (h) => waits.push(h) }); console.log("OPENED"); await s.close(); }
       catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message, waits })); process.exitCode = 3; }`,
    );
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ["--import", "tsx", script], { stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      child.stdout.on("data", (d) => (out += d));
      child.stderr.on("data", (d) => (out += d));
      child.on("error", reject);
      child.on("close", (code) => resolve({ code, out }));
    });
  }

  it("a second process waits (saying once who holds it), then fails with JOURNAL_UNAVAILABLE naming the holder", async () => {
    const { code, out } = await openInChild(instance.dir);
    expect(code).toBe(3);
    const reported = JSON.parse(out.trim().split("\n").pop()!);
    expect(reported.code).toBe("JOURNAL_UNAVAILABLE");
    expect(reported.message).toContain(`process ${process.pid}`);
    expect(reported.message).toContain("after waiting 0.4 s");
    expect(reported.waits).toHaveLength(1);
    expect(reported.waits[0].pid).toBe(process.pid);
    expect(out).not.toContain("OPENED");
  });

  it("refuses a second open in the same process too", async () => {
    await expect(openStore(instance.options)).rejects.toMatchObject({ code: "JOURNAL_UNAVAILABLE" });
  });

  it("takes over a lock left by a dead process", async () => {
    const other = await makeBackend({ name: "pglite+local", db: "pglite", storage: "local" });
    try {
      // pid 2^22+1 is above Linux's pid_max default: no live process has it.
      await writeFile(join(other.dir, "journal.lock"), JSON.stringify({ pid: 4194305, host: hostname(), since: "then" }));
      const s = await openStore(other.options);
      const holder = JSON.parse(await readFile(join(other.dir, "journal.lock"), "utf8"));
      expect(holder.pid).toBe(process.pid);
      await s.write({ bookId: "lock-book", path: PATH, content: "ok", agentId: "a" });
      await s.close();
    } finally {
      await other.cleanup();
    }
  });
});

describe("migrations on open", () => {
  it("four stores opening one fresh PostgreSQL database at once all succeed and migrate it once", async () => {
    const db = await createTestDatabase();
    const dir = await mkdtemp(join(tmpdir(), "pfs-migrate-"));
    try {
      const stores = await Promise.all(
        Array.from({ length: 4 }, () => openStore({ databaseUrl: db.url, storage: { kind: "local", dir }, poolSize: 2 })),
      );
      const applied = await superuserQuery(db.url, "SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations");
      const files = readdirSync(new URL("../migrations", import.meta.url)).filter((f) => f.endsWith(".sql"));
      expect(applied.rows[0].n).toBe(files.length);
      await stores[0]!.write({ bookId: "mig-book", path: PATH, content: "x", agentId: "a" });
      expect((await stores[3]!.read({ bookId: "mig-book", path: PATH })).content.toString()).toBe("x");
      await Promise.all(stores.map((s) => s.close()));
    } finally {
      await db.drop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
