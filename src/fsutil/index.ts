/**
 * The local-disk helpers every layer shares (object storage in a folder, the CLI's export, the plugin's
 * cache): one atomic write, one file hash, one remove-and-prune. Nothing here knows about books.
 */
import { randomUUID } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, rename, rm, rmdir, writeFile } from "node:fs/promises";
import { dirname, sep } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { HashingStream } from "../hashing/index.js";

/** `<file>.<uuid>.tmp`: the name a write uses before its rename (gc and cache walks recognise it). */
export const TEMP_FILE = /\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.tmp$/;

export function tempFileFor(file: string): string {
  return `${file}.${randomUUID()}.tmp`;
}

/** What to put in the file: bytes, a stream, or a function that writes the temp file itself. */
export type AtomicContent = string | Uint8Array | Readable | ((tmp: string) => Promise<void>);

/** Modes for what a write creates (the process umask can only remove bits); absent: the usual defaults. */
export interface AtomicModes {
  fileMode?: number;
  dirMode?: number;
}

/**
 * Writes `file` through a temp file next to it and a rename, so a reader sees the old file or the
 * whole new one, never half of one. The temp file is removed on failure. Creates the parent folder.
 */
export async function writeFileAtomic(file: string, content: AtomicContent, modes: AtomicModes = {}): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: modes.dirMode });
  const tmp = tempFileFor(file);
  try {
    if (typeof content === "function") await content(tmp);
    else if (content instanceof Readable) await pipeline(content, createWriteStream(tmp, { flags: "wx", mode: modes.fileMode }));
    else await writeFile(tmp, content, { flag: "wx", mode: modes.fileMode });
    await rename(tmp, file);
  } finally {
    // After a successful rename there is nothing left to remove; after a failure, the partial file goes.
    await rm(tmp, { force: true }).catch(() => {});
  }
}

/** SHA-256 (lowercase hex) and size of a file, streamed: memory stays bounded for large files. */
export async function hashFile(file: string): Promise<{ hash: string; size: number }> {
  const hashing = new HashingStream();
  await pipeline(createReadStream(file), hashing, async function* (source) {
    for await (const _chunk of source) yield* [];
  });
  return { hash: hashing.digest(), size: hashing.size };
}

/** Removes `file` and then the folders it leaves empty, up to (never including) `stopAt`. */
export async function removeAndPrune(file: string, stopAt: string): Promise<void> {
  await rm(file, { force: true });
  const root = stopAt.endsWith(sep) ? stopAt.slice(0, -1) : stopAt;
  let dir = dirname(file);
  while (dir.startsWith(root + sep) && dir !== root) {
    try {
      await rmdir(dir);
    } catch {
      return; // not empty (or gone)
    }
    dir = dirname(dir);
  }
}
