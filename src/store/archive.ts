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
 * Parts: archive-zip.ts (the zip stream), archive-load.ts (reading and checking objects), archive-plan.ts (pure).
 */
import { createReadStream } from "node:fs";
import { parsePath } from "../paths/index.js";
import { ArchiveLoader, type FileOf } from "./archive-load.js";
import {
  ERRORS_ENTRY,
  MANIFEST_ENTRY,
  archiveFiles,
  assertArchiveInput,
  errorsEntryBody,
  manifestEntryBody,
  type ArchiveError,
  type ArchiveInput,
  type ArchiveStream,
  type ArchiveSummary,
} from "./archive-plan.js";
import { ArchiveZip, bufferStream } from "./archive-zip.js";
import type { StoreContext } from "./context.js";
import { readAhead } from "./read-ahead.js";
import { snapshotOp, type Snapshot } from "./reads.js";
import type { ByteBudget } from "./spool-budget.js";

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

/** Returns the archive stream at once; the snapshot and objects are read as the consumer pulls. */
export function archiveOp(ctx: StoreContext, input: ArchiveInput, tuning: ArchiveTuning = DEFAULT_TUNING): ArchiveStream {
  assertArchiveInput(input);
  const zip = new ArchiveZip();
  const summary = writeArchive(ctx, input, tuning, zip);
  summary.catch((err) => zip.out.destroy(err));
  return Object.assign(zip.out, { summary });
}

/** The loop: each loaded object into the zip in byte order, until done, the deadline or the reader leaving. */
async function writeArchive(ctx: StoreContext, input: ArchiveInput, tuning: ArchiveTuning, zip: ArchiveZip): Promise<ArchiveSummary> {
  const started = performance.now();
  const rssStart = process.memoryUsage.rss();
  let rssPeak = rssStart;
  let outcome = "failed";
  const loader = new ArchiveLoader(ctx, tuning.bufferLimit, zip.signal, tuning.spool);
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
    const items = readAhead(files, (f) => loader.load(f), weight, { maxItems: tuning.readAheadItems, maxWeight: tuning.readAheadBytes });
    for await (const { item, result } of items) {
      if (zip.aborted) break;
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
        await zip.addEntry(item.path, source, compress, item.size);
        await loader.done(result);
        written++;
        bytes += item.size;
      }
      processed++;
      last = item.path;
      rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
    }
    if (zip.aborted) {
      outcome = "aborted";
      return { ...summaryOf(input, snap), status: "aborted", files: written, bytes, errors, resumeAfter: last };
    }
    if (errors.length > 0) await zip.addBuffer(ERRORS_ENTRY, errorsEntryBody(input.bookId, snap.manifestHash, errors));
    if (cutShort) await zip.addBuffer(MANIFEST_ENTRY, manifestEntryBody(input, snap, last));
    await zip.end();
    outcome = zip.aborted ? "aborted" : cutShort ? "deadline" : errors.length > 0 ? "errors" : "ok";
    return {
      ...summaryOf(input, snap),
      status: zip.aborted ? "aborted" : cutShort ? "deadline" : "complete",
      files: written,
      bytes,
      errors,
      resumeAfter: cutShort ? last : null,
    };
  } finally {
    // Counted before the cleanup's await: a caller that has read the whole stream sees this archive in the metrics.
    ctx.metrics.archiveTotal.inc({ scope: input.scope, status: outcome });
    ctx.metrics.archiveDuration.observe({ scope: input.scope }, (performance.now() - started) / 1000);
    ctx.metrics.archiveMemory.set(Math.max(0, rssPeak - rssStart));
    await loader.close();
  }
}

function summaryOf(input: ArchiveInput, snap: Snapshot) {
  return { bookId: input.bookId, scope: input.scope, userId: input.userId, manifestHash: snap.manifestHash, seq: snap.seq };
}
