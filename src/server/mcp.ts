/**
 * The MCP face of the store, for AI agents: one tool per operation, over any MCP transport (the CLI
 * serves it on stdio). The acting agent is fixed when the server starts (from the process's
 * credentials, PFS_AGENT_ID), never taken from a tool call.
 */
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { isPfsError } from "../errors/index.js";
import { assertAgentId } from "../paths/index.js";
import type { Store } from "../store/store.js";

const bookId = z.string().describe("book id, e.g. python-book");
const path = z.string().describe("content/<NN-Part>/<NN-Chapter>/<NN-lesson>.md, its .summary.md, README.md intros, content/<name>.md, or static/(img|images|slides|videos|audio)/…");
const userId = z.string().optional().describe("a student's id: act on their personal overlay instead of the shared book");
const expectedHash = z.string().optional().describe("the hash you read; required to update or to delete safely");

/** Results and PfsErrors as JSON text; an error keeps its code and current hash so the agent can retry right. */
async function run(fn: () => Promise<unknown>): Promise<CallToolResult> {
  try {
    return { content: [{ type: "text", text: JSON.stringify(await fn(), null, 2) }] };
  } catch (err) {
    if (!isPfsError(err)) throw err;
    return { isError: true, content: [{ type: "text", text: JSON.stringify({ error: err.toJSON() }, null, 2) }] };
  }
}

export function createMcpServer(store: Store, agentId: string): McpServer {
  assertAgentId(agentId);
  const server = new McpServer({ name: "panaversity-fs", version: "0.1.0" });
  server.registerTool(
    "write_file",
    {
      description: "Create a file (no expectedHash) or update it (expectedHash = the hash you last read). Fails with HASH_REQUIRED or CONFLICT carrying currentHash.",
      inputSchema: { bookId, path, content: z.string().describe("UTF-8 text, stored byte for byte"), expectedHash, userId },
    },
    (a) => run(() => store.write({ ...a, agentId })),
  );
  server.registerTool(
    "read_file",
    { description: "Read a file (a user's overlay first when userId is given) with its hash.", inputSchema: { bookId, path, userId } },
    (a) =>
      run(async () => {
        const r = await store.read(a);
        return { path: r.path, hash: r.hash, source: r.source, size: r.size, writtenAt: r.writtenAt, content: r.content.toString("utf8") };
      }),
  );
  server.registerTool(
    "delete_file",
    { description: "Delete a file (idempotent: deleting what is not there returns existed: false).", inputSchema: { bookId, path, expectedHash, userId } },
    (a) => run(() => store.delete({ ...a, agentId })),
  );
  server.registerTool(
    "list_files",
    { description: "List a book's files with their hashes (as a user sees it when userId is given).", inputSchema: { bookId, prefix: z.string().optional(), userId } },
    (a) => run(() => store.list(a)),
  );
  server.registerTool(
    "audit_log",
    {
      description: "Who changed what, newest first. path may be a glob (content/**).",
      inputSchema: { bookId: bookId.optional(), path: z.string().optional(), agentId: z.string().optional(), limit: z.number().int().optional(), cursor: z.string().optional() },
    },
    (a) => run(() => store.audit(a)),
  );
  return server;
}
