import type { Readable } from "node:stream";
import type { Registry } from "prom-client";
import type { PfsError } from "../errors/index.js";
import { BlobStore, createObjectStorage } from "../blobs/index.js";
import { openJournal } from "../journal/db.js";
import { describeHolder, type LockHolder } from "../journal/lock-file.js";
import { createMetrics } from "../metrics/index.js";
import { assertStoreExists, resolveStoreConfig, type StoreOptions } from "./config.js";
import { assertBookExistsOp, bookSummariesOp, removeBookOp, type BookSummary, type RemoveBookInput, type RemoveBookResult } from "./books.js";
import type { StoreContext } from "./context.js";
import { deleteFileOp, recordRefusedAttempt, writeFile, type CommitListener, type RefusedAttempt, type DeleteInput, type DeleteResult, type WriteInput, type WriteResult } from "./mutations.js";
import { listFilesOp, readFile, readStream, snapshotOp, type FileMeta, type ListEntry, type ListInput, type ReadInput, type ReadResult, type Snapshot, type SnapshotInput } from "./reads.js";
import { auditOp, type AuditPage, type AuditQuery } from "./audit-query.js";
import { planBuildOp, planLoadOp, type BuildPlan, type LoadPlan, type LoadPlanInput, type PlanInput } from "./plan.js";
import { archiveOp, type ArchiveInput, type ArchiveStream } from "./archive.js";
import { repairStore, verifyStore, type RepairInput, type RepairReport, type VerifyInput, type VerifyReport } from "./verify.js";
import { gcOp, type GcInput, type GcReport } from "./gc.js";
import { Mirror, type MirrorRepairInput, type MirrorRepairReport } from "./mirror.js";
import { AnchorWriter } from "./anchor-writer.js";
import { openObjectOp, type ObjectInput, type OpenedObject } from "./objects.js";
import { writable } from "./read-only.js";
import { overlayChangesOp, overlayIndexOp, type OverlayChanges, type OverlayRow } from "./overlay-index.js";

/** The content store: one journal, one object storage. Open with `openStore`. */
export class Store {
  /** Listeners run after each commit that changed a base file (mirror, caches). */
  protected readonly commitListeners: CommitListener[] = [];

  /** The public mirror (DESIGN 4.1): updated after base commits only when the `mirror` option is on. */
  protected readonly mirror: Mirror;

  /** Chain-head anchors in object storage (null when turned off). */
  protected readonly anchors: AnchorWriter | null;

  protected constructor(readonly ctx: StoreContext) {
    this.mirror = new Mirror(ctx, ctx.config.mirror);
    this.anchors = ctx.config.anchors ? new AnchorWriter(ctx, ctx.config.anchors.intervalMs) : null;
    if (ctx.config.mirror) this.commitListeners.push(this.mirror.listener);
  }

  static async open(options: StoreOptions = {}): Promise<Store> {
    const config = resolveStoreConfig(options);
    assertStoreExists(config, options.mustExist || config.readOnly);
    const metrics = createMetrics();
    const storage = await createObjectStorage(config.storage, { onRetry: (operation) => metrics.storageRetries.inc({ operation }) });
    const onWait = options.onLockWait ?? ((holder: LockHolder) => process.emitWarning(`Waiting for the embedded journal: it is held by ${describeHolder(holder)}.`, { code: "PFS_JOURNAL_LOCK_WAIT" }));
    const journal = await openJournal({
      databaseUrl: config.databaseUrl,
      pgliteDir: config.pgliteDir,
      poolSize: config.poolSize,
      lock: { waitMs: config.lockWaitMs, onWait },
      readOnly: config.readOnly,
    }).catch(
      async (err) => {
        await storage.close();
        throw err;
      },
    );
    return new Store({ config, journal, blobs: new BlobStore(storage), metrics });
  }

  private onCommit: CommitListener = async (change) => {
    for (const listener of this.commitListeners) await listener(change);
  };

  write(input: WriteInput): Promise<WriteResult> {
    return writable(this.ctx, "write", () => this.anchored(input, writeFile(this.ctx, input, this.onCommit)));
  }

  delete(input: DeleteInput): Promise<DeleteResult> {
    return writable(this.ctx, "delete", () => this.anchored(input, deleteFileOp(this.ctx, input, this.onCommit)));
  }

  /** Every attempt appends to the book's chain (rejected ones too), so each one schedules an anchor. */
  private anchored<T>(input: { bookId: unknown }, op: Promise<T>): Promise<T> {
    const touch = () => {
      if (typeof input.bookId === "string") this.anchors?.touch(input.bookId);
    };
    return op.finally(touch);
  }

  /** Writes the pending anchors now instead of at the end of the interval (close does this too). */
  flushAnchors(): Promise<void> {
    return this.anchors?.flush() ?? Promise.resolve();
  }

  /** Audits a refused attempt (e.g. a 403 from the server) when its book exists; counts it either way. */
  recordRefusedAttempt(attempt: RefusedAttempt): Promise<boolean> {
    return writable(this.ctx, "audit a refused attempt", () => recordRefusedAttempt(this.ctx, attempt));
  }

  /** Audits a call refused by the caller's scope (only for a book that exists). */
  recordRefused(input: Omit<RefusedAttempt, "error">, error: PfsError): Promise<void> {
    return writable(this.ctx, "audit a refused call", () => recordRefusedAttempt(this.ctx, { ...input, error })).then(() => undefined);
  }

  read(input: ReadInput): Promise<ReadResult> {
    return readFile(this.ctx, input);
  }

  readStream(input: ReadInput): Promise<FileMeta & { stream: Readable }> {
    return readStream(this.ctx, input);
  }

