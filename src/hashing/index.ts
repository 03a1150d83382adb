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
 * A pass-through that checks the bytes against the SHA-256 (and, when known, the size) they are expected
 * to have, holding back the last chunk until the whole object is checked: the stream ends only if they
 * match and errors (INTEGRITY_ERROR, or what `fail` returns) otherwise, so a reader never receives all of
 * a wrong object — a plain HTTP client sees a cut-short response, not a complete wrong one.
 */
export class VerifyingStream extends Transform {
  private readonly hash = createHash("sha256");
  private seen = 0;
  private held: Buffer | null = null;
  private readonly fail: (what: string) => Error;

  constructor(
    readonly expectedHash: string,
    private readonly options: { size?: number; fail?: (what: string) => Error } = {},
  ) {
    super();
    this.fail =
      options.fail ?? ((what) => new PfsError("INTEGRITY_ERROR", `Object ${expectedHash} arrived with different bytes (${what}).`, { hash: expectedHash }));
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.seen += chunk.length;
    const size = this.options.size;
    if (size !== undefined && this.seen > size) return cb(this.fail(`more than the expected ${size} bytes`));
    this.hash.update(chunk);
    const previous = this.held;
    this.held = chunk;
    cb(null, previous ?? undefined);
  }

  override _flush(cb: TransformCallback): void {
    const size = this.options.size;
    if (size !== undefined && this.seen !== size) return cb(this.fail(`size ${this.seen}, expected ${size}`));
    const actual = this.hash.digest("hex");
    if (actual !== this.expectedHash) return cb(this.fail(`they hash to ${actual}`));
    cb(null, this.held ?? undefined);
  }
}
