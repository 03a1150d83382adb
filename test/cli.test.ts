/**
 * The `pfs` command line, run as the built binary (dist/cli/main.js; `npm test` builds first) in a
 * separate process, on PostgreSQL (DATABASE_URL) and a local folder. PostgreSQL rather than the
 * embedded journal because every CLI call opens the journal afresh, and PGlite's start costs seconds.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256Hex } from "../src/hashing/index.js";
import { objectKey } from "../src/blobs/index.js";
import { createTestDatabase, type TestDatabase } from "./support/postgres.js";

const BIN = fileURLToPath(new URL("../dist/cli/main.js", import.meta.url));
const LESSON = "content/01-part/01-chapter/01-cli.md";

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe("pfs CLI (built binary)", () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let db: TestDatabase;

  function pfs(args: string[], input?: string): Promise<Run> {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.stdin.end(input ?? "");
    return new Promise((res) => child.on("close", (code) => res({ code, stdout, stderr: stderr.replace(/^.*(AWS SDK|node >=22|first week|To continue|security updates|a\.co\/|trace-warnings).*\n?/gm, "").trim() })));
  }

  beforeAll(async () => {
    if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npm run build\` first (npm test does).`);
    dir = await mkdtemp(join(tmpdir(), "pfs-cli-"));
    db = await createTestDatabase();
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== "DATABASE_URL" && !k.startsWith("PFS_") && !k.startsWith("AWS_")));
    env = { ...clean, DATABASE_URL: db.url, PFS_DATA_DIR: dir, NODE_NO_WARNINGS: "1" };
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
    await db?.drop();
  });

  it("write (create, update, conflict), read, ls, delete, audit: results on stdout, errors as CODE: message with exit 1 (2 usage, 3 conflict)", { timeout: 300_000 }, async () => {
    const file = join(dir, "lesson.md");
    await writeFile(file, "# from a file\n");
    const created = await pfs(["write", "cli-book", LESSON, file, "--agent", "cli-author"]);
    expect(created.code, created.stderr).toBe(0);
    const c = JSON.parse(created.stdout);
    expect(c).toMatchObject({ mode: "created", hash: sha256Hex("# from a file\n"), previousHash: null, size: 14 });

    const again = await pfs(["write", "cli-book", LESSON, file, "--agent", "cli-author"]);
    expect(again.code).toBe(3); // a conflict: the file exists and no expected hash was given
    expect(again.stderr).toMatch(new RegExp(`^HASH_REQUIRED: .*\\n?current hash: ${c.hash}`, "s"));

    const updated = await pfs(["write", "cli-book", LESSON, "-", "--agent", "cli-author", "--expected-hash", c.hash], "# from stdin\n");
    expect(updated.code, updated.stderr).toBe(0);
    expect(JSON.parse(updated.stdout)).toMatchObject({ mode: "updated", previousHash: c.hash, hash: sha256Hex("# from stdin\n") });

    const stale = await pfs(["write", "cli-book", LESSON, file, "--agent", "cli-author", "--expected-hash", c.hash]);
    expect([stale.code, stale.stderr.split(":")[0]]).toEqual([3, "CONFLICT"]);

    const overlay = await pfs(["write", "cli-book", LESSON, "-", "--agent", "tutor", "--user", "stu"], "# just for stu\n");
    expect(overlay.code, overlay.stderr).toBe(0);

    expect((await pfs(["read", "cli-book", LESSON])).stdout).toBe("# from stdin\n");
    expect((await pfs(["read", "cli-book", LESSON, "--user", "stu"])).stdout).toBe("# just for stu\n");
    const out = join(dir, "out.md");
    const meta = await pfs(["read", "cli-book", LESSON, "--out", out]);
    expect(JSON.parse(meta.stdout)).toMatchObject({ source: "base", hash: sha256Hex("# from stdin\n") });
    expect(await readFile(out, "utf8")).toBe("# from stdin\n");

    const ls = await pfs(["ls", "cli-book", "--user", "stu"]);
    expect(ls.stdout.trim().split(/\s+/)).toEqual([sha256Hex("# just for stu\n"), "15", "overlay", LESSON]);
    expect(JSON.parse((await pfs(["--json", "ls", "cli-book"])).stdout).map((e: { path: string }) => e.path)).toEqual([LESSON]);

    const noAgent = await pfs(["delete", "cli-book", LESSON]);
    expect([noAgent.code, noAgent.stderr]).toEqual([2, "INVALID_ARGUMENT: --agent <id> is required for pfs delete: every change records who made it."]);
    expect(JSON.parse((await pfs(["delete", "cli-book", LESSON, "--agent", "cli-author"])).stdout)).toEqual({ existed: true });
    expect(JSON.parse((await pfs(["delete", "cli-book", LESSON, "--agent", "cli-author"])).stdout)).toEqual({ existed: false });

    const missing = await pfs(["read", "cli-book", LESSON]);
    expect([missing.code, missing.stderr.split(":")[0]]).toEqual([1, "NOT_FOUND"]);
    const badPath = await pfs(["write", "cli-book", "../etc/passwd", file, "--agent", "x"]);
    expect([badPath.code, badPath.stderr.split(":")[0]]).toEqual([1, "INVALID_PATH"]);
    const noFile = await pfs(["write", "cli-book", LESSON, join(dir, "nope.md"), "--agent", "x"]);
    expect([noFile.code, noFile.stderr.split(":")[0]]).toEqual([2, "INVALID_ARGUMENT"]);
    const unknown = await pfs(["frobnicate"]);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/^INVALID_ARGUMENT: unknown command 'frobnicate'/);

    const audit = await pfs(["--json", "audit", "--book", "cli-book", "--limit", "100"]);
    const entries = JSON.parse(audit.stdout).entries as { agentId: string; status: string; operation: string }[];
    expect(entries.map((e) => `${e.operation}:${e.status}:${e.agentId}`)).toEqual([
      "write:rejected:x",
      "delete:ok:cli-author",
      "delete:ok:cli-author",
      "write:ok:tutor",
      "write:conflict:cli-author",
      "write:ok:cli-author",
      "write:conflict:cli-author",
      "write:ok:cli-author",
    ]);
    const text = await pfs(["audit", "--book", "cli-book", "--by", "tutor"]);
    expect(text.stdout).toMatch(/tutor {2}write ok {2}cli-book:content\/01-part\/01-chapter\/01-cli\.md \(user stu\) {2}created - → [0-9a-f]{12}/);
  });

  it("verify (with a progress bar) and repair: clean exit 0; damage reported with INTEGRITY_ERROR and exit 1; orphans removed past grace", async () => {
    const ok = await pfs(["verify", "--progress"]);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/OK\n$/);
    expect(ok.stderr).toMatch(/objects +\[[=-]+\] \d+\/\d+/); // cli-progress bar on stderr

    // Plant an orphan past grace and a missing object behind a journal row.
    const { LocalObjectStorage } = await import("../src/blobs/local.js");
    const storage = new LocalObjectStorage(join(dir, "objects"));
    await storage.putBuffer(objectKey(sha256Hex("orphan")), Buffer.from("orphan"));
    const file = join(dir, "doomed.md");
    await writeFile(file, "# doomed\n");
    expect((await pfs(["write", "cli-book", "content/preface.md", file, "--agent", "cli-author"])).code).toBe(0);
    await storage.delete(objectKey(sha256Hex("# doomed\n")));

    const bad = await pfs(["verify", "--grace", "0"]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/OBJECT missing: cli-book:content\/preface\.md/);
    expect(bad.stdout).toMatch(new RegExp(`ORPHAN past grace: ${sha256Hex("orphan")}`));
    expect(bad.stderr).toMatch(/^INTEGRITY_ERROR: verify found problems/m);
    const json = JSON.parse((await pfs(["--json", "verify", "--grace", "0"])).stdout);
    expect(json.objectProblems).toHaveLength(1);

    const repair = await pfs(["repair", "--grace", "0"]);
    expect(repair.code).toBe(1); // the missing object needs a person
    expect(repair.stdout).toMatch(new RegExp(`removed: ${objectKey(sha256Hex("orphan"))}`));
    expect(repair.stdout).toMatch(/NEEDS A PERSON: missing object for cli-book:content\/preface\.md/);
    expect(await storage.head(objectKey(sha256Hex("orphan")))).toBeNull();
  });

  it("metrics prints the Prometheus exposition; --mirror is validated and turns the mirror check on", async () => {
    const r = await pfs(["metrics"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/# TYPE panaversityfs_write_total counter/);
    const json = await pfs(["--json", "metrics"]);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout).map((m: { name: string }) => m.name)).toContain("panaversityfs_write_total");
    const bad = await pfs(["--mirror", "everything", "ls", "cli-book"]);
    expect([bad.code, bad.stderr]).toEqual([2, '--mirror must be "assets" or "all"; got "everything".'].map((x, i) => (i === 1 ? `INVALID_ARGUMENT: ${x}` : x)));
    const mirrored = await pfs(["--mirror", "assets", "verify", "--book", "cli-book"]);
    expect(mirrored.stdout).not.toMatch(/mirror not checked/);
  });
});
