/** I/O on the local cache folder: stats, hashing, atomic writes and links. Decisions live in cache-plan.ts; the disk primitives in src/fsutil. */
import { copyFile, link, lstat, readFile, readdir, rm } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { writeFileAtomic } from "../fsutil/index.js";
import { sha256Hex } from "../hashing/index.js";
import { CACHE_MANIFEST_VERSION, manifestHead, type CacheManifest, type CacheManifestFiles, type CacheManifestHead, type FileStat } from "./cache-plan.js";
import { MANIFEST_FILE, MANIFEST_FILES_FILE, OBJECTS_DIR, SUMMARIES_FILE, objectFile } from "./cache-layout.js";

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

/**
 * The manifest a load persists last, in three files: the lists, the summary texts, then the head that
 * names both by digest. A load that stops between them leaves a head whose digests do not match, which
 * reads as no manifest (a full check).
 */
export async function writeManifest(cacheDir: string, manifest: CacheManifest, overlayTargets: Iterable<string>, summaryTexts: ReadonlyMap<string, string>): Promise<void> {
  const { base, targets, objects, summaries } = manifest;
  const files = JSON.stringify({ base, targets, objects, summaries } satisfies CacheManifestFiles);
  const texts = JSON.stringify(Object.fromEntries(summaryTexts));
  await writeFileAtomic(join(cacheDir, MANIFEST_FILES_FILE), files);
  await writeFileAtomic(join(cacheDir, SUMMARIES_FILE), texts);
  await writeFileAtomic(join(cacheDir, MANIFEST_FILE), JSON.stringify(manifestHead(manifest, overlayTargets, files, texts)));
}

/** The head alone: all an unchanged load reads, whatever the book's size. Null when absent, unreadable or of another version. */
export async function readManifestHead(cacheDir: string): Promise<CacheManifestHead | null> {
  try {
    const head = JSON.parse(await readFile(join(cacheDir, MANIFEST_FILE), "utf8")) as CacheManifestHead | null;
    return head?.version === CACHE_MANIFEST_VERSION && typeof head.filesDigest === "string" ? head : null;
  } catch {
    return null;
  }
}

/** The whole manifest of a head: null when its file lists are missing or are not the ones it was written with. */
export async function readManifestFiles(cacheDir: string, head: CacheManifestHead): Promise<StoredManifest | null> {
  const text = await readFile(join(cacheDir, MANIFEST_FILES_FILE), "utf8").catch(() => null);
  if (text === null || sha256Hex(text) !== head.filesDigest) return null;
  const files = JSON.parse(text) as CacheManifestFiles;
  const { objectCount: _o, overlayTargets: _t, filesDigest: _f, ...rest } = head;
  return { ...rest, ...files };
}

/** A whole manifest as read back, with the digest of the summary texts written with it. */
export type StoredManifest = CacheManifest & Pick<CacheManifestHead, "summariesDigest">;

export async function readManifest(cacheDir: string): Promise<StoredManifest | null> {
  const head = await readManifestHead(cacheDir);
  return head && readManifestFiles(cacheDir, head);
}

/** The summary texts written with a head (key → text); throws when they are not the ones it names. */
export async function readSummaryTexts(cacheDir: string, head: Pick<CacheManifestHead, "summariesDigest">): Promise<Map<string, string>> {
  const text = await readFile(join(cacheDir, SUMMARIES_FILE), "utf8");
  if (sha256Hex(text) !== head.summariesDigest) throw new Error(`${SUMMARIES_FILE} is not the one the manifest was written with`);
  return new Map(Object.entries(JSON.parse(text) as Record<string, string>));
}
