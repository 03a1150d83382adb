import type { BlobStore } from "../blobs/index.js";
import { journalError, type Journal } from "../journal/db.js";
import type { StoreMetrics } from "../metrics/index.js";
import type { ResolvedStoreConfig } from "./config.js";

/** What every store operation works with; operations are functions over it. */
export interface StoreContext {
  config: ResolvedStoreConfig;
  journal: Journal;
  blobs: BlobStore;
  metrics: StoreMetrics;
}

/** Runs one journal call: a database failure becomes a JOURNAL_UNAVAILABLE PfsError without credentials; a PfsError passes. */
export async function inJournal<T>(ctx: StoreContext, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw journalError(err, ctx.journal.description);
  }
}
