/**
 * Where a file of a Docusaurus docs folder goes in a book, and back (pure; documented in the README):
 * - pages (`.md`/`.mdx`: lessons, README intros, `*.summary.md`, quizzes) → `content/<same relative path>`;
 * - a `static/` folder at the docs root (or the folder given as `--static`) → `static/<its relative path>`;
 * - any other image, video, audio or slide file (next to a lesson, or in an `img`/`images` folder)
 *   → `static/<family>/<same relative path>`, e.g. `01-Part/01-Ch/img/a.png` → `static/img/01-Part/01-Ch/img/a.png`.
 * Export is the inverse: `content/X` → `<dir>/X`, `static/X` → `<dir>/static/X`, so import∘export is the
 * identity on the book (docs-tree images come back under `<dir>/static/…`, where a re-import maps them to the same path).
 */
import { isPfsError } from "../errors/index.js";
import { parsePath, type ParsedPath } from "../paths/index.js";
import { importFamilyOf } from "../paths/media-types.js";

export type SourceRoot = "docs" | "static";

export type Mapping = { ok: true; path: string; parsed: ParsedPath } | { ok: false; reason: string; code: string };

/** The name of the static folder inside a docs folder that export writes and import reads back. */
export const STATIC_FOLDER = "static";

function validated(path: string): Mapping {
  try {
    return { ok: true, path, parsed: parsePath(path) };
  } catch (err) {
    if (isPfsError(err)) return { ok: false, reason: err.message, code: err.code };
    throw err;
  }
}

function isPage(name: string): boolean {
  return /\.(md|mdx)$/i.test(name);
}

/** Maps one file (path relative to its root, '/'-separated) to its book path, or says why it cannot be stored. */
export function docsToBookPath(rel: string, root: SourceRoot = "docs"): Mapping {
  if (root === "static") return validated(`static/${rel}`);
  if (rel.startsWith(`${STATIC_FOLDER}/`)) return validated(rel);
  const name = rel.slice(rel.lastIndexOf("/") + 1);
  if (isPage(name)) return validated(`content/${rel}`);
  const family = importFamilyOf(name);
  if (!family) return { ok: false, code: "SCHEMA_VIOLATION", reason: `"${name}" is neither a page (.md/.mdx) nor an image, video, audio or slide file` };
  return validated(`${STATIC_FOLDER}/${family}/${rel}`);
}

/** The inverse used by export: where a book file lands inside the docs folder. */
export function bookToDocsPath(path: string): string {
  if (path.startsWith("content/")) return path.slice("content/".length);
  return path; // static/… stays static/… so a re-import maps it back to the same book path
}

/** Dot files and folders (.git, .DS_Store, .docusaurus) are never part of a book and are passed over silently. */
export function isHidden(rel: string): boolean {
  return rel.split("/").some((s) => s.startsWith("."));
}
