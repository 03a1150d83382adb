/** A real `pfs serve` (createPfsServer) on a store, with a tokens table built from entries, for the HTTP book source. */
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { createPfsServer } from "../../src/server/app.js";
import { hashToken, parseTokensFile } from "../../src/server/auth.js";
import type { Store } from "../../src/index.js";

export interface TokenSpec {
  agent: string;
  token: string;
  books?: "*" | string[];
  users?: "*" | string[];
  writeBase?: boolean;
  audit?: boolean;
  admin?: boolean;
}

export interface RunningServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

export async function startSourceServer(store: Store, tokens: TokenSpec[]): Promise<RunningServer> {
  const table = parseTokensFile(JSON.stringify({ tokens: tokens.map(({ token, ...scope }) => ({ ...scope, sha256: hashToken(token) })) }));
  const server = createPfsServer({ store, tokens: table, log: () => {} });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
