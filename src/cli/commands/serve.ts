import type { Command } from "commander";
import { openStore } from "../../store/store.js";
import { createPfsServer } from "../../server/app.js";
import { parseTokens } from "../../server/auth.js";
import { PfsError } from "../../errors/index.js";
import { action, globals, storeOptions } from "../context.js";

export function registerServeCommand(program: Command): void {
  program
    .command("serve")
    .description("run the agent-facing HTTP server (agents authenticate with tokens from $PFS_SERVER_TOKENS)")
    .option("--port <port>", "port to listen on", "8787")
    .option("--host <host>", "address to listen on", "127.0.0.1")
    .action(
      action(async (o: { port: string; host: string }, cmd: Command) => {
        const tokens = parseTokens(process.env.PFS_SERVER_TOKENS);
        if (tokens.size === 0) {
          throw new PfsError("INVALID_ARGUMENT", "Set PFS_SERVER_TOKENS=agent-id=token,… so every change is made under a real agent's name.");
        }
        const store = await openStore(storeOptions(globals(cmd)));
        const server = createPfsServer({ store, tokens });
        await new Promise<void>((resolve) => server.listen(Number(o.port), o.host, resolve));
        process.stderr.write(`pfs server on http://${o.host}:${o.port} for ${tokens.size} agent(s); metrics at /metrics\n`);
        const stop = () => server.close(() => void store.close().then(() => process.exit(0)));
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      }),
    );
}
