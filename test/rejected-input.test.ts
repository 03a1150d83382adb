/**
 * Rejected input leaves no state (issue 9, finding 6): writes with invalid book ids, or with invalid
 * paths on a book that does not exist yet, create no chain head, audit entry, journal row or metric
 * label; a rejection on a book that exists is audited in its chain (DESIGN: the audit log records
 * rejections). On the embedded journal and on PostgreSQL.
 */
import { count } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { PfsError, type Store } from "../src/index.js";
import { auditLog, bookHead, fileJournal } from "../src/journal/schema.js";
import { openStoreFor, type Backend } from "./support/backends.js";
import { sample } from "./support/prometheus.js";
import { chainProblems } from "./support/state.js";

const AGENT = "probe-agent";
const LESSON = "content/01-part/01-chapter/01-lesson.md";

/** 1,000 distinct invalid book ids of many kinds (too short, upper case, traversal, unicode, too long, …). */
const BAD_BOOK_IDS = Array.from({ length: 1000 }, (_, i) => {
  const kinds = [`Bad-Book-${i}`, `../book-${i}`, `b${i % 10}`, `book_${i}`, `bоок-${i}`, `-book-${i}`, `${"x".repeat(70)}${i}`, `book-${i}-`, `book ${i}`, `книга-${i}`];
  return kinds[i % kinds.length]!;
});
const BAD_PATHS = ["../etc/passwd", "content/x.txt", "static/img/a?b.png", "content//a.md", "/abs.md", "content/01-p/01-c/ﬁle.md", "static/img/К.png"];

async function rowCounts(store: Store) {
  const db = store.ctx.journal.db;
  const [[heads], [audit], [files]] = await Promise.all([
    db.select({ n: count() }).from(bookHead),
    db.select({ n: count() }).from(auditLog),
    db.select({ n: count() }).from(fileJournal),
  ]);
  return { heads: heads!.n, audit: audit!.n, files: files!.n };
}

/** The series of a metrics text without their values: what grows when labels leak. */
function series(text: string): string[] {
  return text
    .split("\n")
    .filter((l) => l && !l.startsWith("#"))
    .map((l) => l.replace(/ \S+$/, ""))
    .sort();
}

async function refused(p: Promise<unknown>): Promise<PfsError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof PfsError) return err;
    throw err;
  }
  throw new Error("expected a refusal");
}

for (const backend of [
  { name: "pglite+local", db: "pglite", storage: "local" },
  { name: "postgres+local", db: "postgres", storage: "local" },
] satisfies Backend[]) {
  describe(`rejected input on ${backend.name}`, () => {
    let store: Store;
    openStoreFor(backend, (s) => (store = s));

    it("1,000 writes with invalid book ids and invalid paths on new books: no rows, no audit, no new metric series", async () => {
      await store.write({ bookId: "real-book", path: LESSON, content: "# real\n", agentId: AGENT });
      // Warm-up: the first refusals create the (unlabelled-by-book) refusal series once.
      await refused(store.write({ bookId: "Warm_Up", path: LESSON, content: "x", agentId: AGENT }));
      await refused(store.write({ bookId: "warm-up", path: "../x", content: "x", agentId: AGENT }));
      await refused(store.write({ bookId: "warm-up", path: "content/x.txt", content: "x", agentId: AGENT }));
      await refused(store.delete({ bookId: "Warm_Up", path: LESSON, agentId: AGENT }));
      const before = await rowCounts(store);
      const metricsBefore = await store.metrics();

      for (const [i, bookId] of BAD_BOOK_IDS.entries()) {
        const err = await refused(
          i % 5 === 0 ? store.delete({ bookId, path: LESSON, agentId: AGENT }) : store.write({ bookId, path: LESSON, content: `# ${i}\n`, agentId: AGENT }),
        );
        expect(err.code).toBe("INVALID_ARGUMENT");
      }
      // Valid ids of books that do not exist, with invalid paths or user ids: also no chain.
      for (let i = 0; i < 100; i++) {
        const bookId = `never-created-${i}`;
        const err = await refused(
          i % 10 === 9
            ? store.write({ bookId, path: LESSON, userId: `bad user ${i}`, content: "x", agentId: AGENT })
            : store.write({ bookId, path: BAD_PATHS[i % BAD_PATHS.length]!, content: "x", agentId: AGENT }),
        );
        expect(["INVALID_PATH", "SCHEMA_VIOLATION", "INVALID_ARGUMENT"]).toContain(err.code);
      }

      expect(await rowCounts(store)).toEqual(before);
      const metricsAfter = await store.metrics();
      expect(series(metricsAfter)).toEqual(series(metricsBefore));
      for (const id of [...BAD_BOOK_IDS.slice(0, 50), "never-created-1"]) expect(metricsAfter).not.toContain(id);
      // Refusals are still counted, by code only.
      const refusedCount = (text: string) => sample(text, "panaversityfs_refused_total", { operation: "write", code: "INVALID_ARGUMENT" }) ?? 0;
      expect(refusedCount(metricsAfter) - refusedCount(metricsBefore)).toBe(800 + 10);
    }, 120_000);

    it("a rejection on a book that exists is audited in its chain, without a new head", async () => {
      const before = await rowCounts(store);
      const err = await refused(store.write({ bookId: "real-book", path: "static/img/К.png", content: "x", agentId: AGENT }));
      expect(err.code).toBe("INVALID_PATH");
      const after = await rowCounts(store);
      expect(after).toEqual({ ...before, audit: before.audit + 1 });
      const last = (await store.audit({ bookId: "real-book" })).entries[0];
      expect(last).toMatchObject({ status: "rejected", errorCode: "INVALID_PATH", path: "static/img/К.png" });
      expect(await chainProblems(store)).toEqual([]);
    });

    it("recordRefusedAttempt (the server's path for 403s) audits only books that exist", async () => {
      const forbidden = new PfsError("FORBIDDEN", "this token may not read the audit log");
      const before = await rowCounts(store);
      expect(await store.recordRefusedAttempt({ operation: "audit", bookId: "real-book", agentId: "reader", error: forbidden })).toBe(true);
      expect(await store.recordRefusedAttempt({ operation: "audit", bookId: "no-such-book", agentId: "reader", error: forbidden })).toBe(false);
      expect(await store.recordRefusedAttempt({ operation: "audit", bookId: "Not A Book", agentId: "reader", error: forbidden })).toBe(false);
      expect(await rowCounts(store)).toEqual({ ...before, audit: before.audit + 1 });
      expect((await store.audit({ bookId: "real-book" })).entries[0]).toMatchObject({ operation: "audit", status: "rejected", errorCode: "FORBIDDEN", path: null });
      expect(await store.metrics()).not.toContain("no-such-book");
      expect(await chainProblems(store)).toEqual([]);
    });
  });
}
