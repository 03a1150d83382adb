/**
 * The embedded journal's folder lock across processes (issue 9, finding 1): two processes starting at
 * the same instant, on a fresh lock and on a lock left by a dead process, never both hold it; and two
 * `pfs write` commands started together on one embedded store both succeed and both land in the journal.
 * Runs against dist/ (npm test builds first).
 */
import { fork, spawn, spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore } from "../src/index.js";
import { pgliteDirFromTemplate } from "./support/backends.js";
import { acquireLockFile } from "../src/journal/lock-file.js";

const WORKER = fileURLToPath(new URL("./support/lock-worker.mjs", import.meta.url));
const NS_SCRIPT = fileURLToPath(new URL("./support/lock-ns.mjs", import.meta.url));
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

/** Why PID namespaces cannot be made here, or null when `unshare --pid --fork` works. */
function unshareUnavailable(): string | null {
  const r = spawnSync("unshare", ["--pid", "--fork", process.execPath, "-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  if (r.error) return `unshare is not installed (${r.error.message})`;
  if (r.status !== 0) return `unshare --pid --fork is not permitted here: ${r.stderr.trim()}`;
  return r.stdout === "1" ? null : `unshare did not give a new PID namespace (pid ${r.stdout})`;
}
const NO_UNSHARE = unshareUnavailable();
if (NO_UNSHARE) console.warn(`PID-namespace lock tests skipped: ${NO_UNSHARE}`);

/** A worker in the parent's PID namespace, or (inNamespace) in a new one of its own, where it is pid 1. */
function startWorker(inNamespace = false): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const stdio: ("ignore" | "inherit" | "ipc")[] = ["ignore", "inherit", "inherit", "ipc"];
    const child = inNamespace ? spawn("unshare", ["--pid", "--fork", "--kill-child", process.execPath, WORKER], { stdio }) : fork(WORKER, [], { stdio });
    child.once("message", () => resolve(child));
    child.once("error", reject);
  });
}

function next(child: ChildProcess): Promise<TrialResult> {
  return new Promise((resolve) => child.once("message", (m) => resolve(m as TrialResult)));
}

describe.each([
  { where: "one PID namespace", namespaces: false },
  { where: "two PID namespaces (each worker is pid 1 in its own)", namespaces: true },
])("the embedded journal lock between two processes in $where", ({ namespaces }) => {
  let dir: string;
  let workers: ChildProcess[] = [];
  const maybe = namespaces && NO_UNSHARE ? it.skip : it;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "pfs-lock-"));
    if (namespaces && NO_UNSHARE) return;
    workers = await Promise.all([startWorker(namespaces), startWorker(namespaces)]);
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
    maybe(`${TRIALS} trials on a ${stale ? "stale (dead holder's)" : "fresh"} lock: never two holders, both get it in turn`, async () => {
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

/**
 * Runs lock-ns.mjs in a new PID namespace: as its pid 1 (pad 0), or (pad > 0) as a child of a shell
 * that started `pad` processes first, so that node gets a pid above 1 that nothing else there has.
 */
function inNamespace(args: string[], pad = 0): { child: ChildProcess; line: Promise<{ held: boolean; pid: number; code?: string }> } {
  const script = pad === 0 ? `exec "$0" "$@"` : `${"sleep 0 & ".repeat(pad)}wait; "$0" "$@"`;
  const child = spawn("unshare", ["--pid", "--fork", "--kill-child", "sh", "-c", script, process.execPath, NS_SCRIPT, ...args], { stdio: ["ignore", "pipe", "inherit"] });
  const line = new Promise<{ held: boolean; pid: number; code?: string }>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d) => {
      out += d;
      if (out.includes("\n")) resolve(JSON.parse(out.split("\n")[0]!));
    });
    child.once("close", (code) => reject(new Error(`exited ${code} before a result: ${out}`)));
  });
  return { child, line };
}

