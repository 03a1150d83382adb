/**
 * `panaversity-fs/docusaurus/client`: a lesson's summary for the site's own components, without reading
 * the disk or swizzling. The plugin puts the text of `<lesson>.summary.md` in the lesson's doc metadata as
 * `metadata.frontMatter.summary` (an author's own `summary` front matter wins); these read it on a doc page.
 *
 *   import { useLessonSummary, LessonSummary } from "panaversity-fs/docusaurus/client";
 *
 * Browser code, bundled by the site's bundler: no Node imports here.
 */
import { createElement, type ReactElement } from "react";
import { useDoc } from "@docusaurus/plugin-content-docs/client";
import { summaryOf } from "./summary-text.js";

export { summaryOf };

/** The current lesson's summary; undefined outside a doc page or when the lesson has none. */
export function useLessonSummary(): string | undefined {
  let frontMatter: Record<string, unknown> | undefined;
  try {
    // useDoc reads a React context (always called, so the hook order is stable) and throws outside a doc page.
    // The doc's metadata (built by the plugin) holds the summary; useDoc().frontMatter is the compiled file's own.
    frontMatter = useDoc().metadata.frontMatter as Record<string, unknown>;
  } catch {
    return undefined;
  }
  return summaryOf(frontMatter);
}

export interface LessonSummaryProps {
  /** The heading shown above the text; default "Summary". */
  title?: string;
  className?: string;
}

/**
 * The current lesson's summary as an admonition-styled block (Infima classes, so it takes the site's theme),
 * or nothing when the lesson has none. The text is shown as written (line breaks kept), never compiled as MDX.
 */
export function LessonSummary({ title = "Summary", className }: LessonSummaryProps = {}): ReactElement | null {
  const summary = useLessonSummary();
  if (summary === undefined) return null;
  return createElement(
    "section",
    { className: ["pfs-lesson-summary", "alert", "alert--info", className].filter(Boolean).join(" "), "data-pfs-summary": "" },
    createElement("strong", null, title),
    createElement("div", { style: { whiteSpace: "pre-wrap", marginTop: "0.5rem" } }, summary.trim()),
  );
}
