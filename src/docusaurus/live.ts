/**
 * Live overlays, build side (DESIGN 4.10): the build renders the shared book only and hands the browser
 * what it needs to find a page's book path (route → `content/…`) and the reader endpoints' address.
 * Pure; index.ts wires it into global data, the client modules and the <head>.
 */
import { isAbsolute, relative, resolve, sep } from "node:path";
import { USER_VIEWS_DIR } from "./cache-layout.js";
import type { PluginOptions } from "./options.js";
import { normalizeRoute, pendingHeadScript, type LiveConfig } from "./client/live-state.js";

export { LIVE_KEY } from "./client/live-state.js";

interface DocSource {
  source: string;
  permalink: string;
}

/** Route → book path of every base page (docs' `source` is `@site/…` below the view folder `contentPath`). */
export function liveRoutes(versions: readonly { contentPath: string; docs: readonly DocSource[] }[], siteDir: string): Record<string, string> {
  const routes: Record<string, string> = {};
  for (const version of versions) {
    for (const doc of version.docs) {
      const file = doc.source.startsWith("@site/") ? resolve(siteDir, doc.source.slice("@site/".length)) : doc.source;
      const rel = relative(version.contentPath, file).split(sep).join("/");
      if (rel.startsWith("..") || isAbsolute(rel) || rel.startsWith(`${USER_VIEWS_DIR}/`)) continue;
      routes[normalizeRoute(doc.permalink)] = `content/${rel}`;
    }
  }
  return routes;
}

/** The global data of live mode (undefined in build mode: nothing about live overlays ships then). */
export function liveConfig(options: PluginOptions, routes: Record<string, string>): LiveConfig | undefined {
  if (options.overlays !== "live" || !options.live) return undefined;
  return { serverUrl: options.live.serverUrl, bookId: options.bookId, routes, pendingTimeoutMs: options.live.pendingTimeoutMs };
}

/** The inline head script that hides the shared text of a page whose overlay is cached (no flash). */
export function liveHeadTags(options: PluginOptions): { tagName: string; innerHTML: string }[] {
  if (options.overlays !== "live" || !options.live) return [];
  return [{ tagName: "script", innerHTML: pendingHeadScript(options.bookId, options.live.pendingTimeoutMs) }];
}
