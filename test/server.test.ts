import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore, sha256Hex, type Store } from "../src/index.js";
import { createPfsServer } from "../src/server/app.js";
import { agentFor, parseTokens } from "../src/server/auth.js";
import { expectedHashFrom, route } from "../src/server/routes.js";
import { makeBackend, type BackendInstance } from "./support/backends.js";
import { captureState } from "./support/state.js";

const TOKEN_A = "token-for-agent-a-0123456789";
const TOKEN_B = "token-for-agent-b-0123456789";
const PATH = "content/01-p/01-c/01-l.md";

describe("server routing and auth (pure)", () => {
  it("routes files, refusing encoded separators so one URL names one file", () => {
    expect(route("PUT", "/v1/books/b1/files/content/01-a/01-b/01-c.md?user=u1")).toEqual({ op: "write", bookId: "b1", path: "content/01-a/01-b/01-c.md", userId: "u1" });
    expect(() => route("GET", "/v1/books/b1/files/static/img/a%2F..%2Fb.png")).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    expect(() => route("POST", "/v1/books/b1/files/x")).toThrow(/No such endpoint/);
  });

  it("maps tokens to agents and refuses unknown or missing tokens", () => {
    const tokens = parseTokens(`agent-a=${TOKEN_A}, agent-b=${TOKEN_B}`);
    expect(agentFor(tokens, `Bearer ${TOKEN_B}`)).toBe("agent-b");
    expect(() => agentFor(tokens, undefined)).toThrow(expect.objectContaining({ code: "UNAUTHORIZED" }));
    expect(() => agentFor(tokens, "Bearer nope")).toThrow(expect.objectContaining({ code: "UNAUTHORIZED" }));
    expect(() => parseTokens("system=0123456789abcdefghij")).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    expect(() => parseTokens("a=short")).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    expect(expectedHashFrom('"abc"')).toBe("abc");
  });
});

describe("the HTTP server against a real store", () => {
  let instance: BackendInstance;
  let store: Store;
  let server: Server;
  let base: string;

  beforeAll(async () => {
    instance = await makeBackend({ name: "pglite+local", db: "pglite", storage: "local" });
    store = await openStore(instance.options);
    server = createPfsServer({ store, tokens: parseTokens(`agent-a=${TOKEN_A},agent-b=${TOKEN_B}`) });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await store?.close();
    await instance?.cleanup();
  });

  const call = (method: string, url: string, init: { body?: string | Buffer; token?: string; ifMatch?: string } = {}) =>
    fetch(`${base}${url}`, {
      method,
      body: init.body,
      headers: {
        ...(init.token !== undefined ? { authorization: `Bearer ${init.token}` } : {}),
        ...(init.ifMatch ? { "if-match": `"${init.ifMatch}"` } : {}),
      },
    });

  it("creates, conflicts, updates, reads and deletes with the agent taken from the token", async () => {
    const created = await call("PUT", `/v1/books/srv-book/files/${PATH}`, { body: "# v1\n", token: TOKEN_A });
    expect(created.status).toBe(201);
    const { hash } = (await created.json()) as { hash: string };
    expect(hash).toBe(sha256Hex("# v1\n"));

    const noHash = await call("PUT", `/v1/books/srv-book/files/${PATH}`, { body: "# v2\n", token: TOKEN_B });
    expect(noHash.status).toBe(428);
    expect(((await noHash.json()) as { error: unknown }).error).toMatchObject({ code: "HASH_REQUIRED", currentHash: hash });

    const stale = await call("PUT", `/v1/books/srv-book/files/${PATH}`, { body: "# v2\n", token: TOKEN_B, ifMatch: sha256Hex("x") });
    expect(stale.status).toBe(409);

    const updated = await call("PUT", `/v1/books/srv-book/files/${PATH}`, { body: "# v2\n", token: TOKEN_B, ifMatch: hash });
    expect(updated.status).toBe(200);
    expect(await updated.json()).toMatchObject({ mode: "updated", previousHash: hash });

    const read = await call("GET", `/v1/books/srv-book/files/${PATH}`, { token: TOKEN_A });
    expect(await read.text()).toBe("# v2\n");
    expect(read.headers.get("etag")).toBe(`"${sha256Hex("# v2\n")}"`);

    const audit = await store.audit({ bookId: "srv-book", status: "ok" });
    expect(audit.entries.map((e) => e.agentId)).toEqual(["agent-b", "agent-a"]);

    expect(await (await call("DELETE", `/v1/books/srv-book/files/${PATH}`, { token: TOKEN_A })).json()).toEqual({ existed: true });
    expect(await (await call("DELETE", `/v1/books/srv-book/files/${PATH}`, { token: TOKEN_A })).json()).toEqual({ existed: false });
    expect((await call("GET", `/v1/books/srv-book/files/${PATH}`, { token: TOKEN_A })).status).toBe(404);
  });

  it("serves an imported .bmp asset as image/bmp (one media-type table with import)", async () => {
    const body = Buffer.from("BM fake bitmap");
    expect((await call("PUT", "/v1/books/srv-media/files/static/img/01-p/pic.bmp", { body, token: TOKEN_A })).status).toBe(201);
    const read = await call("GET", "/v1/books/srv-media/files/static/img/01-p/pic.bmp", { token: TOKEN_A });
    expect(read.status).toBe(200);
    expect(read.headers.get("content-type")).toBe("image/bmp");
    expect(Buffer.from(await read.arrayBuffer())).toEqual(body);
  });

  it("refuses changes without a known token and writes nothing", async () => {
    const before = await captureState(store);
    expect((await call("PUT", `/v1/books/srv-book/files/${PATH}`, { body: "x" })).status).toBe(401);
    expect((await call("PUT", `/v1/books/srv-book/files/${PATH}`, { body: "x", token: "wrong-token-0123456789" })).status).toBe(401);
    expect(await captureState(store)).toEqual(before);
  });

  it("answers a hostile path with 400 and its code, and the connection stays usable", async () => {
    const res = await call("PUT", "/v1/books/srv-book/files/static/img/a%00b.png", { body: Buffer.alloc(1024), token: TOKEN_A });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("INVALID_PATH");
    expect((await call("GET", "/healthz")).status).toBe(200);
  });

  it("serves overlays, snapshots and Prometheus metrics", async () => {
    await call("PUT", `/v1/books/srv-book/files/${PATH}`, { body: "base", token: TOKEN_A });
    await call("PUT", `/v1/books/srv-book/files/${PATH}?user=ada`, { body: "ada's", token: TOKEN_A });
    const ada = await call("GET", `/v1/books/srv-book/files/${PATH}?user=ada`, { token: TOKEN_A });
    expect(ada.headers.get("x-pfs-source")).toBe("overlay");
    expect(await ada.text()).toBe("ada's");
    const snap = (await (await call("GET", "/v1/books/srv-book/snapshot", { token: TOKEN_A })).json()) as { files: { path: string }[] };
    expect(snap.files.map((f) => f.path)).toEqual([PATH]);
    expect((await call("GET", "/metrics")).status).toBe(401); // book ids are label values: admin tokens only
    const metrics = await (await call("GET", "/metrics", { token: TOKEN_A })).text();
    expect(metrics).toMatch(/panaversityfs_write_total\{status="ok",mode="created"\} \d+/);
  });
});
