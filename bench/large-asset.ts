/**
 * A large asset (1 GB by default) streamed through store.write and store.readStream on s3rver,
 * checked byte for byte. Prints peak RSS growth of this process (the goal: < 100 MB), and the time
 * against a baseline measured in the same run: the same bytes through the bare S3 storage
 * (putStream + getStream, no hashing, no journal, no move).
 *
 *   npx tsx --expose-gc bench/large-asset.ts            # 1024 MB
 *   PFS_BENCH_MB=256 npx tsx --expose-gc bench/large-asset.ts
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStore } from "../src/index.js";
import { S3ObjectStorage } from "../src/blobs/s3.js";
import { createBucket, startS3rver, S3RVER_ACCESS_KEY, S3RVER_SECRET } from "../test/support/s3rver.js";
import { generatedStream, matchesGenerated } from "../test/support/generated-stream.js";
import { createTestDatabase, type TestDatabase } from "../test/support/postgres.js";

const MB = 1024 * 1024;
const size = Number(process.env.PFS_BENCH_MB ?? 1024) * MB;

/** Samples RSS every 20 ms; `peak()` is the highest value seen since `reset()`. */
function rssMonitor() {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
  return {
    reset: () => (peak = process.memoryUsage.rss()),
    peak: () => Math.max(peak, process.memoryUsage.rss()),
    stop: () => clearInterval(timer),
  };
}

const mb = (bytes: number) => `${(bytes / MB).toFixed(1)} MB`;

async function main() {
  const server = await startS3rver();
  const dataDir = await mkdtemp(join(tmpdir(), "pfs-bench-large-"));
  // A PostgreSQL journal when the local server is up: PGlite's WASM heap (hundreds of MB, resized
  // as it likes) would blur the figure this bench is about.
  const db: TestDatabase | undefined = await createTestDatabase().catch(() => undefined);
  const monitor = rssMonitor();
  try {
    const bucket = "bench-large";
    await createBucket(server.endpoint, bucket);
    const s3 = { kind: "s3" as const, bucket, endpoint: server.endpoint, accessKeyId: S3RVER_ACCESS_KEY, secretAccessKey: S3RVER_SECRET };
    const base = randomBytes(MB);

    // Baseline: the bare storage, same bytes, same server.
    const raw = new S3ObjectStorage({ ...s3, prefix: "baseline" });
    let t = performance.now();
    await raw.putStream("asset", generatedStream(size, base).stream);
    const rawWriteMs = performance.now() - t;
    t = performance.now();
    const rawCheck = await matchesGenerated((await raw.getStream("asset")) as AsyncIterable<Buffer>, size, base);
    const rawReadMs = performance.now() - t;
    await raw.delete("asset");
    await raw.close();

    const store = await openStore({ dataDir, databaseUrl: db?.url, storage: { ...s3, prefix: "store" }, limits: { assetBytes: size + MB } });
    // Warm up (journal, client, code paths) so the baseline RSS is the steady state.
    await store.write({ bookId: "bench-book", path: "static/img/warm.bin", content: generatedStream(MB, base).stream, agentId: "bench" });
    await store.read({ bookId: "bench-book", path: "static/img/warm.bin" });
    globalThis.gc?.();
    const baseline = monitor.reset();

    const source = generatedStream(size, base);
    t = performance.now();
    const written = await store.write({ bookId: "bench-book", path: "static/videos/big.bin", content: source.stream, agentId: "bench" });
    const writeMs = performance.now() - t;
    const writePeak = monitor.peak() - baseline;

    globalThis.gc?.();
    const readBaseline = monitor.reset();
    t = performance.now();
    const { stream, hash } = await store.readStream({ bookId: "bench-book", path: "static/videos/big.bin" });
    const check = await matchesGenerated(stream as AsyncIterable<Buffer>, size, base);
    const readMs = performance.now() - t;
    const readPeak = monitor.peak() - readBaseline;
    await store.close();

    const equal = check.equal && written.hash === source.sha256() && hash === source.sha256() && written.size === size;
    console.log(`large asset: ${mb(size)} through store.write + store.readStream on s3rver (journal: ${db ? "PostgreSQL" : "PGlite"})`);
    console.log(`  byte-for-byte equal: ${equal} (read ${check.bytes} bytes${check.firstDifference !== undefined ? `, first difference at ${check.firstDifference}` : ""}; sha256 ${written.hash})`);
    console.log(`  RSS before write ${mb(baseline)}, before read ${mb(readBaseline)}; peak growth: write ${mb(writePeak)}, read ${mb(readPeak)} (goal < 100 MB)`);
    console.log(`  write ${(writeMs / 1000).toFixed(1)} s = ${(writeMs / rawWriteMs).toFixed(2)}× bare putStream (${(rawWriteMs / 1000).toFixed(1)} s; the store also hashes and copies tmp → address)`);
    console.log(`  read  ${(readMs / 1000).toFixed(1)} s = ${(readMs / rawReadMs).toFixed(2)}× bare getStream (${(rawReadMs / 1000).toFixed(1)} s); bare read equal: ${rawCheck.equal}`);
    if (!equal || !rawCheck.equal || Math.max(writePeak, readPeak) >= 100 * MB) process.exitCode = 1;
  } finally {
    monitor.stop();
    await server.stop();
    await db?.drop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