describe("a live holder in another PID namespace (issue 14: pfs serve's lock was taken over in 4 s)", () => {
  const maybe = NO_UNSHARE ? it.skip : it;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "pfs-lock-ns-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  maybe("whose pid is free in the contender's namespace is never taken over, and is taken over once it dies", async () => {
    const lockPath = join(dir, "journal.lock");
    const holder = inNamespace(["hold", lockPath], 3);
    try {
      const held = await holder.line;
      expect(held.held).toBe(true);
      expect(held.pid).toBeGreaterThan(1); // a pid no process has in a fresh namespace of its own
      for (let i = 0; i < 3; i++) {
        const contender = inNamespace(["try", lockPath, "1500"]);
        const result = await contender.line;
        expect(result).toMatchObject({ held: false, code: "JOURNAL_UNAVAILABLE", pid: 1 });
      }
      expect(JSON.parse(await readFile(lockPath, "utf8")).pid).toBe(held.pid); // still the holder's lock
    } finally {
      holder.child.kill("SIGKILL");
    }
    await new Promise((r) => holder.child.once("exit", r));
    // Killed: the kernel closed its socket, so a contender in another namespace takes over at once.
    const taker = inNamespace(["try", lockPath, "5000"]);
    const after = await taker.line;
    expect(after).toMatchObject({ held: true, pid: 1 });
    // It prints, then lets go: once it has exited, no lock, claim or socket files are left.
    if (taker.child.exitCode === null) await new Promise((r) => taker.child.once("exit", r));
    await expect.poll(async () => (await readdir(dir)).sort(), { timeout: 5000 }).toEqual([]);
  }, 60_000);
});

describe("two pfs commands started together on one embedded store", () => {
  let dataDir: string;

  let freshDir: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "pfs-lock-cli-"));
    await pgliteDirFromTemplate(dataDir);
    freshDir = await mkdtemp(join(tmpdir(), "pfs-lock-fresh-"));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
    await rm(freshDir, { recursive: true, force: true });
  });

  function pfs(args: string[], dir = dataDir): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const clean = Object.entries(process.env).filter(([k]) => k !== "DATABASE_URL" && !k.startsWith("PFS_") && !k.startsWith("AWS_"));
      const env = { ...Object.fromEntries(clean), NODE_NO_WARNINGS: "1" };
      const child = spawn(process.execPath, [BIN, "--data-dir", dir, "--json", ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => (stdout += d));
      child.stderr.on("data", (d) => (stderr += d));
      child.on("error", reject);
      child.on("close", (code) => resolve({ code, stdout, stderr }));
    });
  }

  // Issue 14: on a fresh store (the first write runs initdb, ~15 s on a busy machine) both writers
  // used to fail with JOURNAL_UNAVAILABLE at the default wait; this test therefore runs first.
  it("two writes on a fresh store, started together at the default wait, both exit 0 and both land", async () => {
    await checkTwoWrites(["content/01-p/01-c/01-a.md", "content/01-p/01-c/02-b.md"], freshDir);
  }, 300_000);

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
    await checkTwoWrites(["content/01-p/01-c/03-c.md", "content/01-p/01-c/04-d.md"], dataDir);
  }, 300_000);

  async function checkTwoWrites(paths: string[], dir: string): Promise<void> {
    const files = await Promise.all(
      ["a", "b"].map(async (name) => {
        const file = join(dir, `${name}-${paths[0]!.slice(-7, -5)}.md`);
        await writeFile(file, `# page ${name}\n`);
        return file;
      }),
    );
    const runs = await Promise.all(paths.map((p, i) => pfs(["write", "lock-book", p, files[i]!, "--agent", `agent-${i}`], dir)));
    for (const r of runs) {
      expect(r.stderr).not.toContain("JOURNAL_UNAVAILABLE");
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout).mode).toBe("created");
    }
    const store = await openStore({ dataDir: dir, storage: { kind: "local", dir: join(dir, "objects") } });
    try {
      const listed = (await store.list({ bookId: "lock-book" })).map((e) => e.path);
      expect(listed).toEqual(expect.arrayContaining(paths));
      const audit = (await store.audit({ bookId: "lock-book" })).entries.filter((e) => e.status === "ok").map((e) => e.path);
      expect(audit).toEqual(expect.arrayContaining(paths));
    } finally {
      await store.close();
    }
  }
});
