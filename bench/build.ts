/**
 * Build benchmark (issue 5): a 1,000-page book in an embedded store (PGlite + local object folder).
 * Measures the plugin's content load (`syncBook`, what its loadContent runs before the docs plugin reads
 * the files) for a cold build, an unchanged rebuild and a rebuild after a 3-page change, against a naive
 * "download everything every build" baseline in the same process, and prints time and object GETs as ratios.
 *
 *   npx tsx bench/build.ts [--pages 1000] [--latency 0] [--concurrency 16] [--repeat 3] [--json]
 *
 * Each scenario runs --repeat times (the cache is wiped before each cold run, three new edits before each
 * "3 changed" run) and the median time is shown.
 *
 * --latency <ms> adds that delay to every object GET (both loaders), to approximate a remote bucket
 * (R2/S3 answers in tens of milliseconds; the local folder in microseconds).
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import pLimit from "p-limit";
import { openStore, Store, type StoreOptions } from "../src/index.js";
import { LocalObjectStorage } from "../src/blobs/local.js";
import { syncBook, type SyncOptions } from "../src/docusaurus/sync.js";
import { generateSyntheticBook } from "../scripts/sample-book.js";
import { seedBook } from "../scripts/seed.js";

const { values: args } = parseArgs({
  options: {
    pages: { type: "string", default: "1000" },
    latency: { type: "string", default: "0" },
    concurrency: { type: "string", default: "16" },
    repeat: { type: "string", default: "3" },
    json: { type: "boolean", default: false },
  },
});
const PAGES = Number(args.pages);
const LATENCY_MS = Number(args.latency);
const CONCURRENCY = Number(args.concurrency);
const REPEAT = Number(args.repeat);
const LESSONS_PER_CHAPTER = 20;
const PARTS = 5;

// Count every object GET (and optionally slow it down), whoever opens the storage: the plugin opens its own store.
let gets = 0;
const originalGet = LocalObjectStorage.prototype.getStream;
LocalObjectStorage.prototype.getStream = async function (this: LocalObjectStorage, key: string) {
  gets++;
  if (LATENCY_MS > 0) await new Promise((r) => setTimeout(r, LATENCY_MS));
  return originalGet.call(this, key);
};

// Both loaders open the store, take one snapshot, move objects, close. Timestamps of the snapshot's end and
// the close's start split a load into "open + snapshot" (the same for both) and "fetch + write" (what differs).
let snapshotDoneAt = 0;
let closeStartedAt = 0;
const originalSnapshot = Store.prototype.snapshot;
Store.prototype.snapshot = async function (this: Store, input) {
  const snap = await originalSnapshot.call(this, input);
  snapshotDoneAt = performance.now();
  return snap;
};
const originalClose = Store.prototype.close;
Store.prototype.close = function (this: Store) {
  closeStartedAt = performance.now();
  return originalClose.call(this);
};

interface Measure {
  ms: number;
  /** From the end of the snapshot to the start of the store's close: fetching, hashing, planning, writing. */
  workMs: number;
  gets: number;
  bytes: number;
  written?: number;
}

type Scenario = "cold" | "unchanged" | "3 changed";

/** The run with the median time (its GETs are the same in every round). */
function median(ms: Measure[]): Measure {
  return [...ms].sort((a, b) => a.ms - b.ms)[Math.floor((ms.length - 1) / 2)]!;
}

async function measure(fn: () => Promise<{ bytes: number; written?: number }>): Promise<Measure> {
  const before = gets;
  const t = performance.now();
  snapshotDoneAt = closeStartedAt = 0;
  const r = await fn();
  const ms = performance.now() - t;
  const workMs = snapshotDoneAt && closeStartedAt > snapshotDoneAt ? closeStartedAt - snapshotDoneAt : ms;
  return { ms, workMs, gets: gets - before, bytes: r.bytes, written: r.written };
}

/** The baseline: every build opens the store, lists the book and downloads every file into a fresh folder. */
async function naiveLoad(storeOptions: StoreOptions, bookId: string, outDir: string): Promise<{ bytes: number; written: number }> {
  const store = await openStore(storeOptions);
  try {
    const snap = await store.snapshot({ bookId });
    await rm(outDir, { recursive: true, force: true });
    const limit = pLimit(CONCURRENCY);
    let bytes = 0;
    await Promise.all(
      snap.files.map((f) =>
        limit(async () => {
          const content = await store.ctx.blobs.getBuffer(f.hash);
          bytes += content.length;
          const target = join(outDir, f.path);
          await mkdir(dirname(target), { recursive: true });
          await writeFile(target, content);
        }),
      ),
    );
    return { bytes, written: snap.files.length };
  } finally {
    await store.close();
  }
}

async function withStore<T>(options: StoreOptions, fn: (s: Store) => Promise<T>): Promise<T> {
  const store = await openStore(options);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

const fmtMs = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);
const ratio = (a: number, b: number) => (b === 0 ? (a === 0 ? "1x" : "∞ (0 vs " + a + ")") : `${(a / b).toFixed(1)}x`);

