/**
 * Pure: overlay users' pages as part of the one shared book (DESIGN 4.5 "Overlays into routes").
 *
 * A user's view holds only that user's overlaid pages (docs/u/<user>/…). Each such page is served at
 * `<version path>/u/<user><the base page's slug>`, shown with the base page's sidebar, and its
 * previous/next are the base page's neighbours — the user's own version of a neighbour where they have
 * one. The per-user route map (base route → user route) is O(overlays); the client module uses it to keep
 * a reader of user X's book on X's pages (see client/overlay-navigation.ts).
 */
import { USER_VIEWS_DIR } from "./cache-layout.js";
import type { RouteMaps } from "./client/reader.js";

export { OVERLAY_ROUTES_KEY } from "./client/reader.js";

/** user → (base route → that user's route). Only pages the user has an overlay for. */
export type OverlayRouteMap = RouteMaps;

interface NavLink {
  title: string;
  permalink: string;
}

/** The fields of the docs plugin's DocMetadata this module reads and sets. */
export interface DocLike {
  id: string;
  title: string;
  permalink: string;
  slug: string;
  sidebar?: string;
  previous?: NavLink;
  next?: NavLink;
}

/** `u/<user>/<base id>` → the user and the base doc's id; undefined for a base doc. */
export function overlayDocOf(docId: string): { user: string; baseId: string } | undefined {
  const parts = docId.split("/");
  if (parts[0] !== USER_VIEWS_DIR || parts.length < 3) return undefined;
  return { user: parts[1]!, baseId: parts.slice(2).join("/") };
}

/** The user's route for a base route: `/docs/a/b` → `/docs/u/<user>/a/b` (undefined if not below the version path). */
export function userRoute(baseRoute: string, versionPath: string, user: string): string | undefined {
  const prefix = versionPath.replace(/\/+$/, "");
  if (!baseRoute.startsWith(`${prefix}/`) && baseRoute !== prefix) return undefined;
  return `${prefix}/${USER_VIEWS_DIR}/${user}${baseRoute.slice(prefix.length)}`;
}

/**
 * Rewrites the overlay docs of one version (base docs untouched, same order) and returns the route map.
 * An overlay of a page the base book does not have keeps its own route and gets no map entry.
 */
export function personalizeDocs<T extends DocLike>(docs: readonly T[], versionPath: string): { docs: T[]; routes: OverlayRouteMap } {
  const baseById = new Map<string, T>();
  for (const doc of docs) if (!overlayDocOf(doc.id)) baseById.set(doc.id, doc);
  const routes: OverlayRouteMap = {};
  const titles = new Map<string, string>(); // user route → its title
  for (const doc of docs) {
    const o = overlayDocOf(doc.id);
    const base = o && baseById.get(o.baseId);
    const route = base && userRoute(base.permalink, versionPath, o.user);
    if (!route) continue;
    (routes[o.user] ??= {})[base.permalink] = route;
    titles.set(route, doc.title);
  }
  const out = docs.map((doc) => {
    const o = overlayDocOf(doc.id);
    const base = o && baseById.get(o.baseId);
    const route = base && routes[o.user]?.[base.permalink];
    if (!o || !base || !route) return doc;
    const mine = routes[o.user]!;
    const link = (l?: NavLink): NavLink | undefined => {
      if (!l) return undefined;
      const to = mine[l.permalink];
      return to ? { title: titles.get(to) ?? l.title, permalink: to } : l;
    };
    return {
      ...doc,
      permalink: route,
      slug: route.slice(versionPath.replace(/\/+$/, "").length) || "/",
      sidebar: base.sidebar,
      previous: link(base.previous),
      next: link(base.next),
    };
  });
  return { docs: out, routes };
}

/** Merges the route maps of several versions. */
export function mergeRouteMaps(maps: OverlayRouteMap[]): OverlayRouteMap {
  const out: OverlayRouteMap = {};
  for (const map of maps) for (const [user, routes] of Object.entries(map)) Object.assign((out[user] ??= {}), routes);
  return out;
}
