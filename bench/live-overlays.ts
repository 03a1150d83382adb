/**
 * Live-overlays benchmark (issue 16, DESIGN 4.10), ratios against baselines measured in the same run.
 *
 *  (a) builds of one generated book on a PostgreSQL journal holding USERS × OVERLAYS overlays:
 *      no overlays vs `overlays: "live"` (goal: 0 extra pages, ≤ 1.05× wall time), and build-time overlays
 *      for BUILD_USERS of those users (pages and time per overlay, for comparison);
 *  (b) the reader endpoint on PostgreSQL, one `pfs serve` process vs three behind a round-robin proxy written
 *      here, with 100 and 1,000 signed-in readers (each its own user and RS256 ID token), two ways:
 *      - "readers" (what the goal means): open loop — each reader loads a page every 1–2 s (uniform), arrivals at
 *        fixed times whatever the answers do: the overlay list once per session, then on each page load the
 *        overlay of the page shown (worst case: every page shown has one), revalidated with the ETag the browser
 *        kept (If-None-Match → 304 when unchanged). Latency from the scheduled arrival, so a server that falls
 *        behind is charged for the wait (no coordinated omission);
 *      - "saturation": closed loop, no think time (each reader sends its next request when the last answered):
 *        this measures throughput, and its latency is just readers / throughput;
 *  (c) write → visible: an agent writes an overlay through one process, the reader polls through the proxy
 *      (another process) until it shows.
 * Everything on 127.0.0.1; the load generator and the proxy share the machine's cores with the servers, so each
 * level also reports the servers' own CPU time per request (from /proc): what a request costs, whatever the load.
 * Before the levels, every process sees each reader's session start once (list + first page: the signature
 * check, the verified read and the render), reported apart as "sessionStarts"; the levels are steady state.
 *
 *   npx tsx bench/live-overlays.ts [--parts 2 --chapters 4 --lessons 5] [--users 10000] [--overlays 3]
 *                                  [--build-users 200] [--seconds 5] [--saturation-seconds 3] [--skip-builds] [--cli dist/cli/main.js] [--json]
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer, request, Agent, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import pLimit from "p-limit";
import { openStore, type Store } from "../src/index.js";
import { generateSyntheticBook } from "../scripts/sample-book.js";
import { createTestDatabase } from "../test/support/postgres.js";
import { startTestIssuer, type TestIssuer } from "../test/support/oidc-issuer.js";
import { build, listFiles, makeSite } from "../test/fixtures/docusaurus/harness.js";

const { values: args } = parseArgs({
  options: {
    parts: { type: "string", default: "2" },
    chapters: { type: "string", default: "4" },
    lessons: { type: "string", default: "5" },
    users: { type: "string", default: "10000" },
    overlays: { type: "string", default: "3" },
    "build-users": { type: "string", default: "200" },
    seconds: { type: "string", default: "5" },
    "saturation-seconds": { type: "string", default: "3" },
    "skip-builds": { type: "boolean", default: false },
    /** The built `pfs` to serve with (default this tree's dist), e.g. an older build as the baseline. */
    cli: { type: "string" },
    json: { type: "boolean", default: false },
  },
});
const BOOK = "live-bench";
const USERS = Number(args.users);
const OVERLAYS = Number(args.overlays);
const AGENT_TOKEN = "bench-agent-token-0123456789abcdef";
const CLI = args.cli ?? join(import.meta.dirname, "..", "dist", "cli", "main.js");
const userOf = (i: number) => `student-${String(i + 1).padStart(5, "0")}`;

/** Seeds the book's base and USERS × OVERLAYS overlays (lessons spread over the book). */
async function seed(store: Store): Promise<{ pages: number; lessons: string[] }> {
  const book = generateSyntheticBook({ parts: Number(args.parts), chaptersPerPart: Number(args.chapters), lessonsPerChapter: Number(args.lessons), bookId: BOOK });
  const limit = pLimit(16);
  await Promise.all(book.files.map((f) => limit(() => store.write({ bookId: BOOK, path: f.path, content: f.content, agentId: "bench" }))));
  const lessons = book.files.map((f) => f.path).filter((p) => /\/\d\d-[^/]+\.md$/.test(p) && !p.endsWith(".summary.md"));
  const jobs: Promise<unknown>[] = [];
  for (let i = 0; i < USERS; i++) {
    for (let k = 0; k < OVERLAYS; k++) {
      const path = lessons[(i * 37 + k * 101) % lessons.length]!;
      jobs.push(limit(() => store.write({ bookId: BOOK, path, userId: userOf(i), content: `# For ${userOf(i)}\n\nOverlay ${k} of ${path}, with a | table |\n`, agentId: "bench" }).catch(() => undefined)));
    }
  }
  await Promise.all(jobs);
  const pages = book.files.filter((f) => f.path.startsWith("content/") && /\.mdx?$/.test(f.path) && !f.path.endsWith(".summary.md")).length;
  return { pages, lessons };
}

