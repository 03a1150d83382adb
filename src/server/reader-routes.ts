/**
 * The reader endpoints of `pfs serve` (DESIGN 4.10), for a signed-in reader's browser:
 *
 *   GET /v1/reader/books/<book>/overlays          the pages of the book where the reader has an overlay
 *   GET /v1/reader/books/<book>/overlays/<path>   one overlay, rendered to sanitized HTML
 *
 * Only the reader's own overlays, never a base page nor another user's overlay. Both answers carry an
 * ETag (a hash of what they hold) and honour If-None-Match, so a browser revalidates with a 304. Nothing
 * here is per-process state except the render cache, which is keyed by content hash (safe behind a load
 * balancer: every process renders a hash to the same HTML).
 */
import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { PfsError } from "../errors/index.js";
import { assertBookId, parsePath } from "../paths/index.js";
import type { Store } from "../store/store.js";
import type { ReaderVerifier } from "./oidc.js";
import { RENDERER_VERSION, renderOverlay, type RenderCache } from "./render-overlay.js";

export type ReaderRoute = { op: "reader-list"; bookId: string } | { op: "reader-page"; bookId: string; path: string };

export interface ReaderContext {
  store: Store;
  verifier?: ReaderVerifier;
  cache: RenderCache;
}

/** Pure: `/v1/reader/books/<book>/overlays[/<path>]` (segments already decoded and checked) → the route. */
export function readerRoute(method: string, segments: readonly string[]): ReaderRoute {
  const [, , books, bookId, what, ...rest] = segments;
  if (method !== "GET" || books !== "books" || !bookId || what !== "overlays") {
    throw new PfsError("NOT_FOUND", `No such endpoint: ${method} /${segments.join("/")}`);
  }
  assertBookId(bookId);
  if (rest.length === 0) return { op: "reader-list", bookId };
  return { op: "reader-page", bookId, path: rest.join("/") };
}

/** Pure: does this If-None-Match header name the ETag? (`*` and lists included.) */
export function etagMatches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch.split(",").some((t) => {
    const tag = t.trim().replace(/^W\//, "");
    return tag === "*" || tag === etag;
  });
}

/** Pure: the pages a reader has overlays for (markdown pages, not summaries), sorted by path. */
export function overlayPages(entries: readonly { path: string; hash: string; userId: string; kind: string }[], userId: string): { path: string; hash: string }[] {
  return entries
    .filter((e) => e.userId === userId && e.kind !== "asset" && e.kind !== "summary")
    .map((e) => ({ path: e.path, hash: e.hash }))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function send(req: IncomingMessage, res: ServerResponse, etag: string, body: () => unknown): void {
  const headers = { etag, "cache-control": "private, no-cache", vary: "Authorization, Origin" };
  if (etagMatches(req.headers["if-none-match"], etag)) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  const text = JSON.stringify(body());
  res.writeHead(200, { ...headers, "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

async function pageOf(ctx: ReaderContext, bookId: string, path: string, userId: string): Promise<{ path: string; hash: string } | undefined> {
  // One indexed journal query (the path as prefix), no object read: enough for a 304 and for a cache hit.
  const entries = await ctx.store.list({ bookId, prefix: path, userId, kind: "content" });
  return overlayPages(entries, userId).find((e) => e.path === path);
}

/** Answers one reader request; the caller maps a thrown PfsError to its status. */
export async function handleReader(ctx: ReaderContext, r: ReaderRoute, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (!ctx.verifier) throw new PfsError("NOT_FOUND", "Reader sign-in is not configured on this server (start it with --oidc-issuer and --oidc-audience).");
  const { userId } = await ctx.verifier.verify(req.headers.authorization);
  if (r.op === "reader-list") {
    const pages = overlayPages(await ctx.store.list({ bookId: r.bookId, userId, kind: "content" }), userId);
    const digest = createHash("sha256").update(JSON.stringify(pages)).digest("hex").slice(0, 32);
    return send(req, res, `"l-${digest}"`, () => ({ bookId: r.bookId, userId, overlays: pages }));
  }
  const parsed = parsePath(r.path);
  if (!parsed.isContent) throw new PfsError("NOT_FOUND", "Only markdown pages have overlays.");
  const page = await pageOf(ctx, r.bookId, r.path, userId);
  if (!page) throw new PfsError("NOT_FOUND", `You have no overlay of ${r.path} in ${r.bookId}.`, { path: r.path });
  if (etagMatches(req.headers["if-none-match"], `"${RENDERER_VERSION}-${page.hash}"`)) return send(req, res, `"${RENDERER_VERSION}-${page.hash}"`, () => null);
  let { hash } = page;
  let rendered = ctx.cache.get(hash);
  if (!rendered) {
    // A verified read (size + SHA-256 against the journal). It may be newer than the listing: use its own hash.
    const file = await ctx.store.read({ bookId: r.bookId, path: r.path, userId });
    if (file.source !== "overlay") throw new PfsError("NOT_FOUND", `You have no overlay of ${r.path} in ${r.bookId}.`, { path: r.path });
    hash = file.hash;
    rendered = ctx.cache.get(hash) ?? renderOverlay(file.content.toString("utf8"));
    ctx.cache.set(hash, rendered);
  }
  const done = rendered;
  return send(req, res, `"${RENDERER_VERSION}-${hash}"`, () => ({ bookId: r.bookId, path: r.path, hash, title: done.title ?? null, html: done.html }));
}
