/**
 * Least privilege (issue 9, finding 3): one table of read/write/delete/list/snapshot/archive/audit ×
 * base/own overlay/other user's overlay × tokens, run against the HTTP server and the MCP server on one
 * real store. Every denied cell: 403/FORBIDDEN naming the scope, nothing changed, one audit entry (none when the
 * book is outside the token's books: such refusals are only counted, issue 14).
 */
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { openStore, type Store } from "../src/index.js";
import { BASE_USER } from "../src/paths/index.js";
import { createPfsServer } from "../src/server/app.js";
import { createMcpServer } from "../src/server/mcp.js";
import { hashToken, parseTokensFile } from "../src/server/auth.js";
import type { Scope } from "../src/server/scopes.js";
import { makeBackend, type BackendInstance } from "./support/backends.js";
import { auditRows, captureState } from "./support/state.js";
import { unzip } from "./support/zip.js";

const BOOK = "mx-book";
const PATH = "content/01-p/01-c/01-l.md";
type Op = "read" | "write" | "delete" | "list" | "snapshot" | "archive" | "audit";
type Target = "base" | "own" | "other";
const OPS: Op[] = ["read", "write", "delete", "list", "snapshot", "archive", "audit"];
const TARGETS: Target[] = ["base", "own", "other"];

/** Tokens and their scopes; "own" user is ada for everyone, "other" is bob. */
const ENTRIES = {
  full: { agent: "admin-bot", books: "*", users: "*", writeBase: true, audit: true, admin: true },
  tutor: { agent: "tutor-bot", books: [BOOK], users: ["ada"] },
  editor: { agent: "editor-bot", books: [BOOK], writeBase: true, audit: true },
  stranger: { agent: "stranger-bot", books: ["other-book"], users: "*", writeBase: true, audit: true },
} as const;
type Who = keyof typeof ENTRIES;
const TOKEN = (who: Who) => `token-of-${who}-0123456789abcdef`;

/** The expected answer of each cell, from the scope definition (written out, not computed by the code under test). */
function expected(who: Who, op: Op, target: Target): string | null {
  if (who === "full") return null;
  if (who === "stranger") return "books";
  const user = target === "base" ? null : target === "own" ? "ada" : "bob";
  if (op === "audit" && !(ENTRIES[who] as { audit?: boolean }).audit) return "audit";
  const users = (ENTRIES[who] as { users?: readonly string[] }).users ?? [];
  if (user !== null && !users.includes(user)) return "users";
  if (user === null && (op === "write" || op === "delete") && !(ENTRIES[who] as { writeBase?: boolean }).writeBase) return "writeBase";
  return null;
}

interface Outcome {
  ok: boolean;
  code?: string;
  scope?: string;
  message?: string;
  /** user ids that appear in what came back (lists, snapshots, archives, audit pages). */
  users?: string[];
}

let cellNo = 0;
const freshPath = () => `content/01-p/01-c/${String(++cellNo).padStart(2, "0")}-cell.md`;

