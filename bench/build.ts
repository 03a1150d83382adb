/**
 * Build benchmark (issues 5 and 11): the plugin's content load (`syncBook`, what its loadContent runs before
 * the docs plugin reads the files), timed from opening the store to closing it — journal open, planning,
 * object GETs, cache writes — on a large generated book and a small one in the same journal.
 *
 *   npx tsx bench/build.ts [--pages 20000] [--small 1000] [--db postgres|pglite] [--latency 0]
 *                          [--concurrency 16] [--repeat 3] [--naive] [--sources] [--json]
 *
 * For each book: a cold load (cache wiped), then unchanged and 3-pages-changed loads two ways in the same run:
 *   delta    — what the plugin does: one planLoad since the cache's manifest hash; only touched files stat-ed;
 *   snapshot — the previous way (`journalRead: "snapshot"`): the whole file list, every cached file stat-ed.
 * Journal rows are counted twice: the rows the journal returned to the plugin (report.json's `journal.rows`)
 * and, on PostgreSQL, the rows the server read for them (pg_stat_user_tables: seq_tup_read + idx_tup_fetch).
 * --naive adds the old baseline: open the store, snapshot, download every file into a fresh folder.
 * --latency <ms> delays every object GET (approximates a remote bucket).
 * --sources (PostgreSQL) adds, per book: cold and unchanged loads through the direct source and through
 * `pfs serve` with a read-only token (the HTTP source), the server in the build's process and in its own
 * process, in the same run (bench/sources.ts).
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import pLimit from "p-limit";
import pg from "pg";
import type { StoreOptions } from "../src/index.js";
import { withStore } from "../src/store/store.js";
import { syncBook, type SyncOptions } from "../src/docusaurus/sync.js";
import { generateSyntheticBook, type SampleBook } from "../scripts/sample-book.js";
import { seedBook } from "../scripts/seed.js";
import { createTestDatabase } from "../test/support/postgres.js";
import { benchSources, printSources, type SourcesResult } from "./sources.js";
import { slowLocalStorage } from "./slow-storage.js";

const { values: args } = parseArgs({
  options: {
    pages: { type: "string", default: "20000" },
    small: { type: "string", default: "1000" },
    db: { type: "string", default: "postgres" },
    latency: { type: "string", default: "0" },
    concurrency: { type: "string", default: "16" },
    repeat: { type: "string", default: "3" },
    naive: { type: "boolean", default: false },
    sources: { type: "boolean", default: false },
    json: { type: "boolean", default: false },
  },
});
const SIZES = [Number(args.small), Number(args.pages)].filter((n) => n > 0);
const LATENCY_MS = Number(args.latency);
const CONCURRENCY = Number(args.concurrency);
const REPEAT = Number(args.repeat);
// Folder numbers have two digits: 20 chapters of 50 lessons per part, a part per 1,000 pages.
const LESSONS_PER_CHAPTER = 50;
const CHAPTERS_PER_PART = 20;
const AGENT = "bench-build";

// Count every object GET (and optionally slow it down), whoever opens the storage: the plugin opens its own store.
const slow = slowLocalStorage(LATENCY_MS);

interface Measure {
  ms: number;
  gets: number;
  written: number;
  mode: string;
  /** Rows the journal returned to the load. */
  rows: number;
  /** Rows PostgreSQL read to answer (null on PGlite). */
  serverRows: number | null;
}

/** Rows read by the server across the bench database's tables (flushed when the load's connections close). */
type ServerRows = () => Promise<number | null>;

async function pgServerRows(url: string): Promise<{ read: ServerRows; analyze: () => Promise<void>; close: () => Promise<void> }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return {
    // What autovacuum does on a live database; a never-analyzed table gets guessed plans.
    analyze: async () => void (await client.query("ANALYZE")),
    read: async () => {
      await new Promise((r) => setTimeout(r, 300)); // the load's backends report their counters as they exit
      await client.query("SELECT pg_stat_clear_snapshot()");
      const { rows } = await client.query("SELECT coalesce(sum(seq_tup_read), 0) + coalesce(sum(idx_tup_fetch), 0) AS n FROM pg_stat_user_tables");
      return Number(rows[0].n);
    },
    close: () => client.end(),
  };
}

function median(ms: Measure[]): Measure {
  return [...ms].sort((a, b) => a.ms - b.ms)[Math.floor((ms.length - 1) / 2)]!;
}

async function measure(serverRows: ServerRows, fn: () => Promise<{ written: number; mode: string; rows: number }>): Promise<Measure> {
  const before = slow.gets();
  const rowsBefore = await serverRows();
  const t = performance.now();
  const r = await fn();
  const ms = performance.now() - t;
  const rowsAfter = await serverRows();
  return { ms, gets: slow.gets() - before, ...r, serverRows: rowsBefore === null || rowsAfter === null ? null : rowsAfter - rowsBefore };
}

