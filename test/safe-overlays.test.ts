/**
 * Issue 16 (1): overlays are untrusted markdown. The pure checker, then every entry point (library on
 * PGlite + local folder and PostgreSQL + s3rver, HTTP, MCP, the built CLI): the attacker's corpus is refused
 * with UNSAFE_CONTENT naming line:col, the journal and the bucket are unchanged; ordinary markdown is stored;
 * base pages stay full MDX.
 */
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { openStore, PfsError, type Store } from "../src/index.js";
import { checkSafeMarkdown, formatViolation } from "../src/books/safe-markdown.js";
import { createPfsServer } from "../src/server/app.js";
import { createMcpServer } from "../src/server/mcp.js";
import { parseTokens } from "../src/server/auth.js";
import { resolveStoreConfig } from "../src/store/config.js";
import { makeBackend, type BackendInstance } from "./support/backends.js";
import { createTestDatabase, type TestDatabase } from "./support/postgres.js";
import { auditRows, captureState } from "./support/state.js";
import { OVERLAY_COMPONENTS, SAFE_PAGE, UNSAFE_CORPUS } from "./support/unsafe-corpus.js";

const PATH = "content/01-part/01-chapter/01-lesson.md";
const AGENT = "tutor-bot";
const at = (v: { line: number; column: number }) => `${v.line}:${v.column}`;

