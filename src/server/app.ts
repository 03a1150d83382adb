/**
 * The agent-facing HTTP server: the store's operations over HTTP, with the acting agent and what it may
 * do taken from the caller's bearer token. Routing, status mapping and authorization are pure
 * (routes.ts, scopes.ts); this file only does I/O.
 */
import { DEFAULT_MAX_CONNECTIONS } from "./limits.js";
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { pipeline } from "node:stream/promises";
import { PfsError } from "../errors/index.js";
import { BASE_USER, parsePath } from "../paths/index.js";
import type { Store } from "../store/store.js";
import type { ArchiveScope } from "../store/archive.js";
import type { AuditQuery } from "../store/audit-query.js";
import { scopeFor, type TokenTable } from "./auth.js";
import { authorize, seesUser, visibleUsers, type Action, type Scope } from "./scopes.js";
import { closeIfBodyUnread, destroyWhenStalled, requestBody } from "./connection-hygiene.js";
import { refuse, refusalBuckets, type RefusalLimits } from "./refusals.js";
import { ConcurrencyLimit, type TokenBuckets } from "./rate-limit.js";
import { clientError, logLine } from "./errors.js";
import { mimeTypeOf } from "../paths/media-types.js";
import { expectedHashFrom, httpStatus, route, type Route } from "./routes.js";
import { corsFor } from "./cors.js";
import type { ReaderVerifier } from "./oidc.js";
import { RenderCache } from "./render-overlay.js";
import { handleReader, type ReaderContext } from "./reader-routes.js";
import { OverlayIndexCache } from "./overlay-index.js";
import { reprDigest, serveSource, sourceActions, sourceRoute, type SourceRoute } from "./source-routes.js";

export interface ServerOptions {
  store: Store;
  /** Read on every request: assigning a new table reloads the tokens (pfs serve does on SIGHUP). */
  tokens: TokenTable;
  /** Open connections at most (default 256); more are refused at once so descriptors stay free for real work. */
  maxConnections?: number;
  /** Time to receive a request's headers (default 30 s) and the whole request (default 15 min, large uploads). */
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** Serve /metrics on this server (default true); false when it has a listener of its own. */
  serveMetrics?: boolean;
  /** Reader sign-in (OpenID Connect) for the reader routes; absent → those routes answer 404. */
  readers?: ReaderVerifier;
  /** Site origins allowed to call the reader routes from a browser (CORS; never `*`). */
  corsOrigins?: readonly string[];
  /** Where server-side error lines go (default console.error). */
  log?: (line: string) => void;
  /** Archives running at once per token (default 2) and in all (default 8); more get 429 RATE_LIMITED. */
  archivesPerToken?: number;
  archivesTotal?: number;
  /** An archive whose client reads nothing for this long is cut and its spool freed (default 30 s). */
  archiveStallMs?: number;
  /** Refused calls per token: burst and refill (see refusals.ts). */
  refusals?: RefusalLimits;
}

/** Per-server state: the limits are in memory, one set per listener. */
interface Limits {
  refusals: TokenBuckets;
  archives: ConcurrencyLimit;
}

export { DEFAULT_MAX_CONNECTIONS };

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
      return null;
    case "metrics":
      return { op: "admin" };
    case "audit":
      return { op: "audit", bookId: r.query.bookId, userId: r.query.userId };
    case "plan":
      return { op: "plan", bookId: r.bookId };
    case "verify":
      return { op: "admin" };
    case "reader-list":
    case "reader-page":
      return null;
    case "write":
    case "delete":
      return { op: r.op, bookId: r.bookId, userId: r.userId, path: r.path };
    default:
      return { op: r.op, bookId: r.bookId, userId: r.userId };
  }
}

async function authorized(store: Store, limits: Limits, scope: Scope, r: Route, action: Action): Promise<void> {
  const decision = authorize(scope, action);
  if (!decision.ok) await refuse(store, limits.refusals, scope, action, decision, "path" in r ? r.path : undefined);
}

/** A book source's route (plan with overlays, object by hash): every action it needs must be allowed. */
async function handleSource(opts: ServerOptions, limits: Limits, r: SourceRoute, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const scope = scopeFor(opts.tokens, req.headers.authorization);
  for (const action of sourceActions(r)) await authorized(opts.store, limits, scope, { op: "plan", bookId: r.bookId }, action);
  await serveSource(opts.store, r, res);
}

