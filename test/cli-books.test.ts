/**
 * pfs import --create / --exclude, pfs books rm, and the command line's manners (issue 17): a quiet end when
 * the reader closes the pipe, JSON usage errors with --json, a clear --agent message, no SDK notice.
 * The built binary in separate processes against PostgreSQL (and a missing embedded store).
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "./support/postgres.js";
import { makeS3Bucket } from "./support/backends.js";

const BIN = fileURLToPath(new URL("../dist/cli/main.js", import.meta.url));
const LIB = fileURLToPath(new URL("../dist/index.js", import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

const DOCS: Record<string, string> = {
  "01-Part/README.md": "# Part\n",
  "01-Part/01-Chapter/01-lesson.md": "# Lesson\n",
  "01-Part/01-Chapter/quiz.md": "# A quiz beside the lessons (not a lesson name)\n",
  "01-Part/01-Chapter/drafts/notes.md": "# drafts\n",
  "preface.md": "# Preface\n",
};

describe("pfs import --create/--exclude, pfs books rm, and CLI manners", () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let db: TestDatabase;

  function pfs(args: string[], opts: { env?: NodeJS.ProcessEnv; closeStdout?: boolean } = {}): Promise<Run> {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...env, ...opts.env }, cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    // A reader that stops at once, as `| head` does after its lines: every write of the child meets a closed pipe.
    if (opts.closeStdout) child.stdout.destroy();
    else child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    return new Promise((res) => child.on("close", (code) => res({ code, stdout, stderr })));
  }
  async function json(args: string[], extra?: NodeJS.ProcessEnv): Promise<{ code: number | null; body: any; stderr: string }> {
    const r = await pfs([...args, "--json"], { env: extra });
    let body: unknown;
    expect(() => (body = JSON.parse(r.stdout)), `--json output of pfs ${args.join(" ")}: ${r.stdout} ${r.stderr}`).not.toThrow();
    return { code: r.code, body, stderr: r.stderr };
  }
  const bookIds = async () => (await json(["books"])).body.map((b: { bookId: string }) => b.bookId);
  const auditCount = async (book: string) => (await json(["audit", "--book", book, "--limit", "1000"])).body.entries.length;

  beforeAll(async () => {
    if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npm run build\` first (npm test does).`);
    dir = await mkdtemp(join(tmpdir(), "pfs-books-"));
    for (const [rel, body] of Object.entries(DOCS)) {
      await mkdir(dirname(join(dir, "docs", rel)), { recursive: true });
      await writeFile(join(dir, "docs", rel), body);
    }
    db = await createTestDatabase();
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== "DATABASE_URL" && !k.startsWith("PFS_") && !k.startsWith("AWS_")));
    env = { ...clean, DATABASE_URL: db.url, PFS_DATA_DIR: join(dir, "store") };
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
    await db?.drop();
  });

  it("an embedded store that does not exist: import without --create is NOT_FOUND and creates nothing (dry run too)", { timeout: 600_000 }, async () => {
    const embedded = { DATABASE_URL: "", PFS_DATA_DIR: join(dir, "no-store") };
    for (const extra of [[], ["--dry-run"]]) {
      const r = await json(["import", "docs", "--book", "learn-ap", "--agent", "importer", "--exclude", "quiz.md", ...extra], embedded);
      expect([r.code, r.body.error.code], r.stderr).toEqual([1, "NOT_FOUND"]);
      expect(r.body.error.message).toMatch(/No book "learn-ap".*Pass --create/);
      expect(existsSync(join(dir, "no-store"))).toBe(false);
    }
  });

  it("--create makes the book; a typo of its id is NOT_FOUND naming the books and writes nothing; --exclude leaves files out without failing", { timeout: 600_000 }, async () => {
    const first = await json(["import", "docs", "--book", "learn-python", "--agent", "importer", "--create"]);
    // quiz.md and drafts/notes.md do not fit the schema: skipped, so exit 1.
    expect(first.code).toBe(1);
    expect(first.body.skipped.map((s: { source: string }) => s.source).sort()).toEqual([join("docs", "01-Part/01-Chapter/drafts/notes.md"), join("docs", "01-Part/01-Chapter/quiz.md")]);
    expect(first.body.excluded).toEqual([]);
    const entries = await auditCount("learn-python");

    const typo = await json(["import", "docs", "--book", "learn-pyhton", "--agent", "importer"]);
    expect([typo.code, typo.body.error.code, typo.body.error.books]).toEqual([1, "NOT_FOUND", ["learn-python"]]);
    expect(typo.stderr).toMatch(/^NOT_FOUND: No book "learn-pyhton" in this store \(books in this store: learn-python\)\. Pass --create to create it\./);
    expect(await bookIds()).toEqual(["learn-python"]);
    expect(await auditCount("learn-python")).toBe(entries);

    // Excluded files are neither stored nor problems: exit 0.
    const excluded = await json(["import", "docs", "--book", "learn-python", "--agent", "importer", "--exclude", "quiz.md", "--exclude", "**/drafts/**"]);
    expect(excluded.code, excluded.stderr).toBe(0);
    expect(excluded.body).toMatchObject({ skipped: [], created: [], unchanged: 3 });
    expect(excluded.body.excluded.sort()).toEqual([join("docs", "01-Part/01-Chapter/drafts/notes.md"), join("docs", "01-Part/01-Chapter/quiz.md")]);
    const text = await pfs(["import", "docs", "--book", "learn-python", "--agent", "importer", "--exclude", "quiz.md"]);
    expect([text.code, text.stdout.trim().split("\n").at(-1)]).toEqual([1, expect.stringMatching(/skipped 1, excluded 1, conflicts 0/)]);

    const empty = await json(["import", "docs", "--book", "learn-python", "--agent", "importer", "--exclude", " "]);
    expect([empty.code, empty.body.error.code]).toEqual([2, "INVALID_ARGUMENT"]);
    expect(await auditCount("learn-python")).toBe(entries); // nothing changed by any of these
  });

  it("books rm: needs --agent and a confirmation; removes rows but keeps the audit log and anchors; verify stays clean; the id can be created again", { timeout: 900_000 }, async () => {
    await json(["import", "docs", "--book", "scratch-book", "--agent", "importer", "--create", "--exclude", "quiz.md", "--exclude", "**/drafts/**"]);
    expect(await bookIds()).toEqual(["learn-python", "scratch-book"]);
    const entries = await auditCount("scratch-book");

    const noConfirm = await pfs(["books", "rm", "scratch-book", "--agent", "ops"]);
    expect([noConfirm.code, noConfirm.stderr.trim()]).toEqual([2, "INVALID_ARGUMENT: pfs books rm removes every file and overlay of scratch-book: pass --yes or --confirm scratch-book."]);
    const wrong = await pfs(["books", "rm", "scratch-book", "--agent", "ops", "--confirm", "learn-python"]);
    expect([wrong.code, wrong.stderr.split(":")[0]]).toEqual([2, "INVALID_ARGUMENT"]);
    const noAgent = await pfs(["books", "rm", "scratch-book", "--yes"]);
    expect([noAgent.code, noAgent.stderr.trim()]).toEqual([2, "INVALID_ARGUMENT: --agent <id> is required for pfs books rm: every change records who made it."]);
    const unknown = await json(["books", "rm", "scratch-bok", "--agent", "ops", "--yes"]);
    expect([unknown.code, unknown.body.error.code]).toEqual([1, "NOT_FOUND"]);
    expect(await bookIds()).toEqual(["learn-python", "scratch-book"]);
    expect(await auditCount("scratch-book")).toBe(entries);

    const removed = await json(["books", "rm", "scratch-book", "--agent", "ops", "--confirm", "scratch-book"]);
    expect(removed.body).toEqual({ bookId: "scratch-book", files: 3, overlays: 0, auditSeq: entries + 1 });
    expect(await bookIds()).toEqual(["learn-python"]);
    expect((await json(["ls", "scratch-book"])).body.error.code).toBe("NOT_FOUND");
    // History stays: the removal is the chain's last entry, by the agent who did it.
    const audit = await json(["audit", "--book", "scratch-book", "--limit", "1"]);
    expect(audit.body.entries[0]).toMatchObject({ operation: "book-removed", agentId: "ops", status: "ok", path: null });
    const verify = await json(["verify"]);
    expect(verify.body.ok, JSON.stringify(verify.body)).toBe(true);
    expect(verify.body.books).toContain("scratch-book");
    expect(verify.body.anchors.problems).toEqual([]);
    expect((await json(["verify", "--book", "scratch-book"])).body.ok).toBe(true);

    // Importing into it needs --create again, and continues the same chain.
    expect((await json(["import", "docs", "--book", "scratch-book", "--agent", "importer", "--exclude", "quiz.md"])).body.error.code).toBe("NOT_FOUND");
    const again = await json(["import", "docs", "--book", "scratch-book", "--agent", "importer", "--create", "--exclude", "quiz.md", "--exclude", "**/drafts/**"]);
    expect([again.code, again.body.created.length]).toEqual([0, 3]);
    expect((await json(["verify"])).body.ok).toBe(true);

    // An ordinary edit leaves an unreferenced object within the grace period (a file written, then deleted).
    await writeFile(join(dir, "extra.md"), "# written, then deleted\n");
    expect((await pfs(["write", "scratch-book", "content/extra.md", "extra.md", "--agent", "editor"])).code).toBe(0);
    expect((await pfs(["delete", "scratch-book", "content/extra.md", "--agent", "editor"])).code).toBe(0);
    // Human output: no (__base__) in audit lines; leftovers of edits within grace are a count, not ORPHAN lines.
    const text = await pfs(["audit", "--book", "scratch-book", "--limit", "10"]);
    expect(text.stdout).toMatch(/ops {2}book-removed ok {2}scratch-book {2}/);
    expect(text.stdout).not.toContain("__base__");
    const human = await pfs(["verify"]);
    expect(human.code).toBe(0);
    expect(human.stdout).not.toContain("ORPHAN");
    expect(human.stdout).toMatch(/\n1 unreferenced object\(s\) and 0 temporary upload\(s\) younger than the grace period/);
    const verbose = await pfs(["verify", "--verbose"]);
    expect(verbose.stdout).toMatch(/ORPHAN within grace/);
  });

  it("a reader that closes the pipe early (| head) ends the command quietly, exit 0", { timeout: 600_000 }, async () => {
    for (const args of [["ls", "learn-python"], ["plan", "--book", "learn-python"], ["--help"]]) {
      const r = await pfs(args, { closeStdout: true });
      expect([r.code, r.stderr], args.join(" ")).toEqual([0, ""]);
    }
  });

  it("--json usage errors are JSON on stdout (exit 2); a missing --agent says which flag and command", { timeout: 600_000 }, async () => {
    for (const args of [["import"], ["books", "rm", "learn-python", "--bogus"], ["frobnicate"]]) {
      const r = await json(args);
      expect([r.code, r.body.error.code], args.join(" ")).toEqual([2, "INVALID_ARGUMENT"]);
      expect(r.stderr).toMatch(/^INVALID_ARGUMENT: /);
    }
    const noAgent = await pfs(["import", "docs", "--book", "learn-python"]);
    expect([noAgent.code, noAgent.stderr.trim()]).toEqual([2, "INVALID_ARGUMENT: --agent <id> is required for pfs import: every change records who made it."]);
  });

  it("the library on S3 prints no AWS SDK Node-version notice (Node 20)", { timeout: 600_000 }, async () => {
    const bucket = await makeS3Bucket();
    const script = `import { openStore } from ${JSON.stringify(LIB)};
      const s = await openStore({ databaseUrl: process.env.DATABASE_URL, storage: ${JSON.stringify(bucket)} });
      await s.list({ bookId: "learn-python" }); await s.close();`;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], { env, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    const code = await new Promise((res) => child.on("close", res));
    expect([code, stderr]).toEqual([0, ""]);
  });
});
