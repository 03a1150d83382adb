/**
 * The reader endpoints of `pfs serve` (DESIGN 4.10), for a signed-in reader's browser:
 *
 *   GET /v1/reader/books/<book>/overlays          the pages of the book where the reader has an overlay
 *   GET /v1/reader/books/<book>/overlays/<path>   one overlay, rendered to sanitized HTML
 *
 * Only the reader's own overlays, never a base page nor another user's overlay. Both answers carry an
 * ETag (a hash of what they hold) and honour If-None-Match, so a browser revalidates with a 304.
 * Per request: a verified-token lookup (the signature is checked once per token, oidc.ts) and a lookup in
 * the book's overlay index (overlay-index.ts), which asks the journal at most once per book per interval;
 * the journal is read per request only to render a content hash this process has not rendered yet. The
 * per-process caches hold nothing another process could disagree with for longer than that interval: the
 * index is labelled with the book's chain sequence, renders are keyed by content hash.
 */
import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { PfsError } from "../errors/index.js";
import { assertBookId, parsePath } from "../paths/index.js";
import type { Store } from "../store/store.js";
import type { ReaderVerifier } from "./oidc.js";
import type { OverlayIndexCache, UserPages } from "./overlay-index.js";
import { RENDERER_VERSION, renderOverlay, type RenderCache } from "./render-overlay.js";

export type ReaderRoute = { op: "reader-list"; bookId: string } | { op: "reader-page"; bookId: string; path: string };

export interface ReaderContext {
  store: Store;
  verifier?: ReaderVerifier;
  cache: RenderCache;
  index: OverlayIndexCache;
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

/** Pure: the pages a reader has overlays for, sorted by path (byte order). */
export function overlayPages(pages: UserPages): { path: string; hash: string }[] {
  return [...pages].map(([path, hash]) => ({ path, hash })).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
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

/** The signed-in reader; a refusal (401/403) is counted in panaversityfs_refused_total, never audited (anyone can send one). */
async function signedIn(ctx: ReaderContext, r: ReaderRoute, req: IncomingMessage): Promise<string> {
  try {
    return (await ctx.verifier!.verify(req.headers.authorization)).userId;
  } catch (err) {
    if (err instanceof PfsError) ctx.store.countRefused(r.op, err.code);
    throw err;
  }
}

/** Answers one reader request; the caller maps a thrown PfsError to its status. */
export async function handleReader(ctx: ReaderContext, r: ReaderRoute, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (!ctx.verifier) throw new PfsError("NOT_FOUND", "Reader sign-in is not configured on this server (start it with --oidc-issuer and --oidc-audience).");
  const userId = await signedIn(ctx, r, req);
  if (r.op === "reader-list") {
    const pages = overlayPages(await ctx.index.pages(r.bookId, userId));
    const digest = createHash("sha256").update(JSON.stringify(pages)).digest("hex").slice(0, 32);
    return send(req, res, `"l-${digest}"`, () => ({ bookId: r.bookId, userId, overlays: pages }));
  }
  const parsed = parsePath(r.path);
  if (!parsed.isContent) throw new PfsError("NOT_FOUND", "Only markdown pages have overlays.");
  const indexed = (await ctx.index.pages(r.bookId, userId)).get(parsed.path);
  if (!indexed) throw new PfsError("NOT_FOUND", `You have no overlay of ${r.path} in ${r.bookId}.`, { path: r.path });
  if (etagMatches(req.headers["if-none-match"], `"${RENDERER_VERSION}-${indexed}"`)) return send(req, res, `"${RENDERER_VERSION}-${indexed}"`, () => null);
  let hash = indexed;
  let rendered = ctx.cache.get(hash);
  if (!rendered) {
    // A verified read (size + SHA-256 against the journal). It may be newer than the index: use its own hash.
    const file = await ctx.store.read({ bookId: r.bookId, path: parsed.path, userId });
    if (file.source !== "overlay") throw new PfsError("NOT_FOUND", `You have no overlay of ${r.path} in ${r.bookId}.`, { path: r.path });
    hash = file.hash;
    rendered = ctx.cache.get(hash) ?? renderOverlay(file.content.toString("utf8"));
    ctx.cache.set(hash, rendered);
  }
  const done = rendered;
  return send(req, res, `"${RENDERER_VERSION}-${hash}"`, () => ({ bookId: r.bookId, path: parsed.path, hash, title: done.title ?? null, html: done.html }));
}