describe("scope matrix: HTTP and MCP, every cell", () => {
  let instance: BackendInstance;
  let store: Store;
  let server: Server;
  let base: string;
  const mcp = new Map<Who, Client>();

  beforeAll(async () => {
    instance = await makeBackend({ name: "pglite+local", db: "pglite", storage: "local" });
    store = await openStore(instance.options);
    const file = JSON.stringify({ tokens: Object.entries(ENTRIES).map(([who, e]) => ({ ...e, sha256: hashToken(TOKEN(who as Who)) })) });
    const tokens = parseTokensFile(file);
    server = createPfsServer({ store, tokens });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    for (const entry of tokens) {
      const who = (Object.keys(ENTRIES) as Who[]).find((w) => ENTRIES[w].agent === entry.scope.agentId)!;
      const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
      await createMcpServer(store, entry.scope as Scope).connect(serverSide);
      const client = new Client({ name: who, version: "1" });
      await client.connect(clientSide);
      mcp.set(who, client);
    }
    await store.write({ bookId: BOOK, path: PATH, content: "# base\n", agentId: "seed" });
    await store.write({ bookId: BOOK, path: PATH, content: "# ada\n", agentId: "seed", userId: "ada" });
    await store.write({ bookId: BOOK, path: PATH, content: "# bob\n", agentId: "seed", userId: "bob" });
  });
  afterAll(async () => {
    for (const c of mcp.values()) await c.close();
    await new Promise((resolve) => server?.close(resolve));
    await store?.close();
    await instance?.cleanup();
  });

  const userOf = (t: Target) => (t === "base" ? undefined : t === "own" ? "ada" : "bob");
  const usersIn = (entries: { userId?: string | null; source?: string }[], asUser?: string) =>
    [...new Set(entries.map((e) => e.userId ?? (e.source === "overlay" ? asUser : BASE_USER) ?? BASE_USER))].sort();

  async function viaHttp(who: Who, op: Op, target: Target): Promise<Outcome> {
    const user = userOf(target);
    const q = user ? `?user=${user}` : "";
    const headers = { authorization: `Bearer ${TOKEN(who)}` };
    let res: Response;
    switch (op) {
      case "read":
        res = await fetch(`${base}/v1/books/${BOOK}/files/${PATH}${q}`, { headers });
        break;
      case "write":
        res = await fetch(`${base}/v1/books/${BOOK}/files/${freshPath()}${q}`, { method: "PUT", headers, body: "# new\n" });
        break;
      case "delete":
        res = await fetch(`${base}/v1/books/${BOOK}/files/${freshPath()}${q}`, { method: "DELETE", headers });
        break;
      case "list":
      case "snapshot":
        res = await fetch(`${base}/v1/books/${BOOK}/${op === "list" ? "files" : "snapshot"}${q}`, { headers });
        break;
      case "archive":
        res = await fetch(`${base}/v1/books/${BOOK}/archive${q}`, { headers });
        break;
      case "audit":
        res = await fetch(`${base}/v1/audit?bookId=${BOOK}${user ? `&userId=${user}` : ""}`, { headers });
        break;
    }
    if (!res.ok) {
      const body = (await res.json()) as { error: { code: string; scope?: string; message: string } };
      if (body.error.code === "FORBIDDEN") expect(res.status).toBe(403);
      return { ok: false, ...body.error };
    }
    if (op === "archive") {
      const entries = await unzip(Buffer.from(await res.arrayBuffer()));
      const texts = entries.filter((e) => e.name === PATH).map((e) => e.data.toString());
      return { ok: true, users: texts.map((t) => (t.includes("ada") ? "ada" : t.includes("bob") ? "bob" : BASE_USER)) };
    }
    if (op === "read") {
      const text = await res.text();
      return { ok: true, users: [text.includes("ada") ? "ada" : text.includes("bob") ? "bob" : BASE_USER] };
    }
    const body = (await res.json()) as Record<string, unknown>;
    if (op === "list") return { ok: true, users: usersIn(body as unknown as { userId: string }[]) };
    if (op === "snapshot") return { ok: true, users: usersIn(body.files as { source: string }[], user) };
    if (op === "audit") return { ok: true, users: usersIn(body.entries as { userId: string }[]) };
    return { ok: true };
  }

  async function viaMcp(who: Who, op: Op, target: Target): Promise<Outcome | "n/a"> {
    const userId = userOf(target);
    const client = mcp.get(who)!;
    const tool = { read: "read_file", write: "write_file", delete: "delete_file", list: "list_files", snapshot: "snapshot", audit: "audit_log" }[op as string];
    if (!tool) return "n/a"; // MCP has no archive tool
    const args: Record<string, unknown> = { bookId: BOOK, userId };
    if (op === "read") args.path = PATH;
    if (op === "write") Object.assign(args, { path: freshPath(), content: "# new\n" });
    if (op === "delete") args.path = freshPath();
    const r = (await client.callTool({ name: tool, arguments: args })) as { isError?: boolean; content: { text: string }[] };
    const body = JSON.parse(r.content[0]!.text);
    if (r.isError) return { ok: false, ...body.error };
    if (op === "list") return { ok: true, users: usersIn(body) };
    if (op === "snapshot") return { ok: true, users: usersIn(body.files, userId) };
    if (op === "audit") return { ok: true, users: usersIn(body.entries) };
    return { ok: true };
  }

  const cells = (Object.keys(ENTRIES) as Who[]).flatMap((who) => OPS.flatMap((op) => TARGETS.map((target) => ({ who, op, target }))));
  const faces = { http: viaHttp, mcp: viaMcp } as const;

  for (const [face, run] of Object.entries(faces)) {
    it(`${face}: ${cells.length} cells answer as the scopes say; denied cells change nothing and are audited within the token's books`, async () => {
      let tested = 0;
      for (const { who, op, target } of cells) {
        const missing = expected(who, op, target);
        const stateBefore = await captureState(store);
        const auditBefore = (await auditRows(store)).length;
        const outcome = await run(who, op, target);
        if (outcome === "n/a") continue;
        tested++;
        const cell = `${face} ${who} ${op} ${target}`;
        if (missing) {
          expect(outcome, cell).toMatchObject({ ok: false, code: "FORBIDDEN", scope: missing });
          expect(outcome.message, cell).toContain(`token for agent ${ENTRIES[who].agent} may not`);
          expect(await captureState(store), cell).toEqual(stateBefore);
          const audit = await auditRows(store);
          if (missing === "books") {
            // Outside the token's books: counted in a metric, never appended to that book's chain (issue 14).
            expect(audit.length, cell).toBe(auditBefore);
          } else {
            expect(audit.length, cell).toBe(auditBefore + 1);
            expect(audit.at(-1), cell).toMatchObject({ agentId: ENTRIES[who].agent, operation: op, errorCode: "FORBIDDEN", status: "rejected", bookId: BOOK });
          }
        } else {
          expect(outcome, cell).toMatchObject({ ok: true });
          // What came back shows only the base and users this token may see.
          const granted = (ENTRIES[who] as { users?: "*" | readonly string[] }).users ?? [];
          const visible = granted === "*" ? ["ada", "bob"] : granted;
          for (const u of outcome.users ?? []) expect(u === BASE_USER || visible.includes(u), `${cell} shows user ${u}`).toBe(true);
        }
      }
      expect(tested).toBe(face === "http" ? cells.length : cells.length - 4 * TARGETS.length);
    });
  }

  it("a token without users access sees no overlay entries in the audit log, even unfiltered", async () => {
    const res = await fetch(`${base}/v1/audit?bookId=${BOOK}&limit=1000`, { headers: { authorization: `Bearer ${TOKEN("editor")}` } });
    const page = (await res.json()) as { entries: { userId: string }[] };
    expect(page.entries.length).toBeGreaterThan(0);
    expect(new Set(page.entries.map((e) => e.userId))).toEqual(new Set([BASE_USER]));
    const all = await store.audit({ bookId: BOOK, limit: 1000 });
    expect(all.entries.some((e) => e.userId === "bob")).toBe(true);
  });

  it("a refusal for a book that does not exist creates no head or audit chain", async () => {
    const before = (await auditRows(store)).length;
    const res = await fetch(`${base}/v1/books/no-such-book/files/${PATH}`, { method: "PUT", body: "x", headers: { authorization: `Bearer ${TOKEN("tutor")}` } });
    expect(res.status).toBe(403);
    expect((await auditRows(store)).length).toBe(before);
  });

  it("admin scope gates /v1/admin/verify", async () => {
    expect((await fetch(`${base}/v1/admin/verify`, { headers: { authorization: `Bearer ${TOKEN("editor")}` } })).status).toBe(403);
    const ok = await fetch(`${base}/v1/admin/verify`, { headers: { authorization: `Bearer ${TOKEN("full")}` } });
    expect(ok.status).toBe(200);
  });
});
