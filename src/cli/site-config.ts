/**
 * `pfs validate --site <dir>`: the Markdown settings of a Docusaurus site, loaded with the site's own
 * @docusaurus/core (so TypeScript configs work as they do for `docusaurus build`). What it takes:
 * `markdown.format` and the docs plugin's `beforeDefaultRemarkPlugins` + `remarkPlugins` (from the classic
 * preset's `docs` options and any plugin entry with such options, e.g. @docusaurus/plugin-content-docs or
 * the panaversity-fs plugin). Not reproduced: Docusaurus's own internal remark plugins (admonition
 * titles, heading ids, image and link resolution, …), which only rewrite the tree and add no syntax.
 */
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import type { PluggableList } from "unified";
import { PfsError } from "../errors/index.js";

export interface SiteMarkdown {
  format: "mdx" | "md" | "detect";
  remarkPlugins: PluggableList;
  /** JSX names every page may use without importing them (the theme's defaults + the site's own map). */
  components?: Set<string>;
}

/** The global names of the classic theme's MDXComponents (Docusaurus 3), if its file cannot be read. */
const THEME_DEFAULTS = ["Head", "Details"];

/** Pure: capitalized keys of the object a MDXComponents module exports by default (`{ ...Base, Quiz, Box: B }`). */
export function componentKeys(source: string): string[] {
  const named = /export\s+default\s+([A-Za-z_$][\w$]*)\s*;?/.exec(source);
  const start = named ? source.search(new RegExp(`\\b${named[1]}\\s*(?::[^=]*)?=\\s*\\{`)) : source.search(/export\s+default\s*\{/);
  if (start < 0) return [];
  const body = source.slice(source.indexOf("{", start));
  const keys = new Set<string>();
  for (const m of body.matchAll(/(?:^|[{,])\s*["']?([A-Z][\w$]*)["']?\s*(?=[:,}])/g)) keys.add(m[1]!);
  return [...keys];
}

async function siteComponents(dir: string, require: NodeJS.Require): Promise<Set<string>> {
  const names = new Set(THEME_DEFAULTS);
  try {
    const theme = join(dirname(require.resolve("@docusaurus/theme-classic/package.json")), "lib/theme/MDXComponents/index.js");
    for (const k of componentKeys(await readFile(theme, "utf8"))) names.add(k);
  } catch {
    // the defaults above
  }
  for (const ext of ["js", "jsx", "ts", "tsx"]) {
    const text = await readFile(join(dir, "src/theme/MDXComponents", `index.${ext}`), "utf8").catch(() => readFile(join(dir, `src/theme/MDXComponents.${ext}`), "utf8").catch(() => null));
    if (text !== null) for (const k of componentKeys(text)) names.add(k);
  }
  return names;
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
  return { format, remarkPlugins, components: await siteComponents(dir, require) };
}
