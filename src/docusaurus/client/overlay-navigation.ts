/**
 * Client module (bundled into the site when overlayUsers is set): keeps a reader of user X's book on X's
 * pages. X's book is entered through any of X's routes (`/docs/u/X/…`) or `?reader=X`, remembered for the
 * tab (sessionStorage), and left with `?reader=` (empty).
 *
 *  - a click on a link to a base page X has their own version of goes to X's version (capture phase, so it
 *    runs before Docusaurus' <Link>; navigation goes through the router via pushState + popstate);
 *  - after each route change: a base page X has overlaid is replaced by X's version (typed URLs, back
 *    button); links to such pages show X's href; on X's page the sidebar entry of the page is highlighted.
 *
 * Plain DOM code on purpose: no React, no theme swizzling; the site keeps its own theme.
 */
// A webpack alias Docusaurus provides when it bundles the site (typed by @docusaurus/module-type-aliases).
import globalData from "@generated/globalData";
import { OVERLAY_ROUTES_KEY, baseRouteOf, personalRoute, readerAfter, routeMapsOf } from "./reader.js";

/* Minimal DOM typings: the package compiles without the DOM lib. */
interface Anchor {
  href: string;
  click(): void;
  querySelector(selector: string): Anchor | null;
  target: string;
  getAttribute(name: string): string | null;
  setAttribute(name: string, value: string): void;
  removeAttribute(name: string): void;
  hasAttribute(name: string): boolean;
  classList: { add(c: string): void; remove(c: string): void };
}
interface ClickEvent {
  target: { closest?(selector: string): Anchor | null } | null;
  button: number;
  metaKey: boolean;
  ctrlKey: boolean;
  shiftKey: boolean;
  altKey: boolean;
  defaultPrevented: boolean;
  preventDefault(): void;
  stopPropagation(): void;
}
interface Location {
  pathname: string;
  search: string;
  hash: string;
}
declare const window: {
  location: Location & { origin: string };
  history: { state: unknown; pushState(s: unknown, t: string, u: string): void; replaceState(s: unknown, t: string, u: string): void };
  sessionStorage: { getItem(k: string): string | null; setItem(k: string, v: string): void; removeItem(k: string): void };
  dispatchEvent(e: unknown): boolean;
};
declare const document: {
  body: unknown;
  addEventListener(type: string, fn: (e: ClickEvent) => void, capture: boolean): void;
  querySelectorAll(selector: string): Iterable<Anchor>;
};
declare const MutationObserver: new (fn: () => void) => { observe(target: unknown, init: { childList: boolean; subtree: boolean }): void };
declare const PopStateEvent: new (type: string, init: { state: unknown }) => unknown;

const STORAGE_KEY = "panaversity-fs:reader";
const ACTIVE_MARK = "data-pfs-active";
const ORIGINAL_HREF = "data-pfs-base-href";

const maps = routeMapsOf(globalData as Record<string, Record<string, unknown>>, OVERLAY_ROUTES_KEY);

function reader(): string | null {
  try {
    return window.sessionStorage.getItem(STORAGE_KEY);
  } catch {
    return null; // storage disabled: the reader stays in their book only through user routes
  }
}

function remember(user: string | null): void {
  try {
    if (user === null) window.sessionStorage.removeItem(STORAGE_KEY);
    else window.sessionStorage.setItem(STORAGE_KEY, user);
  } catch {
    /* storage disabled */
  }
}

/** Client-side navigation through Docusaurus' router (history v4 listens to popstate). */
function navigate(to: string, replace: boolean): void {
  const state = { key: Math.random().toString(36).slice(2, 8) };
  if (replace) window.history.replaceState(state, "", to);
  else window.history.pushState(state, "", to);
  window.dispatchEvent(new PopStateEvent("popstate", { state }));
}

/** A same-site URL's pathname, or undefined for other sites. */
function sitePath(href: string): URL | undefined {
  try {
    const url = new URL(href, window.location.origin);
    return url.origin === window.location.origin ? url : undefined;
  } catch {
    return undefined;
  }
}

