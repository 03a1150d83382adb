import { PfsError } from "../errors/index.js";
import { LocalObjectStorage } from "./local.js";
import type { ObjectStorage, StorageConfig } from "./types.js";

export * from "./types.js";
export * from "./keys.js";
export { BlobStore, type PutResult } from "./blob-store.js";
export { LocalObjectStorage } from "./local.js";
export { DEFAULT_RETRY_POLICY, isTransient, backoffDelay, type RetryPolicy } from "./retry.js";

export interface StorageHooks {
  /** Called for each retried request (feeds the storage_retries metric). */
  onRetry?: (operation: string) => void;
}

export async function createObjectStorage(config: StorageConfig, hooks: StorageHooks = {}): Promise<ObjectStorage> {
  if (config.kind === "local") return new LocalObjectStorage(config.dir);
  if (config.kind === "s3") {
    // The AWS SDK loads only for an S3 store: a local store (and every CLI command on one) starts without it.
    const { S3ObjectStorage } = await import("./s3.js");
    return new S3ObjectStorage(config, hooks);
  }
  throw new PfsError("INVALID_ARGUMENT", `Unknown storage kind ${JSON.stringify((config as { kind?: unknown }).kind)}: use "local" or "s3".`);
}