describe("checkSafeMarkdown (pure)", () => {
  it.each(UNSAFE_CORPUS)("refuses $name at $at", ({ content, at: where, construct }) => {
    const found = checkSafeMarkdown(content, { components: OVERLAY_COMPONENTS, path: PATH });
    expect(found.length).toBeGreaterThan(0);
    expect(at(found[0]!)).toBe(where);
    expect(found[0]!.construct).toMatch(construct);
  });

  it("accepts ordinary markdown: front matter, tables, code with {} and <div>, math, images, links, admonitions, allowlisted components", () => {
    expect(checkSafeMarkdown(SAFE_PAGE, { components: OVERLAY_COMPONENTS, path: PATH })).toEqual([]);
  });

  it("refuses an allowlisted component when the allowlist is empty, and a component never allowlisted", () => {
    expect(checkSafeMarkdown('<Quiz title="q" />\n', { path: PATH })[0]).toMatchObject({ line: 1, column: 1, construct: expect.stringMatching(/<Quiz>.*allowlist/) });
  });

  it("checks raw HTML of a .md page the way CommonMark compiles it (markdown.format: detect)", () => {
    // Valid MDX (an autolink is not MDX syntax: it is refused), but read as CommonMark a raw <img onerror>:
    const violations = checkSafeMarkdown("<!-- fine -->\n\nsee <javascript:alert(1)>\n", { path: PATH });
    expect(violations[0]?.construct).toMatch(/MDX|javascript/);
    expect(checkSafeMarkdown("<details open>\n<summary>More</summary>\n\nHidden text.\n\n</details>\n", { path: PATH })).toEqual([]);
    expect(checkSafeMarkdown('<sub title="javascript:alert(1)">x</sub>\n', { path: PATH })[0]?.construct).toMatch(/javascript: URL/);
  });

  it("allows relative URLs inside the book and refuses file:, vbscript: and climbing out of it", () => {
    expect(checkSafeMarkdown("![a](../../static/img/a.png)\n", { path: PATH })).toEqual([]);
    expect(checkSafeMarkdown("![a](../../../../x.png)\n", { path: PATH })[0]?.construct).toMatch(/leaves the book/);
    expect(checkSafeMarkdown("[a](%2e%2e/%2e%2e/%2e%2e/%2e%2e/x)\n", { path: PATH })[0]?.construct).toMatch(/leaves the book/);
    expect(checkSafeMarkdown("[a](file:///etc/passwd)\n", { path: PATH })[0]?.construct).toMatch(/file: URL/);
    expect(checkSafeMarkdown("[a]( VBScript:msgbox)\n", { path: PATH })[0]?.construct).toMatch(/vbscript: URL/);
    expect(checkSafeMarkdown("[a](java&#9;script:alert(1))\n", { path: PATH })[0]?.construct).toMatch(/javascript: URL/);
  });

  it("reports every violation in source order, bounded by max", () => {
    const all = checkSafeMarkdown("{a}\n\n{b}\n\n{c}\n", { path: PATH });
    expect(all.map(at)).toEqual(["1:1", "3:1", "5:1"]);
    expect(checkSafeMarkdown("{a}\n\n{b}\n\n{c}\n", { path: PATH, max: 2 })).toHaveLength(2);
    expect(formatViolation(all[0]!, PATH)).toBe(`${PATH}:1:1: {expression}`);
  });

  // Safe blocks, freely combined, stay safe; splicing any corpus construct in between any two of them is refused.
  const safeBlock = fc.oneof(
    fc.stringMatching(/^[A-Za-z][A-Za-z ,.]{0,40}$/),
    fc.stringMatching(/^[A-Za-z ]{1,20}$/).map((t) => `## ${t}`),
    fc.stringMatching(/^[A-Za-z ]{1,20}$/).map((t) => `- ${t}\n- *${t}*`),
    fc.stringMatching(/^[a-z{}<>/ ;=()]{0,30}$/).map((code) => "```js\n" + code + "\n```"),
    fc.stringMatching(/^[a-z{}<> ]{1,20}$/).map((code) => `Use \`${code.replace(/`/g, "")}\` here.`),
    fc.constant("| a | b |\n|---|---|\n| 1 | 2 |"),
    fc.constant(":::tip\nA tip.\n:::"),
    fc.constant('<Quiz title="q" answer="b" />'),
    fc.constant("![alt](./img.png) [link](https://example.com)"),
  );
  it("property: random safe markdown is accepted; any corpus construct injected anywhere is refused", () => {
    fc.assert(
      fc.property(fc.array(safeBlock, { maxLength: 8 }), fc.nat(), fc.constantFrom(...UNSAFE_CORPUS), (blocks, i, bad) => {
        expect(checkSafeMarkdown(blocks.join("\n\n") + "\n", { components: OVERLAY_COMPONENTS, path: PATH })).toEqual([]);
        const payload = bad.content.replace(/^# Hi\n\n/, "");
        const spliced = [...blocks];
        spliced.splice(blocks.length === 0 ? 0 : i % (blocks.length + 1), 0, payload);
        expect(checkSafeMarkdown(spliced.join("\n\n") + "\n", { components: OVERLAY_COMPONENTS, path: PATH }).length).toBeGreaterThan(0);
      }),
      { numRuns: 150 },
    );
  });

  it("takes the allowlist from openStore options or PFS_OVERLAY_COMPONENTS and refuses names that are not components", () => {
    expect(resolveStoreConfig({ dataDir: "/tmp/x" }, { PFS_OVERLAY_COMPONENTS: "Quiz, Tabs.Item" }).overlayComponents).toEqual(["Quiz", "Tabs.Item"]);
    expect(resolveStoreConfig({ dataDir: "/tmp/x", overlayComponents: ["Quiz"] }, { PFS_OVERLAY_COMPONENTS: "Other" }).overlayComponents).toEqual(["Quiz"]);
    expect(resolveStoreConfig({ dataDir: "/tmp/x" }, {}).overlayComponents).toEqual([]);
    for (const bad of ["script", "div", "Quiz onClick", "{x}"]) {
      expect(() => resolveStoreConfig({ dataDir: "/tmp/x", overlayComponents: [bad] }, {})).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    }
  });
});

