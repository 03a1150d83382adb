/**
 * R8 across processes: 8 OS processes, each with its own connection pool, write the same paths with
 * the same expected hash at once. Every round exactly one wins, the rest get CONFLICT carrying the
 * winner's hash; the journal ends with the last winner's bytes; the audit chains verify.
 * PostgreSQL only (an embedded PGlite folder belongs to one process). PFS_LONG=1: more rounds.
 */
import { fork, type ChildProcess } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { type Store } from "../src/index.js";
import { sha256Hex } from "../src/hashing/index.js";
import { BACKENDS, openStoreFor, type BackendInstance } from "./support/backends.js";
import { invariantViolations } from "./support/invariants.js";

const LONG = process.env.PFS_LONG === "1";
const WORKERS = 8;
const ROUNDS = Number(process.env.PFS_RACE_ROUNDS ?? (LONG ? 60 : 12));
const WORKER = fileURLToPath(new URL("./support/race-worker.ts", import.meta.url));
const TARGETS = [
  { bookId: "race-one", path: "content/01-part/01-chapter/01-hot.md" },
  { bookId: "race-one", path: "content/01-part/01-chapter/02-warm.md" },
  { bookId: "race-two", path: "content/01-part/01-chapter/01-hot.md" },
];
const PG_BACKENDS = BACKENDS.filter((b) => b.db === "postgres").slice(0, LONG ? undefined : 1);

interface WorkerResult {
  bookId: string;
  path: string;
  ok: boolean;
  mode?: string;
  hash?: string;
  previousHash?: string | null;
  code?: string;
  currentHash?: string | null;
  message?: string;
}

interface Worker {
  child: ChildProcess;
  next(): Promise<{ type: string; results?: WorkerResult[] }>;
}

