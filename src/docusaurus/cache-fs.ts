/** I/O on the local cache folder: stats, hashing, atomic writes and links. Decisions live in plan.ts. */
import { createHash, randomUUID } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { copyFile, link, lstat, mkdir, readFile, readdir, rename, rm, rmdir, stat, writeFile } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import { pipeline } from "node:stream/promises";
import type { Readable } from "node:stream";
import { PfsError } from "../errors/index.js";
import { HashingStream } from "../hashing/index.js";
import { CACHE_MANIFEST_VERSION, type CacheManifest, type FileStat } from "./plan.js";
import { MANIFEST_FILE, OBJECTS_DIR, objectFile } from "./layout.js";

export function toStat(s: { size: number; mtimeMs: number; ino: number }): FileStat {
  return { size: s.size, mtimeMs: s.mtimeMs, ino: s.ino };
}

export async function statOrNull(file: string): Promise<FileStat | null> {
  try {
    const s = await lstat(file);
    return s.isFile() ? toStat(s) : null;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT" || (err as NodeJS.ErrnoException).code === "ENOTDIR") return null;
    throw err;
  }
}

export async function hashFile(file: string): Promise<string> {
  const hash = createHash("sha256");
  await pipeline(createReadStream(file), hash);
  return hash.digest("hex");
}

/** Writes bytes to a temp file next to `file`, then renames it into place. */
export async function writeAtomic(file: string, data: string | Buffer): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${randomUUID()}.tmp`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => {});
    throw err;
  }
}

/**
 * Streams an object into `file` (temp + rename) while hashing it; memory stays bounded for large assets.
 * Returns the byte count, or throws a PfsError INTEGRITY_ERROR (and leaves nothing) when the bytes do
 * not hash to `hash`.
 */
export async function writeVerified(file: string, body: Readable, hash: string): Promise<number> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${randomUUID()}.tmp`;
  const hasher = new HashingStream();
  try {
    await pipeline(body, hasher, createWriteStream(tmp, { flags: "wx" }));
    const actual = hasher.digest();
    if (actual !== hash) {
      throw new PfsError("INTEGRITY_ERROR", `Object ${hash} arrived with different bytes (they hash to ${actual}).`, { hash, actual });
    }
    await rename(tmp, file);
    return hasher.size;
  } finally {
    await rm(tmp, { force: true }).catch(() => {});
  }
}

/** Writes only when the content differs (files the dev server watches must not be touched needlessly). */
export async function writeIfChanged(file: string, data: string): Promise<boolean> {
  const current = await readFile(file, "utf8").catch(() => undefined);
  if (current === data) return false;
  await writeAtomic(file, data);
  return true;
}

/**
 * Puts the object at `target` atomically: a hard link (so views share one copy of unchanged files)
 * made under a temp name and renamed over the old file; a copy where links are not possible.
 */
export async function placeObject(cacheDir: string, hash: string, target: string): Promise<void> {
  const source = join(cacheDir, objectFile(hash));
  const dest = join(cacheDir, target);
  await mkdir(dirname(dest), { recursive: true });
  const tmp = `${dest}.${randomUUID()}.tmp`;
  try {
    try {
      await link(source, tmp);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "EXDEV" && code !== "EPERM" && code !== "ENOTSUP" && code !== "EMLINK") throw err;
      await copyFile(source, tmp);
    }
    await rename(tmp, dest);
  } finally {
    // rename() of a link onto a link to the same inode is a no-op that leaves tmp behind.
    await rm(tmp, { force: true }).catch(() => {});
  }
}

/** Removes a file and the folders it leaves empty, up to (not including) `stopAt`. */
export async function removeAndPrune(file: string, stopAt: string): Promise<void> {
  await rm(file, { force: true });
  let dir = dirname(file);
  while (dir.startsWith(stopAt + sep) && dir !== stopAt) {
    try {
      await rmdir(dir);
    } catch {
      break; // not empty (or gone)
    }
    dir = dirname(dir);
  }
}

/** Every file below the given cache-relative folders, keyed by cache-relative `/` path. Temp files are skipped. */
export async function walkFiles(cacheDir: string, folders: string[]): Promise<Map<string, FileStat>> {
  const found = new Map<string, FileStat>();
  for (const folder of folders) {
    for (const name of await readdirRecursive(join(cacheDir, folder))) {
      const full = join(cacheDir, folder, name);
      if (name.endsWith(".tmp")) await rm(full, { force: true });
      else {
        const s = await statOrNull(full);
        if (s) found.set(relative(cacheDir, full).split(sep).join("/"), s);
      }
    }
  }
  return found;
}

/** Every entry below `dir` (relative names); none when the folder does not exist. */
async function readdirRecursive(dir: string): Promise<string[]> {
  try {
    return await readdir(dir, { recursive: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
}

/** Hashes of the objects present in the cache. */
export async function listObjects(cacheDir: string): Promise<Map<string, FileStat>> {
  const files = await walkFiles(cacheDir, [OBJECTS_DIR]);
  const out = new Map<string, FileStat>();
  for (const [rel, s] of files) {
    const hash = rel.slice(rel.lastIndexOf("/") + 1);
    if (/^[0-9a-f]{64}$/.test(hash) && rel === objectFile(hash)) out.set(hash, s);
  }
  return out;
}

export async function readManifest(cacheDir: string): Promise<CacheManifest | null> {
  try {
    const parsed = JSON.parse(await readFile(join(cacheDir, MANIFEST_FILE), "utf8")) as CacheManifest;
    return parsed && parsed.version === CACHE_MANIFEST_VERSION && typeof parsed.targets === "object" ? parsed : null;
  } catch {
    return null;
  }
}
