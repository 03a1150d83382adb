/** Pure request routing: method + URL → what to do. The HTTP layer only executes it. */
import { PfsError, type ErrorCode } from "../errors/index.js";
import { readerRoute, type ReaderRoute } from "./reader-routes.js";

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
  | { op: "audit"; query: Record<string, string> }
  | { op: "verify" }
  | ReaderRoute;

function badUrl(message: string): never {
  throw new PfsError("INVALID_ARGUMENT", message);
}

/** Percent-decoding that refuses malformed escapes and invalid UTF-8 (`%E0%A4%A`, overlong `%C0%AE`) as bad input. */
export function strictDecode(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return badUrl(`Malformed percent-encoding in the URL near ${JSON.stringify(raw.slice(0, 64))}.`);
  }
}

/**
 * Query parameters, decoded strictly. A key given twice is refused: one request, one meaning.
 */
function parseQuery(raw: string): Record<string, string> {
  const q: Record<string, string> = {};
  for (const part of raw.split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const key = strictDecode((eq < 0 ? part : part.slice(0, eq)).replace(/\+/g, " "));
    const value = eq < 0 ? "" : strictDecode(part.slice(eq + 1).replace(/\+/g, " "));
    if (Object.hasOwn(q, key)) badUrl(`Query parameter "${key}" is given more than once.`);
    q[key] = value;
  }
  return q;
}

/**
 * Path segments of the raw request target, decoded one by one. Anything that would let two URLs name one
 * file is refused rather than normalised: an encoded or raw separator inside a segment, a backslash, an
 * empty segment (double slash) and `.`/`..` segments (also when encoded).
 */
function pathSegments(rawPath: string): string[] {
  if (!rawPath.startsWith("/")) badUrl("The request path must start with /.");
  if (rawPath.includes("\\")) badUrl("Backslashes are not allowed in URLs; use / between path segments.");
  const raw = rawPath.slice(1).split("/");
  return raw.map((seg, i) => {
    const decoded = strictDecode(seg);
    if (decoded === "" && !(i === raw.length - 1 && raw.length === 1)) badUrl("Empty path segments (//, or a trailing /) are not allowed.");
    if (/[/\\]/.test(decoded)) badUrl(`Path segment ${JSON.stringify(decoded)} holds an encoded separator (%2f or %5c); one URL per file.`);
    if (decoded === "." || decoded === "..") badUrl("'.' and '..' segments are not allowed in URLs; one URL per file.");
    return decoded;
  });
}

export function route(method: string, rawUrl: string): Route {
  const qAt = rawUrl.indexOf("?");
  const rawPath = qAt < 0 ? rawUrl : rawUrl.slice(0, qAt);
  const q = parseQuery(qAt < 0 ? "" : rawUrl.slice(qAt + 1));
  const segments = pathSegments(rawPath);
  const pathname = `/${segments.join("/")}`;
  if (q.user === "") badUrl("user= is empty: leave it out for the shared book, or name the user.");
  const userId = q.user;
  if (pathname === "/healthz" && method === "GET") return { op: "health" };
  if (pathname === "/metrics" && method === "GET") return { op: "metrics" };
  if (pathname === "/v1/audit" && method === "GET") return { op: "audit", query: q };
  if (pathname === "/v1/admin/verify" && method === "GET") return { op: "verify" };
  if (segments[0] === "v1" && segments[1] === "reader") return readerRoute(method, segments);
  const [v1, books, bookId, what, ...rest] = segments;
  if (v1 !== "v1" || books !== "books" || !bookId || !what || !["files", "snapshot", "plan", "archive"].includes(what)) {
    throw new PfsError("NOT_FOUND", `No such endpoint: ${method} ${pathname}`);
  }
  if (what === "files" && rest.length > 0) {
    const path = rest.join("/");
    if (method === "GET") return { op: "read", bookId, path, userId };
    if (method === "PUT") return { op: "write", bookId, path, userId };
    if (method === "DELETE") return { op: "delete", bookId, path, userId };
  }
  if (rest.length === 0 && method === "GET") {
    if (what === "files") return { op: "list", bookId, prefix: q.prefix || undefined, userId };
    if (what === "snapshot") return { op: "snapshot", bookId, userId };
    if (what === "plan") return { op: "plan", bookId, targetManifestHash: q.target || undefined };
    if (what === "archive") return { op: "archive", bookId, scope: q.scope ?? "all", userId };
  }
  throw new PfsError("NOT_FOUND", `No such endpoint: ${method} ${pathname}`);
}

const STATUS: Record<ErrorCode, number> = {
  INVALID_PATH: 400,
  SCHEMA_VIOLATION: 400,
  INVALID_CONTENT: 400,
  UNSAFE_CONTENT: 422,
  INVALID_ARGUMENT: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  HASH_REQUIRED: 428,
  INTEGRITY_ERROR: 500,
  STORAGE_UNAVAILABLE: 503,
  JOURNAL_UNAVAILABLE: 503,
  RATE_LIMITED: 429,
};

export function httpStatus(code: ErrorCode): number {
  return STATUS[code];
}

/** `If-Match: "<hash>"` (quotes optional; `*` is not a hash) → expectedHash. */
export function expectedHashFrom(ifMatch: string | undefined): string | undefined {
  if (ifMatch === undefined || ifMatch === "") return undefined;
  return ifMatch.trim().replace(/^W\//, "").replace(/^"(.*)"$/, "$1");
}
