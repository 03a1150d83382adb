/** Pure request routing: method + URL → what to do. The HTTP layer only executes it. */
import { PfsError, type ErrorCode } from "../errors/index.js";

export type Route =
  | { op: "health" }
  | { op: "metrics" }
  | { op: "list"; bookId: string; prefix?: string; userId?: string }
  | { op: "read"; bookId: string; path: string; userId?: string }
  | { op: "write"; bookId: string; path: string; userId?: string }
  | { op: "delete"; bookId: string; path: string; userId?: string }
  | { op: "snapshot"; bookId: string; userId?: string }
  | { op: "plan"; bookId: string; targetManifestHash?: string }
  | { op: "archive"; bookId: string; scope: string; userId?: string }
  | { op: "audit"; query: Record<string, string> };

export function route(method: string, rawUrl: string): Route {
  const url = new URL(rawUrl, "http://localhost");
  const q = Object.fromEntries(url.searchParams);
  const userId = q.user || undefined;
  if (url.pathname === "/healthz" && method === "GET") return { op: "health" };
  if (url.pathname === "/metrics" && method === "GET") return { op: "metrics" };
  if (url.pathname === "/v1/audit" && method === "GET") return { op: "audit", query: q };
  const m = /^\/v1\/books\/([^/]+)\/(files|snapshot|plan|archive)(?:\/(.*))?$/.exec(url.pathname);
  if (!m) throw new PfsError("NOT_FOUND", `No such endpoint: ${method} ${url.pathname}`);
  const bookId = decodeURIComponent(m[1]!);
  const [, , what, rest] = m;
  if (what === "files" && rest) {
    // Decode each segment on its own: an encoded '/' must not become a separator unnoticed.
    const path = rest.split("/").map(decodeURIComponent).join("/");
    if (method === "GET") return { op: "read", bookId, path, userId };
    if (method === "PUT") return { op: "write", bookId, path, userId };
    if (method === "DELETE") return { op: "delete", bookId, path, userId };
  }
  if (what === "files" && !rest && method === "GET") return { op: "list", bookId, prefix: q.prefix || undefined, userId };
  if (what === "snapshot" && !rest && method === "GET") return { op: "snapshot", bookId, userId };
  if (what === "plan" && !rest && method === "GET") return { op: "plan", bookId, targetManifestHash: q.target || undefined };
  if (what === "archive" && !rest && method === "GET") return { op: "archive", bookId, scope: q.scope ?? "all", userId };
  throw new PfsError("NOT_FOUND", `No such endpoint: ${method} ${url.pathname}`);
}

const STATUS: Record<ErrorCode, number> = {
  INVALID_PATH: 400,
  SCHEMA_VIOLATION: 400,
  INVALID_CONTENT: 400,
  INVALID_ARGUMENT: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  HASH_REQUIRED: 428,
  INTEGRITY_ERROR: 500,
  STORAGE_UNAVAILABLE: 503,
  JOURNAL_UNAVAILABLE: 503,
};

export function httpStatus(code: ErrorCode): number {
  return STATUS[code];
}

/** `If-Match: "<hash>"` (quotes optional; `*` is not a hash) → expectedHash. */
export function expectedHashFrom(ifMatch: string | undefined): string | undefined {
  if (ifMatch === undefined || ifMatch === "") return undefined;
  return ifMatch.trim().replace(/^W\//, "").replace(/^"(.*)"$/, "$1");
}