/** The old baseline: every build opens the store, lists the book and downloads every file into a fresh folder. */
async function naiveLoad(storeOptions: StoreOptions, bookId: string, outDir: string): Promise<{ written: number; mode: string; rows: number }> {
  return withStore(storeOptions, async (store) => {
    const snap = await store.snapshot({ bookId });
    await rm(outDir, { recursive: true, force: true });
    const limit = pLimit(CONCURRENCY);
    await Promise.all(
      snap.files.map((f) =>
        limit(async () => {
          const content = await store.ctx.blobs.getBuffer(f.hash);
          const target = join(outDir, f.path);
          await mkdir(dirname(target), { recursive: true });
          await writeFile(target, content);
        }),
      ),
    );
    return { written: snap.files.length, mode: "naive", rows: snap.files.length };
  });
}

const fmtMs = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);
const ratio = (a: number, b: number) => (b === 0 ? (a === 0 ? "1x" : "∞") : `${(a / b).toFixed(1)}x`);

function bookOf(pages: number): SampleBook {
  return generateSyntheticBook({
    bookId: `bench-${pages}`,
    parts: Math.max(1, Math.ceil(pages / CHAPTERS_PER_PART / LESSONS_PER_CHAPTER)),
    chaptersPerPart: Math.min(CHAPTERS_PER_PART, Math.max(1, Math.round(pages / LESSONS_PER_CHAPTER))),
    lessonsPerChapter: LESSONS_PER_CHAPTER,
    extraParagraphs: 6,
    summaries: false,
    chapterFolders: "part",
  });
}

type Scenario = "cold" | "unchanged: delta" | "unchanged: snapshot" | "3 changed: delta" | "3 changed: snapshot" | "naive (every build)";

interface BookResult {
  pages: number;
  files: number;
  mb: number;
  seedMs: number;
  results: Partial<Record<Scenario, Measure>>;
}

async function benchBook(root: string, storeOptions: StoreOptions, serverRows: ServerRows, analyze: () => Promise<void>, pages: number): Promise<BookResult> {
  const book = bookOf(pages);
  const lessons = book.stats.lessons;
  const mb = book.files.reduce((n, f) => n + f.content.length, 0) / 1024 / 1024;
  process.stderr.write(`[${lessons} pages] seeding ${book.files.length} files (${mb.toFixed(1)} MB)… `);
  const seedStart = performance.now();
  await withStore(storeOptions, (s) => seedBook(s, book, { agentId: AGENT, concurrency: 16 }));
  const seedMs = performance.now() - seedStart;
  await analyze();
  process.stderr.write(`${fmtMs(seedMs)}\n`);

  const sync: SyncOptions = {
    bookId: book.bookId,
    cacheDir: join(root, `cache-${pages}`),
    store: storeOptions,
    overlayUsers: [],
    includeSummaries: true,
    concurrency: CONCURRENCY,
    offline: "fail",
    fetchAttempts: 3,
    warn: (m) => process.stderr.write(`warn: ${m}\n`),
  };
  const load = (journalRead: SyncOptions["journalRead"]) =>
    measure(serverRows, async () => {
      const r = await syncBook({ ...sync, journalRead });
      return { written: r.stats.written, mode: r.stats.mode, rows: r.stats.journal.rows };
    });
  // Three lessons change before each "3 changed" load (as an agent's edit would), so each sees exactly 3 changes.
  const lessonsToEdit = book.files.filter((f) => f.path.endsWith(".md") && f.path.includes("/02-"));
  let edits = 0;
  const changeThree = () =>
    withStore(storeOptions, async (s) => {
      for (let i = 0; i < 3; i++) {
        const f = lessonsToEdit[edits++ % lessonsToEdit.length]!;
        const { hash } = await s.read({ bookId: book.bookId, path: f.path });
        const content = Buffer.concat([f.content, Buffer.from(`\nEdited by the benchmark, edit ${edits}.\n`)]);
        await s.write({ bookId: book.bookId, path: f.path, content, expectedHash: hash, agentId: AGENT });
      }
    });

  const rounds: Partial<Record<Scenario, Measure[]>> = {};
  const add = (name: Scenario, m: Measure) => (rounds[name] ??= []).push(m);
  for (let round = 1; round <= REPEAT; round++) {
    process.stderr.write(`[${lessons} pages] round ${round}/${REPEAT}: cold… `);
    await rm(sync.cacheDir, { recursive: true, force: true });
    add("cold", await load("plan"));
    process.stderr.write("unchanged… ");
    add("unchanged: delta", await load("plan"));
    add("unchanged: snapshot", await load("snapshot"));
    process.stderr.write("3 changed…");
    await changeThree();
    add("3 changed: delta", await load("plan"));
    await changeThree();
    add("3 changed: snapshot", await load("snapshot"));
    if (args.naive) {
      process.stderr.write(" naive…");
      add("naive (every build)", await measure(serverRows, () => naiveLoad(storeOptions, book.bookId, join(root, "naive"))));
    }
    process.stderr.write("\n");
  }
  const results = Object.fromEntries(Object.entries(rounds).map(([k, v]) => [k, median(v)])) as Partial<Record<Scenario, Measure>>;
  return { pages: lessons, files: book.files.length, mb, seedMs, results };
}

