/**
 * The embedded journal's folder lock across processes (issue 9, finding 1): two processes starting at
 * the same instant, on a fresh lock and on a lock left by a dead process, never both hold it; and two
 * `pfs write` commands started together on one embedded store both succeed and both land in the journal.
 * Runs against dist/ (npm test builds first).
 */
import { fork, spawn } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore } from "../src/index.js";
import { acquireLockFile } from "../src/journal/lock-file.js";
import { pgliteDirFromTemplate } from "./support/backends.js";

const WORKER = fileURLToPath(new URL("./support/lock-worker.mjs", import.meta.url));
const BIN = fileURLToPath(new URL("../dist/cli/main.js", import.meta.url));
const TRIALS = 200;
/** Above Linux's default pid_max (2^22): no live process has it. */
const DEAD_PID = 4_194_305;

interface TrialResult {
  held: boolean;
  double?: boolean;
  code?: string;
  message?: string;
}

function startWorker(): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = fork(WORKER, [], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
    child.once("message", () => resolve(child));
    child.once("error", reject);
  });
}

function next(child: ChildProcess): Promise<TrialResult> {
  return new Promise((resolve) => child.once("message", (m) => resolve(m as TrialResult)));
}

describe("the embedded journal lock between two processes", () => {
  let dir: string;
  let workers: ChildProcess[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "pfs-lock-"));
    workers = await Promise.all([startWorker(), startWorker()]);
  });
  afterAll(async () => {
    for (const w of workers) w.kill();
    await rm(dir, { recursive: true, force: true });
  });

  /** One trial: both workers start at the same instant on their own fresh lock path; returns both results. */
  async function trial(name: string, stale: boolean): Promise<TrialResult[]> {
    const trialDir = join(dir, name);
    const lockPath = join(trialDir, "journal.lock");
    await rm(trialDir, { recursive: true, force: true });
    await mkdir(trialDir, { recursive: true });
    if (stale) await writeFile(lockPath, JSON.stringify({ pid: DEAD_PID, host: hostname(), since: "then", nonce: `dead-${name}` }));
    const at = performance.timeOrigin + performance.now() + 25;
    const results = workers.map((w) => next(w));
    for (const w of workers) w.send({ lockPath, marker: join(trialDir, "held"), at, holdMs: 5 });
    return Promise.all(results);
  }

  for (const stale of [false, true]) {
    it(`${TRIALS} trials on a ${stale ? "stale (dead holder's)" : "fresh"} lock: never two holders, both get it in turn`, async () => {
      let doubles = 0;
      const failures: string[] = [];
      for (let i = 0; i < TRIALS; i++) {
        const results = await trial(`${stale ? "stale" : "fresh"}-${i}`, stale);
        doubles += results.filter((r) => r.double).length > 0 ? 1 : 0;
        for (const r of results) if (!r.held) failures.push(`${r.code}: ${r.message}`);
      }
      expect(doubles).toBe(0);
      // The second process waits for the first instead of failing.
      expect(failures).toEqual([]);
      // No claim or temp files are left beside the lock.
      const leftovers = (await readdir(join(dir, `${stale ? "stale" : "fresh"}-${TRIALS - 1}`))).filter((n) => n !== "journal.lock");
      expect(leftovers).toEqual([]);
    }, 120_000);
  }
});

describe("two pfs commands started together on one embedded store", () => {
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "pfs-lock-cli-"));
    await pgliteDirFromTemplate(dataDir);
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  function pfs(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const clean = Object.entries(process.env).filter(([k]) => k !== "DATABASE_URL" && !k.startsWith("PFS_") && !k.startsWith("AWS_"));
      const env = { ...Object.fromEntries(clean), NODE_NO_WARNINGS: "1" };
      const child = spawn(process.execPath, [BIN, "--data-dir", dataDir, "--json", ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => (stdout += d));
      child.stderr.on("data", (d) => (stderr += d));
      child.on("error", reject);
      child.on("close", (code) => resolve({ code, stdout, stderr }));
    });
  }

  it("--wait: a held lock is waited for, the holder named once on stderr, then JOURNAL_UNAVAILABLE", async () => {
    const release = await acquireLockFile(join(dataDir, "journal.lock"));
    try {
      const r = await pfs(["--wait", "0.3", "ls", "lock-book"]);
      expect(r.code).toBe(1);
      expect(r.stderr.match(/Waiting for the embedded journal: it is held by process (\d+)/g)).toEqual([
        `Waiting for the embedded journal: it is held by process ${process.pid}`,
      ]);
      expect(r.stderr).toMatch(/JOURNAL_UNAVAILABLE: The embedded journal is held by process \d+ .* after waiting 0\.3 s/);
      const bad = await pfs(["--wait", "soon", "ls", "lock-book"]);
      expect(bad.code).toBe(2); // a usage error (pfs --help: exit codes)
      expect(bad.stderr).toContain("INVALID_ARGUMENT: --wait must be a number of seconds");
    } finally {
      await release();
    }
  });

  it("both writes exit 0 and both files have a journal row and an audit entry", async () => {
    const files = await Promise.all(
      ["a", "b"].map(async (name) => {
        const file = join(dataDir, `${name}.md`);
        await writeFile(file, `# page ${name}\n`);
        return file;
      }),
    );
    const paths = ["content/01-p/01-c/01-a.md", "content/01-p/01-c/02-b.md"];
    const runs = await Promise.all(paths.map((p, i) => pfs(["write", "lock-book", p, files[i]!, "--agent", `agent-${i}`])));
    for (const r of runs) {
      expect(r.stderr).not.toContain("JOURNAL_UNAVAILABLE");
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout).mode).toBe("created");
    }
    const store = await openStore({ dataDir, storage: { kind: "local", dir: join(dataDir, "objects") } });
    try {
      const listed = (await store.list({ bookId: "lock-book" })).map((e) => e.path).sort();
      expect(listed).toEqual(paths);
      const audit = (await store.audit({ bookId: "lock-book" })).entries.filter((e) => e.status === "ok").map((e) => e.path).sort();
      expect(audit).toEqual(paths);
    } finally {
      await store.close();
    }
  }, 60_000);
});
