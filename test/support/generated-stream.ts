import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";

/**
 * A deterministic-size stream of `size` bytes made in 1 MiB chunks (never all in memory), with its
 * SHA-256 available once it has ended. Each chunk differs (its index is stamped in), so a part
 * stored twice or out of order changes the hash.
 */
export function generatedStream(size: number, base: Buffer = randomBytes(1024 * 1024)): { stream: Readable; sha256: () => string } {
  const hash = createHash("sha256");
  let sent = 0;
  let index = 0;
  let digest: string | undefined;
  const stream = new Readable({
    read() {
      if (sent >= size) {
        digest = hash.digest("hex");
        this.push(null);
        return;
      }
      const n = Math.min(base.length, size - sent);
      const chunk = expectedChunk(base, index++, n);
      hash.update(chunk);
      sent += n;
      this.push(chunk);
    },
  });
  return {
    stream,
    sha256: () => {
      if (!digest) throw new Error("the stream has not ended yet");
      return digest;
    },
  };
}

/** Chunk `index` of a generated stream (the base with the index stamped in its first 4 bytes). */
export function expectedChunk(base: Buffer, index: number, length = base.length): Buffer {
  const chunk = Buffer.from(base.subarray(0, length));
  if (length >= 4) chunk.writeUInt32BE(index >>> 0, 0);
  return chunk;
}

/** Checks a stream against what generatedStream(size, base) produced, byte for byte, in bounded memory. */
export async function matchesGenerated(stream: AsyncIterable<Buffer>, size: number, base: Buffer): Promise<{ equal: boolean; bytes: number; firstDifference?: number }> {
  let pos = 0;
  let cached: { index: number; bytes: Buffer } | undefined; // one expected chunk at a time: no garbage per read
  for await (const chunk of stream) {
    let off = 0;
    while (off < chunk.length) {
      const index = Math.floor(pos / base.length);
      const within = pos % base.length;
      if (cached?.index !== index) cached = { index, bytes: expectedChunk(base, index, Math.max(0, Math.min(base.length, size - index * base.length))) };
      const expected = cached.bytes;
      const n = Math.min(chunk.length - off, expected.length - within);
      if (n <= 0 || !chunk.subarray(off, off + n).equals(expected.subarray(within, within + n))) return { equal: false, bytes: pos, firstDifference: pos };
      off += n;
      pos += n;
    }
  }
  return { equal: pos === size, bytes: pos };
}