  list(input: ListInput): Promise<ListEntry[]> {
    return listFilesOp(this.ctx, input);
  }

  snapshot(input: SnapshotInput): Promise<Snapshot> {
    return snapshotOp(this.ctx, input);
  }

  /** What changed since the manifest a build cache holds (DESIGN 4.4). */
  planBuild(input: PlanInput): Promise<BuildPlan> {
    return planBuildOp(this.ctx, input);
  }

  /**
   * planBuild for a build cache (the Docusaurus plugin): the plan with object sizes, the overlays of the
   * given users and the sequence number, from one read-only transaction.
   */
  planLoad(input: LoadPlanInput): Promise<LoadPlan> {
    return planLoadOp(this.ctx, input);
  }

  /**
   * One object by its hash, as a stream that ends only if the bytes match it. With `bookId`, only an
   * object that book references (its base, or overlays of `users`) is served (NOT_FOUND otherwise).
   */
  openObject(input: ObjectInput): Promise<OpenedObject> {
    return openObjectOp(this.ctx, input);
  }

  /** Every user's overlay rows of a book and the chain sequence they are at least as new as (reader index). */
  overlayIndex(bookId: string): Promise<{ seq: number; rows: OverlayRow[] }> {
    return overlayIndexOp(this.ctx, bookId);
  }

  /** What changed in a book's overlays since chain sequence `afterSeq` (one indexed query when nothing did). */
  overlayChanges(bookId: string, afterSeq: number): Promise<OverlayChanges> {
    return overlayChangesOp(this.ctx, bookId, afterSeq);
  }

  /** Whether this store was opened with `readOnly` (then every mutation is refused). */
  get readOnly(): boolean {
    return this.ctx.config.readOnly;
  }

  /** Where the journal and the storage live, without credentials (to keep them out of client-facing errors). */
  descriptions(): { journal: string; storage: string } {
    return { journal: this.ctx.journal.description, storage: this.ctx.blobs.storage.description };
  }

  /** A zip of the book streamed while objects are read (DESIGN 4.6); `.summary` settles at the end. */
  archive(input: ArchiveInput): ArchiveStream {
    return archiveOp(this.ctx, input);
  }

  audit(query: AuditQuery = {}): Promise<AuditPage> {
    return auditOp(this.ctx, query);
  }

  /** Checks journal ↔ storage, the audit chains and orphan objects; changes nothing. */
  async verify(input: VerifyInput = {}): Promise<VerifyReport> {
    // An anchor this process is writing right now (anchor, then head record) is finished first: seen half-way, it
    // would read as missing-anchors.
    await this.anchors?.settle();
    return verifyStore(this.ctx, input, this.mirror);
  }

  /** Fixes what verify found that needs no guess (orphans past grace via gc, stale mirror copies) and lists the rest. */
  repair(input: RepairInput = {}): Promise<RepairReport> {
    return writable(this.ctx, "repair", () => repairStore(this.ctx, input, this.mirror));
  }

  /** Removes unreferenced objects and stale temporary uploads older than the grace period (default 24 h). */
  gc(input: GcInput = {}): Promise<GcReport> {
    return writable(this.ctx, "gc", () => gcOp(this.ctx, input));
  }

  /** Rebuilds the public mirror copies of base files from the journal (one book, or all). */
  repairMirror(input: MirrorRepairInput = {}): Promise<MirrorRepairReport> {
    return writable(this.ctx, "repair the mirror", () => this.mirror.repair(input));
  }

  /** The books in the store (with files, or with audit history only), with base file counts and bytes. */
  books(): Promise<BookSummary[]> {
    return bookSummariesOp(this.ctx);
  }

  /**
   * An admin operation: drops the book's journal rows (base and overlays) and closes its audit chain with a
   * `book-removed` entry; the chain and its anchors stay verifiable. The public mirror's copies go too.
   */
  async removeBook(input: RemoveBookInput): Promise<RemoveBookResult> {
    const result = await removeBookOp(this.ctx, input);
    this.anchors?.touch(input.bookId);
    if (this.ctx.config.mirror) await this.mirror.repair({ bookId: input.bookId });
    return result;
  }

  /** NOT_FOUND naming the existing books when `bookId` is not one of them (read-side tools call this first). */
  assertBookExists(bookId: string, opts: { includeRemoved?: boolean } = {}): Promise<void> {
    return assertBookExistsOp(this.ctx, bookId, opts);
  }

  /** Prometheus text exposition of this store's metrics. */
  metrics(): Promise<string> {
    return this.ctx.metrics.registry.metrics();
  }

  /** The same metrics as prom-client's JSON (`pfs metrics --json`). */
  metricsJson(): ReturnType<Registry["getMetricsAsJSON"]> {
    return this.ctx.metrics.registry.getMetricsAsJSON();
  }

  /** Counts a refused call that goes on no audit chain (panaversityfs_refused_total). */
  countRefused(operation: string, code: string): void {
    this.ctx.metrics.refusedTotal.inc({ operation, code });
  }

  async close(): Promise<void> {
    try {
      await this.anchors?.close();
    } catch {
      // counted in anchor_errors; closing must still release the journal and storage
    }
    try {
      await this.ctx.journal.close();
    } finally {
      await this.ctx.blobs.storage.close();
    }
  }
}

export async function openStore(options: StoreOptions = {}): Promise<Store> {
  return Store.open(options);
}

/** Opens a store, runs `fn` and always closes it (the CLI's commands and the benchmarks share this). */
export async function withStore<T>(options: StoreOptions, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore(options);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}