describe.each([
  { name: "pglite+local", db: "pglite", storage: "local" },
  { name: "postgres+s3", db: "postgres", storage: "s3" },
] as const)("store.write of overlays on $name", (backend) => {
  let instance: BackendInstance;
  let store: Store;
  beforeAll(async () => {
    instance = await makeBackend(backend, { overlayComponents: OVERLAY_COMPONENTS });
    store = await openStore(instance.options);
    await store.write({ bookId: "safe-book", path: PATH, content: "# Base\n", agentId: "author" });
  });
  afterAll(async () => {
    await store?.close();
    await instance?.cleanup();
  });

  it("refuses the whole corpus with UNSAFE_CONTENT and line:col, storing no object and no row (the refusal is audited)", async () => {
    const before = await captureState(store);
    const audits = (await auditRows(store)).length;
    for (const c of UNSAFE_CORPUS) {
      const err = await store.write({ bookId: "safe-book", path: PATH, content: c.content, userId: "student-42", agentId: AGENT }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err, c.name).toBeInstanceOf(PfsError);
      expect((err as PfsError).code, c.name).toBe("UNSAFE_CONTENT");
      expect((err as PfsError).message, c.name).toContain(`${PATH}:${c.at}:`);
      expect((err as PfsError).details, c.name).toMatchObject({ line: Number(c.at.split(":")[0]), column: Number(c.at.split(":")[1]) });
    }
    expect(await captureState(store)).toEqual(before);
    const refused = (await auditRows(store)).slice(audits);
    expect(refused).toHaveLength(UNSAFE_CORPUS.length);
    expect(new Set(refused.map((r) => `${r.status}|${r.errorCode}|${r.newHash}`))).toEqual(new Set(["rejected|UNSAFE_CONTENT|null"]));
  });

  it("refuses an unsafe overlay sent as a stream before storing it", async () => {
    const before = await captureState(store);
    const { Readable } = await import("node:stream");
    await expect(store.write({ bookId: "safe-book", path: PATH, content: Readable.from([Buffer.from("{process.exit(1)}\n")]), userId: "s2", agentId: AGENT })).rejects.toMatchObject({ code: "UNSAFE_CONTENT" });
    expect(await captureState(store)).toEqual(before);
  });

  it("stores ordinary markdown as an overlay, and full MDX in the base book", async () => {
    const ok = await store.write({ bookId: "safe-book", path: PATH, content: SAFE_PAGE, userId: "student-42", agentId: AGENT });
    expect(ok.mode).toBe("created");
    expect((await store.read({ bookId: "safe-book", path: PATH, userId: "student-42" })).content.toString()).toBe(SAFE_PAGE);
    const mdx = "import Tabs from '@theme/Tabs'\n\n# Base\n\n<Tabs>{1 + 1}</Tabs>\n";
    const base = await store.read({ bookId: "safe-book", path: PATH });
    await store.write({ bookId: "safe-book", path: PATH, content: mdx, expectedHash: base.hash, agentId: "author" });
    expect((await store.read({ bookId: "safe-book", path: PATH })).content.toString()).toBe(mdx);
  });
});

