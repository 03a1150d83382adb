/**
 * The checks `pfs validate` runs on one page, the way Docusaurus 3 reads it: YAML front matter, then an
 * MDX compile with remark-frontmatter, remark-gfm and remark-directive (admonitions are directives).
 * Docusaurus compiles `.md` as MDX by default (`markdown.format: "mdx"`); summaries are never pages, so
 * they are parsed as plain markdown ("md"), which catches little but never reports MDX-only problems.
 */
import { compile } from "@mdx-js/mdx";
import yaml from "js-yaml";
import remarkDirective from "remark-directive";
import remarkFrontmatter from "remark-frontmatter";
import remarkGfm from "remark-gfm";
import { VFile } from "vfile";
import type { PluggableList } from "unified";
import { collectReferences, type PageReferences } from "./page-references.js";

export interface PageProblem {
  line: number;
  column: number;
  code: "FRONT_MATTER" | "MDX_COMPILE" | "INVALID_CONTENT" | "UNKNOWN_COMPONENT" | "IMAGE_NOT_FOUND";
  message: string;
}

export interface PageCheckOptions {
  format: "md" | "mdx";
  /** Extra remark plugins (a site's own, from --site), run after the defaults. */
  remarkPlugins?: PluggableList;
  /** Receives what the page references (components, imports, relative images) when it compiles. */
  onReferences?: (refs: PageReferences) => void;
}

const FRONT_MATTER = /^---\r?\n([\s\S]*?)\r?\n---(?:\r?\n|$)/;

export function checkFrontMatter(text: string): PageProblem | null {
  const m = FRONT_MATTER.exec(text);
  if (!m) return null;
  try {
    const data = yaml.load(m[1]!);
    if (data !== undefined && data !== null && (typeof data !== "object" || Array.isArray(data))) {
      return { line: 2, column: 1, code: "FRONT_MATTER", message: "front matter must be a YAML mapping (key: value lines)" };
    }
    return null;
  } catch (err) {
    const e = err as { mark?: { line: number; column: number }; reason?: string; message: string };
    // The YAML starts on line 2 (after the opening ---); js-yaml counts lines and columns from 0.
    return { line: (e.mark?.line ?? 0) + 2, column: (e.mark?.column ?? 0) + 1, code: "FRONT_MATTER", message: e.reason ?? e.message.split("\n")[0]! };
  }
}

export async function checkPage(path: string, bytes: Buffer, opts: PageCheckOptions): Promise<PageProblem[]> {
  const text = bytes.toString("utf8");
  if (Buffer.compare(Buffer.from(text, "utf8"), bytes) !== 0) return [{ line: 1, column: 1, code: "INVALID_CONTENT", message: "the file is not valid UTF-8" }];
  const problems: PageProblem[] = [];
  const fm = checkFrontMatter(text);
  if (fm) problems.push(fm);
  try {
    await compile(new VFile({ path, value: text }), {
      format: opts.format,
      remarkPlugins: [[remarkFrontmatter, ["yaml", "toml"]], remarkGfm, remarkDirective, ...(opts.remarkPlugins ?? []), ...(opts.onReferences ? [collectReferences(opts.onReferences)] : [])],
    });
  } catch (err) {
    const e = err as { line?: number; column?: number; reason?: string; message: string; place?: { line?: number; column?: number; start?: { line: number; column: number } } };
    const place = e.place && "start" in e.place ? e.place.start : e.place;
    // Some mdast-util-mdx-jsx errors carry their position only in the text: "… (3:1-3:6)".
    const inText = /\((\d+):(\d+)(?:-\d+:\d+)?\)/.exec(e.message);
    problems.push({ line: e.line ?? place?.line ?? Number(inText?.[1] ?? 1), column: e.column ?? place?.column ?? Number(inText?.[2] ?? 1), code: "MDX_COMPILE", message: (e.reason ?? e.message).split("\n")[0]! });
  }
  return problems;
}
