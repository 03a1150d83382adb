/**
 * Pure decisions of live overlays in the browser (DESIGN 4.10), no DOM here so they are unit-tested; imported
 * by live-overlays.ts, which webpack bundles into the site. Keep it free of Node imports.
 */

/** The key, inside the docs plugin's global data, of the live-mode settings (written only in live mode). */
export const LIVE_KEY = "panaversityLive";

/** Where the site's sign-in may leave the reader's ID token, if it does not define window.pfsReaderToken. */
export const TOKEN_STORAGE_KEY = "panaversity-fs:id-token";

/** What the plugin puts in global data in live mode. */
export interface LiveConfig {
  serverUrl: string;
  bookId: string;
  /** Page route (no trailing slash, except "/") → the page's path in the book (`content/…`). */
  routes: Record<string, string>;
  /** How long the shared text stays hidden, at most, while the overlay of a cached page loads. */
  pendingTimeoutMs: number;
}

/** The reader's overlay list as kept in sessionStorage for the tab. */
export interface CachedList {
  /** tokenTag of the token the list was fetched with (another reader → another list). */
  tag: string;
  etag: string | null;
  paths: string[];
  /** The routes of those paths, for the inline head script (no flash of the shared text). */
  routes: string[];
}

export function listStorageKey(bookId: string): string {
  return `panaversity-fs:live:${bookId}`;
}

/** `/docs/a/` and `/docs/a` are one page. */
export function normalizeRoute(pathname: string): string {
  return pathname.length > 1 ? pathname.replace(/\/+$/, "") || "/" : pathname;
}

/** A short non-secret tag of a token (FNV-1a), so a cached list is never shown to another signed-in reader. */
export function tokenTag(token: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < token.length; i++) {
    h ^= token.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16);
}

/** The live settings of every docs plugin instance that has them (the first one wins). */
export function liveConfigOf(globalData: Record<string, Record<string, unknown>>): LiveConfig | undefined {
  for (const instances of Object.values(globalData)) {
    for (const data of Object.values(instances ?? {})) {
      const cfg = (data as Record<string, unknown> | undefined)?.[LIVE_KEY] as LiveConfig | undefined;
      if (cfg) return cfg;
    }
  }
  return undefined;
}

/** The routes of the book paths a reader has overlays for (paths the site has no page for are left out). */
export function routesOf(paths: readonly string[], routes: Record<string, string>): string[] {
  const byPath = new Map<string, string>();
  for (const [route, path] of Object.entries(routes)) byPath.set(path, route);
  return paths.map((p) => byPath.get(p)).filter((r): r is string => r !== undefined);
}

/** The book path of the page at `pathname` when the reader's list has an overlay of it. */
export function overlayPathFor(pathname: string, list: CachedList | null, routes: Record<string, string>): string | undefined {
  const path = routes[normalizeRoute(pathname)];
  return path !== undefined && list?.paths.includes(path) ? path : undefined;
}

/** The reader endpoint URLs (each path segment encoded; the server refuses anything ambiguous). */
export function listUrl(cfg: Pick<LiveConfig, "serverUrl" | "bookId">): string {
  return `${cfg.serverUrl.replace(/\/+$/, "")}/v1/reader/books/${encodeURIComponent(cfg.bookId)}/overlays`;
}

export function pageUrl(cfg: Pick<LiveConfig, "serverUrl" | "bookId">, path: string): string {
  return `${listUrl(cfg)}/${path.split("/").map(encodeURIComponent).join("/")}`;
}

/**
 * The shared page's table of contents (the desktop column and the mobile dropdown of the classic theme): it
 * lists the shared page's headings, so it is hidden while the reader's own version is shown.
 */
export const SHARED_TOC_SELECTORS = [".theme-doc-toc-desktop", ".theme-doc-toc-mobile"] as const;

export const PENDING_STYLE_ID = "pfs-live-pending";
/** Hides the shared text and its table of contents while the overlay of a page in the cached list loads. */
export const PENDING_CSS = `article .theme-doc-markdown,${SHARED_TOC_SELECTORS.join(",")}{visibility:hidden}`;

/** Pure: what the reader sees of the shared page's table of contents (hidden while their version is shown). */
export function sharedTocDisplay(showingMine: boolean): "" | "none" {
  return showingMine ? "none" : "";
}

/**
 * The inline <head> script: before the first paint, hide the shared text of a page the reader's cached list
 * says they have an overlay of (the client module shows it again once swapped, or after the timeout).
 */
export function pendingHeadScript(bookId: string, timeoutMs: number): string {
  const key = JSON.stringify(listStorageKey(bookId));
  return (
    `(function(){try{var s=JSON.parse(sessionStorage.getItem(${key})||"null");if(!s||!s.routes)return;` +
    `var p=location.pathname;if(p.length>1)p=p.replace(/\\/+$/,"")||"/";if(s.routes.indexOf(p)<0)return;` +
    `var e=document.createElement("style");e.id=${JSON.stringify(PENDING_STYLE_ID)};e.textContent=${JSON.stringify(PENDING_CSS)};` +
    `document.head.appendChild(e);setTimeout(function(){e.remove()},${Math.floor(timeoutMs)});}catch(x){}})();`
  );
}
