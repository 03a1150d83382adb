import type { Readable } from "node:stream";
import { BlobStore, createObjectStorage } from "../blobs/index.js";
import { openJournal } from "../journal/db.js";
import { createMetrics } from "../metrics/index.js";
import { resolveStoreConfig, type StoreOptions } from "./config.js";
import type { StoreContext } from "./context.js";
import { deleteFileOp, writeFile, type CommitListener, type DeleteInput, type DeleteResult, type WriteInput, type WriteResult } from "./mutations.js";
import { listFilesOp, readFile, readStream, snapshotOp, type FileMeta, type ListEntry, type ListInput, type ReadInput, type ReadResult, type Snapshot, type SnapshotInput } from "./reads.js";
import { auditOp, type AuditPage, type AuditQuery } from "./audit-query.js";

/** The content store: one journal, one object storage. Open with `openStore`. */
export class Store {
  /** Listeners run after each commit that changed a base file (mirror, caches). */
  protected readonly commitListeners: CommitListener[] = [];

  protected constructor(readonly ctx: StoreContext) {}

  static async open(options: StoreOptions = {}): Promise<Store> {
    const config = resolveStoreConfig(options);
    const metrics = createMetrics();
    const storage = await createObjectStorage(config.storage, { onRetry: (operation) => metrics.storageRetries.inc({ operation }) });
    const journal = await openJournal({ databaseUrl: config.databaseUrl, pgliteDir: config.pgliteDir, poolSize: config.poolSize }).catch(
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
    return writeFile(this.ctx, input, this.onCommit);
  }

  delete(input: DeleteInput): Promise<DeleteResult> {
    return deleteFileOp(this.ctx, input, this.onCommit);
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

  audit(query: AuditQuery = {}): Promise<AuditPage> {
    return auditOp(this.ctx, query);
  }

  /** Prometheus text exposition of this store's metrics. */
  metrics(): Promise<string> {
    return this.ctx.metrics.registry.metrics();
  }

  async close(): Promise<void> {
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
