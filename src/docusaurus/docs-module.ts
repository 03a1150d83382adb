/**
 * The embedded @docusaurus/plugin-content-docs module — the copy the site itself runs.
 *
 * A site's install can hold several copies: with Docusaurus 3.9 and a plugin whose range is wider (a search plugin,
 * or our own `^3.9.0` peer), npm may hoist plugin-content-docs 3.10 to the top while the preset keeps 3.9 nested;
 * the 3.10 copy then reads config keys a 3.9 core never set (`future.faster`) and the build fails. So the copy is
 * resolved from the site's preset-classic first (the docs plugin the site would use), then from the site folder,
 * and only then from this package. The module is CommonJS: `exports.default` is the plugin.
 */
import { createRequire } from "node:module";
import { join } from "node:path";
import type { LoadContext, OptionValidationContext, Plugin } from "@docusaurus/types";
import type { LoadedContent, PluginOptions } from "@docusaurus/plugin-content-docs";

export interface DocsPluginModule {
  (context: LoadContext, options: PluginOptions): Promise<Plugin<LoadedContent>>;
  validateOptions(ctx: OptionValidationContext<unknown, PluginOptions>): PluginOptions;
}

const DOCS_PLUGIN = "@docusaurus/plugin-content-docs";
const own = createRequire(import.meta.url);

/** Where the site's docs plugin lives: the preset's copy, else the site's, else ours. */
export function resolveDocsPlugin(siteDir?: string): string {
  const requirers: NodeJS.Require[] = [];
  if (siteDir !== undefined) {
    const site = createRequire(join(siteDir, "package.json"));
    try {
      requirers.push(createRequire(site.resolve("@docusaurus/preset-classic")));
    } catch {
      // no classic preset: the site's own resolution below
    }
    requirers.push(site);
  }
  requirers.push(own);
  for (const r of requirers) {
    try {
      return r.resolve(DOCS_PLUGIN);
    } catch {
      // not reachable from there; try the next
    }
  }
  throw new Error(`panaversity-fs/docusaurus: could not find ${DOCS_PLUGIN}; install @docusaurus/preset-classic (or ${DOCS_PLUGIN}) in the site.`);
}

export function loadDocsPluginModule(siteDir?: string): DocsPluginModule {
  const ns = own(resolveDocsPlugin(siteDir)) as Record<string, unknown> & { default?: Record<string, unknown> };
  const candidates = [ns.default?.default, ns.default, ns];
  const factory = candidates.find((c) => typeof c === "function") as DocsPluginModule | undefined;
  const validateOptions = (ns.validateOptions ?? ns.default?.validateOptions) as DocsPluginModule["validateOptions"] | undefined;
  if (!factory || !validateOptions) throw new Error(`panaversity-fs/docusaurus: could not load ${DOCS_PLUGIN}.`);
  return Object.assign((context: LoadContext, options: PluginOptions) => factory(context, options), { validateOptions });
}
