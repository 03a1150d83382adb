import { execFile } from "node:child_process";
import { mkdtemp, mkdir, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));

describe("the built package", () => {
  it("is importable as 'panaversity-fs' from another folder and works (npm test builds dist/ first)", async () => {
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
