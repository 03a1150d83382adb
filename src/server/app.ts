/**
 * The agent-facing HTTP server: the store's operations over HTTP, with the acting agent and what it may
 * do taken from the caller's bearer token. Routing, status mapping and authorization are pure
 * (routes.ts, scopes.ts); this file only does I/O.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { PassThrough } from "node:stream";
import { pipeline } from "node:stream/promises";
import { PfsError, isPfsError } from "../errors/index.js";
import { BASE_USER, parsePath } from "../paths/index.js";
import type { Store } from "../store/store.js";
import type { ArchiveScope } from "../store/archive.js";
import type { AuditQuery } from "../store/audit-query.js";
import { scopeFor, type TokenTable } from "./auth.js";
import { authorize, seesUser, type Action, type Scope } from "./scopes.js";
import { clientError, logLine } from "./errors.js";
import { mimeTypeOf } from "./mime.js";
import { expectedHashFrom, httpStatus, route, type Route } from "./routes.js";
import { reprDigest, serveSource, sourceActions, sourceRoute, type SourceRoute } from "./source-routes.js";

export interface ServerOptions {
  store: Store;
  tokens: TokenTable;
  /** Open connections at most (default 256); more are refused at once so descriptors stay free for real work. */
  maxConnections?: number;
  /** Time to receive a request's headers (default 30 s) and the whole request (default 15 min, large uploads). */
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** Serve /metrics on this server (default true); false when it has a listener of its own. */
  serveMetrics?: boolean;
  /** Where server-side error lines go (default console.error). */
  log?: (line: string) => void;
}

export const DEFAULT_MAX_CONNECTIONS = 256;

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, null, 2);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

export { reprDigest } from "./source-routes.js";

function auditQuery(q: Record<string, string>): AuditQuery {
  const { limit, status, ...rest } = q;
  return { ...rest, status: status as AuditQuery["status"], limit: limit === undefined ? undefined : Number(limit) };
}

/** The authorization question a route asks, or null for routes that need no token. */
function actionOf(r: Route): Action | null {
  switch (r.op) {
    case "health":
    case "metrics":
      return null;
    case "audit":
      return { op: "audit", bookId: r.query.bookId, userId: r.query.userId };
    case "plan":
      return { op: "plan", bookId: r.bookId };
    case "verify":
      return { op: "admin" };
    case "write":
    case "delete":
      return { op: r.op, bookId: r.bookId, userId: r.userId, path: r.path };
    default:
      return { op: r.op, bookId: r.bookId, userId: r.userId };
  }
}

async function authorized(store: Store, scope: Scope, r: Route, action: Action): Promise<void> {
  const decision = authorize(scope, action);
  if (decision.ok) return;
  const error = new PfsError("FORBIDDEN", decision.message, { scope: decision.scope });
  const bookId = "bookId" in action ? action.bookId : undefined;
  if (bookId !== undefined) {
    const path = "path" in r ? r.path : undefined;
    await store.recordRefused({ operation: r.op, bookId, path, userId: "userId" in action ? action.userId : undefined, agentId: scope.agentId }, error);
  }
  throw error;
}

/** A book source's route (plan with overlays, object by hash): every action it needs must be allowed. */
async function handleSource(opts: ServerOptions, r: SourceRoute, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const scope = scopeFor(opts.tokens, req.headers.authorization);
  for (const action of sourceActions(r)) await authorized(opts.store, scope, { op: "plan", bookId: r.bookId }, action);
  await serveSource(opts.store, r, res);
}

