/**
 * Client module of live overlays (bundled into the site when `overlays: "live"`; DESIGN 4.10).
 *
 * The site's own sign-in provides the reader's OpenID Connect ID token: `window.pfsReaderToken()` (sync or
 * async, returning the token or null) if the site defines it, else localStorage["panaversity-fs:id-token"].
 * The reader's overlay list is kept in sessionStorage for the tab (revalidated with its ETag once per full
 * page load, so a tutor's new overlay shows on the next load); on a page the list names, the overlay
 * rendered by `pfs serve` replaces the shared text, marked "Personalized for you", with a button back to
 * the shared page. No token, a refused token or an unreachable server: the shared page stays as it is.
 *
 * Plain DOM code: no React, no theme swizzling. The doc's own markdown element is hidden, not replaced, so
 * React's tree is untouched.
 */
import globalData from "@generated/globalData";
import {
  PENDING_CSS,
  PENDING_STYLE_ID,
  SHARED_TOC_SELECTORS,
  TOKEN_STORAGE_KEY,
  listStorageKey,
  listUrl,
  liveConfigOf,
  overlayPathFor,
  pageUrl,
  routesOf,
  sharedTocDisplay,
  tokenTag,
  type CachedList,
} from "./live-state.js";

/* Minimal DOM typings: the package compiles without the DOM lib. */
interface El {
  innerHTML: string;
  textContent: string | null;
  className: string;
  id: string;
  hidden: boolean;
  style: { display: string };
  parentElement: El | null;
  setAttribute(name: string, value: string): void;
  removeAttribute(name: string): void;
  insertBefore(node: El, ref: El): void;
  appendChild(node: El): void;
  remove(): void;
  addEventListener(type: string, fn: () => void): void;
  querySelector(selector: string): El | null;
}
interface Storage {
  getItem(k: string): string | null;
  setItem(k: string, v: string): void;
  removeItem(k: string): void;
}
declare const window: { pfsReaderToken?: () => string | null | undefined | Promise<string | null | undefined>; sessionStorage: Storage; localStorage: Storage };
declare const document: {
  head: El;
  createElement(tag: string): El;
  querySelector(selector: string): El | null;
  querySelectorAll(selector: string): ArrayLike<El>;
  getElementById(id: string): El | null;
};

const cfg = liveConfigOf(globalData as Record<string, Record<string, unknown>>);
const OVERLAY_CLASS = "pfs-live-overlay";
const HIDDEN_MARK = "data-pfs-shared-hidden";
const REQUEST_TIMEOUT_MS = 5_000;

let generation = 0;
/** The list was revalidated against the server during this document's life (once per full page load). */
let revalidated = false;

function storage(kind: "sessionStorage" | "localStorage"): Storage | undefined {
  try {
    return window[kind];
  } catch {
    return undefined; // storage disabled
  }
}

async function readerToken(): Promise<string | null> {
  try {
    if (typeof window.pfsReaderToken === "function") return (await window.pfsReaderToken()) || null;
    return storage("localStorage")?.getItem(TOKEN_STORAGE_KEY) || null;
  } catch {
    return null;
  }
}

function cachedList(tag: string): CachedList | null {
  if (!cfg) return null;
  try {
    const list = JSON.parse(storage("sessionStorage")?.getItem(listStorageKey(cfg.bookId)) ?? "null") as CachedList | null;
    return list && list.tag === tag ? list : null;
  } catch {
    return null;
  }
}

function keepList(list: CachedList | null): void {
  if (!cfg) return;
  try {
    if (list) storage("sessionStorage")?.setItem(listStorageKey(cfg.bookId), JSON.stringify(list));
    else storage("sessionStorage")?.removeItem(listStorageKey(cfg.bookId));
  } catch {
    /* storage full or disabled: the next page asks again */
  }
}