async function builds(databaseUrl: string, storage: unknown): Promise<unknown> {
  process.env.DOCUSAURUS_NO_PERSISTENT_CACHE = "1";
  const site = await makeSite();
  const buildUsers = Array.from({ length: Math.min(Number(args["build-users"]), USERS) }, (_, i) => userOf(i));
  try {
    const base = { bookId: BOOK, databaseUrl, storage };
    const configs = [
      { name: "no overlays", options: { ...base, cacheDir: "c0" } },
      { name: `live (${USERS} users in the journal)`, options: { ...base, cacheDir: "c1", overlays: "live", live: { serverUrl: "https://pfs.example.com" } } },
      { name: `build-time (${buildUsers.length} users)`, options: { ...base, cacheDir: "c2", overlayUsers: buildUsers } },
    ];
    const runs = [];
    for (const [i, c] of configs.entries()) {
      const b = await build(site.siteDir, c.options, `b${i}`);
      const pages = (await listFiles(b.outDir)).filter((f) => f.endsWith(".html")).length;
      runs.push({ name: c.name, pages, ms: b.ms });
      await rm(b.outDir, { recursive: true, force: true });
    }
    const [none, live, timed] = runs as [(typeof runs)[0], (typeof runs)[0], (typeof runs)[0]];
    return {
      runs,
      liveExtraPages: live.pages - none.pages,
      liveWallRatio: +(live.ms / none.ms).toFixed(3),
      buildTimeExtraPages: timed.pages - none.pages,
      buildTimeMsPerOverlay: +((timed.ms - none.ms) / Math.max(1, timed.pages - none.pages)).toFixed(1),
    };
  } finally {
    await site.cleanup();
  }
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

async function startServe(env: NodeJS.ProcessEnv, issuer: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [CLI, "serve", "--port", String(await freePort()), "--max-connections", "4000", "--oidc-issuer", issuer, "--oidc-audience", "book-site"], {
    env: { ...env, PFS_SERVER_TOKENS: `bench-agent=${AGENT_TOKEN}` },
    stdio: ["ignore", "ignore", "pipe"],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let err = "";
    child.stderr!.on("data", (d) => {
      err += d;
      const m = /on (http:\/\/[^ ]+) for/.exec(err);
      if (m) resolve(m[1]!);
    });
    child.once("exit", (code) => reject(new Error(`pfs serve exited (${code}): ${err}`)));
  });
  return { url, child };
}

