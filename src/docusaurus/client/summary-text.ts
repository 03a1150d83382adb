/** Pure (no imports, so it is unit-tested in Node): the summary text in a doc's front matter. */

/** The text of `frontMatter.summary`, or undefined (absent, empty or not a string). */
export function summaryOf(frontMatter: Record<string, unknown> | undefined): string | undefined {
  const value = frontMatter?.summary;
  return typeof value === "string" && value.trim() !== "" ? value : undefined;
}
