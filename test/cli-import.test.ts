/**
 * pfs import / export / validate / books / snapshot / plan / archive / gc, run as the built binary in a
 * separate process against temp stores: the embedded journal (PGlite) and PostgreSQL.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256Hex } from "../src/hashing/index.js";
import { createTestDatabase, type TestDatabase } from "./support/postgres.js";
import { makeS3Bucket } from "./support/backends.js";
import { startGateProxy } from "./support/gate-proxy.js";

const BIN = fileURLToPath(new URL("../dist/cli/main.js", import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The fixture docs tree: what a real book folder holds, plus names the schema must refuse. */
const GOOD: Record<string, string> = {
  "01-Part/README.md": "# Part one\n",
  "01-Part/01-Chapter/README.md": "---\ntitle: Chapter one\n---\n# Chapter\n",
  "01-Part/01-Chapter/01-lesson.md": "---\nsidebar_position: 1\n---\n# Lesson\n\n![pic](./img/pic.png)\n",
  "01-Part/01-Chapter/01-lesson.summary.md": "Summary with a {brace} and <b>tag\n",
  "01-Part/01-Chapter/02-next.mdx": "# Next\n\n:::tip\nA tip\n:::\n",
  "01-Part/01-Chapter/05_chapter_01_quiz.md": "# Quiz\n\n| a | b |\n|---|---|\n| 1 | 2 |\n",
  "01-Part/01-Chapter/img/pic.png": "\x89PNG fake image bytes",
  "01-Part/01-Chapter/diagram.svg": "<svg/>",
  "preface.md": "# Preface\n",
};
const HOSTILE = [
  "01-Part/01-Chapter/bad name?.md",
  "01-Part/01-Chapter/01-zero\u200bwidth.md",
  "01-Part/01-Chapter/03-cafe\u0301.md",
  "01-Part/01-Chapter/deep/er/01-nested.md",
  "01-Part/01-Chapter/img/a:b.png",
  "_category_.json",
];
const EXPECTED_PATHS = [
  "content/01-Part/01-Chapter/01-lesson.md",
  "content/01-Part/01-Chapter/01-lesson.summary.md",
  "content/01-Part/01-Chapter/02-next.mdx",
  "content/01-Part/01-Chapter/05_chapter_01_quiz.md",
  "content/01-Part/01-Chapter/README.md",
  "content/01-Part/README.md",
  "content/preface.md",
  "static/img/01-Part/01-Chapter/diagram.svg",
  "static/img/01-Part/01-Chapter/img/pic.png",
];

async function writeTree(root: string, files: Record<string, string>): Promise<void> {
  for (const [rel, body] of Object.entries(files)) {
    await mkdir(dirname(join(root, rel)), { recursive: true });
    await writeFile(join(root, rel), body, "latin1");
  }
}

async function treeOf(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const d of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (d.isFile()) out[relative(root, join(d.parentPath, d.name))] = sha256Hex(await readFile(join(d.parentPath, d.name)));
  }
  return out;
}