/** A round-robin reverse proxy (keep-alive to each backend). */
async function roundRobin(backends: string[]): Promise<{ url: string; server: Server }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 512 });
  let next = 0;
  const server = createServer((req, res) => {
    const target = new URL(req.url ?? "/", backends[next++ % backends.length]);
    const up = request(target, { method: req.method, headers: req.headers, agent }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on("error", () => res.writeHead(502).end());
    req.pipe(up);
  });
  server.maxConnections = 4000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

function get(url: string, token: string, agent: Agent, etag?: string): Promise<{ status: number; etag?: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (etag) headers["if-none-match"] = etag;
    const req = request(url, { headers, agent }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode ?? 0, etag: res.headers.etag }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** CPU time (user + system, ms) a process has used so far, from /proc (Linux; clock ticks of 10 ms). */
async function cpuMs(pids: number[]): Promise<number> {
  let ticks = 0;
  for (const pid of pids) {
    const fields = (await readFile(`/proc/${pid}/stat`, "utf8")).split(") ")[1]!.split(" ");
    ticks += Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of stat)
  }
  return ticks * 10;
}

/** Runs `fn` and adds the servers' CPU per request: the cost of a request whatever else the machine runs. */
async function withCpu<T extends { requests: number }>(pids: number[], fn: () => Promise<T>): Promise<T & { serverCpuMsPerRequest: number }> {
  const before = await cpuMs(pids);
  const result = await fn();
  const used = (await cpuMs(pids)) - before;
  return { ...result, serverCpuMsPerRequest: +(used / Math.max(1, result.requests)).toFixed(3) };
}

/** Session starts: every reader's list and first overlay page once (signature check, read, render), 50 at a time. */
async function sessionStarts(base: string, tokens: { token: string; path: string }[]) {
  const agent = new Agent({ keepAlive: true, maxSockets: 50 });
  const limit = pLimit(50);
  const lat: number[] = [];
  const statuses: Record<string, number> = {};
  const list = `${base}/v1/reader/books/${BOOK}/overlays`;
  await Promise.all(
    tokens.map(({ token, path }) =>
      limit(async () => {
        for (const url of [list, `${list}/${path}`]) {
          const t = performance.now();
          const r = await get(url, token, agent).catch(() => ({ status: 0 }));
          lat.push(performance.now() - t);
          statuses[r.status || "no answer"] = (statuses[r.status || "no answer"] ?? 0) + 1;
        }
      }),
    ),
  );
  agent.destroy();
  return { sessions: tokens.length, requests: lat.length, ...quantiles(lat), statuses };
}

function quantiles(lat: number[]): { p50: number; p99: number; max: number } {
  lat.sort((a, b) => a - b);
  const q = (p: number) => +(lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? NaN).toFixed(1);
  return { p50: q(0.5), p99: q(0.99), max: q(1) };
}

/**
 * Open loop: `readers` signed-in readers, each loading a page every 1–2 s for `seconds` (arrivals at fixed
 * times, not waiting for answers): the list at the first load of the session, then the overlay of the page
 * shown, revalidated with the ETag kept from the last answer. Latency counts from the scheduled arrival.
 */
async function readersLoad(base: string, tokens: { token: string; path: string }[], readers: number, seconds: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: readers });
  const lat: number[] = [];
  const statuses: Record<string, number> = {};
  const start = performance.now() + 200;
  const end = start + seconds * 1000;
  const list = `${base}/v1/reader/books/${BOOK}/overlays`;
  const pending: Promise<void>[] = [];
  for (let i = 0; i < readers; i++) {
    const { token, path } = tokens[i % tokens.length]!;
    let etag: string | undefined;
    let at = start + Math.random() * 1500; // sessions start spread over one period
    const arrive = (first: boolean) => {
      const scheduled = at;
      const done = get(first ? list : `${list}/${path}`, token, agent, first ? undefined : etag)
        .then((r) => {
          if (!first && r.etag) etag = r.etag;
          statuses[r.status] = (statuses[r.status] ?? 0) + 1;
        })
        .catch(() => void (statuses["no answer"] = (statuses["no answer"] ?? 0) + 1))
        .then(() => void lat.push(performance.now() - scheduled));
      pending.push(done);
      at += 1000 + Math.random() * 1000;
      if (at < end) setTimeout(() => arrive(false), Math.max(0, at - performance.now()));
    };
    setTimeout(() => arrive(true), Math.max(0, at - performance.now()));
  }
  await new Promise((resolve) => setTimeout(resolve, end - performance.now() + 50));
  await Promise.all(pending);
  agent.destroy();
  return { readers, requests: lat.length, rps: Math.round(lat.length / seconds), ...quantiles(lat), statuses };
}

/** Saturation: `readers` readers in a closed loop with no think time (list, then one overlay page, again and again). */
async function saturation(base: string, tokens: { token: string; path: string }[], readers: number, seconds: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: readers });
  const lat: number[] = [];
  const statuses: Record<string, number> = {};
  const end = Date.now() + seconds * 1000;
  const list = `${base}/v1/reader/books/${BOOK}/overlays`;
  await Promise.all(
    Array.from({ length: readers }, async (_, i) => {
      const { token, path } = tokens[i % tokens.length]!;
      for (let n = 0; Date.now() < end; n++) {
        const t = performance.now();
        const status = await get(n % 2 ? `${list}/${path}` : list, token, agent).then((r) => r.status, () => 0);
        lat.push(performance.now() - t);
        statuses[status || "no answer"] = (statuses[status || "no answer"] ?? 0) + 1;
      }
    }),
  );
  agent.destroy();
  return { readers, requests: lat.length, rps: Math.round(lat.length / seconds), ...quantiles(lat), statuses };
}