function startWorker(id: number, options: object): Worker {
  const child = fork(WORKER, [], {
    execArgv: ["--import", "tsx"],
    env: { ...process.env, PFS_WORKER_ID: String(id), PFS_WORKER_OPTIONS: JSON.stringify(options) },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const queue: unknown[] = [];
  const waiting: ((m: unknown) => void)[] = [];
  child.on("message", (m) => (waiting.length ? waiting.shift()!(m) : queue.push(m)));
  child.on("exit", (code) => {
    while (waiting.length) waiting.shift()!({ type: "exit", code });
  });
  return {
    child,
    next: () => (queue.length ? Promise.resolve(queue.shift() as never) : new Promise((res) => waiting.push(res as never))),
  };
}

const raceFigures = { rounds: 0, writes: 0, winners: 0, conflicts: 0, violations: 0 };

/** Runs the race; returns the problems found (the broken-variant demo prints them). */
async function race(store: Store, options: object, rounds: number): Promise<string[]> {
  const problems: string[] = [];
  let hashes = new Map<string, string>();
  const lastBytes = new Map<string, string>();
  for (const t of TARGETS) {
    const content = `# start ${t.bookId} ${t.path}\n`;
    const r = await store.write({ ...t, content, agentId: "race-setup" });
    hashes.set(`${t.bookId}:${t.path}`, r.hash);
    lastBytes.set(`${t.bookId}:${t.path}`, content);
  }
  const workers = Array.from({ length: WORKERS }, (_, i) => startWorker(i, options));
  try {
    for (const w of workers) expect((await w.next()).type).toBe("ready");
    for (let round = 1; round <= rounds; round++) {
      const writesOf = (i: number) =>
        TARGETS.map((t) => ({ ...t, expectedHash: hashes.get(`${t.bookId}:${t.path}`)!, content: `# round ${round} worker ${i} ${t.bookId} ${t.path}\n` }));
      const replies = workers.map((w) => w.next());
      workers.forEach((w, i) => w.child.send({ type: "round", round, writes: writesOf(i) }));
      const results = (await Promise.all(replies)).map((r, i) => ({ i, results: r.results ?? [] }));
      raceFigures.rounds++;
      const nextHashes = new Map<string, string>();
      for (const t of TARGETS) {
        const k = `${t.bookId}:${t.path}`;
        const all = results.map(({ i, results }) => ({ i, r: results.find((x) => x.bookId === t.bookId && x.path === t.path) }));
        raceFigures.writes += all.length;
        const winners = all.filter((x) => x.r?.ok);
        const losers = all.filter((x) => !x.r?.ok);
        raceFigures.winners += winners.length;
        if (winners.length !== 1) {
          problems.push(`round ${round} ${k}: ${winners.length} winners (${winners.map((w) => `worker ${w.i}`).join(", ")})`);
          if (winners.length === 0) {
            problems.push(...losers.map((l) => `  worker ${l.i}: ${l.r?.code} ${l.r?.message ?? ""}`));
            continue;
          }
        }
        const winner = winners[winners.length - 1]!;
        const winnerHash = sha256Hex(writesOf(winner.i).find((w) => w.bookId === t.bookId && w.path === t.path)!.content);
        if (winner.r!.hash !== winnerHash || winner.r!.previousHash !== hashes.get(k) || winner.r!.mode !== "updated") {
          problems.push(`round ${round} ${k}: winner ${winner.i} returned ${JSON.stringify(winner.r)}`);
        }
        for (const l of losers) {
          if (l.r?.code !== "CONFLICT" || l.r.currentHash !== winnerHash) {
            problems.push(`round ${round} ${k}: loser ${l.i} got ${l.r?.code} (current ${l.r?.currentHash}, winner ${winnerHash}) ${l.r?.message ?? ""}`);
          } else raceFigures.conflicts++;
        }
        nextHashes.set(k, winnerHash);
        lastBytes.set(k, writesOf(winner.i).find((w) => w.bookId === t.bookId && w.path === t.path)!.content);
      }
      hashes = nextHashes;
      if (problems.length > 20) break;
    }
  } finally {
    for (const w of workers) if (w.child.connected) w.child.send({ type: "close" });
    await Promise.all(workers.map((w) => new Promise((res) => (w.child.exitCode !== null ? res(null) : w.child.once("exit", res)))));
  }
  // The journal holds the last winner's bytes for every path.
  for (const t of TARGETS) {
    const got = await store.read(t);
    const want = lastBytes.get(`${t.bookId}:${t.path}`)!;
    if (got.content.toString() !== want) problems.push(`final ${t.bookId}:${t.path} holds ${JSON.stringify(got.content.toString())}, last winner wrote ${JSON.stringify(want)}`);
  }
  const violations = await invariantViolations(store, [...new Set(TARGETS.map((t) => t.bookId))]);
  raceFigures.violations += violations.length + problems.length;
  problems.push(...violations);
  return problems;
}

describe.each(PG_BACKENDS)("R8 multi-process race on $name", (backend) => {
  let instance: BackendInstance;
  let store: Store;

  openStoreFor(backend, (s, i) => ((store = s), (instance = i)));

  it(
    `${WORKERS} processes × ${ROUNDS} rounds × ${TARGETS.length} paths: exactly one winner per round, last winner's bytes stay, chains verify`,
    async () => {
      const problems = await race(store, instance.options, ROUNDS);
      expect(problems).toEqual([]);
      // Every attempt is audited: setup + rounds × workers × paths.
      const audited = (await store.audit({ bookId: "race-one", limit: 1000 })).entries.length;
      expect(audited).toBe(Math.min(1000, 2 + ROUNDS * WORKERS * 2));
      const report = await store.verify();
      expect([report.objectProblems, report.chainProblems, report.journalAuditProblems]).toEqual([[], [], []]);
    },
    LONG ? 3_600_000 : 120_000,
  );
});

afterAll(async () => {
  if (!LONG) return;
  await mkdir("test-artifacts", { recursive: true });
  await writeFile(`test-artifacts/race-long-run-${process.pid}.json`, JSON.stringify({ when: new Date().toISOString(), workers: WORKERS, ...raceFigures }, null, 2));
  console.log("race long run:", JSON.stringify(raceFigures));
});
