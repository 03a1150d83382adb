import type { BlobStore } from "../blobs/index.js";
import type { Journal } from "../journal/db.js";
import type { StoreMetrics } from "../metrics/index.js";
import type { ResolvedStoreConfig } from "./config.js";

/** What every store operation works with; operations are functions over it. */
export interface StoreContext {
  config: ResolvedStoreConfig;
  journal: Journal;
  blobs: BlobStore;
  metrics: StoreMetrics;
}
