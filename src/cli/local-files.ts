/** The local side of import, export and validate: walking a folder, hashing files (disk helpers: src/fsutil). */
import { lstat, readdir } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import pLimit from "p-limit";
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

/** Maps a docs folder (and an optional static folder) to book files; what cannot be stored is listed with the reason. */
export async function collectSources(
  docsDir: string,
  staticDir: string | undefined,
  onHashed?: (bytes: number) => void,
): Promise<{ files: SourceFile[]; skipped: Skipped[] }> {
  const roots: [string, SourceRoot][] = [[docsDir, "docs"]];
  if (staticDir) roots.push([staticDir, "static"]);
  const mapped: (Omit<SourceFile, "hash" | "size">)[] = [];
  const skipped: Skipped[] = [];
  for (const [dir, root] of roots) {
    for (const e of await walkFolder(dir)) {
      const source = join(dir, e.rel);
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
  return { files, skipped };
}
