/**
 * Scale-out (issue 16 item 4, DESIGN 4.10): two real `pfs serve` processes (the built CLI) on one PostgreSQL
 * database and one storage folder, stateless apart from the journal. An agent writes an overlay through
 * process 1; the signed-in reader sees it through process 2; a changed and then a deleted overlay follow on
 * process 2 as well. Each process keeps its own overlay index and render cache, so this is what shows they
 * agree. Visibility is polled (the index is refreshed per interval); no time limit is asserted.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "./support/postgres.js";
import { startTestIssuer, type TestIssuer } from "./support/oidc-issuer.js";

const BIN = fileURLToPath(new URL("../dist/cli/main.js", import.meta.url));
const BOOK = "scale-book";
const AGENT_TOKEN = "token-for-tutor-bot-0123456789";
const PAGE = "content/01-Basics/01-Start/01-hello.md";

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const port = (probe.address() as AddressInfo).port;
      probe.close(() => resolve(port));
    });
  });
}

describe("two pfs serve processes on one PostgreSQL and one storage folder", () => {
  let db: TestDatabase;
  let dataDir: string;
  let idp: TestIssuer;
  const children: ChildProcess[] = [];
  const urls: string[] = [];

  async function serve(): Promise<string> {
    const port = await freePort();
    const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: db.url, PFS_DATA_DIR: dataDir, PFS_SERVER_TOKENS: `tutor-bot=${AGENT_TOKEN}`, NODE_NO_WARNINGS: "1" };
    for (const key of Object.keys(env)) if (key.startsWith("PFS_S3_")) delete env[key]; // the local folder, whatever the runner has
    const child = spawn(process.execPath, [BIN, "serve", "--port", String(port), "--oidc-issuer", idp.issuer, "--oidc-audience", "book-site"], { env });
    children.push(child);
    await new Promise<void>((resolve, reject) => {
      let stderr = "";
      child.stderr!.on("data", (d) => {
        stderr += d.toString();
        if (stderr.includes("pfs server on")) resolve();
      });
      child.once("exit", (code) => reject(new Error(`pfs serve exited (${code}): ${stderr}`)));
    });
    return `http://127.0.0.1:${port}`;
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    dataDir = await mkdtemp(join(tmpdir(), "pfs-scale-"));
    idp = await startTestIssuer();
    urls.push(await serve(), await serve());
  }, 120_000);

  afterAll(async () => {
    for (const c of children) {
      c.kill("SIGTERM");
      await new Promise((resolve) => (c.exitCode !== null ? resolve(null) : c.once("exit", resolve)));
    }
    await idp?.close();
    await db?.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const agent = (url: string, method: string, path: string, body?: string, headers: Record<string, string> = {}) =>
    fetch(`${url}/v1/books/${BOOK}/files/${path}${method === "PUT" || method === "DELETE" ? "?user=student-a" : ""}`, {
      method,
      body,
      headers: { authorization: `Bearer ${AGENT_TOKEN}`, ...headers },
    });
  const base = (url: string, path: string, body: string) => fetch(`${url}/v1/books/${BOOK}/files/${path}`, { method: "PUT", body, headers: { authorization: `Bearer ${AGENT_TOKEN}` } });

  /** The reader's page through process 2, polled until `ok` holds; returns the last answer. */
  async function readerUntil(token: string, ok: (status: number, body: any) => boolean): Promise<{ status: number; body: any }> {
    for (;;) {
      const res = await fetch(`${urls[1]}/v1/reader/books/${BOOK}/overlays/${PAGE}`, { headers: { authorization: `Bearer ${token}` } });
      const body = await res.json();
      if (ok(res.status, body)) return { status: res.status, body };
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  it("a write through process 1 is seen by the reader through process 2; so are a change and a delete", async () => {
    expect((await base(urls[0]!, PAGE, "# Hello\n\nShared.\n")).status).toBe(201);
    const ada = await idp.mint("student-a");
    const ben = await idp.mint("student-b");
    // Process 2 builds its index before the overlay exists, so what follows is a refresh, not a first load.
    const empty = await fetch(`${urls[1]}/v1/reader/books/${BOOK}/overlays`, { headers: { authorization: `Bearer ${ada}` } });
    expect(((await empty.json()) as any).overlays).toEqual([]);

    const put = await agent(urls[0]!, "PUT", PAGE, "# Hello, Ada\n");
    expect(put.status).toBe(201);
    const first = await readerUntil(ada, (status) => status === 200);
    expect(first.body.html).toBe("<h1>Hello, Ada</h1>");
    // Ben (another reader, same process, warm caches) still has nothing.
    const benAnswer = await fetch(`${urls[1]}/v1/reader/books/${BOOK}/overlays/${PAGE}`, { headers: { authorization: `Bearer ${ben}` } });
    expect(benAnswer.status).toBe(404);

    const changed = await agent(urls[0]!, "PUT", PAGE, "# Hello again, Ada\n", { "if-match": `"${first.body.hash}"` });
    expect(changed.status).toBe(200);
    const second = await readerUntil(ada, (_, body) => body.html === "<h1>Hello again, Ada</h1>");
    expect(second.body.hash).not.toBe(first.body.hash);

    expect((await agent(urls[0]!, "DELETE", PAGE)).status).toBe(200);
    const gone = await readerUntil(ada, (status) => status === 404);
    expect(gone.body.error.code).toBe("NOT_FOUND");
    const list = await fetch(`${urls[1]}/v1/reader/books/${BOOK}/overlays`, { headers: { authorization: `Bearer ${ada}` } });
    expect(((await list.json()) as any).overlays).toEqual([]);
    // Process 1 agrees.
    const one = await fetch(`${urls[0]}/v1/reader/books/${BOOK}/overlays/${PAGE}`, { headers: { authorization: `Bearer ${ada}` } });
    expect(one.status).toBe(404);
  });
});
