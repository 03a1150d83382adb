import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { fileURLToPath } from "node:url";
import { openStore, sha256Hex, type Store } from "../src/index.js";
import { createMcpServer } from "../src/server/mcp.js";
import { makeBackend, type BackendInstance } from "./support/backends.js";
import { captureState } from "./support/state.js";

const PATH = "content/01-p/01-c/01-l.md";

describe("the MCP server (real MCP client over an in-process transport, real store)", () => {
  let instance: BackendInstance;
  let store: Store;
  let client: Client;

  beforeAll(async () => {
    instance = await makeBackend({ name: "pglite+local", db: "pglite", storage: "local" });
    store = await openStore(instance.options);
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await createMcpServer(store, "tutor-bot").connect(serverSide);
    client = new Client({ name: "test-agent", version: "1.0.0" });
    await client.connect(clientSide);
  });
  afterAll(async () => {
    await client?.close();
    await store?.close();
    await instance?.cleanup();
  });

  const call = async (name: string, args: Record<string, unknown>) => {
    const r = (await client.callTool({ name, arguments: args })) as { isError?: boolean; content: { text: string }[] };
    return { isError: r.isError === true, body: JSON.parse(r.content[0]!.text) };
  };

  it("lists the tools", async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(["audit_log", "delete_file", "list_files", "read_file", "snapshot", "write_file"]);
  });

  it("writes, refuses a blind update with the current hash, updates, reads and audits under the server's agent", async () => {
    const created = await call("write_file", { bookId: "mcp-book", path: PATH, content: "# v1\n" });
    expect(created).toEqual({ isError: false, body: { mode: "created", hash: sha256Hex("# v1\n"), previousHash: null, size: 5 } });
    const blind = await call("write_file", { bookId: "mcp-book", path: PATH, content: "# v2\n" });
    expect(blind.isError).toBe(true);
    expect(blind.body.error).toMatchObject({ code: "HASH_REQUIRED", currentHash: created.body.hash });
    await call("write_file", { bookId: "mcp-book", path: PATH, content: "# v2\n", expectedHash: created.body.hash });
    expect((await call("read_file", { bookId: "mcp-book", path: PATH })).body).toMatchObject({ content: "# v2\n", source: "base" });
    const audit = await call("audit_log", { bookId: "mcp-book" });
    expect(new Set(audit.body.entries.map((e: { agentId: string }) => e.agentId))).toEqual(new Set(["tutor-bot"]));
  });

  it("answers a hostile path with its code and changes nothing", async () => {
    const before = await captureState(store);
    const r = await call("write_file", { bookId: "mcp-book", path: "../../etc/passwd", content: "x" });
    expect(r.isError).toBe(true);
    expect(r.body.error.code).toBe("INVALID_PATH");
    expect(await captureState(store)).toEqual(before);
  });

  it("refuses to start without a real agent", () => {
    expect(() => createMcpServer(store, "system")).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
  });
});

describe("pfs mcp (the built CLI on stdio)", () => {
  it("serves the tools to a real MCP client over stdio", async () => {
    const instance = await makeBackend({ name: "pglite+local", db: "pglite", storage: "local" });
    const client = new Client({ name: "stdio-agent", version: "1.0.0" });
    try {
      const cli = fileURLToPath(new URL("../dist/cli/main.js", import.meta.url));
      await client.connect(
        new StdioClientTransport({
          command: process.execPath,
          args: [cli, "--data-dir", instance.dir, "mcp", "--agent", "stdio-bot"],
          env: { ...process.env, DATABASE_URL: "" } as Record<string, string>,
          stderr: "pipe",
        }),
      );
      const r = (await client.callTool({ name: "write_file", arguments: { bookId: "stdio-book", path: PATH, content: "hi" } })) as { content: { text: string }[] };
      expect(JSON.parse(r.content[0]!.text)).toMatchObject({ mode: "created", hash: sha256Hex("hi") });
    } finally {
      await client.close();
      await instance.cleanup();
    }
  });
});
