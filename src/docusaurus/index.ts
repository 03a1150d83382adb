/**
 * panaversity-fs/docusaurus — builds a book from the PanaversityFS store (DESIGN 4.5).
 *
 * The plugin registers as the docs plugin (same name and id, so the docs theme finds its data) and
 * drives an embedded @docusaurus/plugin-content-docs instance: its loadContent first syncs the store
 * into the cache folder, then lets the docs plugin read the synced views. This file only wires hooks.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { LoadContext, Plugin } from "@docusaurus/types";
import type { LoadedContent as DocsContent, PluginOptions as DocsPluginOptions } from "@docusaurus/plugin-content-docs";
import { loadDocsPluginModule } from "./docs-module.js";
import { RELOAD_TRIGGER_FILE, SIDEBARS_FILE, STATIC_DIR, USER_VIEWS_DIR, VIEW_DIR } from "./cache-layout.js";
import { verifyCacheOf, type PanaversityPluginOptions, type PluginOptions } from "./options.js";
import { formatLoadLine, pluginMetrics, recordLoad } from "./report.js";
import remarkStaticLinks from "./remark-static-links.js";
import remarkSafeOverlay from "./remark-safe-overlay.js";
import { loadOnce, startPoller } from "./shared.js";
import { OVERLAY_ROUTES_KEY, mergeRouteMaps, personalizeDocs, type DocLike, type OverlayRouteMap } from "./overlay-routes.js";
import { sidebarsDefinition, wrapSidebarItemsGenerator } from "./sidebar.js";
import { attachSummaries } from "./summaries.js";
import { currentFingerprint, syncBook, type SyncOptions, type SyncResult } from "./sync.js";
import type { HttpSourceOptions } from "./source/index.js";
import { PfsError } from "../errors/index.js";
import { writeIfChanged } from "./cache-fs.js";
import { writeFileAtomic } from "../fsutil/index.js";
import { LIVE_KEY, liveConfig, liveHeadTags, liveRoutes } from "./live.js";

// A CommonJS package: required, not imported by name (see options.ts).
const { logger } = createRequire(import.meta.url)("@docusaurus/logger") as typeof import("@docusaurus/logger");

export { validateOptions, DEFAULT_OPTIONS, type Options, type PluginOptions } from "./options.js";
export { pluginMetrics } from "./report.js";
/** The load without Docusaurus (benchmarks, scripts): sync a book into a cache folder and get its numbers. */
export { syncBook, type SyncOptions, type SyncResult } from "./sync.js";
export type { LoadStats } from "./report.js";
/** The materialized docs folder (a stable path for the site's plugins) and its pre-build sync. */
export { docsFolder, syncDocsFolder } from "./docs-folder.js";
/** The book sources (DESIGN 4.5 "One narrow source"). */
export { directSource, httpSource, closeSources, type BookSource, type HttpSourceOptions } from "./source/index.js";

/**
 * The docs plugin's loaded content (`loadedVersions` at the top, where search plugins, sitemap and other
 * plugins read it from `allContent["docusaurus-plugin-content-docs"][id]`), plus the plugin's own.
 */
export type Content = DocsContent & {
  sync: SyncResult;
  /** user → (base route → user route), for the pages each overlay user has their own version of. */
  overlayRoutes: OverlayRouteMap;
};

/** The docs plugin's part of the content, for its own hooks. */
export function docsContentOf({ loadedVersions }: Content): DocsContent {
  return { loadedVersions };
}

/**
 * Overlay users' pages join the one book: base slug under /u/<user>/, the book's sidebar, the base
 * neighbours as previous/next. Mutates nothing; returns the docs content to hand to the docs plugin.
 */
export function personalizeContent(docs: DocsContent): { docs: DocsContent; overlayRoutes: OverlayRouteMap } {
  const maps: OverlayRouteMap[] = [];
  const loadedVersions = docs.loadedVersions.map((version) => {
    const p = personalizeDocs(version.docs as unknown as DocLike[], version.path);
    maps.push(p.routes);
    return { ...version, docs: p.docs as unknown as typeof version.docs };
  });
  return { docs: { ...docs, loadedVersions }, overlayRoutes: mergeRouteMaps(maps) };
}

/** The browser side (plain JS emitted by tsc next to this file; webpack bundles it). */
export const CLIENT_MODULE = clientModulePath();

/** dist/ ships the .js; run from the sources (tests), the .ts next to this file (Docusaurus' loader compiles TS). */
export const LIVE_CLIENT_MODULE = clientModulePath("live-overlays");

function clientModulePath(name = "overlay-navigation"): string {
  const js = fileURLToPath(new URL(`./client/${name}.js`, import.meta.url));
  return existsSync(js) ? js : js.replace(/\.js$/, ".ts");
}

/** The plugin's theme components (DocItem/Footer with the summary), used with `showSummaries`. */
export const THEME_PATH = fileURLToPath(new URL("./theme", import.meta.url));

/** Docusaurus adds the cache's static folder to the site's static directories (build copy, dev server, MDX asset resolution). */
export function addStaticDirectory(siteConfig: { staticDirectories: string[] }, dir: string): void {
  if (!siteConfig.staticDirectories.includes(dir)) siteConfig.staticDirectories.push(dir);
}