async function get(url: string, token: string, etag?: string | null): Promise<Response> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (etag) headers["if-none-match"] = etag;
  return fetch(url, { headers, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
}

/** The reader's list: the tab's copy, revalidated once per full page load (a 304 costs one tiny request). */
async function readerList(token: string): Promise<CachedList | null> {
  if (!cfg) return null;
  const tag = tokenTag(token);
  const cached = cachedList(tag);
  if (cached && revalidated) return cached;
  const res = await get(listUrl(cfg), token, cached?.etag);
  revalidated = true;
  if (res.status === 304 && cached) return cached;
  if (!res.ok) {
    keepList(null); // signed out, expired or refused: show the shared book
    return null;
  }
  const body = (await res.json()) as { overlays: { path: string }[] };
  const paths = body.overlays.map((o) => o.path);
  const list = { tag, etag: res.headers.get("etag"), paths, routes: routesOf(paths, cfg.routes) };
  keepList(list);
  return list;
}

function unpend(): void {
  document.getElementById(PENDING_STYLE_ID)?.remove();
}

function pend(): void {
  if (!cfg || document.getElementById(PENDING_STYLE_ID)) return;
  const style = document.createElement("style");
  style.id = PENDING_STYLE_ID;
  style.textContent = PENDING_CSS;
  document.head.appendChild(style);
  setTimeout(() => style.remove(), cfg.pendingTimeoutMs);
}

/** Shows or hides the shared page's table of contents (its headings are not the reader's version's). */
function showSharedToc(showingMine: boolean): void {
  for (const selector of SHARED_TOC_SELECTORS) {
    const found = document.querySelectorAll(selector);
    for (let i = 0; i < found.length; i++) found[i]!.style.display = sharedTocDisplay(showingMine);
  }
}

/** Undoes a swap (before the next page renders). */
function restore(): void {
  document.querySelector(`.${OVERLAY_CLASS}`)?.remove();
  showSharedToc(false);
  const shared = document.querySelector(`[${HIDDEN_MARK}]`);
  if (shared) {
    shared.style.display = "";
    shared.removeAttribute(HIDDEN_MARK);
  }
}

function swapIn(html: string): void {
  const shared = document.querySelector("article .theme-doc-markdown");
  if (!shared?.parentElement) return;
  const box = document.createElement("div");
  box.className = OVERLAY_CLASS;
  const bar = document.createElement("div");
  bar.className = "pfs-live-marker admonition alert alert--info";
  bar.setAttribute("role", "note");
  const label = document.createElement("strong");
  label.textContent = "Personalized for you";
  const toggle = document.createElement("button");
  toggle.className = "pfs-live-toggle button button--sm button--link";
  toggle.textContent = "Show the shared page";
  bar.appendChild(label);
  bar.appendChild(toggle);
  const content = document.createElement("div");
  content.className = "theme-doc-markdown markdown pfs-live-content";
  content.innerHTML = html; // sanitized by the server (rehype-sanitize); never the raw markdown
  box.appendChild(bar);
  box.appendChild(content);
  shared.parentElement.insertBefore(box, shared);
  shared.style.display = "none";
  shared.setAttribute(HIDDEN_MARK, "");
  showSharedToc(true);
  let mine = true;
  toggle.addEventListener("click", () => {
    mine = !mine;
    content.style.display = mine ? "" : "none";
    shared.style.display = mine ? "none" : "";
    showSharedToc(mine);
    toggle.textContent = mine ? "Show the shared page" : "Show my version";
  });
}

async function personalize(pathname: string, run: number): Promise<void> {
  if (!cfg) return;
  const token = await readerToken();
  if (!token) return;
  const list = await readerList(token);
  const path = overlayPathFor(pathname, list, cfg.routes);
  if (!path || run !== generation) return;
  const res = await get(pageUrl(cfg, path), token);
  if (!res.ok || run !== generation) return;
  const page = (await res.json()) as { html: string };
  swapIn(page.html);
}

/** Before the next page renders: drop the last swap; hide the shared text if the cached list has this page. */
export function onRouteUpdate({ location }: { location: { pathname: string } }): void {
  if (!cfg) return;
  restore();
  const token = storage("localStorage")?.getItem(TOKEN_STORAGE_KEY);
  const list = token ? cachedList(tokenTag(token)) : null;
  if (overlayPathFor(location.pathname, list, cfg.routes)) pend();
}

export function onRouteDidUpdate({ location }: { location: { pathname: string } }): void {
  if (!cfg) return;
  const run = ++generation;
  personalize(location.pathname, run)
    .catch(() => undefined) // server down, network error: the shared page stays
    .finally(() => {
      if (run === generation) unpend();
    });
}
