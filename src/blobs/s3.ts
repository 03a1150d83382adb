/**
 * ObjectStorage on the S3 API (Cloudflare R2, AWS S3, local S3-compatible servers).
 * Settings per DESIGN 7: region "auto" by default, path-style addressing for custom endpoints,
 * checksums only WHEN_REQUIRED (stream uploads otherwise get chunk framing stored on some servers).
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { PassThrough, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  AbortMultipartUploadCommand,
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { PfsError } from "../errors/index.js";
import { TEMP_PREFIX } from "./keys.js";
import { httpStatusOf } from "./retry.js";
import type { IncompleteUpload, ObjectInfo, ObjectStorage, S3StorageConfig } from "./types.js";
import { createS3Client, describeEndpoint, normalizePrefix, type S3Hooks, type S3Tuning } from "./s3-client.js";
import { isNotFound, s3Failure } from "./s3-errors.js";

// Re-exported: tests, benchmarks and blobs/index.ts import these from here.
export { defaultForcePathStyle, describeEndpoint, normalizePrefix, type S3Hooks, type S3Tuning } from "./s3-client.js";

/** Multipart parts: equal-sized (R2 requires it), above S3's 5 MiB minimum. */
export const PART_SIZE = 8 * 1024 * 1024;
/** Parts in flight at once: memory for a stream upload is about PART_SIZE × (QUEUE_SIZE + 1). */
const QUEUE_SIZE = 2;

function encodeKeyPath(key: string): string {
  return key.split("/").map(encodeURIComponent).join("/");
}

export class S3ObjectStorage implements ObjectStorage {
  readonly kind = "s3" as const;
  readonly description: string;
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly secrets: string[];
  /** The SDK command being sent, so a retry can be counted under its name. */
  private readonly command = new AsyncLocalStorage<string>();
  private readonly listPageSize: number;

  constructor(config: S3StorageConfig, hooks: S3Hooks = {}, tuning: S3Tuning = {}) {
    this.listPageSize = tuning.listPageSize ?? 1000;
    this.bucket = config.bucket;
    this.prefix = normalizePrefix(config.prefix);
    this.description = `S3 bucket "${config.bucket}" at ${describeEndpoint(config.endpoint)}${this.prefix ? ` under "${this.prefix}"` : ""}`;
    this.secrets = [config.accessKeyId, config.secretAccessKey].filter((s): s is string => typeof s === "string" && s.length >= 4);
    this.client = createS3Client(config, hooks, tuning, this.command);
  }

  private full(key: string): string {
    return this.prefix + key;
  }

  private failure(op: string, key: string, err: unknown): PfsError {
    return s3Failure({ description: this.description, secrets: this.secrets }, op, key, err);
  }

