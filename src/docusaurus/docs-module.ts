/**
 * The embedded @docusaurus/plugin-content-docs module. It is CommonJS: under Node's ESM loader the
 * default import is `module.exports`, under Docusaurus' jiti loader it is `exports.default`; both work.
 */
import * as docsNamespace from "@docusaurus/plugin-content-docs";
import type { LoadContext, OptionValidationContext, Plugin } from "@docusaurus/types";
import type { LoadedContent, PluginOptions } from "@docusaurus/plugin-content-docs";

export interface DocsPluginModule {
  (context: LoadContext, options: PluginOptions): Promise<Plugin<LoadedContent>>;
  validateOptions(ctx: OptionValidationContext<unknown, PluginOptions>): PluginOptions;
}

export function loadDocsPluginModule(): DocsPluginModule {
  const ns = docsNamespace as unknown as Record<string, unknown> & { default?: Record<string, unknown> };
  const candidates = [ns.default?.default, ns.default];
  const factory = candidates.find((c) => typeof c === "function") as DocsPluginModule | undefined;
  const validateOptions = (ns.validateOptions ?? ns.default?.validateOptions) as DocsPluginModule["validateOptions"] | undefined;
  if (!factory || !validateOptions) throw new Error("panaversity-fs/docusaurus: could not load @docusaurus/plugin-content-docs.");
  return Object.assign((context: LoadContext, options: PluginOptions) => factory(context, options), { validateOptions });
}
