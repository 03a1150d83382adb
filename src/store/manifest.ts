import { sha256Hex } from "../hashing/index.js";

/** Byte-order comparison of UTF-8 strings (what PostgreSQL's "C" collation does). */
export function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

/**
 * DESIGN 4.4: SHA-256 of the lines `path:sha256` of the book's base files, sorted by path in byte
 * order, joined with "\n". Overlays never count.
 */
export function manifestHash(files: Iterable<{ path: string; hash: string }>): string {
  const lines = [...files].sort((a, b) => compareBytes(a.path, b.path)).map((f) => `${f.path}:${f.hash}`);
  return sha256Hex(lines.join("\n"));
}
