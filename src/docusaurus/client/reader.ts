/**
 * Pure decisions of the browser side (no DOM here, so they are unit-tested): which user's book the reader
 * is in, and where a link to a base page takes them. Imported by overlay-navigation.ts, which webpack
 * bundles into the site; keep it free of Node imports.
 */

/** user → (base route → that user's route). Same shape as overlay-routes.ts's OverlayRouteMap. */
export type RouteMaps = Record<string, Record<string, string>>;

/** The key, inside the docs plugin's own global data, of the route maps (written by the plugin's contentLoaded). */
export const OVERLAY_ROUTES_KEY = "panaversityOverlayRoutes";

/** The query parameter that enters (`?reader=<user>`) or leaves (`?reader=`) a user's book. */
export const READER_PARAM = "reader";

/**
 * The reader's user after visiting `pathname` + `search`: `?reader=X` enters X's book, an empty
 * `?reader=` leaves it (null), a user route (`…/u/X/…` that X's route map knows) enters X's; anything
 * else keeps the current reader.
 */
export function readerAfter(current: string | null, pathname: string, search: string, maps: RouteMaps): string | null {
  const params = new URLSearchParams(search);
  if (params.has(READER_PARAM)) {
    const user = params.get(READER_PARAM)!.trim();
    return user === "" ? null : user;
  }
  const path = stripSlash(pathname);
  for (const [user, routes] of Object.entries(maps)) {
    for (const route of Object.values(routes)) if (stripSlash(route) === path) return user;
  }
  return current;
}

/** The user's route for a base route, if the user has their own version of that page. */
export function personalRoute(pathname: string, reader: string | null, maps: RouteMaps): string | undefined {
  if (reader === null) return undefined;
  const routes = maps[reader];
  if (!routes) return undefined;
  return routes[pathname] ?? routes[stripSlash(pathname)] ?? routes[`${stripSlash(pathname)}/`];
}

/** The base route a user route stands for (to highlight the sidebar entry of the page being read). */
export function baseRouteOf(pathname: string, reader: string | null, maps: RouteMaps): string | undefined {
  if (reader === null) return undefined;
  const path = stripSlash(pathname);
  for (const [base, route] of Object.entries(maps[reader] ?? {})) if (stripSlash(route) === path) return base;
  return undefined;
}

/** The route maps of every docs plugin instance in the site's global data. */
export function routeMapsOf(globalData: Record<string, Record<string, unknown>>, key: string): RouteMaps {
  const out: RouteMaps = {};
  for (const instances of Object.values(globalData)) {
    for (const data of Object.values(instances ?? {})) {
      const maps = (data as Record<string, unknown> | undefined)?.[key] as RouteMaps | undefined;
      if (maps) for (const [user, routes] of Object.entries(maps)) Object.assign((out[user] ??= {}), routes);
    }
  }
  return out;
}

function stripSlash(path: string): string {
  return path.length > 1 ? path.replace(/\/+$/, "") : path;
}