/** Relative `dataDir` and local `storage.dir` are relative to the site folder, like every other path in a site config. */
export function syncOptionsOf(options: PanaversityPluginOptions, siteDir: string, cacheDir: string): SyncOptions {
  const storage = options.storage?.kind === "local" ? { ...options.storage, dir: resolve(siteDir, options.storage.dir) } : options.storage;
  return {
    bookId: options.bookId,
    cacheDir,
    store: { databaseUrl: options.databaseUrl, dataDir: options.dataDir === undefined ? undefined : resolve(siteDir, options.dataDir), storage },
    source: httpSourceOptions(options, process.env),
    previewUser: options.previewUser,
    overlayUsers: options.overlayUsers,
    includeSummaries: options.includeSummaries,
    concurrency: options.concurrency,
    offline: options.offline,
    fetchAttempts: options.fetchAttempts,
    verifyCache: verifyCacheOf(options.verifyCache, process.env),
    overlayComponents: options.overlayComponents,
    warn: (message) => logger.warn(message),
  };
}

/** `source` option, else PFS_SOURCE_URL + PFS_SOURCE_TOKEN; neither: undefined (the direct source). */
export function httpSourceOptions(options: Pick<PluginOptions, "source" | "fetchAttempts">, env: NodeJS.ProcessEnv): HttpSourceOptions | undefined {
  const url = options.source?.url ?? env.PFS_SOURCE_URL;
  const token = options.source?.token ?? env.PFS_SOURCE_TOKEN;
  if (!url && !token) return undefined;
  if (!url || !token) {
    throw new PfsError("INVALID_ARGUMENT", `panaversity-fs/docusaurus: the HTTP source needs both a URL and a token (source.url / PFS_SOURCE_URL and source.token / PFS_SOURCE_TOKEN); only the ${url ? "URL" : "token"} is set.`);
  }
  return { url, token, attempts: options.fetchAttempts };
}

/**
 * In a site whose package.json has "type": "module", webpack parses Docusaurus' generated .js files
 * (.docusaurus/registry.js uses require.resolveWeak) as strict ES modules and the static render fails
 * with "require.resolveWeak is not a function"; parse them as webpack's usual mixed JavaScript instead.
 * Harmless in a CommonJS site, where that is already how they are parsed.
 */
export function generatedFilesRule(generatedFilesDir: string): { test: RegExp; include: string[]; type: "javascript/auto" } {
  return { test: /\.js$/, include: [generatedFilesDir], type: "javascript/auto" };
}

/**
 * The server bundle's chunks are files Docusaurus' static renderer loads with Node's `require`. Rspack
 * (Docusaurus Faster) splits that bundle into one chunk per page, written as CommonJS `.js` files; in a site
 * whose package.json has "type": "module", Node loads them as ES modules ("exports is not defined in ES
 * module scope"): pages render without their content and the 404 page fails the build. The `.cjs`
 * extension makes them CommonJS whatever the site's package type. (webpack keeps that bundle in one file.)
 */
export const SERVER_CHUNK_FILENAME = "assets/js/[name].[contenthash:8].cjs";

/** The cache's folders and files the docs plugin needs before anything is synced (its constructor checks them). */
async function prepareCache(context: LoadContext, options: PluginOptions) {
  const cacheDir = resolve(context.siteDir, options.cacheDir);
  const viewDir = join(cacheDir, VIEW_DIR);
  const staticDir = join(cacheDir, STATIC_DIR);
  const triggerFile = join(cacheDir, RELOAD_TRIGGER_FILE);
  await mkdir(viewDir, { recursive: true });
  await mkdir(staticDir, { recursive: true });
  addStaticDirectory(context.siteConfig, staticDir);
  // The dev server watches this file (it is only ever written when the store changed).
  if (!existsSync(triggerFile)) await writeFileAtomic(triggerFile, "{}\n");
  let sidebarPath = options.docs.sidebarPath;
  if (sidebarPath === undefined) {
    sidebarPath = join(cacheDir, SIDEBARS_FILE);
    await writeIfChanged(sidebarPath, JSON.stringify(sidebarsDefinition(options.sidebarId), null, 2) + "\n");
  }
  return { cacheDir, viewDir, staticDir, triggerFile, sidebarPath };
}

/** Pure: the embedded docs plugin's options — the site's own, plus the cache's sidebar and our remark plugins first. */
export function docsPluginOptions(
  options: PluginOptions,
  cache: { viewDir: string; staticDir: string; sidebarPath: DocsPluginOptions["sidebarPath"] },
  isOverlay: (relToDocs: string) => boolean,
): DocsPluginOptions {
  return {
    ...options.docs,
    sidebarPath: cache.sidebarPath,
    sidebarItemsGenerator: wrapSidebarItemsGenerator(options.docs.sidebarItemsGenerator),
    beforeDefaultRemarkPlugins: [
      [remarkSafeOverlay, { viewDir: cache.viewDir, components: options.overlayComponents, isOverlay }],
      [remarkStaticLinks, { viewDir: cache.viewDir, staticDir: cache.staticDir }],
      ...options.docs.beforeDefaultRemarkPlugins,
    ],
  };
}

