import { createHash } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";
import { PfsError } from "../errors/index.js";

export const HASH_PATTERN = /^[0-9a-f]{64}$/;

/** Lowercase hex SHA-256 of the exact bytes. */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}

export function isSha256Hex(value: unknown): value is string {
  return typeof value === "string" && HASH_PATTERN.test(value);
}

/** A pass-through stream that hashes and counts what flows through it. */
export class HashingStream extends Transform {
  private readonly hash = createHash("sha256");
  size = 0;

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    cb(null, chunk);
  }

  /** Valid once the stream has ended. */
  digest(): string {
    return this.hash.digest("hex");
  }
}

/**
 * A pass-through that checks the bytes against the SHA-256 they are expected to have: the stream
 * ends only if they match, and errors (INTEGRITY_ERROR) at its end otherwise. Whoever writes it to a
 * temp file and renames on success never uses bytes that do not match their address.
 */
export class VerifyingStream extends HashingStream {
  constructor(readonly expectedHash: string) {
    super();
  }

  override _flush(cb: TransformCallback): void {
    const actual = this.digest();
    if (actual === this.expectedHash) return cb();
    cb(new PfsError("INTEGRITY_ERROR", `Object ${this.expectedHash} arrived with different bytes (they hash to ${actual}).`, { hash: this.expectedHash, actual }));
  }
}
