import { createHash, randomUUID } from "node:crypto";
import { Transform, Writable, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { PfsError } from "../errors/index.js";
import { HashingStream, sha256Hex } from "../hashing/index.js";
import { hashFromObjectKey, objectKey, OBJECTS_PREFIX, TEMP_PREFIX } from "./keys.js";
import type { ObjectStorage } from "./types.js";

export interface PutResult {
  hash: string;
  size: number;
  /** False when the same bytes were already stored (content addressing dedupes them). */
  uploaded: boolean;
}

/**
 * A write that finds its bytes already stored re-stores them when the object is older than this, so
 * the object it is about to reference is young. GC only removes objects older than its grace period,
 * which must be longer (default 24 h): then it can never delete an object a write in flight relies on.
 */
export const REFRESH_AFTER_MS = 10 * 60 * 1000;

/** Content-addressed objects on top of any ObjectStorage: every version is stored once, by its SHA-256. */
export class BlobStore {
  constructor(readonly storage: ObjectStorage) {}

  async has(hash: string): Promise<boolean> {
    return (await this.storage.head(objectKey(hash))) !== null;
  }

  /**
   * Present, young enough that no GC with a valid grace period can remove it before our commit, and
   * intact: the right size, and its bytes (read back and hashed) match its address. Anything else is
   * stored again, which repairs an object damaged or planted at that address.
   */
  private async isStoredIntact(hash: string, size: number): Promise<boolean> {
    const info = await this.storage.head(objectKey(hash));
    if (info === null || info.size !== size || Date.now() - info.lastModified.getTime() >= REFRESH_AFTER_MS) return false;
    try {
      const hasher = new HashingStream();
      await pipeline(await this.get(hash), hasher, new Writable({ write: (_c, _e, cb) => cb() }));
      return hasher.digest() === hash;
    } catch {
      return false; // unreadable: store it again
    }
  }

  async putBytes(bytes: Buffer): Promise<PutResult> {
    const hash = sha256Hex(bytes);
    if (await this.isStoredIntact(hash, bytes.length)) return { hash, size: bytes.length, uploaded: false };
    await this.storage.putBuffer(objectKey(hash), bytes);
    return { hash, size: bytes.length, uploaded: true };
  }

  /**
   * Streams a body of unknown size to a temporary key while hashing it, then moves it to its
   * content address. Memory stays bounded whatever the size.
   */
  async putStream(body: Readable, opts: { maxBytes?: number } = {}): Promise<PutResult> {
    const hasher = new HashingStream();
    // pipeline, not pipe: an error of any stage (the source, the size limit) must reach the reader
    // of `limited` instead of being thrown as an unhandled 'error' event.
    const limited = hasher;
    pipeline(body, sizeLimit(opts.maxBytes ?? Number.POSITIVE_INFINITY), hasher).catch(() => {});
    const tmpKey = `${TEMP_PREFIX}${randomUUID()}`;
    try {
      await this.storage.putStream(tmpKey, limited);
    } catch (err) {
      await this.storage.delete(tmpKey).catch(() => {});
      throw err;
    }
    const hash = hasher.digest();
    if (await this.isStoredIntact(hash, hasher.size)) {
      await this.storage.delete(tmpKey);
      return { hash, size: hasher.size, uploaded: false };
    }
    await this.storage.move(tmpKey, objectKey(hash));
    return { hash, size: hasher.size, uploaded: true };
  }

  get(hash: string): Promise<Readable> {
    return this.storage.getStream(objectKey(hash));
  }

  /** Reads a whole object and checks it still hashes to its address. */
  async getBuffer(hash: string): Promise<Buffer> {
    const stream = await this.get(hash);
    // Hashed as the chunks arrive, and a one-chunk object is not copied: verifying costs only the hash.
    const hasher = createHash("sha256");
    const chunks: Buffer[] = [];
    for await (const chunk of stream) {
      hasher.update(chunk as Buffer);
      chunks.push(chunk as Buffer);
    }
    const bytes = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    if (hasher.digest("hex") !== hash) {
      throw new PfsError("INTEGRITY_ERROR", `Object ${hash} in ${this.storage.description} is corrupt: its bytes hash differently.`, {
        hash,
      });
    }
    return bytes;
  }

  delete(hash: string): Promise<void> {
    return this.storage.delete(objectKey(hash));
  }

  async *list(): AsyncIterable<{ hash: string; size: number; lastModified: Date }> {
    for await (const info of this.storage.list(OBJECTS_PREFIX)) {
      const hash = hashFromObjectKey(info.key);
      if (hash) yield { hash, size: info.size, lastModified: info.lastModified };
    }
  }
}

function sizeLimit(maxBytes: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      seen += chunk.length;
      if (seen > maxBytes) {
        cb(new PfsError("INVALID_CONTENT", `The body is larger than the limit of ${maxBytes} bytes.`, { maxBytes }));
      } else cb(null, chunk);
    },
  });
}
