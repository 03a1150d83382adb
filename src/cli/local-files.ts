/** The local side of import, export and validate: walking a folder, hashing files, writing atomically. */
import { createReadStream } from "node:fs";
import { lstat, mkdir, readdir, rename, rm, rmdir } from "node:fs/promises";
import { createWriteStream } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { pipeline } from "node:stream/promises";
import type { Readable } from "node:stream";
import pLimit from "p-limit";
import picomatch from "picomatch";
import { HashingStream } from "../hashing/index.js";
import { PfsError } from "../errors/index.js";
import { docsToBookPath, isHidden, type SourceRoot } from "../books/layout.js";
import type { LocalFile } from "../books/plan.js";

export interface FolderEntry {
  /** Relative to the folder, '/'-separated. */
  rel: string;
  abs: string;
  kind: "file" | "symlink" | "other";
}

/** Every entry below `dir` (dot entries excluded), without following symbolic links. */
export async function walkFolder(dir: string): Promise<FolderEntry[]> {
  const info = await lstat(dir).catch(() => null);
  if (!info?.isDirectory()) throw new PfsError("INVALID_ARGUMENT", `${dir} is not a folder.`);
  const dirents = await readdir(dir, { recursive: true, withFileTypes: true });
  const out: FolderEntry[] = [];
  for (const d of dirents) {
    if (d.isDirectory()) continue;
    const abs = join(d.parentPath, d.name);
    const rel = relative(dir, abs).split(sep).join("/");
    if (isHidden(rel)) continue;
    out.push({ rel, abs, kind: d.isFile() ? "file" : d.isSymbolicLink() ? "symlink" : "other" });
  }
  return out.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
}

export async function hashFile(abs: string): Promise<{ hash: string; size: number }> {
  const hashing = new HashingStream();
  await pipeline(createReadStream(abs), hashing, async function* (source) {
    for await (const _chunk of source) yield* [];
  });
  return { hash: hashing.digest(), size: hashing.size };
}

export interface SourceFile extends LocalFile {
  abs: string;
  /** Where it came from, as the user typed the folder. */
  source: string;
}

export interface Skipped {
  source: string;
  code: string;
  reason: string;
}

/**
 * Pure: a matcher for `--exclude` globs, tried on each path relative to the folder it is in ('/'-separated);
 * a pattern without a slash also matches a file's name anywhere (`quiz.md`, `*.draft.md`).
 */
export function excludeMatcher(patterns: readonly string[]): (rel: string) => boolean {
  if (patterns.length === 0) return () => false;
  for (const p of patterns) {
    if (p.trim() === "" || p.length > 1000) throw new PfsError("INVALID_ARGUMENT", `--exclude takes a glob of 1 to 1000 characters; got ${JSON.stringify(p)}.`);
  }
  // picomatch's own `basename` option also changes how patterns with a slash match: split them instead.
  const byName = patterns.filter((p) => !p.includes("/"));
  const byPath = patterns.filter((p) => p.includes("/"));
  const name = byName.length ? picomatch(byName, { dot: true }) : () => false;
  const path = byPath.length ? picomatch(byPath, { dot: true }) : () => false;
  return (rel) => path(rel) || name(rel.slice(rel.lastIndexOf("/") + 1));
}

/**
 * Maps a docs folder (and an optional static folder) to book files; what cannot be stored is listed with
 * the reason, and what `exclude` matches is only listed as excluded (it is neither stored nor a problem).
 */
export async function collectSources(
  docsDir: string,
  staticDir: string | undefined,
  onHashed?: (bytes: number) => void,
  exclude: (rel: string) => boolean = () => false,
): Promise<{ files: SourceFile[]; skipped: Skipped[]; excluded: string[] }> {
  const roots: [string, SourceRoot][] = [[docsDir, "docs"]];
  if (staticDir) roots.push([staticDir, "static"]);
  const mapped: (Omit<SourceFile, "hash" | "size">)[] = [];
  const skipped: Skipped[] = [];
  const excluded: string[] = [];
  for (const [dir, root] of roots) {
    for (const e of await walkFolder(dir)) {
      const source = join(dir, e.rel);
      if (exclude(e.rel)) {
        excluded.push(source);
        continue;
      }
      if (e.kind !== "file") {
        skipped.push({ source, code: "INVALID_PATH", reason: e.kind === "symlink" ? "symbolic links are not followed" : "not a regular file" });
        continue;
      }
      const m = docsToBookPath(e.rel, root);
      if (m.ok) mapped.push({ path: m.path, abs: e.abs, source });
      else skipped.push({ source, code: m.code, reason: m.reason });
    }
  }
  // Two sources for one book path (a docs image and the same file in --static): neither wins silently.
  const count = new Map<string, number>();
  for (const f of mapped) count.set(f.path, (count.get(f.path) ?? 0) + 1);
  const unique = mapped.filter((f) => {
    if (count.get(f.path) === 1) return true;
    skipped.push({ source: f.source, code: "SCHEMA_VIOLATION", reason: `another file also maps to ${f.path}` });
    return false;
  });
  const limit = pLimit(8);
  const files = await Promise.all(
    unique.map((f) =>
      limit(async () => {
        const h = await hashFile(f.abs);
        onHashed?.(h.size);
        return { ...f, ...h };
      }),
    ),
  );
  return { files, skipped, excluded };
}

/** Writes a stream to `target` through a temporary file and a rename, so a reader never sees half a file. */
export async function writeAtomically(target: string, body: Readable): Promise<void> {
  await mkdir(dirname(target), { recursive: true });
  const temp = `${target}.pfs-${process.pid}-${Math.random().toString(36).slice(2)}.tmp`;
  try {
    await pipeline(body, createWriteStream(temp));
    await rename(temp, target);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

/** Removes a file and then its parent folders while they are empty, never going above `root`. */
export async function removeAndPrune(root: string, abs: string): Promise<void> {
  await rm(abs, { force: true });
  let dir = dirname(abs);
  while (dir.length > root.length && dir.startsWith(root)) {
    try {
      await rmdir(dir);
    } catch {
      return;
    }
    dir = dirname(dir);
  }
}