function printBook(b: BookResult, db: string): void {
  console.log(
    `\n${b.pages}-page book (${b.files} files, ${b.mb.toFixed(1)} MB), ${db} journal, local object folder` +
      `${LATENCY_MS ? ` + ${LATENCY_MS} ms per GET` : ""}, concurrency ${CONCURRENCY}, median of ${REPEAT} (seeded in ${fmtMs(b.seedMs)})`,
  );
  const rows = [["load", "time (open+plan+fetch+write)", "GETs", "files written", "journal rows returned", "rows read by server"]];
  for (const [name, m] of Object.entries(b.results)) {
    rows.push([name, fmtMs(m.ms), String(m.gets), String(m.written), String(m.rows), m.serverRows === null ? "n/a" : String(m.serverRows)]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) console.log("  " + r.map((c, i) => c.padEnd(widths[i]!)).join("  "));
  const d = b.results["unchanged: delta"]!;
  const s = b.results["unchanged: snapshot"]!;
  const cd = b.results["3 changed: delta"]!;
  const cs = b.results["3 changed: snapshot"]!;
  console.log(
    `  snapshot/delta: unchanged ${ratio(s.ms, d.ms)} time, ${ratio(s.rows, d.rows)} rows returned` +
      `${d.serverRows !== null && s.serverRows !== null ? `, ${ratio(s.serverRows, d.serverRows)} rows read` : ""}; ` +
      `3 changed ${ratio(cs.ms, cd.ms)} time, ${ratio(cs.rows, cd.rows)} rows returned`,
  );
  const naive = b.results["naive (every build)"];
  if (naive) console.log(`  naive/delta unchanged: ${ratio(naive.ms, d.ms)} time, ${ratio(naive.gets, d.gets)} GETs`);
}

async function main() {
  const root = await mkdtemp(join(tmpdir(), "pfs-bench-build-"));
  const storage = { kind: "local" as const, dir: join(root, "objects") };
  let storeOptions: StoreOptions;
  let serverRows: ServerRows = async () => null;
  let analyze = async () => {};
  let cleanup = async () => {};
  if (args.db === "postgres") {
    const db = await createTestDatabase();
    storeOptions = { databaseUrl: db.url, storage };
    const stats = await pgServerRows(db.url);
    serverRows = stats.read;
    analyze = stats.analyze;
    cleanup = async () => {
      await stats.close();
      await db.drop();
    };
  } else {
    storeOptions = { dataDir: join(root, "store"), storage };
  }
  try {
    const books: BookResult[] = [];
    const sources: SourcesResult[] = [];
    for (const pages of SIZES) {
      books.push(await benchBook(root, storeOptions, serverRows, analyze, pages));
      if (args.sources) sources.push(await benchSources(root, storeOptions, `bench-${pages}`, books.at(-1)!.pages, CONCURRENCY, REPEAT, LATENCY_MS, slow.gets));
    }
    if (args.json) {
      console.log(JSON.stringify({ db: args.db, latencyMs: LATENCY_MS, concurrency: CONCURRENCY, repeat: REPEAT, books, sources }, null, 2));
      return;
    }
    for (const r of sources) printSources(r, LATENCY_MS);
    console.log(`\nbench/build: plugin content loads, ${args.db === "postgres" ? "PostgreSQL" : "embedded PGlite"} journal`);
    for (const b of books) printBook(b, args.db === "postgres" ? "PostgreSQL" : "PGlite");
    if (books.length > 1) {
      const [small, large] = [books[0]!, books[books.length - 1]!];
      const [ds, dl] = [small.results["unchanged: delta"]!, large.results["unchanged: delta"]!];
      const server = ds.serverRows !== null && dl.serverRows !== null ? `; rows read by the server ${ds.serverRows} vs ${dl.serverRows}` : "";
      console.log(
        `\nUnchanged delta load, ${small.pages} vs ${large.pages} pages: ${fmtMs(ds.ms)} vs ${fmtMs(dl.ms)}; ` +
          `journal rows returned ${ds.rows} vs ${dl.rows}${server}.`,
      );
    }
    console.log(
      `\n"time" is syncBook's wall time: opening the store (journal connection and migration check), the plan or snapshot,\n` +
        `object GETs, hashing, cache writes, the cache manifest and closing. "cold" has no cache, so it reads the whole list.`,
    );
  } finally {
    slow.restore();
    await cleanup().catch(() => {});
    await rm(root, { recursive: true, force: true });
  }
}

await main();
