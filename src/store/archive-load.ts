/**
 * The object side of an archive (DESIGN 4.6): reads one file's object and checks its size and SHA-256
 * against the journal before the writer may add it. Small objects are checked in memory; large ones are
 * spooled to a temp file while hashing, within a process-wide spool budget. A failure becomes a value
 * (listed in errors.json) instead of an exception, so one bad object never breaks the archive half-way.
 */
import { createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { isPfsError } from "../errors/index.js";
import { HashingStream } from "../hashing/index.js";
import { publicArchiveMessage } from "./archive-plan.js";
import type { StoreContext } from "./context.js";
import { integrityError, verifiedBuffer, type Snapshot } from "./reads.js";
import { SPOOL_BUDGET, type ByteBudget } from "./spool-budget.js";

export type FileOf = Snapshot["files"][number];
export type Loaded = { kind: "buffer"; data: Buffer } | { kind: "file"; file: string; release: () => void } | { kind: "error"; code: string; message: string };

/** Pure: what an archive lists for an object that could not be loaded (nothing of the server in the message). */
export function failedLoad(err: unknown): Loaded & { kind: "error" } {
  if (isPfsError(err, "NOT_FOUND")) return { kind: "error", code: "INTEGRITY_ERROR", message: publicArchiveMessage("INTEGRITY_ERROR", "missing") };
  const code = isPfsError(err) ? err.code : "STORAGE_UNAVAILABLE";
  const missing = isPfsError(err, "INTEGRITY_ERROR") && /missing/i.test(err.message);
  return { kind: "error", code, message: publicArchiveMessage(code, missing ? "missing" : "corrupt") };
}

export class ArchiveLoader {
  // One temp folder per archive, created on the first large object (loads run concurrently: share the promise).
  private spoolDir: Promise<string> | undefined;
  private spooledCount = 0;
  private readonly spoolReleases = new Set<() => void>();

  /** `signal` stops waits for spool space and spooling when the reader goes away. */
  constructor(
    private readonly ctx: StoreContext,
    private readonly bufferLimit: number,
    private readonly signal: AbortSignal,
    private readonly budget: ByteBudget = SPOOL_BUDGET,
  ) {}

  async load(file: FileOf): Promise<Loaded> {
    try {
      const row = { path: file.path, sha256: file.hash, size: file.size };
      if (file.size <= this.bufferLimit) return { kind: "buffer", data: await verifiedBuffer(this.ctx, row, "archive") };
      return await this.spool(file);
    } catch (err) {
      if (isPfsError(err, "NOT_FOUND")) this.ctx.metrics.integrityErrors.inc({ operation: "archive" }); // a large object gone missing
      return failedLoad(err);
    }
  }

  /** A spooled object has been written into the zip: its temp file and spool space go back at once. */
  async done(loaded: Loaded): Promise<void> {
    if (loaded.kind !== "file") return;
    await rm(loaded.file, { force: true });
    loaded.release();
  }

  /** Removes the temp folder and gives back any spool space still held (an aborted or failed archive). */
  async close(): Promise<void> {
    if (this.spoolDir) await this.spoolDir.then((dir) => rm(dir, { recursive: true, force: true })).catch(() => {});
    this.spoolReleases.forEach((release) => release());
  }

  private async spool(file: FileOf): Promise<Loaded> {
    const release = await this.budget.acquire(file.size, this.signal);
    this.spoolReleases.add(release);
    try {
      this.spoolDir ??= mkdtemp(join(tmpdir(), "pfs-archive-"));
      // Unique per load: two paths may share one object (same bytes) and be in flight together.
      const spooled = join(await this.spoolDir, `${++this.spooledCount}-${file.hash}`);
      const hasher = new HashingStream();
      await pipeline(await this.ctx.blobs.get(file.hash), hasher, createWriteStream(spooled), { signal: this.signal });
      const digest = hasher.digest();
      if (digest !== file.hash || hasher.size !== file.size) {
        throw integrityError(this.ctx, "archive", file.path, file.hash, digest !== file.hash ? "hash" : `size ${hasher.size}, journal ${file.size}`);
      }
      return { kind: "file", file: spooled, release };
    } catch (err) {
      release();
      throw err;
    }
  }
}
