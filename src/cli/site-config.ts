/**
 * `pfs validate --site <dir>`: the Markdown settings of a Docusaurus site, loaded with the site's own
 * @docusaurus/core (so TypeScript configs work as they do for `docusaurus build`). What it takes:
 * `markdown.format` and the docs plugin's `beforeDefaultRemarkPlugins` + `remarkPlugins` (from the classic
 * preset's `docs` options and any plugin entry with such options, e.g. @docusaurus/plugin-content-docs or
 * the panaversity-fs plugin). Not reproduced: Docusaurus's own internal remark plugins (admonition
 * titles, heading ids, image and link resolution, …), which only rewrite the tree and add no syntax.
 */
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import type { PluggableList } from "unified";
import { PfsError } from "../errors/index.js";

export interface SiteMarkdown {
  format: "mdx" | "md" | "detect";
  remarkPlugins: PluggableList;
}

function pluginsOf(options: unknown): PluggableList {
  if (!options || typeof options !== "object") return [];
  const o = options as { beforeDefaultRemarkPlugins?: PluggableList; remarkPlugins?: PluggableList };
  return [...(o.beforeDefaultRemarkPlugins ?? []), ...(o.remarkPlugins ?? [])];
}

export async function loadSiteMarkdown(siteDir: string): Promise<SiteMarkdown> {
  const dir = resolve(siteDir);
  const require = createRequire(join(dir, "package.json"));
  let loader: { loadSiteConfig(o: { siteDir: string }): Promise<{ siteConfig: Record<string, unknown> }> };
  try {
    loader = require("@docusaurus/core/lib/server/config.js");
  } catch {
    throw new PfsError("INVALID_ARGUMENT", `--site ${siteDir}: @docusaurus/core is not installed there, so its config cannot be loaded.`);
  }
  const { siteConfig } = await loader.loadSiteConfig({ siteDir: dir }).catch((err: Error) => {
    throw new PfsError("INVALID_ARGUMENT", `--site ${siteDir}: the Docusaurus config does not load: ${err.message.split("\n")[0]}`);
  });
  const remarkPlugins: PluggableList = [];
  const entries = [...((siteConfig.presets as unknown[]) ?? []), ...((siteConfig.plugins as unknown[]) ?? [])];
  for (const entry of entries) {
    if (!Array.isArray(entry)) continue;
    const options = entry[1] as { docs?: unknown } | undefined;
    remarkPlugins.push(...pluginsOf(options?.docs), ...pluginsOf(options));
  }
  const format = ((siteConfig.markdown as { format?: string } | undefined)?.format ?? "mdx") as SiteMarkdown["format"];
  return { format, remarkPlugins };
}
