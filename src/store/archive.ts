/**
 * Book archives (DESIGN 4.6): a zip stream written while objects are read.
 *
 * Zip (yazl) rather than tar.gz: per-entry compression (markdown deflated, images/videos stored as
 * they are instead of burning CPU on already-compressed bytes), a central directory that lets any tool
 * list or extract one file without reading the rest, and a truncated download is detectable (no
 * directory at the end). yazl pumps one entry at a time and honours the consumer's backpressure.
 *
 * An entry is added only after its object has been read and its size and SHA-256 checked against the
 * journal (a mismatch counts in panaversityfs_integrity_errors_total), so a missing or
 * corrupt object is skipped (listed in a final errors.json) instead of breaking the archive half-way.
 * Small objects are checked in memory; large ones are spooled to a temp file while hashing.
 */
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable, type PassThrough } from "node:stream";
import { pipeline } from "node:stream/promises";
import { ZipFile } from "yazl";
import { isPfsError } from "../errors/index.js";
import { HashingStream } from "../hashing/index.js";
import { parsePath } from "../paths/index.js";
import {
  ERRORS_ENTRY,
  MANIFEST_ENTRY,
  archiveFiles,
  assertArchiveInput,
  publicArchiveMessage,
  type ArchiveError,
  type ArchiveInput,
  type ArchiveStream,
  type ArchiveSummary,
} from "./archive-plan.js";
import { readAhead } from "./read-ahead.js";
import { useNativeCrc32ForYazl } from "./native-crc.js";
import { integrityError, snapshotOp, verifiedBuffer, type Snapshot } from "./reads.js";
import type { StoreContext } from "./context.js";
import { SPOOL_BUDGET, type ByteBudget } from "./spool-budget.js";

useNativeCrc32ForYazl();

export {
  ERRORS_ENTRY,
  MANIFEST_ENTRY,
  type ArchiveError,
  type ArchiveInput,
  type ArchiveScope,
  type ArchiveStream,
  type ArchiveSummary,
} from "./archive-plan.js";

export interface ArchiveTuning {
  /** Objects up to this size are checked in memory, larger ones spooled to disk. */
  bufferLimit: number;
  /** Read-ahead window: objects and bytes (of in-memory objects) loaded ahead of the writer. */
  readAheadItems: number;
  readAheadBytes: number;
  /** Disk all archives of the process may spool at once (default SPOOL_BUDGET). One archive spools one object at a time. */
  spool?: ByteBudget;
}

const DEFAULT_TUNING: ArchiveTuning = { bufferLimit: 8 * 1024 * 1024, readAheadItems: 4, readAheadBytes: 16 * 1024 * 1024 };

/** A fixed date keeps archives of one manifest byte-identical (cacheable by manifest hash). */
const ENTRY_MTIME = new Date(Date.UTC(2000, 0, 1));
const CHUNK = 64 * 1024;

type FileOf = Snapshot["files"][number];
type Loaded = { kind: "buffer"; data: Buffer } | { kind: "file"; file: string; release: () => void } | { kind: "error"; code: string; message: string };

/** Serves a buffer in small chunks so backpressure applies inside one entry too. */
function bufferStream(data: Buffer): Readable {
  let offset = 0;
  return new Readable({
    read() {
      if (offset >= data.length) return void this.push(null);
      this.push(data.subarray(offset, offset + CHUNK));
      offset += CHUNK;
    },
  });
}

/** Returns the archive stream at once; the snapshot and objects are read as the consumer pulls. */
export function archiveOp(ctx: StoreContext, input: ArchiveInput, tuning: ArchiveTuning = DEFAULT_TUNING): ArchiveStream {
  assertArchiveInput(input);
  const zip = new ZipFile();
  const out = zip.outputStream as PassThrough;
  const summary = writeArchive(ctx, input, tuning, zip);
  summary.catch((err) => out.destroy(err));
  return Object.assign(out, { summary });
}