async function main() {
  const root = await mkdtemp(join(tmpdir(), "pfs-bench-build-"));
  const storeOptions: StoreOptions = { dataDir: join(root, "store"), storage: { kind: "local", dir: join(root, "store", "objects") } };
  try {
    const book = generateSyntheticBook({
      parts: PARTS,
      chaptersPerPart: Math.max(1, Math.round(PAGES / PARTS / LESSONS_PER_CHAPTER)),
      lessonsPerChapter: LESSONS_PER_CHAPTER,
      extraParagraphs: 6,
      summaries: false,
    });
    const lessons = book.stats.lessons;
    const totalBytes = book.files.reduce((n, f) => n + f.content.length, 0);
    process.stderr.write(
      `Seeding ${book.files.length} files (${lessons} lessons, ${book.stats.intros} intros, ${book.stats.assets} images, ` +
        `${(totalBytes / 1024 / 1024).toFixed(1)} MB) into an embedded store… `,
    );
    const seedStart = performance.now();
    await withStore(storeOptions, (s) => seedBook(s, book, { agentId: "bench-build" }));
    process.stderr.write(`${fmtMs(performance.now() - seedStart)}\n`);

    const syncOptions: SyncOptions = {
      bookId: book.bookId,
      cacheDir: join(root, "cache"),
      store: storeOptions,
      overlayUsers: [],
      includeSummaries: true,
      concurrency: CONCURRENCY,
      offline: "fail",
      fetchAttempts: 3,
      warn: (m) => process.stderr.write(`warn: ${m}\n`),
    };
    const plugin = () => measure(async () => {
      const r = await syncBook(syncOptions);
      return { bytes: r.stats.bytes, written: r.stats.written };
    });
    const naive = () => measure(() => naiveLoad(storeOptions, book.bookId, join(root, "naive")));
    const run = async () => ({ plugin: await plugin(), naive: await naive() });
    // Three lessons change each round (as an agent's edit would).
    const changed = book.files.filter((f) => f.path.endsWith(".md") && f.path.includes("/02-")).slice(0, 3);
    const changeThree = (round: number) =>
      withStore(storeOptions, async (s) => {
        for (const f of changed) {
          const { hash } = await s.read({ bookId: book.bookId, path: f.path });
          const content = Buffer.concat([f.content, Buffer.from(`\nEdited by the benchmark, round ${round}.\n`)]);
          await s.write({ bookId: book.bookId, path: f.path, content, expectedHash: hash, agentId: "bench-build" });
        }
      });

    const rounds: Record<Scenario, { plugin: Measure; naive: Measure }[]> = { cold: [], unchanged: [], "3 changed": [] };
    for (let round = 1; round <= REPEAT; round++) {
      process.stderr.write(`round ${round}/${REPEAT}: cold… `);
      await rm(syncOptions.cacheDir, { recursive: true, force: true });
      rounds.cold.push(await run());
      process.stderr.write("unchanged… ");
      rounds.unchanged.push(await run());
      await changeThree(round);
      process.stderr.write("3 pages changed…\n");
      rounds["3 changed"].push(await run());
    }
    const results = Object.fromEntries(
      Object.entries(rounds).map(([name, rs]) => [name, { plugin: median(rs.map((r) => r.plugin)), naive: median(rs.map((r) => r.naive)) }]),
    ) as Record<Scenario, { plugin: Measure; naive: Measure }>;

    if (args.json) {
      console.log(JSON.stringify({ pages: lessons, files: book.files.length, latencyMs: LATENCY_MS, concurrency: CONCURRENCY, repeat: REPEAT, results, rounds }, null, 2));
      return;
    }
    console.log(
      `\nbench/build: ${lessons}-page book (${book.files.length} files, ${(totalBytes / 1024 / 1024).toFixed(1)} MB), ` +
        `local object folder${LATENCY_MS ? ` + ${LATENCY_MS} ms per GET` : ""}, concurrency ${CONCURRENCY}, median of ${REPEAT}\n`,
    );
    const rows = [["build", "plugin: total", "fetch+write", "GETs", "naive: total", "fetch+write", "GETs", "naive/plugin: GETs", "total time", "fetch+write time"]];
    for (const [name, r] of Object.entries(results)) {
      rows.push([
        name,
        fmtMs(r.plugin.ms),
        fmtMs(r.plugin.workMs),
        String(r.plugin.gets),
        fmtMs(r.naive.ms),
        fmtMs(r.naive.workMs),
        String(r.naive.gets),
        ratio(r.naive.gets, r.plugin.gets),
        ratio(r.naive.ms, r.plugin.ms),
        ratio(r.naive.workMs, r.plugin.workMs),
      ]);
    }
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join("  "));
    const c = results["3 changed"]!.plugin;
    console.log(
      `\nAfter the change the plugin wrote ${c.written} files; the naive loader rewrites all ${results["3 changed"]!.naive.written} every build.\n` +
        `"total" includes opening the embedded journal and the snapshot, which both loaders pay alike; "fetch+write" is the time\n` +
        `from the end of the snapshot to closing the store (GETs, hashing, planning, writing files). With a local folder most of\n` +
        `a load is the journal; with a remote bucket (try --latency 30) the GETs dominate.`,
    );
  } finally {
    LocalObjectStorage.prototype.getStream = originalGet;
    Store.prototype.snapshot = originalSnapshot;
    Store.prototype.close = originalClose;
    await rm(root, { recursive: true, force: true });
  }
}

await main();