async function handle(opts: ServerOptions, reader: ReaderContext, limits: Limits, r: Route, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { store } = opts;
  if (r.op === "health") return sendJson(res, 200, { ok: true });
  // Readers sign in with the site's OpenID Connect provider, not an agent token.
  if (r.op === "reader-list" || r.op === "reader-page") return handleReader(reader, r, req, res);
  if (r.op === "metrics" && opts.serveMetrics === false) throw new PfsError("NOT_FOUND", "Metrics are served on their own listener.");
  const scope = scopeFor(opts.tokens, req.headers.authorization);
  await authorized(store, limits, scope, r, actionOf(r)!);
  const agentId = scope.agentId;
  switch (r.op) {
    case "metrics": {
      // Book ids are label values: on the main listener only admin tokens see them.
      const text = await store.metrics();
      res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
      res.end(text);
      return;
    }
    case "list":
      return sendJson(res, 200, await store.list({ bookId: r.bookId, prefix: r.prefix, userId: r.userId }));
    case "snapshot":
      return sendJson(res, 200, await store.snapshot({ bookId: r.bookId, userId: r.userId }));
    case "plan":
      return sendJson(res, 200, await store.planBuild({ bookId: r.bookId, targetManifestHash: r.targetManifestHash }));
    case "audit": {
      // Entries about users outside the scope are left out in the query, so neither the page nor its cursor shows them.
      const page = await store.audit({ ...auditQuery(r.query), visibleUsers: visibleUsers(scope) });
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
      // A client that drops the upload fails this stream, so the store's write ends and cleans up at once.
      const content = requestBody(req);
      const result = await store.write({ bookId: r.bookId, path: r.path, userId: r.userId, content, expectedHash, agentId });
      reader.index.touched(r.bookId); // read-your-writes on this process; others follow within the index interval
      return sendJson(res, result.mode === "created" ? 201 : 200, result);
    }
    case "delete": {
      const expectedHash = expectedHashFrom(req.headers["if-match"]);
      const deleted = await store.delete({ bookId: r.bookId, path: r.path, userId: r.userId, expectedHash, agentId });
      reader.index.touched(r.bookId);
      return sendJson(res, 200, deleted);
    }
    case "archive": {
      const slot = limits.archives.acquire(agentId);
      if (!slot.ok) {
        const which = slot.limit === "per-token" ? `${limits.archives.perKey} per token` : `${limits.archives.total} in all`;
        throw new PfsError("RATE_LIMITED", `Too many archives at once (at most ${which}); retry when one has finished.`, { retryAfter: 5 });
      }
      res.once("close", slot.release);
      const archive = store.archive({ bookId: r.bookId, scope: r.scope as ArchiveScope, userId: r.userId });
      destroyWhenStalled(res, opts.archiveStallMs ?? 30_000);
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
  const secrets = Object.values(opts.store.descriptions());
  const { status, body, logged } = clientError(err, requestId, secrets, httpStatus);
  if (logged) (opts.log ?? console.error)(logLine(requestId, req.method, req.url, status, err));
  if (res.destroyed) return;
  if (res.headersSent) {
    // Mid-body: cut the connection so the client cannot mistake a partial body for a complete one.
    res.destroy();
    return;
  }
  closeIfBodyUnread(req, res);
  if (typeof body.retryAfter === "number") res.setHeader("retry-after", String(body.retryAfter));
  sendJson(res, status, { error: body });
}

export function createPfsServer(opts: ServerOptions): Server {
  const headersTimeout = opts.headersTimeoutMs ?? 30_000;
  // Kept apart from opts: SIGHUP swaps opts.tokens in place, and every request must see the new table.
  const reader: ReaderContext = { store: opts.store, verifier: opts.readers, cache: new RenderCache(), index: new OverlayIndexCache(opts.store) };
  const limits: Limits = {
    refusals: refusalBuckets(opts.refusals),
    archives: new ConcurrencyLimit(opts.archivesPerToken ?? 2, opts.archivesTotal ?? 8),
  };
  const server = createServer(
    // Timeouts are enforced on each check interval: a slow-header client is cut within 1.25 × headersTimeout (≤ +5 s).
    { headersTimeout, requestTimeout: opts.requestTimeoutMs ?? 15 * 60_000, connectionsCheckingInterval: Math.max(250, Math.min(5_000, headersTimeout / 4)) },
    (req, res) => {
      const requestId = randomUUID();
      res.setHeader("x-request-id", requestId);
      const cors = corsFor(req.method ?? "GET", req.url ?? "/", req.headers.origin, opts.corsOrigins ?? []);
      for (const [name, value] of Object.entries(cors.headers)) res.setHeader(name, value);
      if (cors.preflight) return void res.writeHead(204).end();
      let r: Route;
      try {
        const source = sourceRoute(req.method ?? "GET", req.url ?? "/");
        if (source) return void handleSource(opts, limits, source, req, res).catch((err) => sendError(opts, req, res, requestId, err));
        r = route(req.method ?? "GET", req.url ?? "/");
      } catch (err) {
        return sendError(opts, req, res, requestId, err);
      }
      handle(opts, reader, limits, r, req, res).catch((err) => sendError(opts, req, res, requestId, err));
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
