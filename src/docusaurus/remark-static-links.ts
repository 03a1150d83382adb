/**
 * A remark plugin (run before Docusaurus' own) that points links and images into the book's static/
 * folder at the URL the asset is served at: `../../../static/img/a.png` or `/static/img/a.png` in a
 * page become `/img/a.png`, which Docusaurus resolves from the cache's static folder (a site static
 * directory) and bundles. On an overlay user's page, relative links to other pages point at the base
 * pages (the user's view holds only their own pages). The URL decisions are pure (cache-layout.ts).
 */
import { relative, sep } from "node:path";
import { bookPathOfViewFile, rewriteAssetUrl, rewriteOverlayPageLink } from "./cache-layout.js";

interface Node {
  type: string;
  url?: string;
  children?: Node[];
}

export interface RemarkStaticLinksOptions {
  /** Absolute path of the cache's docs/ folder. */
  viewDir: string;
}

export function rewriteTree(tree: Node, fileBookPath: string, overlayPage = false): number {
  let changed = 0;
  const stack: Node[] = [tree];
  while (stack.length) {
    const node = stack.pop()!;
    if ((node.type === "image" || node.type === "link" || node.type === "definition") && typeof node.url === "string") {
      const next = rewriteAssetUrl(node.url, fileBookPath) ?? (overlayPage && node.type !== "image" ? rewriteOverlayPageLink(node.url, fileBookPath) : undefined);
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
  return (tree: Node, file: { path?: string }) => {
    if (!file.path) return;
    const rel = relative(options.viewDir, file.path);
    if (rel.startsWith("..")) return;
    const view = bookPathOfViewFile(rel.split(sep).join("/"));
    rewriteTree(tree, view.bookPath, view.user !== undefined);
  };
}
