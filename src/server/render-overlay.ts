/**
 * An overlay rendered for a reader's browser (DESIGN 4.10): safe markdown → sanitized HTML, server-side.
 *
 * Raw HTML in the markdown is dropped (remark-rehype without allowDangerousHtml), MDX/JSX is not parsed at
 * all (remark-parse is plain CommonMark + GFM), and rehype-sanitize (GitHub's schema) removes whatever
 * could still run: event handlers, `javascript:`/`data:` URLs, scripts, iframes, styles. Front matter is
 * stripped; its `title` becomes the page heading when the markdown has no `# heading` of its own.
 * Admonitions render as the theme's alerts and allowlisted components as a visible note (render-directives.ts).
 * Results are cached by content hash (an LRU bounded by entries and bytes), so many processes can each
 * keep their own cache: the same hash always renders to the same HTML.
 */
import jsYaml from "js-yaml";
import rehypeSanitize, { defaultSchema, type Options as SanitizeSchema } from "rehype-sanitize";
import remarkDirective from "remark-directive";
import rehypeStringify from "rehype-stringify";
import remarkFrontmatter from "remark-frontmatter";
import remarkGfm from "remark-gfm";
import remarkParse from "remark-parse";
import remarkRehype from "remark-rehype";
import { unified } from "unified";
import { ADMONITION_CLASSES, remarkLiveDirectives } from "./render-directives.js";

/** Bumped when the rendering changes, so browsers' ETags from an older renderer miss. */
export const RENDERER_VERSION = "r2";

/** GitHub's schema, plus the admonition and component-note classes on <div> (those exact values only). */
const SANITIZE_SCHEMA: SanitizeSchema = {
  ...defaultSchema,
  attributes: { ...defaultSchema.attributes, div: [...(defaultSchema.attributes?.div ?? []), ["className", ...ADMONITION_CLASSES] as [string, ...string[]]] },
};

export interface RenderedOverlay {
  /** The sanitized HTML fragment (no <html>/<body>). */
  html: string;
  /** Front matter `title`, or the first level-1 heading's text, if any. */
  title?: string;
}

interface MdNode {
  type: string;
  depth?: number;
  value?: string;
  children?: MdNode[];
}

function textOf(node: MdNode): string {
  if (typeof node.value === "string" && node.type !== "yaml") return node.value;
  return (node.children ?? []).map(textOf).join("");
}

/** The front matter's `title` when it is a plain string (YAML read with the failsafe schema: no tags, no code). */
function frontMatterTitle(tree: MdNode): string | undefined {
  const yaml = tree.children?.find((n) => n.type === "yaml");
  if (!yaml?.value) return undefined;
  try {
    const data = jsYaml.load(yaml.value, { schema: jsYaml.FAILSAFE_SCHEMA }) as Record<string, unknown> | null;
    const title = data && typeof data === "object" ? data.title : undefined;
    return typeof title === "string" && title.trim() !== "" ? title.trim() : undefined;
  } catch {
    return undefined;
  }
}

/** Adds `# title` from the front matter when the page has no level-1 heading (Docusaurus shows the title so). */
function remarkTitleHeading() {
  return (tree: MdNode) => {
    const children = tree.children ?? [];
    if (children.some((n) => n.type === "heading" && n.depth === 1)) return;
    const title = frontMatterTitle(tree);
    if (title) children.unshift({ type: "heading", depth: 1, children: [{ type: "text", value: title }] });
  };
}

const processor = unified()
  .use(remarkParse)
  .use(remarkFrontmatter, ["yaml"])
  .use(remarkGfm)
  .use(remarkDirective)
  .use(remarkLiveDirectives)
  .use(remarkTitleHeading)
  .use(remarkRehype) // no allowDangerousHtml: raw HTML never reaches the output
  .use(rehypeSanitize, SANITIZE_SCHEMA)
  .use(rehypeStringify)
  .freeze();

/** Pure: markdown (an overlay's bytes) → sanitized HTML and its title. */
export function renderOverlay(markdown: string): RenderedOverlay {
  const tree = processor.parse(markdown) as unknown as MdNode;
  const transformed = processor.runSync(tree as never);
  const html = processor.stringify(transformed as never);
  const h1 = (tree.children ?? []).find((n) => n.type === "heading" && n.depth === 1);
  const title = frontMatterTitle(tree) ?? (h1 ? textOf(h1) : undefined);
  return { html: String(html), title };
}

/** A least-recently-used map bounded by entry count and total size (bytes of the values' HTML). */
export class RenderCache {
  private readonly entries = new Map<string, RenderedOverlay>();
  private bytes = 0;
  hits = 0;
  misses = 0;

  constructor(readonly maxEntries = 5_000, readonly maxBytes = 64 * 1024 * 1024) {}

  get size(): number {
    return this.entries.size;
  }

  get(hash: string): RenderedOverlay | undefined {
    const found = this.entries.get(hash);
    if (!found) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.entries.delete(hash);
    this.entries.set(hash, found);
    return found;
  }

  set(hash: string, value: RenderedOverlay): void {
    const cost = Buffer.byteLength(value.html);
    if (cost > this.maxBytes) return;
    const old = this.entries.get(hash);
    if (old) {
      this.bytes -= Buffer.byteLength(old.html);
      this.entries.delete(hash);
    }
    this.entries.set(hash, value);
    this.bytes += cost;
    for (const [key, v] of this.entries) {
      if (this.entries.size <= this.maxEntries && this.bytes <= this.maxBytes) break;
      this.entries.delete(key);
      this.bytes -= Buffer.byteLength(v.html);
    }
  }

  /** The rendering of `hash`, rendering `markdown()` (read only on a miss) when it is not cached. */
  async render(hash: string, markdown: () => Promise<string>): Promise<RenderedOverlay> {
    const cached = this.get(hash);
    if (cached) return cached;
    const rendered = renderOverlay(await markdown());
    this.set(hash, rendered);
    return rendered;
  }
}
