/**
 * Pure: attaches each lesson's summary text to its doc metadata, as `frontMatter.summary` (the author's
 * own `summary` front matter wins). The docs plugin serializes doc metadata into the page's data, so a
 * page reads it with `useDoc().metadata.frontMatter.summary`. Summaries are never compiled as MDX.
 */
import { basename } from "node:path";
import { bookPathOfViewFile, mainViewKey, userViewKey } from "./cache-layout.js";

interface DocLike {
  source: string;
  sourceDirName: string;
  frontMatter: Record<string, unknown>;
}

/** The summaries key of a doc: `${viewKey}|${book path}`. */
export function summaryKeyOfDoc(doc: Pick<DocLike, "source" | "sourceDirName">): string {
  const rel = doc.sourceDirName === "." ? basename(doc.source) : `${doc.sourceDirName}/${basename(doc.source)}`;
  const { bookPath, user } = bookPathOfViewFile(rel);
  return `${user ? userViewKey(user) : mainViewKey()}|${bookPath}`;
}

export function attachSummaries(docs: DocLike[], summaries: ReadonlyMap<string, string>): number {
  let attached = 0;
  for (const doc of docs) {
    const text = summaries.get(summaryKeyOfDoc(doc));
    if (text === undefined || doc.frontMatter.summary !== undefined) continue;
    doc.frontMatter.summary = text;
    attached++;
  }
  return attached;
}