describe.each(["embedded", "postgres"] as const)("pfs import/export/validate (%s journal)", (journal) => {
  let dir: string;
  let docs: string;
  let env: NodeJS.ProcessEnv;
  let db: TestDatabase | undefined;

  function pfs(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<Run> {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...env, ...extraEnv }, cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    return new Promise((res) => child.on("close", (code) => res({ code, stdout, stderr })));
  }
  async function json(args: string[], extraEnv?: NodeJS.ProcessEnv): Promise<{ code: number | null; body: any; stderr: string }> {
    const r = await pfs([...args, "--json"], extraEnv);
    let body: unknown;
    expect(() => (body = JSON.parse(r.stdout)), `--json output of pfs ${args.join(" ")} parses: ${r.stdout} ${r.stderr}`).not.toThrow();
    return { code: r.code, body, stderr: r.stderr };
  }
  const bookPaths = async () => (await json(["ls", "book-one"])).body.map((e: { path: string }) => e.path).sort();

  beforeAll(async () => {
    if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npm run build\` first (npm test does).`);
    dir = await mkdtemp(join(tmpdir(), `pfs-import-${journal}-`));
    docs = join(dir, "docs");
    await writeTree(docs, GOOD);
    await writeTree(docs, Object.fromEntries(HOSTILE.map((h) => [h, "# hostile\n"])));
    await symlink("/etc/passwd", join(docs, "01-Part", "01-Chapter", "04-link.md"));
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== "DATABASE_URL" && !k.startsWith("PFS_") && !k.startsWith("AWS_")));
    env = { ...clean, PFS_DATA_DIR: join(dir, "store"), NODE_NO_WARNINGS: "1" };
    if (journal === "postgres") {
      db = await createTestDatabase();
      env.DATABASE_URL = db.url;
    }
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
    await db?.drop();
  });

  it("read-side commands never create a store; a dry run on no store plans every file and creates nothing", { timeout: 120_000 }, async () => {
    if (journal === "embedded") {
      const ls = await pfs(["ls", "book-one"]);
      expect([ls.code, ls.stderr.split(":")[0]]).toEqual([1, "NOT_FOUND"]);
      expect(ls.stderr).toMatch(/No store in .*store/);
      expect(existsSync(join(dir, "store"))).toBe(false);
    }
    const dry = await json(["import", "docs", "--book", "book-one", "--agent", "importer", "--dry-run", "--create"]);
    expect(dry.code).toBe(1); // hostile files are skipped
    expect(dry.body.created.sort()).toEqual(EXPECTED_PATHS);
    if (journal === "embedded") expect(existsSync(join(dir, "store"))).toBe(false);
  });

  it("first import: every good file created, every hostile name skipped with its reason and nothing written for it", { timeout: 120_000 }, async () => {
    const r = await pfs(["import", "docs", "--book", "book-one", "--agent", "importer", "--create"]);
    expect(r.code, r.stderr).toBe(1);
    const summary = r.stdout.trim().split("\n").at(-1)!;
    expect(summary).toMatch(/^created 9, updated 0, unchanged 0, deleted 0, skipped 7, conflicts 0; uploaded .* in .* s$/);
    for (const h of [...HOSTILE, "01-Part/01-Chapter/04-link.md"]) expect(r.stdout).toContain(`SKIPPED ${join("docs", h)}  `);
    expect(await bookPaths()).toEqual(EXPECTED_PATHS);
    const lesson = await pfs(["read", "book-one", "content/01-Part/01-Chapter/01-lesson.md"]);
    expect(lesson.stdout).toBe(GOOD["01-Part/01-Chapter/01-lesson.md"]); // links are not rewritten
  });

  it("second import uploads nothing; one edit → one update; --dry-run changes nothing; --prune deletes what left the folder", { timeout: 180_000 }, async () => {
    const again = await json(["import", "docs", "--book", "book-one", "--agent", "importer"]);
    expect(again.body).toMatchObject({ created: [], updated: [], deleted: [], unchanged: 9, bytes: 0 });

    await writeFile(join(docs, "01-Part/01-Chapter/02-next.mdx"), "# Next, edited\n");
    await rm(join(docs, "preface.md"));
    const before = (await json(["ls", "book-one"])).body;
    const dry = await json(["import", "docs", "--book", "book-one", "--agent", "importer", "--prune", "--dry-run"]);
    expect(dry.body).toMatchObject({ dryRun: true, created: [], updated: ["content/01-Part/01-Chapter/02-next.mdx"], deleted: ["content/preface.md"] });
    expect((await json(["ls", "book-one"])).body).toEqual(before);

    const edit = await json(["import", "docs", "--book", "book-one", "--agent", "importer"]);
    expect(edit.body).toMatchObject({ created: [], updated: ["content/01-Part/01-Chapter/02-next.mdx"], deleted: [], unchanged: 7 });
    expect((await bookPaths()).includes("content/preface.md")).toBe(true); // no --prune: kept

    const prune = await json(["import", "docs", "--book", "book-one", "--agent", "importer", "--prune"]);
    expect(prune.body).toMatchObject({ created: [], updated: [], deleted: ["content/preface.md"], unchanged: 8 });
    expect(await bookPaths()).toEqual(EXPECTED_PATHS.filter((p) => p !== "content/preface.md"));
  });

  it("export writes the book byte for byte, incrementally; importing the export changes nothing", { timeout: 180_000 }, async () => {
    const out = join(dir, "exported");
    const first = await json(["export", "--book", "book-one", "exported"]);
    expect(first.body).toMatchObject({ unchanged: 0, removed: [] });
    const tree = await treeOf(out);
    const listed = (await json(["ls", "book-one"])).body as { path: string; hash: string }[];
    const expected = Object.fromEntries(listed.map((e) => [e.path.startsWith("content/") ? e.path.slice(8) : e.path, e.hash]));
    expect(tree).toEqual(expected);

    await writeFile(join(out, "01-Part/README.md"), "# locally changed\n");
    await writeFile(join(out, "01-Part/01-Chapter/09-stray.md"), "# not in the book\n");
    await writeFile(join(out, "_category_.json"), "{}"); // maps to no book path: left alone
    const second = await json(["export", "--book", "book-one", "exported"]);
    expect(second.body).toMatchObject({ written: ["01-Part/README.md"], removed: ["01-Part/01-Chapter/09-stray.md"], unchanged: listed.length - 1 });
    expect(await readFile(join(out, "_category_.json"), "utf8")).toBe("{}");
    await rm(join(out, "_category_.json"));
    expect(await treeOf(out)).toEqual(expected);

    const back = await json(["import", "exported", "--book", "book-one", "--agent", "importer", "--prune"]);
    expect([back.code, back.body.created, back.body.updated, back.body.deleted, back.body.unchanged]).toEqual([0, [], [], [], listed.length]);
  });

  it("validate reports a seeded MDX error and bad front matter at their lines; summaries are read as plain markdown", { timeout: 120_000 }, async () => {
    const site = join(dir, "to-validate");
    await writeTree(site, {
      "01-Part/01-Chapter/01-ok.md": GOOD["01-Part/01-Chapter/01-lesson.md"]!,
      "01-Part/01-Chapter/img/pic.png": GOOD["01-Part/01-Chapter/img/pic.png"]!,
      "01-Part/01-Chapter/01-ok.summary.md": "Plain {not an expression} and <unclosed\n",
      "01-Part/01-Chapter/02-broken.md": "# Title\n\nSome text\n\n<div>\nunclosed\n",
      "01-Part/01-Chapter/03-frontmatter.md": "---\ntitle: ok\nbad: [unclosed\n---\n# x\n",
    });
    const r = await pfs(["validate", "to-validate"]);
    expect(r.code).toBe(1);
    const lines = r.stdout.trim().split("\n");
    expect(lines).toContainEqual(expect.stringMatching(/^to-validate\/01-Part\/01-Chapter\/02-broken\.md:5:1 {2}MDX_COMPILE {2}/));
    expect(lines).toContainEqual(expect.stringMatching(/^to-validate\/01-Part\/01-Chapter\/03-frontmatter\.md:[34]:\d+ {2}FRONT_MATTER {2}/));
    expect(r.stdout).not.toContain("01-ok");
    const j = await json(["validate", "to-validate"]);
    expect(j.body.problems.map((p: { code: string }) => p.code).sort()).toEqual(["FRONT_MATTER", "MDX_COMPILE"]);

    // --site: the site's markdown.format applies ("detect": .md is plain markdown, so the unclosed <div> is no MDX error).
    const siteDir = join(dir, "site");
    await mkdir(siteDir, { recursive: true });
    await symlink(fileURLToPath(new URL("../node_modules", import.meta.url)), join(siteDir, "node_modules"));
    await writeFile(join(siteDir, "docusaurus.config.js"), 'module.exports = { title: "t", url: "http://localhost", baseUrl: "/", markdown: { format: "detect" } };\n');
    const detect = await json(["validate", "to-validate", "--site", "site"]);
    expect(detect.body.problems.map((p: { code: string }) => p.code)).toEqual(["FRONT_MATTER"]);

    const book = await json(["validate", "--book", "book-one"]);
    expect(book.body).toMatchObject({ ok: true, problems: [] });
  });

  it("books, snapshot, plan, archive, gc, audit, verify; unknown books are NOT_FOUND naming the books that exist", { timeout: 180_000 }, async () => {
    const books = await json(["books"]);
    expect(books.body).toEqual([{ bookId: "book-one", files: 8, bytes: expect.any(Number), overlays: 0 }]);
    const snap = await json(["snapshot", "--book", "book-one"]);
    expect(snap.body.files).toHaveLength(8);
    const plan = await json(["plan", "--book", "book-one", "--since", snap.body.manifestHash]);
    expect(plan.body).toMatchObject({ status: "unchanged", files: [] });
    const zip = join(dir, "book.zip");
    const archive = await json(["archive", "--book", "book-one", "-o", zip]);
    expect(archive.body).toMatchObject({ status: "complete", files: 8, errors: [] });
    expect((await readFile(zip)).subarray(0, 2).toString()).toBe("PK");
    const gc = await json(["gc", "--dry-run"]);
    expect(gc.body.dryRun).toBe(true);
    expect((await json(["audit", "--book", "book-one", "--limit", "5"])).body.entries).toHaveLength(5);
    expect((await json(["verify", "--book", "book-one"])).body.ok).toBe(true);

    for (const args of [["ls", "book-onee"], ["audit", "--book", "book-onee"], ["verify", "--book", "book-onee"], ["export", "--book", "book-onee", "x"], ["plan", "--book", "book-onee"]]) {
      const r = await json(args);
      expect([r.code, r.body.error.code, r.body.error.books], args.join(" ")).toEqual([1, "NOT_FOUND", ["book-one"]]);
    }
    const usage = await pfs(["import", "docs"]);
    expect(usage.code).toBe(2);
  });

  it.skipIf(journal === "embedded")(
    "a concurrent write between plan and upload is a conflict (exit 3), never overwritten (a proxy in front of S3 holds the import's first upload)",
    { timeout: 120_000 },
    async () => {
      const path = "content/01-Part/README.md";
      const current = (await json(["read", "book-one", path])).body.hash as string;
      await writeFile(join(docs, "01-Part/README.md"), "# importer's version\n");
      // The same journal on an S3 bucket: the import's object upload happens after its plan, before its commit.
      const bucket = await makeS3Bucket();
      const s3 = { PFS_S3_BUCKET: bucket.bucket, PFS_S3_ACCESS_KEY_ID: bucket.accessKeyId, PFS_S3_SECRET_ACCESS_KEY: bucket.secretAccessKey, PFS_S3_REGION: "us-east-1" };
      const gate = await startGateProxy(bucket.endpoint, (req) => req.method === "PUT");
      try {
        const importing = json(["import", "docs", "--book", "book-one", "--agent", "importer"], { ...s3, PFS_S3_ENDPOINT: gate.url });
        await gate.held;
        const other = join(dir, "other.md");
        await writeFile(other, "# someone else's version\n");
        const direct = { ...s3, PFS_S3_ENDPOINT: bucket.endpoint };
        expect((await pfs(["write", "book-one", path, other, "--agent", "other-writer", "--expected-hash", current], direct)).code).toBe(0);
        gate.open();
        const r = await importing;
        expect(r.code).toBe(3);
        expect(r.body.conflicts).toEqual([expect.objectContaining({ path, code: "CONFLICT", currentHash: sha256Hex("# someone else's version\n") })]);
        expect((await pfs(["read", "book-one", path], direct)).stdout).toBe("# someone else's version\n");
      } finally {
        await gate.close();
      }
    },
  );
});
