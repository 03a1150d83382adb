import { isSha256Hex } from "../hashing/index.js";
import { PfsError } from "../errors/index.js";

export const OBJECTS_PREFIX = "objects/sha256/";
export const TEMP_PREFIX = "tmp/";
export const MIRROR_PREFIX = "books/";

/** `objects/sha256/<h[0..2]>/<h>`: the content address of a version. */
export function objectKey(hash: string): string {
  if (!isSha256Hex(hash)) throw new PfsError("INVALID_ARGUMENT", `Not a SHA-256 hex digest: ${JSON.stringify(hash)}`);
  return `${OBJECTS_PREFIX}${hash.slice(0, 2)}/${hash}`;
}

/** The inverse of objectKey; null for keys that are not content addresses. */
export function hashFromObjectKey(key: string): string | null {
  const m = /^objects\/sha256\/([0-9a-f]{2})\/([0-9a-f]{64})$/.exec(key);
  return m && m[2]!.startsWith(m[1]!) ? m[2]! : null;
}

/** Public mirror key of a base file: `books/<book>/<path>` (e.g. books/b/static/img/x.png). */
export function mirrorKey(bookId: string, path: string): string {
  return `${MIRROR_PREFIX}${bookId}/${path}`;
}
