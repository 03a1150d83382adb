/**
 * Pure: where each book file goes inside the cache folder, and back.
 *
 *   <cacheDir>/docs/<path below content/>            the book as the site sees it (base, or previewUser)
 *   <cacheDir>/docs/u/<user>/<path below content/>   the book as an overlay user sees it
 *   <cacheDir>/static/<path below static/>           assets (shared by every view; added to the site's static dirs)
 *   <cacheDir>/objects/<h[0..2]>/<h>                 fetched objects by SHA-256 (view files are hard links to them)
 */
import { posix } from "node:path";
import { parseStoredPath, type PathKind } from "../paths/index.js";

export const VIEW_DIR = "docs";
export const STATIC_DIR = "static";
export const OBJECTS_DIR = "objects";
export const USER_VIEWS_DIR = "u";
/** The cache manifest's head; its file lists and summary texts are in the next two (cache-fs.ts writeManifest). */
export const MANIFEST_FILE = "manifest.json";
export const MANIFEST_FILES_FILE = "manifest-files.json";
export const SUMMARIES_FILE = "summaries.json";
export const REPORT_FILE = "report.json";
export const SIDEBARS_FILE = "sidebars.json";
export const RELOAD_TRIGGER_FILE = "reload-trigger.json";

export interface BookFile {
  path: string;
  hash: string;
  size: number;
}

/** One materialized variant of the book: the main one (base or previewUser) or an overlay user's. */
export interface ViewSpec {
  /** "main" or "user:<id>". */
  key: string;
  /** The user whose overlays this view shows, if any. */
  user?: string;
  /** Folder of the view below docs/ ("" for the main view). */
  prefix: string;
  files: BookFile[];
}

export interface Target {
  hash: string;
  size: number;
  bookPath: string;
  kind: PathKind;
  view: string;
}

export interface DesiredState {
  /** cache-relative target path → what must be there. */
  targets: Map<string, Target>;
  /** Every object the cache must hold (targets + summaries), hash → size. */
  objects: Map<string, number>;
  /** `${viewKey}|${lesson book path}` → summary object hash. */
  summaries: Map<string, string>;
  pages: number;
}

export function mainViewKey(): string {
  return "main";
}

export function userViewKey(user: string): string {
  return `user:${user}`;
}

export function userViewPrefix(user: string): string {
  return `${USER_VIEWS_DIR}/${user}`;
}

/** content/… → docs/[u/<user>/]…; static/… → static/…; summaries have no target. */
export function targetOf(bookPath: string, kind: PathKind, viewPrefix: string): string | undefined {
  if (kind === "summary") return undefined;
  if (kind === "asset") return bookPath; // "static/…" is already the cache-relative folder
  const below = bookPath.slice("content/".length);
  return viewPrefix ? `${VIEW_DIR}/${viewPrefix}/${below}` : `${VIEW_DIR}/${below}`;
}

/** A file path relative to docs/ → the book path it came from, and the overlay user of its view. */
export function bookPathOfViewFile(relToDocs: string): { bookPath: string; user?: string } {
  const parts = relToDocs.split("/");
  if (parts[0] === USER_VIEWS_DIR && parts.length > 2) {
    return { bookPath: `content/${parts.slice(2).join("/")}`, user: parts[1] };
  }
  return { bookPath: `content/${relToDocs}` };
}

/** The lesson a summary belongs to: `…/03-x.summary.md` → `…/03-x.md` or `…/03-x.mdx`, whichever exists. */
export function lessonOfSummary(summaryPath: string, existing: ReadonlySet<string>): string | undefined {
  const stem = summaryPath.replace(/\.summary\.(md|mdx)$/, "");
  return [`${stem}.md`, `${stem}.mdx`].find((p) => existing.has(p));
}

/**
 * Everything the cache must contain for these views. Assets come from the main view only (overlays
 * exist only for content); user views are placed below docs/u/<user>/.
 */
export function desiredState(views: ViewSpec[], opts: { includeSummaries: boolean }): DesiredState {
  const targets = new Map<string, Target>();
  const objects = new Map<string, number>();
  const summaries = new Map<string, string>();
  let pages = 0;
  for (const view of views) {
    const paths = new Set(view.files.map((f) => f.path));
    for (const file of view.files) {
      const { kind } = parseStoredPath(file.path); // journal paths were validated when written
      if (kind === "asset" && view.prefix !== "") continue;
      if (kind === "summary") {
        if (!opts.includeSummaries) continue;
        const lesson = lessonOfSummary(file.path, paths);
        if (!lesson) continue; // an orphan summary has no page to attach to
        summaries.set(`${view.key}|${lesson}`, file.hash);
        objects.set(file.hash, file.size);
        continue;
      }
      const target = targetOf(file.path, kind, view.prefix)!;
      targets.set(target, { hash: file.hash, size: file.size, bookPath: file.path, kind, view: view.key });
      objects.set(file.hash, file.size);
      if (kind !== "asset") pages++;
    }
  }
  return { targets, objects, summaries, pages };
}

/**
 * Rewrites a markdown link/image URL that points into the book's static/ folder to the site URL the
 * asset is served at (`static/img/a.png` → `/img/a.png`), so Docusaurus resolves it from the cache's
 * static folder. `fileBookPath` is the book path of the page holding the link. Undefined: leave as is.
 */
export function rewriteAssetUrl(url: string, fileBookPath: string): string | undefined {
  if (!url || url.startsWith("#") || /^[a-z][a-z0-9+.-]*:/i.test(url) || url.startsWith("//")) return undefined;
  const [pathPart, suffix = ""] = splitSuffix(url);
  let resolved: string;
  if (pathPart.startsWith("/")) {
    if (!pathPart.startsWith("/static/")) return undefined;
    resolved = pathPart.slice(1);
  } else {
    resolved = posix.normalize(posix.join(posix.dirname(fileBookPath), pathPart));
  }
  if (!resolved.startsWith("static/")) return undefined;
  return `/${resolved.slice("static/".length)}${suffix}`;
}

/**
 * An overlay page lives in docs/u/<user>/, which holds only that user's pages: a relative link to another
 * page of the book (`./02-next.md`) would not resolve there. Point it at the base page instead
 * (`/01-Part/02-next.md`, resolved from the docs folder); the client takes a reader of the user's book to
 * their version when they have one. Undefined: leave as is.
 */
export function rewriteOverlayPageLink(url: string, fileBookPath: string): string | undefined {
  if (!url || url.startsWith("#") || url.startsWith("/") || /^[a-z][a-z0-9+.-]*:/i.test(url)) return undefined;
  const [pathPart, suffix = ""] = splitSuffix(url);
  if (!/\.mdx?$/.test(pathPart)) return undefined;
  const resolved = posix.normalize(posix.join(posix.dirname(fileBookPath), pathPart));
  if (!resolved.startsWith("content/")) return undefined;
  return `/${resolved.slice("content/".length)}${suffix}`;
}

function splitSuffix(url: string): [string, string?] {
  const i = url.search(/[?#]/);
  return i < 0 ? [url] : [url.slice(0, i), url.slice(i)];
}

export function objectFile(hash: string): string {
  return `${OBJECTS_DIR}/${hash.slice(0, 2)}/${hash}`;
}
