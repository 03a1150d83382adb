import { PfsError } from "../errors/index.js";
import { LocalObjectStorage } from "./local.js";
import type { ObjectStorage, StorageConfig } from "./types.js";

export * from "./types.js";
export * from "./keys.js";
export { BlobStore, type PutResult } from "./blob-store.js";
export { LocalObjectStorage } from "./local.js";

export interface StorageHooks {
  /** Called for each retried request (feeds the storage_retries metric). */
  onRetry?: (operation: string) => void;
}

export async function createObjectStorage(config: StorageConfig, _hooks: StorageHooks = {}): Promise<ObjectStorage> {
  if (config.kind === "local") return new LocalObjectStorage(config.dir);
  throw new PfsError("INVALID_ARGUMENT", "The S3 storage backend is not available in this build yet.");
}