describe("UNSAFE_CONTENT over HTTP and MCP", () => {
  const TOKEN = "token-for-tutor-bot-0123456789";
  let instance: BackendInstance;
  let store: Store;
  let server: Server;
  let base: string;
  let client: Client;
  beforeAll(async () => {
    instance = await makeBackend({ name: "pglite+local", db: "pglite", storage: "local" }, { overlayComponents: OVERLAY_COMPONENTS });
    store = await openStore(instance.options);
    await store.write({ bookId: "safe-book", path: PATH, content: "# Base\n", agentId: "author" });
    server = createPfsServer({ store, tokens: parseTokens(`${AGENT}=${TOKEN}`) });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await createMcpServer(store, AGENT).connect(serverSide);
    client = new Client({ name: "tutor", version: "1.0.0" });
    await client.connect(clientSide);
  });
  afterAll(async () => {
    await client?.close();
    await new Promise((resolve) => server?.close(resolve));
    await store?.close();
    await instance?.cleanup();
  });

  it("HTTP: every corpus overlay is 422 UNSAFE_CONTENT with line and column; nothing changes; safe markdown is 201", async () => {
    const before = await captureState(store);
    for (const c of UNSAFE_CORPUS) {
      const res = await fetch(`${base}/v1/books/safe-book/files/${PATH}?user=student-42`, { method: "PUT", body: c.content, headers: { authorization: `Bearer ${TOKEN}` } });
      expect(res.status, c.name).toBe(422);
      const { error } = (await res.json()) as { error: { code: string; message: string; line: number; column: number } };
      expect(error.code, c.name).toBe("UNSAFE_CONTENT");
      expect(`${error.line}:${error.column}`, c.name).toBe(c.at);
    }
    expect(await captureState(store)).toEqual(before);
    const ok = await fetch(`${base}/v1/books/safe-book/files/${PATH}?user=student-7`, { method: "PUT", body: SAFE_PAGE, headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(201);
  });

  it("MCP: write_file of every corpus overlay is an error with UNSAFE_CONTENT and line:col; nothing changes", async () => {
    const before = await captureState(store);
    for (const c of UNSAFE_CORPUS) {
      const r = (await client.callTool({ name: "write_file", arguments: { bookId: "safe-book", path: PATH, content: c.content, userId: "student-9" } })) as { isError?: boolean; content: { text: string }[] };
      expect(r.isError, c.name).toBe(true);
      const { error } = JSON.parse(r.content[0]!.text) as { error: { code: string; message: string } };
      expect(error.code, c.name).toBe("UNSAFE_CONTENT");
      expect(error.message, c.name).toContain(`:${c.at}:`);
    }
    expect(await captureState(store)).toEqual(before);
  });
});

describe("UNSAFE_CONTENT from the built CLI", () => {
  const BIN = fileURLToPath(new URL("../dist/cli/main.js", import.meta.url));
  let db: TestDatabase;
  let env: NodeJS.ProcessEnv;
  const pfs = (args: string[], input: string, extraEnv: NodeJS.ProcessEnv = {}) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((res) => {
      const child = spawn(process.execPath, [BIN, ...args], { env: { ...env, ...extraEnv }, stdio: ["pipe", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => (stdout += d));
      child.stderr.on("data", (d) => (stderr += d));
      child.stdin.end(input);
      child.on("close", (code) => res({ code, stdout, stderr }));
    });
  beforeAll(async () => {
    if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npm run build\` first (npm test does).`);
    db = await createTestDatabase();
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== "DATABASE_URL" && !k.startsWith("PFS_") && !k.startsWith("AWS_")));
    const dir = (await import("node:fs/promises")).mkdtemp((await import("node:path")).join((await import("node:os")).tmpdir(), "pfs-safe-cli-"));
    env = { ...clean, DATABASE_URL: db.url, PFS_DATA_DIR: await dir, NODE_NO_WARNINGS: "1" };
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("pfs write --user refuses an unsafe overlay with exit 1 and CODE line:col; --overlay-components and PFS_OVERLAY_COMPONENTS set the allowlist", { timeout: 120_000 }, async () => {
    expect((await pfs(["write", "cli-safe", PATH, "-", "--agent", "author"], "# Base\n{1 + 1}\n")).code).toBe(0); // base: full MDX
    const expr = await pfs(["write", "cli-safe", PATH, "-", "--agent", AGENT, "--user", "stu"], "# Hi\n\n{process.env.HOME}\n");
    expect(expr.code).toBe(1);
    expect(expr.stderr).toMatch(new RegExp(`^UNSAFE_CONTENT: Overlay ${PATH}:3:1: \\{expression\\}`, "m"));
    const quiz = '# Hi\n\n<Quiz title="q" />\n';
    expect((await pfs(["write", "cli-safe", PATH, "-", "--agent", AGENT, "--user", "stu"], quiz)).stderr).toMatch(/UNSAFE_CONTENT: .*3:1: <Quiz>/);
    const listed = await pfs(["write", "cli-safe", PATH, "-", "--agent", AGENT, "--user", "stu", "--overlay-components", "Quiz"], quiz);
    expect(listed.code, listed.stderr).toBe(0);
    const byEnv = await pfs(["write", "cli-safe", PATH, "-", "--agent", AGENT, "--user", "stu2"], quiz, { PFS_OVERLAY_COMPONENTS: "Quiz" });
    expect(byEnv.code, byEnv.stderr).toBe(0);
    const ls = await pfs(["ls", "cli-safe", "--json"], "");
    expect(ls.stdout).not.toContain("process.env");
  });
});