  async head(key: string): Promise<ObjectInfo | null> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.full(key) }));
      return { key, size: out.ContentLength ?? 0, lastModified: out.LastModified ?? new Date(0) };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw this.failure("stat", key, err);
    }
  }

  async putBuffer(key: string, body: Buffer): Promise<void> {
    try {
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.full(key), Body: body, ContentLength: body.length }));
    } catch (err) {
      throw this.failure("write", key, err);
    }
  }

  async putIfAbsent(key: string, body: Buffer): Promise<boolean> {
    // The HEAD keeps servers that ignore If-None-Match (s3rver, older MinIO) from overwriting, except in a race.
    if ((await this.head(key)) !== null) return false;
    try {
      await this.client.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: this.full(key), Body: body, ContentLength: body.length, IfNoneMatch: "*" }),
      );
      return true;
    } catch (err) {
      // 412: the key exists; 409: a concurrent conditional write to the same key won.
      const status = httpStatusOf(err);
      if (status === 412 || status === 409) return false;
      throw this.failure("write", key, err);
    }
  }

  /** Multipart upload with equal parts and a small queue: memory stays bounded whatever the size. */
  async putStream(key: string, body: Readable): Promise<void> {
    // lib-storage sizes a body by its `.size` (meant for Blobs); our hashing stream has a `size`
    // counter, so hand it a plain stream. Errors of the source still reach the upload.
    const plain = new PassThrough();
    pipeline(body, plain).catch(() => {});
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: this.full(key), Body: plain },
      partSize: PART_SIZE,
      queueSize: QUEUE_SIZE,
      // We abort ourselves: lib-storage's own abort replaces the real error with the abort's error
      // when the abort fails too (s3rver, for one, answers 405 to AbortMultipartUpload).
      leavePartsOnError: true,
    });
    try {
      await upload.done();
    } catch (err) {
      body.destroy();
      if (upload.uploadId) {
        await this.client
          .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.full(key), UploadId: upload.uploadId }))
          .catch(() => {}); // best effort: a bucket lifecycle rule cleans up what is left
      }
      throw this.failure("write", key, err);
    }
  }

  async getStream(key: string): Promise<Readable> {
    let body: Readable;
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.full(key) }));
      body = out.Body as Readable;
    } catch (err) {
      if (isNotFound(err)) throw new PfsError("NOT_FOUND", `Object "${key}" does not exist in ${this.description}.`, { key });
      throw this.failure("read", key, err);
    }
    // A body that breaks mid-way surfaces as a PfsError on the stream, like every other failure.
    const out = new PassThrough();
    body.on("error", (err) => out.destroy(this.failure("read", key, err)));
    out.on("close", () => {
      if (!body.destroyed && !body.readableEnded) body.destroy();
    });
    body.pipe(out);
    return out;
  }

  private async copyRaw(fromKey: string, toKey: string): Promise<void> {
    try {
      await this.client.send(
        new CopyObjectCommand({ Bucket: this.bucket, Key: this.full(toKey), CopySource: `${this.bucket}/${encodeKeyPath(this.full(fromKey))}` }),
      );
    } catch (err) {
      if (isNotFound(err)) throw new PfsError("NOT_FOUND", `Object "${fromKey}" does not exist in ${this.description}.`, { key: fromKey });
      throw this.failure("copy", fromKey, err);
    }
  }

  /** Server-side copy (no bytes through this process). */
  copy(fromKey: string, toKey: string): Promise<void> {
    return this.copyRaw(fromKey, toKey);
  }

  /** S3 has no rename: copy, then delete the source. */
  async move(fromKey: string, toKey: string): Promise<void> {
    await this.copyRaw(fromKey, toKey);
    try {
      await this.delete(fromKey);
    } catch (err) {
      // Once copied, the move has done its job; a temporary upload left behind is removed by gc.
      if (!fromKey.startsWith(TEMP_PREFIX)) throw err;
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.full(key) }));
    } catch (err) {
      if (isNotFound(err)) return;
      throw this.failure("delete", key, err);
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.full(prefix), ContinuationToken: token, MaxKeys: this.listPageSize }),
        );
      } catch (err) {
        throw this.failure("list", prefix, err);
      }
      for (const obj of page.Contents ?? []) {
        if (!obj.Key?.startsWith(this.prefix)) continue;
        yield { key: obj.Key.slice(this.prefix.length), size: obj.Size ?? 0, lastModified: obj.LastModified ?? new Date(0) };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /** Multipart uploads under this store's prefix that were never completed or aborted (ListMultipartUploads). */
  async *listIncomplete(): AsyncIterable<IncompleteUpload> {
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (;;) {
      let page;
      try {
        page = await this.client.send(
          new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: this.prefix || undefined, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }),
        );
      } catch (err) {
        const failure = this.failure("list unfinished uploads under", this.prefix, err);
        // Some S3-compatible servers (s3rver, for one) do not implement it: say so instead of failing verify.
        if (failure.details.status === 501 || failure.details.s3Code === "NotImplemented") {
          throw new PfsError("STORAGE_UNAVAILABLE", `${this.description} does not support ListMultipartUploads: unfinished uploads cannot be listed.`, {
            ...failure.details,
            unsupported: true,
          });
        }
        throw failure;
      }
      for (const u of page.Uploads ?? []) {
        if (!u.Key?.startsWith(this.prefix) || !u.UploadId) continue;
        yield { kind: "multipart", key: u.Key.slice(this.prefix.length), uploadId: u.UploadId, size: 0, lastModified: u.Initiated ?? new Date(0) };
      }
      const more = page.IsTruncated === true && (page.NextKeyMarker !== undefined || page.NextUploadIdMarker !== undefined);
      keyMarker = more ? page.NextKeyMarker : undefined;
      uploadIdMarker = more ? page.NextUploadIdMarker : undefined;
      if (!more) return;
    }
  }

  async abortIncomplete(upload: IncompleteUpload): Promise<void> {
    if (upload.kind !== "multipart" || !upload.uploadId) {
      throw new PfsError("INVALID_ARGUMENT", `Not an S3 multipart upload: ${JSON.stringify(upload.key)}.`, { key: upload.key });
    }
    try {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.full(upload.key), UploadId: upload.uploadId }));
    } catch (err) {
      if (isNotFound(err)) return; // NoSuchUpload: finished or aborted meanwhile
      throw this.failure("abort the unfinished upload of", upload.key, err);
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}
