/** I/O on the local cache folder: stats, hashing, atomic writes and links. Decisions live in cache-plan.ts; the disk primitives in src/fsutil. */
import { copyFile, link, lstat, readFile, readdir, rm } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { writeFileAtomic } from "../fsutil/index.js";
import { CACHE_MANIFEST_VERSION, type CacheManifest, type FileStat } from "./cache-plan.js";
import { MANIFEST_FILE, OBJECTS_DIR, objectFile } from "./cache-layout.js";

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

/** Writes only when the content differs (files the dev server watches must not be touched needlessly). */
export async function writeIfChanged(file: string, data: string): Promise<boolean> {
  const current = await readFile(file, "utf8").catch(() => undefined);
  if (current === data) return false;
  await writeFileAtomic(file, data);
  return true;
}

/**
 * Puts the object at `target` atomically: a hard link (so views share one copy of unchanged files)
 * made under a temp name and renamed over the old file; a copy where links are not possible.
 */
export async function placeObject(cacheDir: string, hash: string, target: string): Promise<void> {
  const source = join(cacheDir, objectFile(hash));
  // rename() of a link onto a link to the same inode is a no-op that leaves tmp behind: writeFileAtomic removes it.
  await writeFileAtomic(join(cacheDir, target), async (tmp) => {
    try {
      await link(source, tmp);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "EXDEV" && code !== "EPERM" && code !== "ENOTSUP" && code !== "EMLINK") throw err;
      await copyFile(source, tmp);
    }
  });
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
