import type { Command } from "commander";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { openStore } from "../../store/store.js";
import { createMcpServer } from "../../server/mcp.js";
import { assertAgentId } from "../../paths/index.js";
import { action, globals, storeOptions } from "../context.js";

export function registerMcpCommand(program: Command): void {
  program
    .command("mcp")
    .description("serve the store to an AI agent over MCP on stdio; the agent is --agent or $PFS_AGENT_ID")
    .option("--agent <id>", "who acts (default: $PFS_AGENT_ID)")
    .action(
      action(async (o: { agent?: string }, cmd: Command) => {
        const agentId = o.agent ?? process.env.PFS_AGENT_ID;
        assertAgentId(agentId); // before opening anything: no agent, no session
        const store = await openStore(storeOptions(globals(cmd)));
        const server = createMcpServer(store, agentId);
        await server.connect(new StdioServerTransport());
        const stop = () => void server.close().then(() => store.close()).then(() => process.exit(0));
        process.stdin.once("close", stop);
        process.once("SIGTERM", stop);
      }),
    );
}