async function writeToVisible(writeUrl: string, readUrl: string, lessons: string[], tokenOf: (u: string) => Promise<string>) {
  const times: number[] = [];
  const agent = new Agent({ keepAlive: true });
  for (let i = 0; i < 10; i++) {
    const user = `fresh-reader-${i}`;
    const token = await tokenOf(user);
    const path = lessons[i % lessons.length]!;
    const t = performance.now();
    const put = await fetch(`${writeUrl}/v1/books/${BOOK}/files/${path}?user=${user}`, { method: "PUT", headers: { authorization: `Bearer ${AGENT_TOKEN}` }, body: `# New for ${user}\n` });
    if (put.status !== 201) throw new Error(`write answered ${put.status}`);
    while ((await get(`${readUrl}/v1/reader/books/${BOOK}/overlays/${path}`, token, agent)).status !== 200) await new Promise((r) => setTimeout(r, 5));
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return { samples: times.length, medianMs: +times[Math.floor(times.length / 2)]!.toFixed(1), maxMs: +times[times.length - 1]!.toFixed(1) };
}

async function main(): Promise<void> {
  const db = await createTestDatabase();
  const dataDir = await mkdtemp(join(tmpdir(), "pfs-live-bench-"));
  const storage = { kind: "local" as const, dir: join(dataDir, "objects") };
  const store = await openStore({ databaseUrl: db.url, storage });
  let idp: TestIssuer | undefined;
  const children: ChildProcess[] = [];
  const out: Record<string, unknown> = { book: {}, users: USERS, overlaysPerUser: OVERLAYS };
  try {
    const t0 = Date.now();
    const { pages, lessons } = await seed(store);
    out.book = { pages, seedSeconds: +((Date.now() - t0) / 1000).toFixed(1) };
    if (!args["skip-builds"]) out.builds = await builds(db.url, storage);
    idp = await startTestIssuer();
    const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: db.url, PFS_DATA_DIR: dataDir };
    for (const key of Object.keys(env)) if (key.startsWith("PFS_S3_")) delete env[key];
    const serve = async () => {
      const s = await startServe(env, idp!.issuer);
      children.push(s.child);
      return s;
    };
    const servers = [await serve(), await serve(), await serve()];
    const proxy = await roundRobin(servers.map((s) => s.url));
    const tokens = await Promise.all(Array.from({ length: Math.min(1000, USERS) }, async (_, i) => ({ token: await idp!.mint(userOf(i)), path: lessons[(i * 37) % lessons.length]! })));
    const seconds = Number(args.seconds);
    const pids = servers.map((s) => s.child.pid!);
    const setups = [
      { setup: "1 process", url: servers[0]!.url, pids: pids.slice(0, 1) },
      { setup: "3 processes + round-robin", url: proxy.url, pids },
    ];
    // Every process sees every reader's session start once (on its own), so the levels below are steady state.
    out.sessionStarts = [];
    for (const [i, s] of servers.entries()) (out.sessionStarts as unknown[]).push({ process: i + 1, ...(await withCpu([s.child.pid!], () => sessionStarts(s.url, tokens))) });
    const readersOut: Record<string, unknown>[] = [];
    for (const readers of [100, 1000]) for (const s of setups) readersOut.push({ setup: s.setup, ...(await withCpu(s.pids, () => readersLoad(s.url, tokens, readers, seconds))) });
    out.readers = readersOut;
    const saturated: Record<string, unknown>[] = [];
    for (const readers of [100, 1000]) for (const s of setups) saturated.push({ setup: s.setup, ...(await withCpu(s.pids, () => saturation(s.url, tokens, readers, Number(args["saturation-seconds"])))) });
    out.saturation = saturated;
    out.loadAverage = (await readFile("/proc/loadavg", "utf8")).split(" ").slice(0, 3).join(" ");
    out.writeToVisible = await writeToVisible(servers[0]!.url, proxy.url, lessons, (u) => idp!.mint(u));
    proxy.server.close();
  } finally {
    for (const c of children) c.kill("SIGTERM");
    await store.close();
    await idp?.close();
    await db.drop();
    await rm(dataDir, { recursive: true, force: true });
  }
  console.log(args.json ? JSON.stringify(out, null, 2) : JSON.stringify(out, null, 1));
}

await main();
