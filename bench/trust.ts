/**
 * Trust bench (issue 9): what tamper evidence and read verification cost, as ratios measured in one run.
 *
 * - Writes: batches of `--writes` markdown writes spread over `--books` books (`--concurrency` at once)
 *   into a store with anchors on (default interval 1 s, signed with an audit key) and one with anchors
 *   off, alternating; a batch's time runs until its anchors are written (flushAnchors).
 * - Reads: every file read one at a time through `store.read` (journal lookup, whole object, SHA-256
 *   checked against its address) against `store.readStream` drained (the same lookup, bytes not
 *   hashed) and a raw object get (no journal at all).
 *
 * Both alternate their variants round by round (writes) or file by file (reads) and sum the times, so
 * a noisy shared machine loads every variant alike. Target: each cost ≤ 10%.
 *
 *   npx tsx bench/trust.ts [--storage local,s3] [--writes 200] [--books 4] [--files 200] [--kb 64] [--rounds 5] [--json]
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import pLimit from "p-limit";
import { openStore, type Store, type StoreOptions } from "../src/index.js";
import { objectKey } from "../src/blobs/index.js";
import { createBucket, startS3rver, S3RVER_ACCESS_KEY, S3RVER_SECRET, type S3rverProcess } from "../test/support/s3rver.js";

const { values: args } = parseArgs({
  options: {
    storage: { type: "string", default: "local,s3" },
    writes: { type: "string", default: "200" },
    books: { type: "string", default: "4" },
    files: { type: "string", default: "200" },
    kb: { type: "string", default: "64" },
    concurrency: { type: "string", default: "4" },
    rounds: { type: "string", default: "5" },
    json: { type: "boolean", default: false },
  },
});

const WRITES = Number(args.writes);
const BOOKS = Number(args.books);
const FILES = Number(args.files);
const BYTES = Number(args.kb) * 1024;
const CONCURRENCY = Number(args.concurrency);
const ROUNDS = Number(args.rounds);
const AUDIT_KEY = randomBytes(32).toString("hex");

type StorageKind = "local" | "s3";

async function storageOptions(kind: StorageKind, dir: string, s3: S3rverProcess | null): Promise<StoreOptions["storage"]> {
  if (kind === "local") return { kind: "local", dir: join(dir, "objects") };
  const bucket = `trust-${randomBytes(5).toString("hex")}`;
  await createBucket(s3!.endpoint, bucket);
  return { kind: "s3", bucket, endpoint: s3!.endpoint, forcePathStyle: true, accessKeyId: S3RVER_ACCESS_KEY, secretAccessKey: S3RVER_SECRET };
}

function page(i: number, round: string): string {
  const head = `# Lesson ${i} (${round})\n\n`;
  return head + "Words about the lesson. ".repeat(Math.ceil((BYTES - head.length) / 24)).slice(0, BYTES - head.length);
}

const pathOf = (i: number) => `content/01-part/01-chapter/01-lesson-${i}.md`;

/** Milliseconds for one batch of the write workload, anchors flushed at its end (so none leaks into the next batch). */
async function writeBatch(store: Store, round: number): Promise<number> {
  const limit = pLimit(CONCURRENCY);
  const started = performance.now();
  await Promise.all(
    Array.from({ length: WRITES }, (_, i) =>
      limit(() =>
        store.write({ bookId: `trust-book-${i % BOOKS}`, path: pathOf(round * WRITES + i), content: page(i, String(round)), agentId: "bench" }),
      ),
    ),
  );
  await store.flushAnchors();
  return performance.now() - started;
}

/**
 * Two stores open side by side, anchors on (signed) and off; batches alternate between them, so on a
 * shared, noisy machine both are measured under the same load. Totals over all rounds after a warm-up.
 */
async function writeRounds(kind: StorageKind, s3: S3rverProcess | null): Promise<{ on: number; off: number }> {
  const dirs = [await mkdtemp(join(tmpdir(), "pfs-trust-on-")), await mkdtemp(join(tmpdir(), "pfs-trust-off-"))];
  const on = await openStore({ dataDir: dirs[0], storage: await storageOptions(kind, dirs[0]!, s3), auditKey: AUDIT_KEY });
  const off = await openStore({ dataDir: dirs[1], storage: await storageOptions(kind, dirs[1]!, s3), anchors: false });
  const total = { on: 0, off: 0 };
  try {
    for (let r = 0; r <= ROUNDS; r++) {
      const order = r % 2 === 0 ? (["on", "off"] as const) : (["off", "on"] as const);
      for (const v of order) {
        const ms = await writeBatch(v === "on" ? on : off, r);
        if (r > 0) total[v] += ms; // round 0 warms up
      }
    }
  } finally {
    await on.close();
    await off.close();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  }
  return total;
}