/** The dev server's store poller: a change in the store rewrites the trigger file the dev server watches. */
function pollStore(options: PluginOptions, cacheDir: string, triggerFile: string, syncOptions: SyncOptions): void {
  if (options.pollInterval === false) return;
  startPoller(cacheDir, {
    intervalMs: options.pollInterval,
    poll: () => currentFingerprint(syncOptions),
    onChange: async (fingerprint) => {
      logger.info(`[panaversity-fs] ${options.bookId} changed in the store; reloading.`);
      await writeFileAtomic(triggerFile, JSON.stringify({ fingerprint, at: new Date().toISOString() }) + "\n");
    },
    onError: (err) => logger.warn(`[panaversity-fs] polling ${options.bookId} failed (will keep trying): ${(err as Error).message}`),
  });
}

export default async function pluginPanaversityFs(context: LoadContext, options: PluginOptions): Promise<Plugin<Content>> {
  const { cacheDir, viewDir, staticDir, triggerFile, sidebarPath } = await prepareCache(context, options);
  // Overlay pages of this load (docs-relative), filled by the sync before anything is compiled.
  let overlayFiles = new Set<string>();
  const isOverlay = (relToDocs: string) => relToDocs.startsWith(`${USER_VIEWS_DIR}/`) || overlayFiles.has(relToDocs);
  const docsOptions = docsPluginOptions(options, { viewDir, staticDir, sidebarPath }, isOverlay);
  const userSidebarPath = typeof options.docs.sidebarPath === "string" ? resolve(context.siteDir, options.docs.sidebarPath) : undefined;
  const docs = await loadDocsPluginModule(context.siteDir)(context, docsOptions);
  const syncOptions = syncOptionsOf(options, context.siteDir, cacheDir);
  const metrics = pluginMetrics();

  const load = () =>
    loadOnce(cacheDir, async () => {
      const result = await syncBook(syncOptions);
      recordLoad(metrics, result.stats);
      (result.stats.offline ? logger.warn : logger.info)(formatLoadLine(result.stats));
      return result;
    });

  return {
    name: docs.name,
    async loadContent() {
      const sync = await load();
      overlayFiles = new Set(sync.overlayFiles.map((target) => target.slice(VIEW_DIR.length + 1)));
      const { docs: docsContent, overlayRoutes } = personalizeContent((await docs.loadContent!()) as DocsContent);
      return { ...docsContent, sync, overlayRoutes };
    },
    translateContent({ content, translationFiles }) {
      return { ...content, ...docs.translateContent!({ content: docsContentOf(content), translationFiles }) };
    },
    getClientModules() {
      if (options.overlays === "live") return [LIVE_CLIENT_MODULE];
      return options.overlayUsers.length > 0 ? [CLIENT_MODULE] : [];
    },
    injectHtmlTags() {
      return { headTags: liveHeadTags(options) };
    },
    ...(options.showSummaries ? { getThemePath: () => THEME_PATH } : {}),
    getTranslationFiles({ content }) {
      return docs.getTranslationFiles!({ content: docsContentOf(content) });
    },
    async contentLoaded({ content, actions }) {
      if (options.includeSummaries) {
        for (const version of content.loadedVersions) attachSummaries(version.docs, content.sync.summaries);
      }
      // The route map rides in the docs plugin's own global data (one plugin instance, one global data slot).
      // Live mode: the route → book path map and the server's address, nothing about any user.
      const live = liveConfig(options, liveRoutes(content.loadedVersions, context.siteDir));
      // Only builds with overlay users carry the route map: every reader's bundle holds it (build-time overlays are public).
      const withRoutes = Object.keys(content.overlayRoutes).length > 0;
      const setGlobalData = (data: unknown) =>
        actions.setGlobalData({ ...(data as object), ...(withRoutes ? { [OVERLAY_ROUTES_KEY]: content.overlayRoutes } : {}), ...(live ? { [LIVE_KEY]: live } : {}) });
      await docs.contentLoaded!({ content: docsContentOf(content), actions: { ...actions, setGlobalData } });
    },
    configureWebpack(config, isServer, utils, content) {
      const docsConfig = docs.configureWebpack!(config, isServer, utils, content && docsContentOf(content)) ?? {};
      const rules = [...(docsConfig.module?.rules ?? []), generatedFilesRule(context.generatedFilesDir)];
      const output = isServer ? { ...docsConfig.output, chunkFilename: SERVER_CHUNK_FILENAME } : docsConfig.output;
      return { ...docsConfig, ...(output ? { output } : {}), module: { ...docsConfig.module, rules } };
    },
    getPathsToWatch() {
      // Never the view folder: the sync rewrites it, and watching it would reload forever.
      // Only the dev server watches paths, so asking for them is what starts the poller (its timer is unref'd:
      // a one-shot command that also asks, like write-translations, still exits).
      pollStore(options, cacheDir, triggerFile, syncOptions);
      return [triggerFile, ...(userSidebarPath ? [userSidebarPath] : [])];
    },
  };
}
