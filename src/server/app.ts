/**
 * The agent-facing HTTP server: the store's operations over HTTP, with the acting agent taken from the
 * caller's bearer token. Routing and status mapping are pure (routes.ts); this file only does I/O.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { PassThrough } from "node:stream";
import { pipeline } from "node:stream/promises";
import { PfsError, isPfsError } from "../errors/index.js";
import { parsePath } from "../paths/index.js";
import type { Store } from "../store/store.js";
import type { ArchiveScope } from "../store/archive.js";
import type { AuditQuery } from "../store/audit-query.js";
import { agentFor, type TokenTable } from "./auth.js";
import { expectedHashFrom, httpStatus, route, type Route } from "./routes.js";

export interface ServerOptions {
  store: Store;
  tokens: TokenTable;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, null, 2);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function sendError(res: ServerResponse, err: unknown): void {
  const error = isPfsError(err) ? err : new PfsError("JOURNAL_UNAVAILABLE", "The server failed unexpectedly; see its log.");
  if (!isPfsError(err)) console.error(err);
  if (res.headersSent) {
    res.destroy(error);
    return;
  }
  sendJson(res, httpStatus(error.code), { error: error.toJSON() });
}

function auditQuery(q: Record<string, string>): AuditQuery {
  const { limit, status, ...rest } = q;
  return { ...rest, status: status as AuditQuery["status"], limit: limit === undefined ? undefined : Number(limit) };
}

async function handle(opts: ServerOptions, r: Route, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { store } = opts;
  switch (r.op) {
    case "health":
      return sendJson(res, 200, { ok: true });
    case "metrics": {
      const text = await store.metrics();
      res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
      res.end(text);
      return;
    }
  }
  const agentId = agentFor(opts.tokens, req.headers.authorization);
  switch (r.op) {
    case "list":
      return sendJson(res, 200, await store.list({ bookId: r.bookId, prefix: r.prefix, userId: r.userId }));
    case "snapshot":
      return sendJson(res, 200, await store.snapshot({ bookId: r.bookId, userId: r.userId }));
    case "plan":
      return sendJson(res, 200, await store.planBuild({ bookId: r.bookId, targetManifestHash: r.targetManifestHash }));
    case "audit":
      return sendJson(res, 200, await store.audit(auditQuery(r.query)));
    case "read": {
      const file = await store.readStream({ bookId: r.bookId, path: r.path, userId: r.userId });
      const markdown = parsePath(file.path).isContent;
      res.writeHead(200, {
        "content-type": markdown ? "text/markdown; charset=utf-8" : "application/octet-stream",
        "content-length": file.size,
        etag: `"${file.hash}"`,
        "x-pfs-source": file.source,
      });
      await pipeline(file.stream, res);
      return;
    }
    case "write": {
      const expectedHash = expectedHashFrom(req.headers["if-match"]);
      // Through a PassThrough: if the store refuses early and drops the body, the socket stays usable for the answer.
      const content = req.pipe(new PassThrough());
      const result = await store.write({ bookId: r.bookId, path: r.path, userId: r.userId, content, expectedHash, agentId });
      return sendJson(res, result.mode === "created" ? 201 : 200, result);
    }
    case "delete": {
      const expectedHash = expectedHashFrom(req.headers["if-match"]);
      return sendJson(res, 200, await store.delete({ bookId: r.bookId, path: r.path, userId: r.userId, expectedHash, agentId }));
    }
    case "archive": {
      const archive = store.archive({ bookId: r.bookId, scope: r.scope as ArchiveScope, userId: r.userId });
      res.writeHead(200, {
        "content-type": "application/zip",
        "content-disposition": `attachment; filename="${r.bookId}-${r.scope}.zip"`,
      });
      await pipeline(archive, res);
      return;
    }
  }
}

export function createPfsServer(opts: ServerOptions): Server {
  return createServer((req, res) => {
    let r: Route;
    try {
      r = route(req.method ?? "GET", req.url ?? "/");
    } catch (err) {
      return sendError(res, err);
    }
    handle(opts, r, req, res).catch((err) => sendError(res, err));
  });
}
