import { execFile } from "node:child_process";
import { copyFile, mkdtemp, mkdir, rm, symlink, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));

describe("the built package", () => {
  it("is importable as 'panaversity-fs' from another folder and works (npm test builds dist/ first)", { timeout: 600_000 }, async () => {
    expect(existsSync(join(root, "dist/index.js")), "run `npm run build` first").toBe(true);
    expect(existsSync(join(root, "dist/index.d.ts"))).toBe(true);
    const dir = await mkdtemp(join(tmpdir(), "pfs-consumer-"));
    try {
      await mkdir(join(dir, "node_modules"));
      await symlink(root, join(dir, "node_modules", "panaversity-fs"), "dir");
      await writeFile(
        join(dir, "use.mjs"),
        `import { openStore, PfsError } from "panaversity-fs";
         const store = await openStore({ dataDir: "./data" });
         const w = await store.write({ bookId: "my-book", path: "content/preface.md", content: "# Hello", agentId: "consumer" });
         const r = await store.read({ bookId: "my-book", path: "content/preface.md" });
         let code; try { await store.write({ bookId: "my-book", path: "../x", content: "", agentId: "consumer" }); } catch (e) { code = e instanceof PfsError && e.code; }
         await store.close();
         console.log(JSON.stringify({ mode: w.mode, text: r.content.toString(), code }));`,
      );
      const { stdout } = await promisify(execFile)(process.execPath, ["use.mjs"], { cwd: dir, env: { ...process.env, DATABASE_URL: "" } });
      expect(JSON.parse(stdout.trim().split("\n").pop()!)).toEqual({ mode: "created", text: "# Hello", code: "INVALID_PATH" });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("installing and packing (issue 17)", () => {
  const exec = promisify(execFile);
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
    peerDependencies: Record<string, string>;
    scripts: Record<string, string>;
  };
  // A dependency of our dev tools (not of the package): npm's own range semantics.
  const semver = createRequire(import.meta.url)("semver") as { satisfies(v: string, range: string): boolean };

  it("the Docusaurus peers accept 3.9.2 (the oldest tested) and 3.10.x; React 18 and 19", () => {
    const docusaurusPeers = Object.entries(pkg.peerDependencies).filter(([name]) => name.startsWith("@docusaurus/"));
    expect(docusaurusPeers.map(([name]) => name).sort()).toEqual(["@docusaurus/core", "@docusaurus/logger", "@docusaurus/plugin-content-docs", "@docusaurus/utils-validation"]);
    for (const [name, range] of docusaurusPeers) {
      for (const version of ["3.9.0", "3.9.2", "3.10.0", "3.10.2", "3.10.9"]) expect(semver.satisfies(version, range), `${name}@${version} in ${range}`).toBe(true);
      for (const version of ["2.4.3", "4.0.0"]) expect(semver.satisfies(version, range), `${name}@${version} in ${range}`).toBe(false);
    }
    for (const version of ["18.3.1", "19.2.0"]) expect(semver.satisfies(version, pkg.peerDependencies.react!)).toBe(true);
  });

  it("`npm pack` in a fresh checkout (no dist/) builds dist/ first and packs the plugin", { timeout: 10 * 60_000 }, async () => {
    expect(pkg.scripts.prepack).toBeDefined();
    // Inside the repository (test-artifacts/ is git-ignored) so the build resolves this repository's node_modules
    // as a fresh clone's own, after `npm ci`, would (a symlinked node_modules makes tsc's declaration paths differ).
    await mkdir(join(root, "test-artifacts"), { recursive: true });
    const dir = await mkdtemp(join(root, "test-artifacts", "fresh-clone-"));
    try {
      // The repository's files as git sees them (committed or not, never ignored ones such as dist/).
      const { stdout } = await exec("git", ["ls-files", "--cached", "--others", "--exclude-standard", "-z"], { cwd: root, maxBuffer: 64 * 1024 * 1024 });
      for (const rel of stdout.split("\0").filter(Boolean)) {
        if (!existsSync(join(root, rel))) continue; // deleted in the work tree
        await mkdir(dirname(join(dir, rel)), { recursive: true });
        await copyFile(join(root, rel), join(dir, rel));
      }
      expect(existsSync(join(dir, "dist"))).toBe(false);
      const packed = await exec("npm", ["pack", "--dry-run", "--json", "--loglevel=error"], { cwd: dir, maxBuffer: 64 * 1024 * 1024 });
      const [report] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf("[\n"))) as [{ files: { path: string }[] }];
      const files = report.files.map((f) => f.path);
      for (const f of ["dist/docusaurus/index.js", "dist/docusaurus/client/summary.js", "dist/index.js", "dist/cli/main.js"]) expect(files).toContain(f);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
