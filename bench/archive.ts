/**
 * Archive benchmark (issue 4, DESIGN 4.6 / R4): books of 500 files / 200 MB and 5,000 files / 2 GB are
 * generated into a store (embedded PGlite journal; local folder and/or s3rver objects). For each, two
 * fresh child processes open the store: one simply reads every object of the snapshot in order (the
 * baseline), the other streams `store.archive({ scope: "all" })` into a byte counter. Prints time,
 * archive throughput as a ratio to the plain read, and peak RSS growth over the process's RSS right
 * before the operation (sampled every 10 ms). Times are the fastest of `--rounds` alternating runs, RSS growth
 * the largest. Goals: RSS growth < 64 MB at both sizes, ratio ≥ 50%.
 *
 *   npx tsx bench/archive.ts [--scale 1] [--storage local,s3] [--rounds 2] [--json]
 *   PFS_BENCH_SCALE=0.02 npx tsx bench/archive.ts      # quick smoke run (10 files / 4 MB, 100 / 40 MB)
 *
 * Objects come from the OS page cache for the local folder in both runs (same footing).
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import pLimit from "p-limit";
import { openStore, type StoreOptions } from "../src/index.js";
import { createBucket, startS3rver, S3RVER_ACCESS_KEY, S3RVER_SECRET, type S3rverProcess } from "../test/support/s3rver.js";

const { values: args } = parseArgs({
  options: {
    scale: { type: "string", default: process.env.PFS_BENCH_SCALE ?? "1" },
    storage: { type: "string", default: "local,s3" },
    json: { type: "boolean", default: false },
    rounds: { type: "string", default: "2" },
    child: { type: "string" },
    options: { type: "string" },
  },
});

const MB = 1024 * 1024;
const BOOK = "bench-book";

interface ChildResult {
  ms: number;
  bytes: number;
  files: number;
  rssGrowth: number;
  gauge?: number;
}

/** Samples RSS every 10 ms while `fn` runs; growth is over the RSS right before it. */
async function withPeakRss<T>(fn: () => Promise<T>): Promise<{ result: T; growth: number }> {
  const start = process.memoryUsage.rss();
  let peak = start;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 10);
  try {
    const result = await fn();
    peak = Math.max(peak, process.memoryUsage.rss());
    return { result, growth: peak - start };
  } finally {
    clearInterval(timer);
  }
}

function counter(): Writable & { bytes: number } {
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      sink.bytes += chunk.length;
      cb();
    },
  }) as Writable & { bytes: number };
  sink.bytes = 0;
  return sink;
}

/** Runs in a fresh process so the parent's generated data never counts as growth. */
async function child(mode: "read" | "archive", options: StoreOptions): Promise<ChildResult> {
  const store = await openStore(options);
  try {
    const snap = await store.snapshot({ bookId: BOOK }); // warms the journal; the archive takes its own
    // Warm-up outside the measurement: lazily loaded modules (SDK, zip, zlib) and the first connection.
    if (snap.files[0]) await store.ctx.blobs.getBuffer(snap.files[0].hash);
    if (mode === "archive") await pipeline(store.archive({ bookId: "warm-up-book", scope: "all" }), counter());
    (globalThis as { gc?: () => void }).gc?.();
    const t = performance.now();
    const { result, growth } = await withPeakRss(async () => {
      if (mode === "read") {
        let bytes = 0;
        for (const f of snap.files) {
          const sink = counter();
          await pipeline(await store.ctx.blobs.get(f.hash), sink);
          bytes += sink.bytes;
        }
        return { bytes, files: snap.files.length };
      }
      const stream = store.archive({ bookId: BOOK, scope: "all" });
      const sink = counter();
      await pipeline(stream, sink);
      const summary = await stream.summary;
      if (summary.errors.length > 0 || summary.files !== snap.files.length) throw new Error(`archive incomplete: ${JSON.stringify(summary)}`);
      return { bytes: sink.bytes, files: summary.files };
    });
    const ms = performance.now() - t;
    const gauge = /^panaversityfs_archive_memory_bytes (\S+)$/m.exec(await store.metrics())?.[1];
    return { ms, ...result, rssGrowth: growth, gauge: mode === "archive" && gauge ? Number(gauge) : undefined };
  } finally {
    await store.close();
  }
}

function runChild(mode: "read" | "archive", options: StoreOptions): Promise<ChildResult> {
  const argv = [...process.execArgv, "--expose-gc", fileURLToPath(import.meta.url), "--child", mode, "--options", JSON.stringify(options)];
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, argv, { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.on("error", reject);
    p.on("exit", (code) => {
      if (code !== 0) return reject(new Error(`bench child (${mode}) exited with ${code}`));
      resolve(JSON.parse(out.trim().split("\n").at(-1)!) as ChildResult);
    });
  });
}

