/**
 * CORS for the reader routes only (DESIGN 4.10): the book's site calls `pfs serve` from readers' browsers.
 * Exactly the configured origins are allowed (never `*`), credentials are not (the token rides in the
 * Authorization header, not in cookies), and agent routes never answer cross-origin.
 */
import { PfsError } from "../errors/index.js";

export const READER_PREFIX = "/v1/reader/";

/** Pure: checks `--cors-origin` values (scheme://host[:port], no path, no wildcard). */
export function checkOrigins(origins: readonly string[]): string[] {
  return origins.map((o) => {
    let url: URL;
    try {
      url = new URL(o);
    } catch {
      throw new PfsError("INVALID_ARGUMENT", `--cors-origin ${JSON.stringify(o)} is not an origin like https://book.example.com.`);
    }
    if (!["http:", "https:"].includes(url.protocol) || url.origin !== o.replace(/\/$/, "")) {
      throw new PfsError("INVALID_ARGUMENT", `--cors-origin ${JSON.stringify(o)} must be exactly scheme://host[:port] (no path, no "*").`);
    }
    return url.origin;
  });
}

export interface CorsDecision {
  /** Headers to add to the answer (empty when the origin is not allowed or the route is not a reader route). */
  headers: Record<string, string>;
  /** A preflight we answer ourselves (204) without routing. */
  preflight: boolean;
}

/** Pure: what to answer for this method, path and Origin header. */
export function corsFor(method: string, rawUrl: string, origin: string | undefined, allowed: readonly string[]): CorsDecision {
  const reader = rawUrl.startsWith(READER_PREFIX);
  const ok = reader && origin !== undefined && allowed.includes(origin);
  const preflight = reader && method === "OPTIONS";
  if (!ok) return { headers: reader ? { vary: "Origin" } : {}, preflight };
  const headers: Record<string, string> = {
    "access-control-allow-origin": origin,
    "access-control-expose-headers": "ETag, X-Request-Id",
    vary: "Origin",
  };
  if (preflight) {
    headers["access-control-allow-methods"] = "GET";
    headers["access-control-allow-headers"] = "Authorization, If-None-Match";
    headers["access-control-max-age"] = "600";
  }
  return { headers, preflight };
}
