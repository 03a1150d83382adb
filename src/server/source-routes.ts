/**
 * The routes a build's HTTP book source reads (docs/plugin-sources.md): the load plan of one book with
 * the overlays of the build's users, and one object by hash. A token that may read the book (and those
 * users' overlays) is enough; objects are served only when the book references them, so a token for
 * one book cannot read another book's content by guessing hashes.
 *
 *   GET /v1/books/<book>/load-plan?target=<manifest hash>&users=<a>,<b>
 *   GET /v1/books/<book>/objects/<sha256>?users=<a>,<b>
 */
import type { ServerResponse } from "node:http";
import type { Readable } from "node:stream";
import { PfsError } from "../errors/index.js";
import type { Store } from "../store/store.js";
import type { Action } from "./scopes.js";
import { strictDecode } from "./routes.js";

export type SourceRoute =
  | { op: "load-plan"; bookId: string; targetManifestHash?: string; userIds: string[] }
  | { op: "object"; bookId: string; hash: string; userIds: string[] };

/** RFC 9530 `Repr-Digest` of a hex SHA-256. */
export function reprDigest(hexHash: string): string {
  return `sha-256=:${Buffer.from(hexHash, "hex").toString("base64")}:`;
}

/** Pure: the source route this request names, or null when it is not one (the usual routing goes on). */
export function sourceRoute(method: string, rawUrl: string): SourceRoute | null {
  const qAt = rawUrl.indexOf("?");
  const segments = (qAt < 0 ? rawUrl : rawUrl.slice(0, qAt)).split("/");
  const [empty, v1, books, rawBook, what, rawHash, ...rest] = segments;
  if (empty !== "" || v1 !== "v1" || books !== "books" || rawBook === undefined) return null;
  const shape = what === "load-plan" ? rawHash === undefined : what === "objects" ? rawHash !== undefined && rest.length === 0 : false;
  if (!shape || method !== "GET") return null;
  const q = new Map<string, string>();
  for (const part of (qAt < 0 ? "" : rawUrl.slice(qAt + 1)).split("&").filter(Boolean)) {
    const eq = part.indexOf("=");
    const key = strictDecode(eq < 0 ? part : part.slice(0, eq));
    if (q.has(key)) throw new PfsError("INVALID_ARGUMENT", `Query parameter "${key}" is given more than once.`);
    q.set(key, eq < 0 ? "" : strictDecode(part.slice(eq + 1)));
  }
  const users = q.get("users");
  const userIds = users === undefined || users === "" ? [] : users.split(",");
  const bookId = strictDecode(rawBook);
  if (what === "load-plan") return { op: "load-plan", bookId, targetManifestHash: q.get("target") || undefined, userIds };
  return { op: "object", bookId, hash: strictDecode(rawHash!), userIds };
}

/** What the token must be allowed: plan (or read) the book, and read each named user's overlays. */
export function sourceActions(r: SourceRoute): Action[] {
  const book: Action = r.op === "load-plan" ? { op: "plan", bookId: r.bookId } : { op: "read", bookId: r.bookId };
  return [book, ...r.userIds.map((userId): Action => ({ op: "read", bookId: r.bookId, userId }))];
}

/** Answers an authorized source route. Bad ids and hashes are refused by the store (400) before any I/O. */
export async function serveSource(store: Store, r: SourceRoute, res: ServerResponse): Promise<void> {
  if (r.op === "load-plan") {
    const plan = await store.planLoad({ bookId: r.bookId, targetManifestHash: r.targetManifestHash, userIds: r.userIds });
    const text = JSON.stringify(plan);
    res.writeHead(200, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text) });
    res.end(text);
    return;
  }
  const object = await store.openObject({ hash: r.hash, bookId: r.bookId, users: r.userIds });
  res.writeHead(200, {
    "content-type": "application/octet-stream",
    ...(object.size !== undefined ? { "content-length": object.size } : {}),
    etag: `"${r.hash}"`,
    "repr-digest": reprDigest(r.hash),
    // Content-addressed: the bytes of a hash never change.
    "cache-control": "private, max-age=31536000, immutable",
  });
  await sendBody(object.stream, res);
}

/**
 * `body.pipe(res)`, settled when the response has finished. Not stream/promises' pipeline: per call it
 * makes an AbortController and aborts it at the end (a DOMException with a stack trace each time), which
 * showed up in the profile of a cold load's thousands of small objects. A body that fails mid-way (e.g.
 * bytes that do not match their hash) cuts the connection: a client never mistakes it for a whole one.
 */
function sendBody(body: Readable, res: ServerResponse): Promise<void> {
  return new Promise((resolve, reject) => {
    body.once("error", (err) => {
      res.destroy(err);
      reject(err);
    });
    res.once("close", () => {
      if (res.writableFinished) return resolve();
      body.destroy();
      reject(Object.assign(new Error("The client went away before the object was sent."), { code: "ERR_STREAM_PREMATURE_CLOSE" }));
    });
    body.pipe(res);
  });
}