async function handle(opts: ServerOptions, r: Route, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { store } = opts;
  switch (r.op) {
    case "health":
      return sendJson(res, 200, { ok: true });
    case "metrics": {
      if (opts.serveMetrics === false) throw new PfsError("NOT_FOUND", "Metrics are served on their own listener.");
      const text = await store.metrics();
      res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
      res.end(text);
      return;
    }
  }
  const scope = scopeFor(opts.tokens, req.headers.authorization);
  await authorized(store, scope, r, actionOf(r)!);
  const agentId = scope.agentId;
  switch (r.op) {
    case "list":
      return sendJson(res, 200, await store.list({ bookId: r.bookId, prefix: r.prefix, userId: r.userId }));
    case "snapshot":
      return sendJson(res, 200, await store.snapshot({ bookId: r.bookId, userId: r.userId }));
    case "plan":
      return sendJson(res, 200, await store.planBuild({ bookId: r.bookId, targetManifestHash: r.targetManifestHash }));
    case "audit": {
      const page = await store.audit(auditQuery(r.query));
      // Entries about users outside the scope are left out (the cursor still pages through everything).
      return sendJson(res, 200, { ...page, entries: page.entries.filter((e) => seesUser(scope, e.userId ?? BASE_USER)) });
    }
    case "verify":
      // Read-only: reports journal ↔ storage and audit-chain problems; repair and gc stay with the CLI.
      return sendJson(res, 200, await store.verify({}));
    case "read": {
      const file = await store.readStream({ bookId: r.bookId, path: r.path, userId: r.userId });
      const markdown = parsePath(file.path).isContent;
      res.writeHead(200, {
        "content-type": markdown ? "text/markdown; charset=utf-8" : mimeTypeOf(file.path),
        "content-length": file.size,
        etag: `"${file.hash}"`,
        "repr-digest": reprDigest(file.hash),
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

function sendError(opts: ServerOptions, req: IncomingMessage, res: ServerResponse, requestId: string, err: unknown): void {
  // The client went away mid-response: nothing to answer and nothing wrong on our side.
  if ((err as NodeJS.ErrnoException | null)?.code === "ERR_STREAM_PREMATURE_CLOSE") return void res.destroy();
  const secrets = [opts.store.ctx.journal.description, opts.store.ctx.blobs.storage.description];
  const { status, body, logged } = clientError(err, requestId, secrets, httpStatus);
  if (logged) (opts.log ?? console.error)(logLine(requestId, req.method, req.url, status, err));
  if (res.headersSent) {
    // Mid-body: cut the connection so the client cannot mistake a partial body for a complete one.
    res.destroy();
    return;
  }
  sendJson(res, status, { error: body });
}

export function createPfsServer(opts: ServerOptions): Server {
  const headersTimeout = opts.headersTimeoutMs ?? 30_000;
  const server = createServer(
    // Timeouts are enforced on each check interval: check often enough for the header timeout to mean something.
    { headersTimeout, requestTimeout: opts.requestTimeoutMs ?? 15 * 60_000, connectionsCheckingInterval: Math.max(250, Math.min(30_000, headersTimeout / 2)) },
    (req, res) => {
      const requestId = randomUUID();
      res.setHeader("x-request-id", requestId);
      let r: Route;
      try {
        const source = sourceRoute(req.method ?? "GET", req.url ?? "/");
        if (source) return void handleSource(opts, source, req, res).catch((err) => sendError(opts, req, res, requestId, err));
        r = route(req.method ?? "GET", req.url ?? "/");
      } catch (err) {
        return sendError(opts, req, res, requestId, err);
      }
      handle(opts, r, req, res).catch((err) => sendError(opts, req, res, requestId, err));
    },
  );
  server.maxConnections = opts.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  return server;
}

/** A listener that serves only /metrics (for `--metrics-listen`, so metrics need not be public). */
export function createMetricsServer(store: Store): Server {
  return createServer((req, res) => {
    if (req.method === "GET" && (req.url ?? "").split("?")[0] === "/metrics") {
      void store.metrics().then((text) => {
        res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
        res.end(text);
      });
      return;
    }
    sendJson(res, 404, { error: { code: "NOT_FOUND", message: "Only GET /metrics is served here." } });
  });
}
