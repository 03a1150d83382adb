import type { Command } from "commander";
import { scopeForToken } from "../../server/auth.js";
import { fullScope, parseScope, type Scope } from "../../server/scopes.js";
import { assertAgentId } from "../../paths/index.js";
import { PfsError } from "../../errors/index.js";
import { action, globals, storeOptions } from "../context.js";
import { loadTokenTable } from "./tokens.js";

export interface McpOptions {
  agent?: string;
  tokensFile?: string;
  books?: string;
  users?: string;
  writeBase?: boolean;
  audit?: boolean;
  admin?: boolean;
}

const ids = (v: string | undefined) => (v === undefined ? undefined : v === "*" ? "*" : v.split(",").map((s) => s.trim()).filter(Boolean));

/** The session's scope: a token from the tokens file, or the flags, or (neither) full access as before. */
export async function scopeOf(o: McpOptions): Promise<Scope> {
  if (o.tokensFile ?? process.env.PFS_SERVER_TOKENS_FILE) {
    const token = process.env.PFS_TOKEN;
    if (!token) throw new PfsError("UNAUTHORIZED", "With a tokens file, set PFS_TOKEN to this session's token.");
    return scopeForToken(await loadTokenTable(o.tokensFile), token);
  }
  const agentId = o.agent ?? process.env.PFS_AGENT_ID;
  if (agentId === undefined) throw new PfsError("INVALID_ARGUMENT", "--agent <id> (or PFS_AGENT_ID) is required for pfs mcp without a tokens file: every change records who made it.");
  assertAgentId(agentId);
  const flagged = o.books !== undefined || o.users !== undefined || o.writeBase || o.audit || o.admin;
  if (!flagged) return fullScope(agentId);
  if (o.books === undefined) throw new PfsError("INVALID_ARGUMENT", "With scope flags, --books is required (* or a list).");
  return parseScope({ agent: agentId, books: ids(o.books), users: ids(o.users) ?? [], writeBase: !!o.writeBase, audit: !!o.audit, admin: !!o.admin }, "mcp flags");
}

export function registerMcpCommand(program: Command): void {
  program
    .command("mcp")
    .description("serve the store to an AI agent over MCP on stdio; the agent is --agent/$PFS_AGENT_ID, or the $PFS_TOKEN of a tokens file")
    .option("--agent <id>", "who acts (default: $PFS_AGENT_ID)")
    .option("--tokens-file <file>", "scope from this tokens file and the token in $PFS_TOKEN (default: $PFS_SERVER_TOKENS_FILE)")
    .option("--books <ids>", "limit to these books (* or a comma-separated list)")
    .option("--users <ids>", "overlays of these users (* or a list; default none when scoped)")
    .option("--write-base", "may change the shared base book")
    .option("--audit", "may read the audit log")
    .option("--admin", "may run admin operations")
    .action(
      action(async (o: McpOptions, cmd: Command) => {
        const scope = await scopeOf(o); // before opening anything: no agent, no session
        // Loaded here, not at startup: every other command starts faster without the MCP SDK.
        const [{ openStore }, { createMcpServer }, { StdioServerTransport }] = await Promise.all([
          import("../../store/store.js"),
          import("../../server/mcp.js"),
          import("@modelcontextprotocol/sdk/server/stdio.js"),
        ]);
        const store = await openStore(storeOptions(globals(cmd)));
        const server = createMcpServer(store, scope);
        await server.connect(new StdioServerTransport());
        const stop = () => void server.close().then(() => store.close()).then(() => process.exit(0));
        process.stdin.once("close", stop);
        process.once("SIGTERM", stop);
      }),
    );
}