async function writeArchive(ctx: StoreContext, input: ArchiveInput, tuning: ArchiveTuning, zip: ZipFile): Promise<ArchiveSummary> {
  const started = performance.now();
  const rssStart = process.memoryUsage.rss();
  let rssPeak = rssStart;
  const out = zip.outputStream as PassThrough;
  let outcome = "failed";
  // One temp folder per archive, created on the first large object (loads run concurrently: share the promise).
  let spoolDir: Promise<string> | undefined;
  let spooledCount = 0;
  let aborted = false;
  const stopped = new AbortController();
  const spoolReleases = new Set<() => void>();
  const abortWaiters = new Set<() => void>();
  let endedNormally = false;
  out.once("end", () => (endedNormally = true));
  // Closed before its end: the reader went away (or destroyed it); stop reading objects.
  out.once("close", () => {
    if (endedNormally) return;
    aborted = true;
    stopped.abort();
    abortWaiters.forEach((wake) => wake());
  });
  const zipFailed = new Promise<never>((_, reject) => zip.once("error", reject));
  zipFailed.catch(() => {});

  /**
   * Adds one entry and waits until its bytes have gone into the zip stream (or the reader left).
   * yazl keeps every entry (and so this getter) until the central directory is written: the getter must
   * not keep the object's bytes reachable once the entry is done, or memory grows with the book.
   */
  const addEntry = (path: string, open: () => Readable, compress: boolean, size: number) => {
    let opener: (() => Readable) | undefined = open;
    let stream: Readable | undefined;
    return Promise.race([
      zipFailed,
      new Promise<void>((resolve, reject) => {
        const finish = (err?: unknown) => {
          abortWaiters.delete(wake);
          opener = undefined;
          stream = undefined;
          if (err) reject(err);
          else resolve();
        };
        const wake = () => {
          stream?.destroy();
          finish();
        };
        abortWaiters.add(wake);
        zip.addReadStreamLazy(path, { mtime: ENTRY_MTIME, compress, size }, (cb) => {
          if (aborted || !opener) return finish();
          stream = opener();
          opener = undefined;
          stream.once("end", () => finish());
          stream.once("error", (err) => finish(err));
          cb(null, stream);
        });
      }),
    ]);
  };

  const load = async (file: FileOf): Promise<Loaded> => {
    try {
      const row = { path: file.path, sha256: file.hash, size: file.size };
      if (file.size <= tuning.bufferLimit) return { kind: "buffer", data: await verifiedBuffer(ctx, row, "archive") };
      const release = await (tuning.spool ?? SPOOL_BUDGET).acquire(file.size, stopped.signal);
      spoolReleases.add(release);
      try {
        spoolDir ??= mkdtemp(join(tmpdir(), "pfs-archive-"));
        // Unique per load: two paths may share one object (same bytes) and be in flight together.
        const spooled = join(await spoolDir, `${++spooledCount}-${file.hash}`);
        const hasher = new HashingStream();
        await pipeline(await ctx.blobs.get(file.hash), hasher, createWriteStream(spooled), { signal: stopped.signal });
        const digest = hasher.digest();
        if (digest !== file.hash || hasher.size !== file.size) {
          throw integrityError(ctx, "archive", file.path, file.hash, digest !== file.hash ? "hash" : `size ${hasher.size}, journal ${file.size}`);
        }
        return { kind: "file", file: spooled, release };
      } catch (err) {
        release();
        throw err;
      }
    } catch (err) {
      if (isPfsError(err, "NOT_FOUND")) {
        ctx.metrics.integrityErrors.inc({ operation: "archive" }); // a large object gone missing
        return { kind: "error", code: "INTEGRITY_ERROR", message: publicArchiveMessage("INTEGRITY_ERROR", "missing") };
      }
      const code = isPfsError(err) ? err.code : "STORAGE_UNAVAILABLE";
      const missing = isPfsError(err, "INTEGRITY_ERROR") && /missing/i.test(err.message);
      return { kind: "error", code, message: publicArchiveMessage(code, missing ? "missing" : "corrupt") };
    }
  };

  try {
    const snap = await snapshotOp(ctx, { bookId: input.bookId, userId: input.userId });
    const files = archiveFiles(snap.files, input.scope, input.resumeAfter);
    const errors: ArchiveError[] = [];
    let written = 0;
    let bytes = 0;
    let processed = 0;
    let last: string | null = input.resumeAfter ?? null;
    let cutShort = false;
    // A spooled object fills the read-ahead window alone: one archive has one object on disk at a time.
    const weight = (f: FileOf) => (f.size <= tuning.bufferLimit ? f.size : tuning.readAheadBytes);
    const items = readAhead(files, load, weight, { maxItems: tuning.readAheadItems, maxWeight: tuning.readAheadBytes });
    for await (const { item, result } of items) {
      if (aborted) break;
      // Always make progress (one file at least), so resuming can never loop.
      if (processed > 0 && input.deadlineMs !== undefined && performance.now() - started >= input.deadlineMs) {
        cutShort = true;
        break;
      }
      if (result.kind === "error") {
        errors.push({ path: item.path, hash: item.hash, code: result.code, message: result.message });
      } else {
        const compress = parsePath(item.path).kind !== "asset";
        const source = result.kind === "buffer" ? () => bufferStream(result.data) : () => createReadStream(result.file);
        await addEntry(item.path, source, compress, item.size);
        if (result.kind === "file") {
          await rm(result.file, { force: true });
          result.release();
        }
        written++;
        bytes += item.size;
      }
      processed++;
      last = item.path;
      rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
    }
    if (aborted) {
      outcome = "aborted";
      return { ...summaryOf(input, snap), status: "aborted", files: written, bytes, errors, resumeAfter: last };
    }
    if (errors.length > 0) {
      const listed = errors.map(({ path, code, message }) => ({ path, code, message })); // nothing of the server
      const body = Buffer.from(JSON.stringify({ bookId: input.bookId, manifestHash: snap.manifestHash, errors: listed }, null, 2));
      await addEntry(ERRORS_ENTRY, () => bufferStream(body), true, body.length);
    }
    if (cutShort) {
      const manifest = {
        bookId: input.bookId,
        scope: input.scope,
        userId: input.userId ?? null,
        manifestHash: snap.manifestHash,
        seq: snap.seq,
        complete: false,
        resume_after: last,
        files: archiveFiles(snap.files, input.scope).map((f) => ({ path: f.path, hash: f.hash, size: f.size, source: f.source })),
      };
      const body = Buffer.from(JSON.stringify(manifest, null, 2));
      await addEntry(MANIFEST_ENTRY, () => bufferStream(body), true, body.length);
    }
    const ended = new Promise<void>((resolve) => out.once("close", resolve));
    zip.end();
    await Promise.race([zipFailed, ended]);
    outcome = aborted ? "aborted" : cutShort ? "deadline" : errors.length > 0 ? "errors" : "ok";
    return {
      ...summaryOf(input, snap),
      status: aborted ? "aborted" : cutShort ? "deadline" : "complete",
      files: written,
      bytes,
      errors,
      resumeAfter: cutShort ? last : null,
    };
  } finally {
    if (spoolDir) await spoolDir.then((dir) => rm(dir, { recursive: true, force: true })).catch(() => {});
    spoolReleases.forEach((release) => release());
    ctx.metrics.archiveTotal.inc({ scope: input.scope, status: outcome });
    ctx.metrics.archiveDuration.observe({ scope: input.scope }, (performance.now() - started) / 1000);
    ctx.metrics.archiveMemory.set(Math.max(0, rssPeak - rssStart));
  }
}

function summaryOf(input: ArchiveInput, snap: Snapshot) {
  return { bookId: input.bookId, scope: input.scope, userId: input.userId, manifestHash: snap.manifestHash, seq: snap.seq };
}
