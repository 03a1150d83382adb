/**
 * The MCP face of the store, for AI agents: one tool per operation, over any MCP transport (the CLI
 * serves it on stdio). The acting agent and its scope are fixed when the server starts (from the
 * launcher's token or flags), never taken from a tool call; every tool checks the same scopes as HTTP.
 */
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { isPfsError } from "../errors/index.js";
import { BASE_USER, assertAgentId, parsePath } from "../paths/index.js";
import type { Store } from "../store/store.js";
import { authorize, fullScope, seesUser, visibleUsers, type Action, type Scope } from "./scopes.js";
import { mimeTypeOf } from "../paths/media-types.js";
import { refuse, refusalBuckets } from "./refusals.js";
import { clientError, logLine } from "./errors.js";
import { httpStatus } from "./routes.js";
import { randomUUID } from "node:crypto";

const bookId = z.string().describe("book id, e.g. python-book");
const path = z.string().describe("content/<NN-Part>/<NN-Chapter>/<NN-lesson>.md, its .summary.md, README.md intros, content/<name>.md, or static/(img|images|slides|videos|audio)/…");
const userId = z.string().optional().describe("a student's id: act on their personal overlay instead of the shared book");
const expectedHash = z.string().optional().describe("the hash you read; required to update or to delete safely");

/**
 * Results and PfsErrors as JSON text; an error keeps its code and current hash so the agent can retry right.
 * As over HTTP, a server-side failure shows the agent only its code and a request id; details go to stderr.
 */
function runner(store: Store, log: (line: string) => void) {
  const secrets = Object.values(store.descriptions());
  return async (fn: () => Promise<unknown>): Promise<CallToolResult> => {
    try {
      return { content: [{ type: "text", text: JSON.stringify(await fn(), null, 2) }] };
    } catch (err) {
      if (!isPfsError(err)) throw err;
      const requestId = randomUUID();
      const { status, body, logged } = clientError(err, requestId, secrets, httpStatus);
      if (logged) log(logLine(requestId, "MCP", "tool call", status, err));
      return { isError: true, content: [{ type: "text", text: JSON.stringify({ error: body }, null, 2) }] };
    }
  };
}

/** What every tool needs: the store, the runner, the fixed agent and its scope check. */
interface Tools {
  server: McpServer;
  store: Store;
  run: ReturnType<typeof runner>;
  /** Refuses a call outside the scope: audited within the token's books, counted otherwise, rate-limited (refusals.ts). */
  allow: (action: Action, path?: string) => Promise<void>;
  agentId: string;
  scope: Scope;
}

/** `agent` alone means full access (the pre-scope behaviour); pass a Scope to limit it. */
export function createMcpServer(store: Store, agent: string | Scope, log: (line: string) => void = console.error): McpServer {
  const scope = typeof agent === "string" ? fullScope(agent) : agent;
  const agentId = scope.agentId;
  assertAgentId(agentId);
  const refusals = refusalBuckets();
  const allow = async (action: Action, path?: string) => {
    const d = authorize(scope, action);
    if (!d.ok) await refuse(store, refusals, scope, action, d, path);
  };
  const server = new McpServer({ name: "panaversity-fs", version: "0.1.0" });
  const tools: Tools = { server, store, run: runner(store, log), allow, agentId, scope };
  registerWriteTools(tools);
  registerReadTools(tools);
  registerAuditTools(tools);
  return server;
}

/** Pure: a read as tool content: markdown as text; an asset as base64 with its mime type (image, audio or resource block). */
function readContent(r: Awaited<ReturnType<Store["read"]>>): CallToolResult {
  const meta = { path: r.path, hash: r.hash, source: r.source, size: r.size, writtenAt: r.writtenAt };
  if (parsePath(r.path).isContent) return { content: [{ type: "text", text: JSON.stringify({ ...meta, content: r.content.toString("utf8") }, null, 2) }] };
  const mimeType = mimeTypeOf(r.path);
  const data = r.content.toString("base64");
  const block = mimeType.startsWith("image/")
    ? { type: "image" as const, data, mimeType }
    : mimeType.startsWith("audio/")
      ? { type: "audio" as const, data, mimeType }
      : { type: "resource" as const, resource: { uri: `pfs://${r.path}`, mimeType, blob: data } };
  return { content: [{ type: "text", text: JSON.stringify({ ...meta, mimeType, encoding: "base64" }, null, 2) }, block] };
}

function registerWriteTools({ server, store, run, allow, agentId }: Tools): void {
  server.registerTool(
    "write_file",
    {
      description: "Create a file (no expectedHash) or update it (expectedHash = the hash you last read). Fails with HASH_REQUIRED or CONFLICT carrying currentHash. Overlays (userId) must be safe markdown: no import/export, {expressions}, event handlers, script URLs or raw HTML; JSX only for the allowlisted components with literal props (else UNSAFE_CONTENT with line:col).",
      inputSchema: { bookId, path, content: z.string().describe("UTF-8 text, stored byte for byte"), expectedHash, userId },
    },
    (a) =>
      run(async () => {
        await allow({ op: "write", bookId: a.bookId, userId: a.userId }, a.path);
        return store.write({ ...a, agentId });
      }),
  );
  server.registerTool(
    "delete_file",
    { description: "Delete a file (idempotent: deleting what is not there returns existed: false).", inputSchema: { bookId, path, expectedHash, userId } },
    (a) =>
      run(async () => {
        await allow({ op: "delete", bookId: a.bookId, userId: a.userId }, a.path);
        return store.delete({ ...a, agentId });
      }),
  );
}

function registerReadTools({ server, store, run, allow }: Tools): void {
  server.registerTool(
    "read_file",
    {
      description: "Read a file (a user's overlay first when userId is given) with its hash. Markdown comes back as text; assets as base64 with their mime type.",
      inputSchema: { bookId, path, userId },
    },
    async (a) => {
      let r;
      try {
        await allow({ op: "read", bookId: a.bookId, userId: a.userId }, a.path);
        r = await store.read(a);
      } catch (err) {
        return run(() => Promise.reject(err));
      }
      return readContent(r);
    },
  );
  server.registerTool(
    "list_files",
    { description: "List a book's files with their hashes (as a user sees it when userId is given).", inputSchema: { bookId, prefix: z.string().optional(), userId } },
    (a) =>
      run(async () => {
        await allow({ op: "list", bookId: a.bookId, userId: a.userId });
        return store.list(a);
      }),
  );
  server.registerTool(
    "snapshot",
    { description: "The book's files and manifest hash at one point in time (as a user sees it when userId is given).", inputSchema: { bookId, userId } },
    (a) =>
      run(async () => {
        await allow({ op: "snapshot", bookId: a.bookId, userId: a.userId });
        return store.snapshot(a);
      }),
  );
}

function registerAuditTools({ server, store, run, allow, scope }: Tools): void {
  server.registerTool(
    "audit_log",
    {
      description: "Who changed what, newest first. path may be a glob (content/**).",
      inputSchema: { bookId: bookId.optional(), path: z.string().optional(), agentId: z.string().optional(), userId, limit: z.number().int().optional(), cursor: z.string().optional() },
    },
    (a) =>
      run(async () => {
        await allow({ op: "audit", bookId: a.bookId, userId: a.userId });
        // Entries about users outside the scope are left out in the query: neither the page nor its cursor shows them.
        const page = await store.audit({ ...a, visibleUsers: visibleUsers(scope) });
        return { ...page, entries: page.entries.filter((e) => seesUser(scope, e.userId ?? BASE_USER)) };
      }),
  );
}
