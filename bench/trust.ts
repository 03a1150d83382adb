/**
 * Trust bench (issue 9): what tamper evidence and read verification cost, as ratios measured in one run.
 *
 * - Writes: the same workload (`--writes` markdown writes spread over `--books` books, written by
 *   `--concurrency` agents at once) into a fresh store with anchors on (default interval 1 s, signed
 *   with an audit key) and with anchors off. The time runs until every anchor is written (flushAnchors).
 * - Reads: every file read through `store.read` (journal lookup, whole object, SHA-256 checked against
 *   the journal) against `store.readStream` drained (the same lookup, bytes not hashed) and a raw
 *   object get (no journal at all).
 *
 * Rounds alternate the variants and keep each one's fastest. Target: each cost ≤ 10%.
 *
 *   npx tsx bench/trust.ts [--storage local,s3] [--writes 400] [--books 4] [--files 200] [--kb 64] [--rounds 3] [--json]
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
    writes: { type: "string", default: "400" },
    books: { type: "string", default: "4" },
    files: { type: "string", default: "200" },
    kb: { type: "string", default: "64" },
    concurrency: { type: "string", default: "4" },
    rounds: { type: "string", default: "3" },
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

/** Milliseconds for the write workload on a fresh store; anchors: on (signed) or off. */
async function writeRun(kind: StorageKind, s3: S3rverProcess | null, anchors: boolean): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), "pfs-trust-w-"));
  const store = await openStore({ dataDir: dir, storage: await storageOptions(kind, dir, s3), ...(anchors ? { auditKey: AUDIT_KEY } : { anchors: false }) });
  try {
    const limit = pLimit(CONCURRENCY);
    const round = randomBytes(4).toString("hex");
    const started = performance.now();
    await Promise.all(
      Array.from({ length: WRITES }, (_, i) =>
        limit(() => store.write({ bookId: `trust-book-${i % BOOKS}`, path: pathOf(Math.floor(i / BOOKS)), content: page(i, round), agentId: "bench" })),
      ),
    );
    await store.flushAnchors();
    return performance.now() - started;
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function drain(stream: AsyncIterable<unknown>): Promise<number> {
  let n = 0;
  for await (const c of stream) n += (c as Buffer).length;
  return n;
}

type ReadVariant = "verified" | "unverified" | "raw";

async function readRun(store: Store, bookId: string, hashes: string[], variant: ReadVariant): Promise<number> {
  const limit = pLimit(CONCURRENCY);
  const started = performance.now();
  await Promise.all(
    hashes.map((hash, i) =>
      limit(async () => {
        if (variant === "verified") return (await store.read({ bookId, path: pathOf(i) })).content.length;
        if (variant === "unverified") return drain((await store.readStream({ bookId, path: pathOf(i) })).stream);
        return drain(await store.ctx.blobs.storage.getStream(objectKey(hash)));
      }),
    ),
  );
  return performance.now() - started;
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
  const best = { on: Infinity, off: Infinity, verified: Infinity, unverified: Infinity, raw: Infinity };
  for (let r = 0; r < ROUNDS; r++) {
    // Alternate which variant goes first so warm-up favours neither.
    const order = r % 2 === 0 ? [true, false] : [false, true];
    for (const on of order) best[on ? "on" : "off"] = Math.min(best[on ? "on" : "off"], await writeRun(kind, s3, on));
  }
  const dir = await mkdtemp(join(tmpdir(), "pfs-trust-r-"));
  const store = await openStore({ dataDir: dir, storage: await storageOptions(kind, dir, s3), anchors: false });
  try {
    const bookId = "trust-read";
    const hashes: string[] = [];
    for (let i = 0; i < FILES; i++) hashes.push((await store.write({ bookId, path: pathOf(i), content: page(i, "read"), agentId: "bench" })).hash);
    const variants: ReadVariant[] = ["verified", "unverified", "raw"];
    for (let r = 0; r < ROUNDS + 1; r++) {
      const order = r % 2 === 0 ? variants : [...variants].reverse();
      for (const v of order) {
        const ms = await readRun(store, bookId, hashes, v);
        if (r > 0) best[v] = Math.min(best[v], ms); // round 0 warms caches for all three
      }
    }
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
  const perSec = (n: number, ms: number) => Math.round((n / ms) * 1000);
  return {
    storage: kind,
    writesPerSecAnchored: perSec(WRITES, best.on),
    writesPerSecPlain: perSec(WRITES, best.off),
    writeCost: best.on / best.off - 1,
    readsPerSecVerified: perSec(FILES, best.verified),
    readsPerSecUnverified: perSec(FILES, best.unverified),
    readsPerSecRaw: perSec(FILES, best.raw),
    readCost: best.verified / best.unverified - 1,
    readCostVsRaw: best.verified / best.raw - 1,
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
