/** The local side of import, export and validate: walking a folder, hashing files (disk helpers: src/fsutil). */
import { lstat, readdir } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import pLimit from "p-limit";
import picomatch from "picomatch";
import { hashFile } from "../fsutil/index.js";
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