async function drain(stream: AsyncIterable<unknown>): Promise<number> {
  let n = 0;
  for await (const c of stream) n += (c as Buffer).length;
  return n;
}

type ReadVariant = "verified" | "unverified" | "raw";
const VARIANTS: ReadVariant[] = ["verified", "unverified", "raw"];

async function readOnce(store: Store, bookId: string, i: number, hash: string, variant: ReadVariant): Promise<number> {
  if (variant === "verified") return (await store.read({ bookId, path: pathOf(i) })).content.length;
  if (variant === "unverified") return drain((await store.readStream({ bookId, path: pathOf(i) })).stream);
  return drain(await store.ctx.blobs.storage.getStream(objectKey(hash)));
}

/**
 * Total ms per variant. The three reads of a file run back to back in a rotating order, so on a
 * shared, noisy machine every variant is sampled under the same load.
 */
async function readRounds(store: Store, bookId: string, hashes: string[]): Promise<Record<ReadVariant, number>> {
  const total = { verified: 0, unverified: 0, raw: 0 };
  for (let r = 0; r <= ROUNDS; r++) {
    for (let i = 0; i < hashes.length; i++) {
      for (let k = 0; k < VARIANTS.length; k++) {
        const v = VARIANTS[(i + r + k) % VARIANTS.length]!;
        const t = performance.now();
        await readOnce(store, bookId, i, hashes[i]!, v);
        if (r > 0) total[v] += performance.now() - t; // round 0 warms caches
      }
    }
  }
  return total;
}

interface Line {
  storage: StorageKind;
  writesPerSecAnchored: number;
  writesPerSecPlain: number;
  writeCost: number;
  readsPerSecVerified: number;
  readsPerSecUnverified: number;
  readsPerSecRaw: number;
  readCost: number;
  readCostVsRaw: number;
}

async function benchStorage(kind: StorageKind, s3: S3rverProcess | null): Promise<Line> {
  const writes = await writeRounds(kind, s3);
  const dir = await mkdtemp(join(tmpdir(), "pfs-trust-r-"));
  const store = await openStore({ dataDir: dir, storage: await storageOptions(kind, dir, s3), anchors: false });
  let reads: Record<ReadVariant, number>;
  try {
    const bookId = "trust-read";
    const hashes: string[] = [];
    for (let i = 0; i < FILES; i++) hashes.push((await store.write({ bookId, path: pathOf(i), content: page(i, "read"), agentId: "bench" })).hash);
    reads = await readRounds(store, bookId, hashes);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
  const perSec = (n: number, ms: number) => Math.round((n / ms) * 1000);
  return {
    storage: kind,
    writesPerSecAnchored: perSec(WRITES * ROUNDS, writes.on),
    writesPerSecPlain: perSec(WRITES * ROUNDS, writes.off),
    writeCost: writes.on / writes.off - 1,
    readsPerSecVerified: perSec(FILES * ROUNDS, reads.verified),
    readsPerSecUnverified: perSec(FILES * ROUNDS, reads.unverified),
    readsPerSecRaw: perSec(FILES * ROUNDS, reads.raw),
    readCost: reads.verified / reads.unverified - 1,
    readCostVsRaw: reads.verified / reads.raw - 1,
  };
}

const pct = (x: number) => `${x >= 0 ? "+" : ""}${(x * 100).toFixed(1)}%`;

async function main(): Promise<void> {
  const kinds = args.storage.split(",").map((s) => s.trim()) as StorageKind[];
  const s3 = kinds.includes("s3") ? await startS3rver() : null;
  const lines: Line[] = [];
  try {
    for (const kind of kinds) {
      const line = await benchStorage(kind, s3);
      lines.push(line);
      if (!args.json) {
        console.log(
          `${kind.padEnd(5)} writes ${line.writesPerSecAnchored}/s anchored vs ${line.writesPerSecPlain}/s without: cost ${pct(line.writeCost)} | ` +
            `reads ${line.readsPerSecVerified}/s verified vs ${line.readsPerSecUnverified}/s unverified: cost ${pct(line.readCost)} ` +
            `(raw object get ${line.readsPerSecRaw}/s: ${pct(line.readCostVsRaw)}) | target ≤ +10%: ${line.writeCost <= 0.1 && line.readCost <= 0.1 ? "met" : "NOT met"}`,
        );
      }
    }
  } finally {
    await s3?.stop();
  }
  if (args.json) console.log(JSON.stringify({ writes: WRITES, books: BOOKS, files: FILES, kb: BYTES / 1024, rounds: ROUNDS, lines }, null, 2));
}

await main();
