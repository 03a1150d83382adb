/**
 * Is this overlay safe markdown? (DESIGN 4.9, invariant R10.) Pure: bytes and an allowlist in,
 * violations with line:col out. An overlay is untrusted markdown, not code: no ESM, no `{expressions}`,
 * no event handlers or script URLs, no raw HTML beyond a few inert tags, and JSX only for the site's
 * allowlisted components with literal string props. It is parsed with the MDX parser Docusaurus
 * compiles with (@mdx-js/mdx, plus front matter, GFM and directives), so what is checked is what would be
 * compiled; a `.md` page is also parsed as CommonMark (`markdown.format: "detect"`) and its raw HTML
 * checked by the same rules. Content that does not parse as MDX cannot be proven safe and is refused.
 */
import { unified, type Processor } from "unified";
import remarkParse from "remark-parse";
import remarkMdx from "remark-mdx";
import yaml from "js-yaml";
import remarkDirective from "remark-directive";
import remarkFrontmatter from "remark-frontmatter";
import remarkGfm from "remark-gfm";
export { COMPONENT_NAME, parseComponentList } from "./safe-html.js";
import { FORBIDDEN_TAGS, SAFE_TAGS, SAFE_TAG_ATTRIBUTES, checkRawHtml, dangerousAttribute, dangerousUrl, referenceSmuggling } from "./safe-html.js";

export interface SafetyViolation {
  line: number;
  column: number;
  /** What was found, e.g. "{expression}", "<script> element", "javascript: URL in a link". */
  construct: string;
}

export interface SafeMarkdownOptions {
  /** Component names an overlay may use (`Quiz`, `Admonition`, `Tabs.Item`…). */
  components?: readonly string[];
  /** The page's book path (`content/01-x/02-y.md`): relative URLs may climb to the book's root, not above. */
  path?: string;
  /** Stop after this many violations (default 20). */
  max?: number;
}


interface Point {
  line: number;
  column: number;
  offset?: number;
}

interface Node {
  type: string;
  name?: string | null;
  url?: string;
  value?: unknown;
  attributes?: Array<{ type: string; name?: string; value?: unknown }> | Record<string, string | null | undefined>;
  children?: Node[];
  position?: { start: Point; end: Point };
}

/*
 * The parsing half of @mdx-js/mdx's createProcessor (remark-parse, remark-mdx for "mdx", then the plugins),
 * built from its parts: @mdx-js/mdx itself pulls in estree-walker, which has no CommonJS entry and so cannot
 * be loaded where Docusaurus loads the plugin (jiti).
 */
let processors: Record<"md" | "mdx", Processor> | undefined;

function processor(format: "md" | "mdx"): Processor {
  const make = (mdx: boolean) => {
    const p = unified().use(remarkParse);
    if (mdx) p.use(remarkMdx);
    return p.use(remarkFrontmatter, ["yaml", "toml"]).use(remarkGfm).use(remarkDirective).freeze() as unknown as Processor;
  };
  processors ??= { md: make(false), mdx: make(true) };
  return processors[format];
}

class Collector {
  readonly found: SafetyViolation[] = [];
  constructor(readonly max: number) {}
  get full(): boolean {
    return this.found.length >= this.max;
  }
  add(at: Point | undefined, construct: string): void {
    if (this.full) return;
    const line = at?.line ?? 1;
    const column = at?.column ?? 1;
    if (!this.found.some((v) => v.line === line && v.column === column && v.construct === construct)) this.found.push({ line, column, construct });
  }
}

function parseError(err: unknown): SafetyViolation {
  const e = err as { line?: number; column?: number; reason?: string; message?: string; place?: Point | { start: Point } };
  const place = e.place && "start" in e.place ? e.place.start : e.place;
  const inText = /\((\d+):(\d+)(?:-\d+:\d+)?\)/.exec(e.message ?? "");
  const reason = (e.reason ?? e.message ?? String(err)).split("\n")[0]!;
  return { line: e.line ?? place?.line ?? Number(inText?.[1] ?? 1), column: e.column ?? place?.column ?? Number(inText?.[2] ?? 1), construct: `content that does not parse as MDX (${reason})` };
}

function checkJsx(node: Node, allowed: ReadonlySet<string>, out: Collector): void {
  const at = node.position?.start;
  const name = node.name ?? null;
  const intrinsic = name !== null && /^[a-z]/.test(name);
  if (name === null) out.add(at, "JSX fragment <>");
  else if (intrinsic && FORBIDDEN_TAGS.has(name.toLowerCase())) out.add(at, `<${name}> element`);
  else if (intrinsic ? !SAFE_TAGS.has(name) : !allowed.has(name)) out.add(at, `<${name}> (${intrinsic ? "HTML element" : "component"} not on the overlay allowlist)`);
  for (const attr of Array.isArray(node.attributes) ? node.attributes : []) {
    if (attr.type !== "mdxJsxAttribute") {
      out.add(at, `spread or expression props on <${name ?? ""}>`);
      continue;
    }
    const attrName = attr.name ?? "";
    if (attr.value !== null && attr.value !== undefined && typeof attr.value !== "string") {
      out.add(at, `expression prop ${attrName}={…} on <${name}>`);
      continue;
    }
    const bad = dangerousAttribute(attrName) ?? (intrinsic && !SAFE_TAG_ATTRIBUTES.has(attrName.toLowerCase()) ? `attribute ${attrName} on <${name}>` : null);
    if (bad) out.add(at, bad);
    else if (typeof attr.value === "string") {
      const url = dangerousUrl(attr.value);
      if (url) out.add(at, `${url} in prop ${attrName} of <${name}>`);
    }
  }
}

