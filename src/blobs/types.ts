import type { Readable } from "node:stream";

export interface ObjectInfo {
  key: string;
  size: number;
  lastModified: Date;
}

/** An upload that never finished: a partial local temp file, or an S3 multipart upload never completed or aborted. */
export interface IncompleteUpload {
  kind: "partial-file" | "multipart";
  key: string;
  /** The S3 multipart upload id (multipart only). */
  uploadId?: string;
  /** Bytes so far (local files; 0 when the backend does not say). */
  size: number;
  /** Last write (local) or when the upload was initiated (S3). */
  lastModified: Date;
}

/**
 * Key-level object storage: the only thing a backend (local folder, S3/R2) implements.
 * Keys are relative and `/`-separated; a backend applies its own prefix.
 * Missing objects: `head` returns null, `getStream` throws PfsError NOT_FOUND, `delete` succeeds.
 * Transport failures throw PfsError STORAGE_UNAVAILABLE.
 */
export interface ObjectStorage {
  readonly kind: "local" | "s3";
  /** A human-readable location without credentials, for logs. */
  readonly description: string;
  head(key: string): Promise<ObjectInfo | null>;
  putBuffer(key: string, body: Buffer): Promise<void>;
  /**
   * Writes `key` only if nothing is stored there yet (never overwrites); false if it already existed.
   * Local: a private temp file linked into place. S3: a HEAD, then `If-None-Match: *` (servers that
   * ignore the header, like s3rver, could overwrite only in a race between the two).
   */
  putIfAbsent(key: string, body: Buffer): Promise<boolean>;
  /** Streams an unknown-length body to `key` in bounded memory. */
  putStream(key: string, body: Readable): Promise<void>;
  getStream(key: string): Promise<Readable>;
  /** Moves an object (rename locally, copy + delete on S3). */
  move(fromKey: string, toKey: string): Promise<void>;
  /** Optional server-side copy; without it callers stream getStream → putStream. */
  copy?(fromKey: string, toKey: string): Promise<void>;
  delete(key: string): Promise<void>;
  list(prefix: string): AsyncIterable<ObjectInfo>;
  /** Uploads that never finished (a writer died mid-upload); `list` never shows them. */
  listIncomplete(): AsyncIterable<IncompleteUpload>;
  /** Removes an unfinished upload (unlink locally, AbortMultipartUpload on S3); gone already is fine. */
  abortIncomplete(upload: IncompleteUpload): Promise<void>;
  close(): Promise<void>;
}

export type { LocalStorageConfig, S3StorageConfig, StorageConfig } from "./storage-config.js";
