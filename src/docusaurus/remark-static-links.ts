/**
 * A remark plugin (run before Docusaurus' own) that points links and images into the book's static/
 * folder at the URL the asset is served at: `../../../static/img/a.png` or `/static/img/a.png` in a
 * page become `/img/a.png`, which Docusaurus resolves from the cache's static folder (a site static
 * directory) and bundles. On an overlay user's page, relative links to other pages point at the base
 * pages (the user's view holds only their own pages). The URL decisions are pure (cache-layout.ts).
 *
 * Images next to lessons: `pfs import` stores `01-Part/01-Ch/img/a.png` (beside the lesson) as
 * `static/img/01-Part/01-Ch/img/a.png` (books/layout.ts), so the lesson's `./img/a.png` does not resolve
 * in the docs folder. Such a URL is pointed at the asset's served URL when the book holds that asset; the
 * stored markdown keeps its bytes (only the build's syntax tree changes), so export round-trips.
 */
import { existsSync } from "node:fs";
import { join, posix, relative, sep } from "node:path";
import { docsToBookPath } from "../books/layout.js";
import { bookPathOfViewFile, rewriteAssetUrl, rewriteOverlayPageLink } from "./cache-layout.js";

interface Node {
  type: string;
  url?: string;
  children?: Node[];
}

export interface RemarkStaticLinksOptions {
  /** Absolute path of the cache's docs/ folder. */
  viewDir: string;
  /** Absolute path of the cache's static/ folder (to find images that were next to a lesson). */
  staticDir?: string;
}

/** Does the book hold this asset (`static/…` book path)? */
export type AssetExists = (staticBookPath: string) => boolean;

/**
 * Pure: a relative URL of a page that points beside it inside content/ at a file that is not a page
 * (`./img/a.png` in content/01-P/01-C/01-a.md) → the served URL of the asset import stored it as
 * (`/img/01-P/01-C/img/a.png`), when the book holds it. Undefined: leave as is.
 */
export function rewriteLessonAssetUrl(url: string, fileBookPath: string, exists: AssetExists): string | undefined {
  if (!url || url.startsWith("#") || url.startsWith("/") || /^[a-z][a-z0-9+.-]*:/i.test(url)) return undefined;
  const cut = url.search(/[?#]/);
  const [pathPart, suffix] = cut < 0 ? [url, ""] : [url.slice(0, cut), url.slice(cut)];
  let decoded: string;
  try {
    decoded = decodeURI(pathPart);
  } catch {
    return undefined;
  }
  const resolved = posix.normalize(posix.join(posix.dirname(fileBookPath), decoded));
  if (!resolved.startsWith("content/") || /\.mdx?$/i.test(resolved)) return undefined;
  const mapped = docsToBookPath(resolved.slice("content/".length));
  if (!mapped.ok || !mapped.path.startsWith("static/") || !exists(mapped.path)) return undefined;
  return `/${encodeURI(mapped.path.slice("static/".length))}${suffix}`;
}

export function rewriteTree(tree: Node, fileBookPath: string, overlayPage = false, assetExists: AssetExists = () => false): number {
  let changed = 0;
  const stack: Node[] = [tree];
  while (stack.length) {
    const node = stack.pop()!;
    if ((node.type === "image" || node.type === "link" || node.type === "definition") && typeof node.url === "string") {
      const next =
        rewriteAssetUrl(node.url, fileBookPath) ??
        rewriteLessonAssetUrl(node.url, fileBookPath, assetExists) ??
        (overlayPage && node.type !== "image" ? rewriteOverlayPageLink(node.url, fileBookPath) : undefined);
      if (next !== undefined && next !== node.url) {
        node.url = next;
        changed++;
      }
    }
    if (node.children) stack.push(...node.children);
  }
  return changed;
}

export default function remarkStaticLinks(options: RemarkStaticLinksOptions) {
  const { staticDir } = options;
  const assetExists: AssetExists = staticDir ? (p) => existsSync(join(staticDir, p.slice("static/".length))) : () => false;
  return (tree: Node, file: { path?: string }) => {
    if (!file.path) return;
    const rel = relative(options.viewDir, file.path);
    if (rel.startsWith("..")) return;
    const view = bookPathOfViewFile(rel.split(sep).join("/"));
    rewriteTree(tree, view.bookPath, view.user !== undefined, assetExists);
  };
}