/** 20% markdown pages (~8 KB of text), the rest binary assets sharing the remaining bytes. */
async function generate(options: StoreOptions, files: number, totalBytes: number): Promise<void> {
  const store = await openStore(options);
  try {
    const pages = Math.max(1, Math.floor(files * 0.2));
    const assets = files - pages;
    const assetBytes = Math.max(0, totalBytes - pages * 8192);
    const limit = pLimit(4);
    const jobs: Promise<unknown>[] = [];
    for (let i = 0; i < pages; i++) {
      const chapter = String(Math.floor(i / 50) + 1).padStart(2, "0");
      const lesson = String((i % 50) + 1).padStart(2, "0");
      const path = `content/01-part/${chapter}-chapter/${lesson}-lesson.md`;
      const text = `# Lesson ${i}\n\n${"Some prose about the topic, with `code` and a list.\n".repeat(160)}`;
      jobs.push(limit(() => store.write({ bookId: BOOK, path, content: text, agentId: "bench" })));
    }
    for (let i = 0; i < assets; i++) {
      // Sizes vary ±75% around the mean so both small and large objects occur.
      const mean = assetBytes / assets;
      const size = Math.max(1, Math.round(mean * (0.25 + 1.5 * ((i * 7919) % assets) / Math.max(1, assets - 1))));
      const path = `static/img/set-${String(Math.floor(i / 100)).padStart(3, "0")}/asset-${String(i).padStart(5, "0")}.bin`;
      jobs.push(limit(() => store.write({ bookId: BOOK, path, content: randomBytes(size), agentId: "bench" })));
    }
    await Promise.all(jobs);
  } finally {
    await store.close();
  }
}

async function main() {
  if (args.child) {
    const result = await child(args.child as "read" | "archive", JSON.parse(args.options!) as StoreOptions);
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  const scale = Number(args.scale);
  const sizes = [
    { files: 500, bytes: 200 * MB },
    { files: 5000, bytes: 2000 * MB },
  ].map((s) => ({ files: Math.max(10, Math.round(s.files * scale)), bytes: Math.max(MB, Math.round(s.bytes * scale)) }));
  const storages = args.storage.split(",").map((s) => s.trim()) as ("local" | "s3")[];
  let s3: S3rverProcess | undefined;
  const rows = [];
  try {
    for (const storage of storages) {
      if (storage === "s3") s3 ??= await startS3rver();
      for (const size of sizes) {
        const dir = await mkdtemp(join(tmpdir(), "pfs-bench-archive-"));
        try {
          const options: StoreOptions = { dataDir: dir, storage: { kind: "local", dir: join(dir, "objects") } };
          if (storage === "s3") {
            const bucket = `bench-${Date.now().toString(36)}`;
            await createBucket(s3!.endpoint, bucket);
            options.storage = { kind: "s3", bucket, endpoint: s3!.endpoint, forcePathStyle: true, accessKeyId: S3RVER_ACCESS_KEY, secretAccessKey: S3RVER_SECRET };
          }
          const g = performance.now();
          await generate(options, size.files, size.bytes);
          const generatedMs = performance.now() - g;
          // Alternate the two, each in a fresh process; on a shared machine the fastest round is the least disturbed.
          const reads: ChildResult[] = [];
          const archives: ChildResult[] = [];
          for (let r = 0; r < Number(args.rounds); r++) {
            reads.push(await runChild("read", options));
            archives.push(await runChild("archive", options));
          }
          const best = (rs: ChildResult[]) => ({ ...rs.reduce((a, b) => (b.ms < a.ms ? b : a)), rssGrowth: Math.max(...rs.map((x) => x.rssGrowth)) });
          const read = best(reads);
          const archive = best(archives);
          const row = {
            storage,
            files: read.files,
            mb: +(read.bytes / MB).toFixed(1),
            generateS: +(generatedMs / 1000).toFixed(1),
            readS: +(read.ms / 1000).toFixed(2),
            archiveS: +(archive.ms / 1000).toFixed(2),
            archiveMBps: +(read.bytes / MB / (archive.ms / 1000)).toFixed(1),
            throughputRatio: +(read.ms / archive.ms).toFixed(2),
            archiveRssGrowthMB: +(archive.rssGrowth / MB).toFixed(1),
            readRssGrowthMB: +(read.rssGrowth / MB).toFixed(1),
            gaugeMB: archive.gauge === undefined ? null : +(archive.gauge / MB).toFixed(1),
            zipMB: +(archive.bytes / MB).toFixed(1),
          };
          rows.push(row);
          if (!args.json) console.error(`done: ${storage} ${row.files} files / ${row.mb} MB`);
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      }
    }
  } finally {
    await s3?.stop();
  }
  if (args.json) {
    console.log(JSON.stringify(rows, null, 2));
    return;
  }
  console.table(rows);
  for (const r of rows) {
    const rssOk = r.archiveRssGrowthMB < 64;
    const ratioOk = r.throughputRatio >= 0.5;
    console.log(
      `${r.storage} ${r.files} files: RSS growth ${r.archiveRssGrowthMB} MB (${rssOk ? "ok" : "OVER"} < 64), ` +
        `throughput ${Math.round(r.throughputRatio * 100)}% of plain read (${ratioOk ? "ok" : "UNDER"} ≥ 50%)`,
    );
  }
}

await main();
