/**
 * A remark plugin for overlay pages only (defense in depth behind the materialization check of
 * overlay-safety.ts): it removes what is not safe markdown — ESM, expressions, raw HTML, JSX off the
 * allowlist (its children stay), props with expressions or handlers, script URLs, smuggled character
 * references — so no overlay reaches the build's environment or runs in a reader's browser (R10), and it
 * marks the page `noindex` (a <Head> the sitemap plugin reads: build-time overlay pages are public but not
 * listed). The decisions are the checker's own (books/safe-markdown.ts).
 */
import { relative, sep } from "node:path";
import { nodeViolations } from "../books/safe-markdown.js";
import { bookPathOfViewFile } from "./cache-layout.js";

interface Node {
  type: string;
  name?: string | null;
  attributes?: unknown;
  children?: Node[];
  value?: unknown;
}

export interface RemarkSafeOverlayOptions {
  /** Absolute path of the cache's docs/ folder. */
  viewDir: string;
  components: readonly string[];
  /** Is this file (relative to docs/, with /) an overlay page? Read at compile time (the sync fills it). */
  isOverlay: (relToDocs: string) => boolean;
}

const UNWRAP = new Set(["mdxJsxFlowElement", "mdxJsxTextElement", "link", "linkReference", "containerDirective", "leafDirective", "textDirective"]);

/** Strips unsafe nodes in place; returns how many were removed or unwrapped. */
export function stripUnsafe(tree: Node, opts: { source: string; components: readonly string[]; path: string }): number {
  let stripped = 0;
  const visit = (parent: Node) => {
    if (!parent.children) return;
    const next: Node[] = [];
    for (const child of parent.children) {
      if (nodeViolations(child, opts).length === 0) {
        visit(child);
        next.push(child);
        continue;
      }
      stripped++;
      if (UNWRAP.has(child.type) && child.children) {
        visit(child);
        next.push(...child.children);
      }
    }
    parent.children = next;
  };
  visit(tree);
  return stripped;
}

/** `<Head><meta name="robots" content="noindex" /></Head>`, as an mdast JSX node. */
export function noindexHead(): Node {
  const attr = (name: string, value: string) => ({ type: "mdxJsxAttribute", name, value });
  return {
    type: "mdxJsxFlowElement",
    name: "Head",
    attributes: [],
    children: [{ type: "mdxJsxFlowElement", name: "meta", attributes: [attr("name", "robots"), attr("content", "noindex")], children: [] }],
  };
}

export default function remarkSafeOverlay(options: RemarkSafeOverlayOptions) {
  return (tree: Node, file: { path?: string; value?: unknown }) => {
    if (!file.path) return;
    const rel = relative(options.viewDir, file.path);
    if (rel.startsWith("..")) return;
    const relToDocs = rel.split(sep).join("/");
    if (!options.isOverlay(relToDocs)) return;
    stripUnsafe(tree, { source: String(file.value ?? ""), components: options.components, path: bookPathOfViewFile(relToDocs).bookPath });
    tree.children = [...(tree.children ?? []), noindexHead()];
  };
}
