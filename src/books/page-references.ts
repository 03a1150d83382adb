/**
 * What a page needs from outside itself, read from its MDX tree during validate's compile: the JSX
 * components it uses, the names it imports or exports (which it then provides itself), and the images
 * it links by relative URL. Pure functions decide what is missing; the caller knows the site and the book.
 */
import { posix } from "node:path";
import type { Plugin } from "unified";

export interface Place {
  line: number;
  column: number;
}

export interface PageReferences {
  /** Capitalized JSX names (`<Quiz>`, the root of `<Foo.Bar>`), where used. */
  components: (Place & { name: string })[];
  /** Names the page defines itself: ESM imports and exports. */
  defined: Set<string>;
  /** Markdown images (`![](./img/a.png)`) with a relative URL. */
  images: (Place & { url: string })[];
}

interface Node {
  type: string;
  name?: string | null;
  url?: string;
  position?: { start: { line: number; column: number } };
  children?: Node[];
  data?: { estree?: { body: EsNode[] } };
}
interface EsNode {
  type: string;
  specifiers?: { local: { name: string } }[];
  declaration?: { type: string; id?: { name: string } | null; declarations?: { id: { type: string; name?: string } }[] } | null;
}

/** Pure: a URL Docusaurus resolves as a file next to the page (not absolute, not a scheme, not an anchor). */
export function isRelativeFileUrl(url: string): boolean {
  return url !== "" && !url.startsWith("/") && !url.startsWith("#") && !/^[a-z][a-z0-9+.-]*:/i.test(url);
}

/** Pure: the docs-relative path a relative URL on the page at `pageRel` points to, or null when it leaves the folder. */
export function resolveRelative(pageRel: string, url: string): string | null {
  let target = url.replace(/[?#].*$/, "");
  try {
    target = decodeURI(target);
  } catch {
    // keep it as written
  }
  const joined = posix.normalize(posix.join(posix.dirname(pageRel), target));
  return joined.startsWith("../") || joined === ".." ? null : joined;
}

function esmNames(body: EsNode[], into: Set<string>): void {
  for (const n of body) {
    for (const s of n.specifiers ?? []) into.add(s.local.name);
    const d = n.declaration;
    if (d?.id?.name) into.add(d.id.name);
    for (const v of d?.declarations ?? []) if (v.id.name) into.add(v.id.name);
  }
}

function walk(node: Node, refs: PageReferences): void {
  const at = { line: node.position?.start.line ?? 1, column: node.position?.start.column ?? 1 };
  if ((node.type === "mdxJsxFlowElement" || node.type === "mdxJsxTextElement") && node.name) {
    const root = node.name.split(".")[0]!;
    if (/^[A-Z]/.test(root)) refs.components.push({ name: root, ...at });
  } else if (node.type === "mdxjsEsm" && node.data?.estree) {
    esmNames(node.data.estree.body, refs.defined);
  } else if (node.type === "image" && node.url !== undefined && isRelativeFileUrl(node.url)) {
    refs.images.push({ url: node.url, ...at });
  }
  for (const child of node.children ?? []) walk(child, refs);
}

/** A remark plugin that hands the page's references to `sink` (run last, after the site's own plugins). */
export function collectReferences(sink: (refs: PageReferences) => void): Plugin {
  return () => (tree) => {
    const refs: PageReferences = { components: [], defined: new Set(), images: [] };
    walk(tree as Node, refs);
    sink(refs);
  };
}

export interface ReferenceProblem extends Place {
  code: "UNKNOWN_COMPONENT" | "IMAGE_NOT_FOUND";
  message: string;
}

/**
 * Pure: what a build would fail on. `siteComponents` (null: not checked) are the names the site's MDX
 * component map provides; `exists` says whether a docs-relative path is a file of the book.
 */
export function referenceProblems(pageRel: string, refs: PageReferences, siteComponents: ReadonlySet<string> | null, exists: (docsRel: string) => boolean): ReferenceProblem[] {
  const problems: ReferenceProblem[] = [];
  if (siteComponents) {
    for (const c of refs.components) {
      if (siteComponents.has(c.name) || refs.defined.has(c.name)) continue;
      problems.push({ line: c.line, column: c.column, code: "UNKNOWN_COMPONENT", message: `<${c.name}> is not in the site's MDX components (src/theme/MDXComponents) and the page does not import it` });
    }
  }
  for (const img of refs.images) {
    const target = resolveRelative(pageRel, img.url);
    if (target !== null && exists(target)) continue;
    problems.push({ line: img.line, column: img.column, code: "IMAGE_NOT_FOUND", message: `image ${img.url} is not a file of the book${target === null ? " (it points outside the docs folder)" : ` (looked for ${target})`}` });
  }
  return problems;
}