function onClick(event: ClickEvent): void {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const anchor = event.target?.closest?.("a[href]");
  if (!anchor || (anchor.target && anchor.target !== "_self") || anchor.hasAttribute("download")) return;
  const url = sitePath(anchor.getAttribute(ORIGINAL_HREF) ?? anchor.getAttribute("href") ?? "");
  const to = url && personalRoute(url.pathname, reader(), maps);
  if (!url || !to) return;
  event.preventDefault();
  event.stopPropagation(); // Docusaurus' <Link> (a React handler below document) would go to the base page
  navigate(to + url.search + url.hash, false);
}

/** Links to pages the reader has their own version of show that version (hover, new tab, copy link). */
function rewriteLinks(user: string | null): void {
  for (const a of document.querySelectorAll("a[href]")) {
    const base = a.getAttribute(ORIGINAL_HREF) ?? a.getAttribute("href") ?? "";
    const url = sitePath(base);
    const to = url && personalRoute(url.pathname, user, maps);
    if (to) {
      if (!a.hasAttribute(ORIGINAL_HREF)) a.setAttribute(ORIGINAL_HREF, base);
      a.setAttribute("href", to + url.search + url.hash);
    } else if (a.hasAttribute(ORIGINAL_HREF)) {
      a.setAttribute("href", a.getAttribute(ORIGINAL_HREF)!);
      a.removeAttribute(ORIGINAL_HREF);
    }
  }
}

/**
 * On the reader's own page, the sidebar entry of the base page it replaces is the active one, and the
 * categories above it are opened once (Docusaurus renders a collapsed category's items only when opened;
 * a category is known to hold the page when its own link is a folder route above the page's route).
 */
function highlight(pathname: string, user: string | null): void {
  for (const a of document.querySelectorAll(`[${ACTIVE_MARK}]`)) {
    a.classList.remove("menu__link--active");
    a.removeAttribute(ACTIVE_MARK);
  }
  const base = baseRouteOf(pathname, user, maps);
  if (!base) return;
  let found = false;
  for (const a of document.querySelectorAll(".menu a.menu__link[href]")) {
    const url = sitePath(a.getAttribute(ORIGINAL_HREF) ?? a.getAttribute("href") ?? "");
    if (url?.pathname === base) {
      a.classList.add("menu__link--active");
      a.setAttribute(ACTIVE_MARK, "");
      found = true;
    }
  }
  if (found) return;
  for (const li of document.querySelectorAll(".menu li.menu__list-item--collapsed")) {
    const link = li.querySelector("a.menu__link--sublist");
    const folder = link && sitePath(link.getAttribute("href") ?? "")?.pathname;
    const caret = li.querySelector("button.menu__caret");
    if (!folder || !folder.endsWith("/") || !base.startsWith(folder) || !caret || opened.has(folder)) continue;
    opened.add(folder);
    caret.click();
  }
}

/** Categories opened for the current route (each at most once, so a reader can close them again). */
const opened = new Set<string>();
let current: Location | null = null;

/** Links, highlight: again whenever Docusaurus renders more of the page (sidebar categories open lazily). */
function apply(): void {
  if (!current) return;
  const user = reader();
  rewriteLinks(user);
  highlight(current.pathname, user);
}

let pending = false;
function applySoon(): void {
  if (pending) return;
  pending = true;
  setTimeout(() => {
    pending = false;
    apply();
  }, 0);
}

let listening = false;

export function onRouteDidUpdate({ location }: { location: Location }): void {
  if (!listening) {
    document.addEventListener("click", onClick, true);
    new MutationObserver(applySoon).observe(document.body, { childList: true, subtree: true });
    listening = true;
  }
  const user = readerAfter(reader(), location.pathname, location.search, maps);
  remember(user);
  const to = personalRoute(location.pathname, user, maps);
  if (to) {
    navigate(to + location.search + location.hash, true);
    return;
  }
  if (current?.pathname !== location.pathname) opened.clear();
  current = location;
  apply();
}
