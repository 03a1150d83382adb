/**
 * The HTTP book source's transport (src/docusaurus/source/http.ts, http-get.ts) against a real HTTP
 * server that misbehaves on purpose: a body that does not match its hash, headers that name another
 * object, a connection cut mid-body, 5xx and 4xx answers, a proxy's HTML page. Objects come over
 * kept-alive connections (one socket for many sequential requests), and the token never shows in errors.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Readable } from "node:stream";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { sha256Hex } from "../src/index.js";
import { reprDigest } from "../src/server/source-routes.js";
import { httpSource } from "../src/docusaurus/source/index.js";
import type { BookSource, SourceSession } from "../src/docusaurus/source/index.js";

const TOKEN = "transport-test-token-do-not-print";
const BODY = Buffer.from("# Page\n\nTRANSPORT-BODY.\n");
const HASH = sha256Hex(BODY);

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

async function drain(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe("HTTP book source transport", () => {
  let server: Server;
  let url: string;
  let handler: Handler;
  let requests: { url: string; authorization?: string }[];
  let sockets = 0;
  let source: BookSource;
  const session = () => new Promise<SourceSession>((resolve) => void source.session(async (s) => resolve(s)));
  const object = (hash = HASH) => session().then((s) => s.openObject({ bookId: "b", hash, userIds: [] }));
  const plan = () => session().then((s) => s.planLoad({ bookId: "b", userIds: ["alice"] }));
  const ok = (res: ServerResponse, body = BODY, hash = HASH) => {
    res.writeHead(200, { "content-length": body.length, etag: `"${hash}"`, "repr-digest": reprDigest(hash) });
    res.end(body);
  };

  beforeAll(async () => {
    server = createServer((req, res) => {
      requests.push({ url: req.url!, authorization: req.headers.authorization });
      handler(req, res);
    });
    server.on("connection", () => sockets++);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });

  beforeEach(async () => {
    await source?.close();
    source = httpSource({ url, token: TOKEN, attempts: 2 });
    requests = [];
    sockets = 0;
  });

  afterAll(async () => {
    await source?.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it("streams a verified object with the bearer token, and reuses one connection for sequential objects", async () => {
    handler = (_req, res) => ok(res);
    for (let i = 0; i < 10; i++) expect((await drain(await object())).equals(BODY)).toBe(true);
    expect(requests).toHaveLength(10);
    expect(requests[0]).toEqual({ url: `/v1/books/b/objects/${HASH}`, authorization: `Bearer ${TOKEN}` });
    expect(sockets).toBe(1);
  });

  it("bytes that do not hash to the object: INTEGRITY_ERROR from the stream", async () => {
    handler = (_req, res) => ok(res, Buffer.from("# Tampered\n"), HASH);
    await expect(drain(await object())).rejects.toMatchObject({ code: "INTEGRITY_ERROR" });
  });

  it("an ETag or Repr-Digest naming another object: INTEGRITY_ERROR before any byte is used", async () => {
    const other = sha256Hex("other");
    handler = (_req, res) => {
      res.writeHead(200, { etag: `"${other}"`, "content-length": BODY.length });
      res.end(BODY);
    };
    await expect(object()).rejects.toMatchObject({ code: "INTEGRITY_ERROR" });
    handler = (_req, res) => {
      res.writeHead(200, { etag: `"${HASH}"`, "repr-digest": reprDigest(other), "content-length": BODY.length });
      res.end(BODY);
    };
    await expect(object()).rejects.toMatchObject({ code: "INTEGRITY_ERROR" });
  });

  it("a connection cut mid-body: STORAGE_UNAVAILABLE (retryable), never a short file", async () => {
    handler = (_req, res) => {
      res.writeHead(200, { etag: `"${HASH}"`, "content-length": BODY.length });
      res.write(BODY.subarray(0, 5));
      setImmediate(() => res.socket?.destroy());
    };
    await expect(drain(await object())).rejects.toMatchObject({ code: "STORAGE_UNAVAILABLE" });
  });

  it("the server's own error codes pass through; a 404 of an object is NOT_FOUND", async () => {
    handler = (_req, res) => {
      res.writeHead(404, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { code: "NOT_FOUND", message: "Book b has no file with object x." } }));
    };
    await expect(object()).rejects.toMatchObject({ code: "NOT_FOUND", message: expect.stringContaining("has no file with object") });
    handler = (_req, res) => {
      res.writeHead(403, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { code: "FORBIDDEN", message: "not yours" } }));
    };
    await expect(plan()).rejects.toMatchObject({ code: "FORBIDDEN" });
  });

  it("5xx on the plan is retried, then JOURNAL_UNAVAILABLE naming the origin but not the token", async () => {
    handler = (_req, res) => {
      res.writeHead(503, { "content-type": "text/html" });
      res.end("<html>proxy says later</html>");
    };
    const err = (await plan().then(
      () => new Error("resolved"),
      (e: Error) => e,
    )) as Error;
    expect(err).toMatchObject({ code: "JOURNAL_UNAVAILABLE" });
    expect(err.message).toContain("503");
    expect(err.message).toContain(new URL(url).origin);
    expect(err.message).not.toContain(TOKEN);
    expect(requests).toHaveLength(2);
    expect(requests[0]!.url).toBe("/v1/books/b/load-plan?users=alice");

    let n = 0;
    handler = (_req, res) => {
      if (n++ === 0) return void res.writeHead(502).end();
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ status: "unchanged", manifestHash: "m", files: [], seq: 3, overlays: [], io: { queries: 1, rows: 0 } }));
    };
    expect(await plan()).toMatchObject({ status: "unchanged", seq: 3 });
  });

  it("a server that is not there: JOURNAL_UNAVAILABLE for the plan, STORAGE_UNAVAILABLE for an object", async () => {
    const gone = httpSource({ url: "http://127.0.0.1:1", token: TOKEN, attempts: 1 });
    try {
      await gone.session(async (s) => {
        await expect(s.planLoad({ bookId: "b", userIds: [] })).rejects.toMatchObject({ code: "JOURNAL_UNAVAILABLE", message: expect.stringMatching(/unreachable.*ECONNREFUSED/) });
        await expect(s.openObject({ bookId: "b", hash: HASH, userIds: [] })).rejects.toMatchObject({ code: "STORAGE_UNAVAILABLE" });
      });
    } finally {
      await gone.close();
    }
  });
});
