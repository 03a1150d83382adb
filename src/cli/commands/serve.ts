import type { Command } from "commander";
import type { Server } from "node:http";
import type { ServerOptions } from "../../server/app.js";
import { DEFAULT_MAX_CONNECTIONS } from "../../server/limits.js";
import { PfsError } from "../../errors/index.js";
import { action, globals, storeOptions } from "../context.js";
import { loadTokenTable } from "./tokens.js";
import { readerOptions, type ReaderFlags } from "./serve-readers.js";

function hostPort(spec: string): { host: string; port: number } {
  const m = /^(.*):(\d+)$/.exec(spec);
  if (!m || Number(m[2]) > 65535) throw new PfsError("INVALID_ARGUMENT", `--metrics-listen takes host:port; got ${JSON.stringify(spec)}.`);
  return { host: m[1] || "127.0.0.1", port: Number(m[2]) };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve) => server.listen(port, host, resolve));
}

/** SIGHUP: read the tokens again; a file that does not load (or holds no token) keeps the old table. */
async function reloadTokens(options: ServerOptions, tokensFile: string | undefined): Promise<void> {
  try {
    const tokens = await loadTokenTable(tokensFile);
    if (tokens.length === 0) throw new PfsError("INVALID_ARGUMENT", "it holds no token");
    options.tokens = tokens;
    process.stderr.write(`pfs serve: reloaded the tokens (${tokens.length} token(s))\n`);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    process.stderr.write(`pfs serve: kept the previous ${options.tokens.length} token(s); the tokens did not reload: ${why}\n`);
  }
}

export function registerServeCommand(program: Command): void {
  program
    .command("serve")
    .description("run the agent-facing HTTP server (tokens from --tokens-file / $PFS_SERVER_TOKENS_FILE, or $PFS_SERVER_TOKENS with full access)")
    .option("--port <port>", "port to listen on", "8787")
    .option("--host <host>", "address to listen on", "127.0.0.1")
    .option("--tokens-file <file>", "JSON tokens file with scoped tokens (default: $PFS_SERVER_TOKENS_FILE)")
    .option("--metrics-listen <host:port>", "serve /metrics only on this address (the main listener then has none)")
    .option("--max-connections <n>", "open connections at most", String(DEFAULT_MAX_CONNECTIONS))
    .option("--oidc-issuer <url>", "readers sign in with this OpenID Connect issuer (default: $PFS_OIDC_ISSUER)")
    .option("--oidc-audience <id>", "the site's client id readers' tokens must carry in aud (default: $PFS_OIDC_AUDIENCE)")
    .option("--oidc-user-claim <claim>", "the token claim that is the user id (default: $PFS_OIDC_USER_CLAIM or sub)")
    .option("--cors-origin <origin...>", "site origins allowed to call the reader routes (default: $PFS_CORS_ORIGINS, comma-separated)")
    .action(
      action(async (o: { port: string; host: string; tokensFile?: string; metricsListen?: string; maxConnections: string } & ReaderFlags, cmd: Command) => {
        const tokens = await loadTokenTable(o.tokensFile);
        const readers = readerOptions(o, process.env);
        if (tokens.length === 0 && !readers.readers) {
          throw new PfsError("INVALID_ARGUMENT", "Give --tokens-file (or PFS_SERVER_TOKENS=agent-id=token,…) so every change is made under a real agent's name.");
        }
        const maxConnections = Number(o.maxConnections);
        if (!Number.isInteger(maxConnections) || maxConnections < 1) throw new PfsError("INVALID_ARGUMENT", "--max-connections must be a whole number ≥ 1.");
        const metricsAt = o.metricsListen ? hostPort(o.metricsListen) : undefined;
        // Loaded here, not at startup: every other command starts faster without the server's modules.
        const [{ openStore }, { createMetricsServer, createPfsServer }] = await Promise.all([import("../../store/store.js"), import("../../server/app.js")]);
        const store = await openStore(storeOptions(globals(cmd)));
        const serverOptions: ServerOptions = { store, tokens, maxConnections, serveMetrics: !metricsAt, ...readers };
        const server = createPfsServer(serverOptions);
        await listen(server, Number(o.port), o.host);
        const metricsServer = metricsAt ? createMetricsServer(store) : undefined;
        if (metricsServer && metricsAt) await listen(metricsServer, metricsAt.port, metricsAt.host);
        const metricsWhere = metricsAt ? `http://${metricsAt.host}:${metricsAt.port}/metrics` : "/metrics";
        process.stderr.write(`pfs server on http://${o.host}:${o.port} for ${tokens.length} token(s)${readers.readers ? " and signed-in readers" : ""}; metrics at ${metricsWhere}\n`);
        const stop = () => {
          metricsServer?.close();
          server.close(() => void store.close().then(() => process.exit(0)));
        };
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
        process.on("SIGHUP", () => void reloadTokens(serverOptions, o.tokensFile));
      }),
    );
}
