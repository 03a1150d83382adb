/**
 * The S3 path under failure, through a fault-injecting proxy between the client and s3rver
 * (fault injection: s3rver itself never fails). Retries must hide transient failures; a storage
 * that is down must fail writes cleanly without touching the journal.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Readable } from "node:stream";
import { openStore, sha256Hex, type S3StorageConfig, type Store } from "../src/index.js";
import { isPfsError } from "../src/errors/index.js";
import { S3ObjectStorage } from "../src/blobs/s3.js";
import { makeBackend, type BackendInstance } from "./support/backends.js";
import { seededRandom, startFaultProxy, type FaultProxy } from "./support/fault-proxy.js";
import { invariantViolations } from "./support/invariants.js";
import { auditRows, captureState, chainProblems } from "./support/state.js";

const BOOK = "fault-book";
const AGENT = "fault-tester";

function retriesIn(metricsText: string): number {
  return metricsText
    .split("\n")
    .filter((l) => l.startsWith("panaversityfs_storage_retries_total{"))
    .reduce((n, l) => n + Number(l.split(" ").pop()), 0);
}

async function openBehindProxy(instance: BackendInstance, proxy: FaultProxy, extra: Partial<S3StorageConfig> = {}): Promise<Store> {
  const storage = { ...(instance.options.storage as S3StorageConfig), endpoint: proxy.url, ...extra };
  // Anchors off: these tests count the requests and retries of one operation at the proxy, and an
  // anchor written in the background would add its own (anchors under faults: test/anchors.test.ts).
  return openStore({ ...instance.options, storage, anchors: false });
}

describe("S3 through a fault-injecting proxy (fault injection: s3rver never fails by itself)", () => {
  let instance: BackendInstance;
  let proxy: FaultProxy;
  let store: Store;

  beforeAll(async () => {
    instance = await makeBackend({ name: "pglite+s3", db: "pglite", storage: "s3" });
    proxy = await startFaultProxy((instance.options.storage as S3StorageConfig).endpoint!, { random: seededRandom(20261125), slowMs: 150 });
    store = await openBehindProxy(instance, proxy, { requestTimeoutMs: 5_000 });
  });
  afterAll(async () => {
    await store?.close();
    await proxy?.close();
    await instance?.cleanup();
  });

  it("1,000 mixed operations with 10% of requests failing: ≥ 99.9% succeed and journal ↔ storage holds", async () => {
    proxy.set({ rate: 0.1 });
    const rnd = seededRandom(7);
    const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const lessons = Array.from({ length: 12 }, (_, i) => `content/01-Part/01-Chapter/${String(i).padStart(2, "0")}-lesson.md`);
    const assets = Array.from({ length: 6 }, (_, i) => `static/img/pic-${i}.bin`);
    const model = new Map<string, string>(); // path → hash the store must hold
    const failures: string[] = [];
    const TOTAL = 1000;
    let n = 0;
    const body = (path: string) => `# ${path}\n\nversion ${n} ${rnd()}\n`;

    for (n = 0; n < TOTAL; n++) {
      const roll = rnd();
      const path = roll < 0.75 ? pick(lessons) : pick(assets);
      const current = model.get(path);
      let op = "read";
      try {
        if (roll < 0.35 || roll >= 0.75) {
          op = current ? "update" : "create";
          const content = path.startsWith("static/") && rnd() < 0.5 ? Readable.from([Buffer.from(body(path))]) : body(path);
          const r = await store.write({ bookId: BOOK, path, content, expectedHash: current, agentId: AGENT });
          model.set(path, r.hash);
        } else if (roll < 0.45) {
          op = "delete";
          const r = await store.delete({ bookId: BOOK, path, agentId: AGENT });
          expect(r.existed).toBe(current !== undefined);
          model.delete(path);
        } else if (roll < 0.5) {
          op = "list";
          const listed = await store.list({ bookId: BOOK });
          expect(listed.length).toBe(model.size);
        } else {
          op = "read";
          if (!current) continue; // nothing to read yet; not counted either way
          const r = await store.read({ bookId: BOOK, path });
          expect(r.hash).toBe(current);
          expect(sha256Hex(r.content)).toBe(current);
        }
      } catch (err) {
        failures.push(`#${n} ${op} ${path}: ${isPfsError(err) ? `${err.code} ${err.message}` : String(err)}`);
        // A write that failed before its commit left the journal as it was; re-sync the model to be sure.
        const row = (await store.list({ bookId: BOOK })).find((e) => e.path === path);
        if (row) model.set(path, row.hash);
        else model.delete(path);
      }
    }
    proxy.set({ rate: 0 });
    const injected = Object.values(proxy.stats.faults).reduce((a, b) => a + b, 0);
    const successRate = 1 - failures.length / TOTAL;
    console.log(
      `fault run: ${TOTAL} ops, ${proxy.stats.requests} requests, ${injected} faults injected ${JSON.stringify(proxy.stats.faults)}, ` +
        `${retriesIn(await store.metrics())} retries, success ${(successRate * 100).toFixed(2)}%`,
    );
    expect(failures).toEqual([]); // the bar is ≥ 99.9%; with these retries nothing should fail at all
    expect(successRate).toBeGreaterThanOrEqual(0.999);
    expect(injected).toBeGreaterThan(100); // the faults really happened…
    for (const kind of ["503", "500", "429", "drop", "slow"] as const) expect(proxy.stats.faults[kind]).toBeGreaterThan(0);
    expect(retriesIn(await store.metrics())).toBeGreaterThan(50); // …and were retried and counted

    // Journal ↔ storage: every row's object exists and hashes right; chains verify; the model agrees.
    expect(await invariantViolations(store, [BOOK])).toEqual([]);
    const rows = await store.list({ bookId: BOOK });
    expect(new Map(rows.map((r) => [r.path, r.hash]))).toEqual(model);
  }, 900_000); // a thousand journal transactions on a shared 2-core machine: a generous bound, not a speed check

  it("with storage failing 100% during a write: STORAGE_UNAVAILABLE, journal and objects unchanged, only the failure audited", async () => {
    const path = "content/02-Part/01-Chapter/01-unreachable.md";
    await store.write({ bookId: BOOK, path, content: "# before", agentId: AGENT });
    const before = await captureState(store);
    const auditBefore = await auditRows(store);
    const retriesBefore = retriesIn(await store.metrics());

    proxy.set({ rate: 1, faults: ["503", "500", "429", "drop"] });
    let err: unknown;
    try {
      err = await store
        .write({ bookId: BOOK, path, content: "# after", expectedHash: sha256Hex("# before"), agentId: AGENT })
        .catch((e: unknown) => e);
      const created = await store.write({ bookId: BOOK, path: "static/img/never.png", content: Buffer.from([1, 2, 3]), agentId: AGENT }).catch((e: unknown) => e);
      expect(created).toMatchObject({ code: "STORAGE_UNAVAILABLE" });
    } finally {
      proxy.set({ rate: 0, faults: ["503", "500", "429", "drop", "slow"] });
    }
    expect(isPfsError(err, "STORAGE_UNAVAILABLE")).toBe(true);
    expect((err as Error).message).toMatch(/after 5 attempts/);
    expect(retriesIn(await store.metrics())).toBe(retriesBefore + 8); // 4 retries for each of the two writes' first request

    expect(await captureState(store)).toEqual(before);
    const auditAfter = await auditRows(store);
    expect(auditAfter.slice(0, auditBefore.length)).toEqual(auditBefore);
    const added = auditAfter.slice(auditBefore.length);
    expect(added.map((e) => [e.operation, e.status, e.errorCode, e.newHash])).toEqual([
      ["write", "error", "STORAGE_UNAVAILABLE", null],
      ["write", "error", "STORAGE_UNAVAILABLE", null],
    ]);
    expect(await chainProblems(store)).toEqual([]);
    expect((await store.read({ bookId: BOOK, path })).content.toString()).toBe("# before");
  });

  it("does not retry a 404: a missing object is one request, no retry", async () => {
    const before = retriesIn(await store.metrics());
    const requests = proxy.stats.requests;
    await expect(store.ctx.blobs.storage.getStream("objects/sha256/00/none")).rejects.toMatchObject({ code: "NOT_FOUND" });
    expect(proxy.stats.requests - requests).toBe(1);
    expect(retriesIn(await store.metrics())).toBe(before);
  });

  it("a response slower than the request timeout is abandoned and retried", async () => {
    const retried: string[] = [];
    const storage = new S3ObjectStorage(
      { ...(instance.options.storage as S3StorageConfig), endpoint: proxy.url, requestTimeoutMs: 300 },
      { onRetry: (op) => retried.push(op) },
    );
    try {
      proxy.set({ rate: 1, faults: ["slow"], slowMs: 1_000 });
      const failed = await storage.head("objects/sha256/00/none").catch((e: unknown) => e);
      expect(failed).toMatchObject({ code: "STORAGE_UNAVAILABLE" });
      expect((failed as Error).message).toMatch(/TimeoutError/);
      expect(retried).toEqual(["HeadObject", "HeadObject", "HeadObject", "HeadObject"]);
      // Slow only some of the time: retries get through.
      proxy.set({ rate: 0.4 });
      await storage.putBuffer("slow/key", Buffer.from("eventually"));
      const chunks: Buffer[] = [];
      for await (const c of await storage.getStream("slow/key")) chunks.push(c as Buffer);
      expect(Buffer.concat(chunks).toString()).toBe("eventually");
    } finally {
      proxy.set({ rate: 0, faults: ["503", "500", "429", "drop", "slow"], slowMs: 150 });
      await storage.close();
    }
  });
});
