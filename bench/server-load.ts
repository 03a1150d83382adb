/**
 * Server load bench (issue 14, "a server that stays up"): 10 honest clients read and write through a
 * real `pfs serve` child process, first on a quiet server, then while attackers run from another process:
 * 200 slow-body clients (unauthenticated PUT announcing 1 GB, trickling it), 200 slow-header clients
 * (headers that never finish) and 20 pathological audit queries (globs far past the bounds, and the
 * costliest glob still allowed). Prints the honest clients' p50/p99 quiet vs attacked, their ratio
 * (goal ≤ 2×) and how many honest calls got a 5xx or failed (goal 0).
 *
 * All traffic goes to 127.0.0.1, the number of sockets is fixed and every phase stops by itself.
 *
 *   npx tsx bench/server-load.ts [--db pglite|postgres] [--seconds 15] [--json]
 */
import { fork, spawn, type ChildProcess } from "node:child_process";
import { connect, createServer, type AddressInfo, type Socket } from "node:net";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { openStore } from "../src/index.js";
import { hashToken } from "../src/server/auth.js";
import { writeFile } from "node:fs/promises";

const { values: args } = parseArgs({
  options: {
    db: { type: "string", default: "pglite" },
    seconds: { type: "string", default: "15" },
    role: { type: "string", default: "main" },
    port: { type: "string", default: "0" },
    token: { type: "string", default: "" },
    json: { type: "boolean", default: false },
  },
});
const SECONDS = Number(args.seconds);
const BOOK = "load-book";
const FILES = 50;
const HONEST = 10;
const lesson = (i: number) => `content/01-p/01-c/${String(i).padStart(2, "0")}-l.md`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------- attacker (a child process, so its work does not slow the honest clients' event loop) ----------

function keepAttacking(port: number, until: number, open: (s: Socket) => NodeJS.Timeout): Promise<number> {
  let opened = 0;
  return new Promise((resolve) => {
    const once = () => {
      if (Date.now() >= until) return resolve(opened);
      opened++;
      const s = connect(port, "127.0.0.1");
      s.on("error", () => {});
      s.resume();
      const timer = open(s);
      const left = setTimeout(() => s.destroy(), Math.max(0, until - Date.now()));
      s.on("close", () => {
        clearInterval(timer);
        clearTimeout(left);
        setTimeout(once, 50); // reconnect, as an attacker would
      });
    };
    once();
  });
}

async function attack(port: number, token: string, seconds: number): Promise<void> {
  const until = Date.now() + seconds * 1000;
  const slowBody = Array.from({ length: 200 }, (_, i) =>
    keepAttacking(port, until, (s) => {
      s.write(`PUT /v1/books/${BOOK}/files/static/img/slow-${i}.png HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\n`);
      return setInterval(() => s.writable && s.write(Buffer.alloc(512, 120)), 200);
    }),
  );
  const slowHeader = Array.from({ length: 200 }, () =>
    keepAttacking(port, until, (s) => {
      s.write(`GET /v1/books/${BOOK}/files HTTP/1.1\r\nHost: x\r\n`);
      return setInterval(() => s.writable && s.write("X-a: b\r\n"), 1000);
    }),
  );
  const globs = [`${"**".repeat(511)}x`, "**a**b**c**d**e**f**g**x"]; // refused outright; the costliest still allowed
  let audits = 0;
  const audit = Array.from({ length: 20 }, async (_, i) => {
    while (Date.now() < until) {
      const res = await fetch(`http://127.0.0.1:${port}/v1/audit?path=${encodeURIComponent(globs[i % 2]!)}`, { headers: { authorization: `Bearer ${token}` } }).catch(() => null);
      await res?.arrayBuffer().catch(() => {});
      audits++;
    }
  });
  const [b, h] = await Promise.all([Promise.all(slowBody), Promise.all(slowHeader), Promise.all(audit)]);
  process.stderr.write(`attacker done: ${b.length + h.length} loops\n`);
  const report = { slowBodyConnections: b.reduce((x, y) => x + y, 0), slowHeaderConnections: h.reduce((x, y) => x + y, 0), auditQueries: audits };
  // Exit only once the report has gone out (process.send is asynchronous).
  await new Promise<void>((resolve) => (process.send ? process.send(report, () => resolve()) : resolve()));
}

// ---------- honest clients ----------

interface Phase {
  latencies: number[];
  fiveHundreds: number;
  failures: number;
  /** What the failures were: HTTP status or error code. */
  kinds: Record<string, number>;
}

/** Each honest client's last known hash of its own file, kept across phases (an honest client sends If-Match). */
const knownHash = new Map<number, string>();

async function honest(base: string, token: string, seconds: number): Promise<Phase> {
  const phase: Phase = { latencies: [], fiveHundreds: 0, failures: 0, kinds: {} };
  const note = (kind: string) => (phase.kinds[kind] = (phase.kinds[kind] ?? 0) + 1);
  const until = Date.now() + seconds * 1000;
  const auth = { authorization: `Bearer ${token}` };
  await Promise.all(
    Array.from({ length: HONEST }, async (_, c) => {
      let n = 0;
      while (Date.now() < until) {
        n++;
        const write = n % 4 === 0;
        const t0 = performance.now();
        try {
          const res = write
            ? await fetch(`${base}/v1/books/${BOOK}/files/content/02-p/01-c/${String(c + 1).padStart(2, "0")}-w.md`, {
                method: "PUT",
                body: `# client ${c} write ${n}\n`,
                headers: { ...auth, ...(knownHash.has(c) ? { "if-match": `"${knownHash.get(c)}"` } : {}) },
              })
            : await fetch(`${base}/v1/books/${BOOK}/files/${lesson((n % FILES) + 1)}`, { headers: auth });
          const body = await res.arrayBuffer();
          if (res.status >= 500) phase.fiveHundreds++;
          else if (res.status >= 400) phase.failures++;
          if (res.status >= 400) note(`${write ? "write" : "read"} ${res.status}`);
          if (write && res.ok) knownHash.set(c, (JSON.parse(Buffer.from(body).toString()) as { hash: string }).hash);
          // A conflict carries the current hash: an honest client retries from there.
          const current = write && (res.status === 409 || res.status === 428) ? (JSON.parse(Buffer.from(body).toString()) as { error: { currentHash?: string } }).error.currentHash : undefined;
          if (current) knownHash.set(c, current);
        } catch (err) {
          phase.failures++;
          const cause = (err as { cause?: { code?: string } }).cause;
          note(`${write ? "write" : "read"} ${cause?.code ?? (err as Error).name}`);
        }
        phase.latencies.push(performance.now() - t0);
      }
    }),
  );
  return phase;
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const port = (probe.address() as AddressInfo).port;
      probe.close(() => resolve(port));
    });
  });
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "pfs-load-"));
  let databaseUrl: string | undefined;
  let dropDb: (() => Promise<void>) | undefined;
  if (args.db === "postgres") {
    const { createTestDatabase } = await import("../test/support/postgres.js");
    const db = await createTestDatabase();
    databaseUrl = db.url;
    dropDb = db.drop;
  }
  const storeOpts = { dataDir: dir, databaseUrl, storage: { kind: "local" as const, dir: join(dir, "objects") } };
  const seed = await openStore(storeOpts);
  for (let i = 1; i <= FILES; i++) await seed.write({ bookId: BOOK, path: lesson(i), content: `# Lesson ${i}\n\n${"Words. ".repeat(300)}\n`, agentId: "seed" });
  await seed.close();

  const token = "load-bench-token-0123456789abcdef";
  const tokensFile = join(dir, "tokens.json");
  await writeFile(tokensFile, JSON.stringify({ tokens: [{ agent: "load-bot", sha256: hashToken(token), books: "*", users: "*", writeBase: true, audit: true }] }), { mode: 0o600 });
  const port = await freePort();
  const cli = fileURLToPath(new URL("../dist/cli/main.js", import.meta.url));
  const env = { ...process.env, PFS_DATA_DIR: dir, DATABASE_URL: databaseUrl ?? "", PFS_S3_BUCKET: "", NODE_NO_WARNINGS: "1" };
  const server: ChildProcess = spawn(process.execPath, [cli, "serve", "--port", String(port), "--tokens-file", tokensFile], { env, stdio: ["ignore", "ignore", "pipe"] });
  let serverLog = "";
  server.stderr!.on("data", (d) => (serverLog += d.toString()));
  try {
    for (let i = 0; i < 600 && !serverLog.includes("pfs server on"); i++) await sleep(100);
    if (!serverLog.includes("pfs server on")) throw new Error(`pfs serve did not start: ${serverLog}`);
    const base = `http://127.0.0.1:${port}`;
    await honest(base, token, 2); // warm-up, not counted
    const quiet = await honest(base, token, SECONDS);
    const attacker = fork(fileURLToPath(import.meta.url), ["--role", "attack", "--port", String(port), "--token", token, "--seconds", String(SECONDS + 4)], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
    // Resolves on the attacker's report, or (if it died) on its exit, so the bench always ends.
    const attackStats = new Promise<Record<string, number>>((resolve) => {
      attacker.once("message", (m) => resolve(m as Record<string, number>));
      attacker.once("exit", (code) => resolve({ slowBodyConnections: NaN, slowHeaderConnections: NaN, auditQueries: NaN, attackerExit: code ?? -1 }));
    });
    await sleep(3000); // let the attack reach full strength
    const attacked = await honest(base, token, SECONDS);
    const stats = await attackStats;
    await new Promise((r) => (attacker.exitCode !== null ? r(null) : attacker.once("exit", r)));
    const row = {
      db: args.db,
      seconds: SECONDS,
      quiet: { calls: quiet.latencies.length, p50: pct(quiet.latencies, 50), p99: pct(quiet.latencies, 99), fiveHundreds: quiet.fiveHundreds, failures: quiet.failures },
      attacked: { calls: attacked.latencies.length, p50: pct(attacked.latencies, 50), p99: pct(attacked.latencies, 99), fiveHundreds: attacked.fiveHundreds, failures: attacked.failures, kinds: attacked.kinds },
      attack: stats,
    };
    const ratio = row.attacked.p99 / row.quiet.p99;
    if (args.json) console.log(JSON.stringify({ ...row, p99Ratio: ratio }, null, 2));
    else {
      const f = (x: number) => `${x.toFixed(1)} ms`;
      console.log(`server-load (${args.db}, ${SECONDS} s per phase, ${HONEST} honest clients, 1 write in 4)`);
      console.log(`  quiet:    ${row.quiet.calls} calls, p50 ${f(row.quiet.p50)}, p99 ${f(row.quiet.p99)}, 5xx ${row.quiet.fiveHundreds}, other failures ${row.quiet.failures}`);
      console.log(`  attacked: ${row.attacked.calls} calls, p50 ${f(row.attacked.p50)}, p99 ${f(row.attacked.p99)}, 5xx ${row.attacked.fiveHundreds}, other failures ${row.attacked.failures}`);
      if (attacked.failures > 0) console.log(`  attacked failures by kind: ${JSON.stringify(attacked.kinds)}`);
      console.log(`  attack:   ${stats.slowBodyConnections} slow-body and ${stats.slowHeaderConnections} slow-header connections (200 + 200 at a time), ${stats.auditQueries} pathological audit queries (20 at a time)`);
      console.log(`  p99 attacked / quiet = ${ratio.toFixed(2)}× (goal ≤ 2×); honest 5xx = ${row.attacked.fiveHundreds} (goal 0)`);
    }
  } finally {
    server.kill("SIGTERM");
    await new Promise((r) => (server.exitCode !== null ? r(null) : server.once("exit", r)));
    await dropDb?.().catch(() => {});
    await rm(dir, { recursive: true, force: true });
  }
}

if (args.role === "attack") {
  const hardStop = setTimeout(() => process.exit(2), (Number(args.seconds) + 30) * 1000);
  hardStop.unref();
  await attack(Number(args.port), args.token!, Number(args.seconds));
  process.exit(0);
} else {
  await main();
}