function checkFrontMatterValues(node: Node, out: Collector): void {
  let data: unknown;
  try {
    data = node.type === "yaml" ? yaml.load(String(node.value ?? "")) : undefined;
  } catch {
    out.add(node.position?.start, "front matter that is not valid YAML");
    return;
  }
  const stack: unknown[] = [data];
  while (stack.length) {
    const v = stack.pop();
    if (typeof v === "string") {
      const url = dangerousUrl(v);
      if (url && !url.includes("..")) out.add(node.position?.start, `${url} in front matter`);
    } else if (v && typeof v === "object") stack.push(...Object.values(v));
  }
}

function sourceOf(source: string, node: Node): string {
  const s = node.position?.start.offset;
  const e = node.position?.end.offset;
  return s === undefined || e === undefined ? String(node.value ?? "") : source.slice(s, e);
}

interface Walk {
  source: string;
  allowed: ReadonlySet<string>;
  depth: number;
  out: Collector;
}

function checkNode(node: Node, w: Walk): void {
  const at = node.position?.start;
  switch (node.type) {
    case "mdxjsEsm":
      return w.out.add(at, "import/export (ESM)");
    case "mdxFlowExpression":
    case "mdxTextExpression":
      return w.out.add(at, "{expression}");
    case "mdxJsxFlowElement":
    case "mdxJsxTextElement":
      return checkJsx(node, w.allowed, w.out);
    case "html":
      for (const p of checkRawHtml(String(node.value ?? ""), w.allowed)) w.out.add(at, `raw HTML: ${p.construct}`);
      return;
    case "yaml":
    case "toml":
      return checkFrontMatterValues(node, w.out);
    case "link":
    case "image":
    case "definition": {
      const bad = dangerousUrl(node.url ?? "", w.depth);
      if (bad) w.out.add(at, `${bad} in ${node.type === "image" ? "an image" : node.type === "link" ? "a link" : "a link definition"}`);
      return;
    }
    case "text": {
      const smuggled = referenceSmuggling(sourceOf(w.source, node));
      if (smuggled) w.out.add(at, smuggled);
      return;
    }
    case "containerDirective":
    case "leafDirective":
    case "textDirective":
      for (const [name, value] of Object.entries((node.attributes ?? {}) as Record<string, string | null | undefined>)) {
        const bad = dangerousAttribute(name) ?? (value ? dangerousUrl(value) : null);
        if (bad) w.out.add(at, `${bad} in directive :${node.name ?? ""}`);
      }
      return;
  }
}

function walk(tree: Node, w: Walk): void {
  const stack: Node[] = [tree];
  while (stack.length && !w.out.full) {
    const node = stack.pop()!;
    checkNode(node, w);
    if (node.children) for (let i = node.children.length - 1; i >= 0; i--) stack.push(node.children[i]!);
  }
}

/** Folders between the book's root (which holds content/ and static/) and the page: `content/a/b.md` → 2. */
function depthOf(path: string | undefined): number {
  return path ? path.split("/").length - 1 : 0;
}

/**
 * What is wrong with one node by itself (not its children): the build-time stripper's decision.
 * `source` is the text the node's positions point into.
 */
export function nodeViolations(node: unknown, opts: SafeMarkdownOptions & { source: string }): string[] {
  const out = new Collector(opts.max ?? 20);
  checkNode(node as Node, { source: opts.source, allowed: new Set(opts.components ?? []), depth: depthOf(opts.path), out });
  return out.found.map((v) => v.construct);
}

/**
 * Every violation (up to `max`), in source order. Empty: the overlay is safe markdown under both the MDX
 * and (for `.md`) the CommonMark reading.
 */
export function checkSafeMarkdown(content: string | Uint8Array, opts: SafeMarkdownOptions = {}): SafetyViolation[] {
  const source = typeof content === "string" ? content : Buffer.from(content).toString("utf8");
  const out = new Collector(opts.max ?? 20);
  const w = { source, allowed: new Set(opts.components ?? []), depth: depthOf(opts.path), out };
  try {
    walk(processor("mdx").parse(source) as unknown as Node, w);
  } catch (err) {
    out.add(parseError(err), parseError(err).construct);
  }
  // Only when the MDX reading is clean: one report per construct, and the CommonMark reading adds raw HTML.
  if (out.found.length === 0 && !opts.path?.endsWith(".mdx")) walk(processor("md").parse(source) as unknown as Node, w);
  return out.found.sort((a, b) => a.line - b.line || a.column - b.column);
}

export function formatViolation(v: SafetyViolation, path?: string): string {
  return `${path ? `${path}:` : ""}${v.line}:${v.column}: ${v.construct}`;
}
