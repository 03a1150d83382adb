/**
 * The materialized docs folder, for a site's own plugins that read the book from disk (Open Graph images,
 * search indexes, …): `<siteDir>/<cacheDir>/docs`, by default `.panaversity-cache/docs`. A stable path:
 * the book's `content/X` is there as `X`, byte for byte (the docs version's `contentPath` says the same to
 * plugins that read `allContent`). What it holds, and when, is documented in docs/plugin.md:
 *  - complete and current once the plugin's loadContent has finished (so from contentLoaded/allContentLoaded
 *    and postBuild on); other plugins' loadContent calls run concurrently with the sync and must not read it;
 *  - for plugins that read it in their constructor (which runs before any loadContent), run
 *    `syncDocsFolder` as a pre-build step: the plugin's own load in the build then finds it current.
 */
import { resolve } from "node:path";
import { PfsError } from "../errors/index.js";
import { VIEW_DIR } from "./cache-layout.js";
import { DEFAULT_OPTIONS, OWN_OPTIONS_SCHEMA, splitOptions, type Options, type PanaversityPluginOptions } from "./options.js";
import { syncBook } from "./sync.js";
import { syncOptionsOf } from "./index.js";
import type { LoadStats } from "./report.js";

/** Absolute path of the docs folder the plugin materializes for this site and cacheDir. */
export function docsFolder(siteDir: string, cacheDir: string = DEFAULT_OPTIONS.cacheDir): string {
  return resolve(siteDir, cacheDir, VIEW_DIR);
}

/**
 * Fills the docs folder the way the plugin's loadContent does, outside Docusaurus (a `prebuild` script).
 * Takes the plugin's options as written in docusaurus.config (docs-plugin keys are ignored here); relative
 * paths are relative to `siteDir`. Bad options: INVALID_ARGUMENT and nothing is written.
 */
export async function syncDocsFolder(siteDir: string, options: Options): Promise<{ docsDir: string; stats: LoadStats }> {
  const { own } = splitOptions({ ...options } as Record<string, unknown>);
  delete own.id;
  const { error, value } = OWN_OPTIONS_SCHEMA.validate(own, { abortEarly: true });
  if (error) throw new PfsError("INVALID_ARGUMENT", `panaversity-fs: ${error.message}`);
  const validated = { ...(value as PanaversityPluginOptions), id: "default" };
  const cacheDir = resolve(siteDir, validated.cacheDir);
  const result = await syncBook(syncOptionsOf(validated, siteDir, cacheDir));
  return { docsDir: docsFolder(siteDir, validated.cacheDir), stats: result.stats };
}
