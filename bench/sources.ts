/**
 * Direct vs HTTP book source in one run (issue 15): the same book loaded cold and unchanged through the
 * direct source (read-only store), through `pfs serve` with a read-only token in the build's process, and
 * through `pfs serve` in a process of its own (as in CI, where the server is another machine). Storage
 * latency (if any) is applied to every object read, in whichever process reads, so all three read from an
 * equally remote bucket.
 */
import { fork, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { openStore, type StoreOptions } from "../src/index.js";
import { syncBook, type SyncOptions } from "../src/docusaurus/sync.js";
import { closeSources, directSource, httpSource, type BookSource } from "../src/docusaurus/source/index.js";
import { startSourceServer } from "../test/support/source-server.js";
import type { SourceServerConfig } from "./source-server.js";

export interface SourceMeasure {
  cold: number;
  unchanged: number;
  coldGets: number;
  /** CPU time of the build's process during the cold load (user + system). */
  coldCpu: number;
  /** CPU time of the server's own process during the cold load (when it has one). */
  coldServerCpu?: number;
}

/** GETs counted by the storage so far, and the CPU time of the server's own process (when it has one). */
type Probe = () => Promise<{ gets: number; cpu?: number }>;

export interface SourcesResult {
  pages: number;
  direct: SourceMeasure;
  /** `pfs serve` in the build's process (one event loop for both). */
  http: SourceMeasure;
  /** `pfs serve` in its own process. */
  httpProcess: SourceMeasure;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function measureSource(source: BookSource, base: Omit<SyncOptions, "source">, repeat: number, probe: Probe): Promise<SourceMeasure> {
  const colds: number[] = [];
  const cpus: number[] = [];
  const serverCpus: number[] = [];
  const unchanged: number[] = [];
  let coldGets = 0;
  for (let i = 0; i < repeat; i++) {
    await rm(base.cacheDir, { recursive: true, force: true });
    const before = await probe();
    const cpu = process.cpuUsage();
    let t = performance.now();
    await syncBook({ ...base, source });
    colds.push(performance.now() - t);
    const used = process.cpuUsage(cpu);
    cpus.push((used.user + used.system) / 1000);
    const after = await probe();
    coldGets = after.gets - before.gets;
    if (after.cpu !== undefined && before.cpu !== undefined) serverCpus.push(after.cpu - before.cpu);
    t = performance.now();
    const r = await syncBook({ ...base, source });
    unchanged.push(performance.now() - t);
    if (r.stats.fetched !== 0) throw new Error("an unchanged load fetched objects");
  }
  return { cold: median(colds), unchanged: median(unchanged), coldGets, coldCpu: median(cpus), ...(serverCpus.length ? { coldServerCpu: median(serverCpus) } : {}) };
}

/** Forks bench/source-server.ts: `pfs serve` on the same store in a process of its own. */
async function forkServer(config: SourceServerConfig): Promise<{ url: string; probe: Probe; close: () => Promise<void> }> {
  const child: ChildProcess = fork(fileURLToPath(new URL("./source-server.ts", import.meta.url)), [], {
    execArgv: ["--import", "tsx"],
    env: { ...process.env, PFS_BENCH_SOURCE_SERVER: JSON.stringify(config) },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const next = async <K extends string>(key: K): Promise<Record<K, unknown>> => {
    for (;;) {
      const [m] = (await once(child, "message")) as [Record<string, unknown>];
      if (key in m) return m as Record<K, unknown>;
    }
  };
  const { url } = await Promise.race([next("url"), once(child, "exit").then(([code]) => Promise.reject(new Error(`the source server exited (${code})`)))]);
  return {
    url: url as string,
    probe: async () => {
      const answer = next("gets");
      child.send("gets");
      const { gets, cpu } = (await answer) as unknown as { gets: number; cpu: number };
      return { gets, cpu };
    },
    close: async () => {
      const exited = once(child, "exit");
      child.send("close");
      await exited;
    },
  };
}

export async function benchSources(
  root: string,
  storeOptions: StoreOptions,
  bookId: string,
  pages: number,
  concurrency: number,
  repeat: number,
  latencyMs: number,
  gets: () => number,
): Promise<SourcesResult> {
  const token = "bench-read-token-0123456789";
  const store = await openStore(storeOptions);
  const server = await startSourceServer(store, [{ agent: "bench-ci", token, books: [bookId] }]);
  const base = (name: string): Omit<SyncOptions, "source"> => ({
    bookId,
    cacheDir: join(root, `sources-${name}-${pages}`),
    store: storeOptions,
    overlayUsers: [],
    includeSummaries: true,
    concurrency,
    offline: "fail",
    fetchAttempts: 3,
  });
  const own: Probe = async () => ({ gets: gets() });
  try {
    const direct = await measureSource(directSource(storeOptions), base("direct"), repeat, own);
    const http = await measureSource(httpSource({ url: server.url, token }), base("http"), repeat, own);
    const child = await forkServer({ storeOptions, bookId, token, latencyMs });
    try {
      const httpProcess = await measureSource(httpSource({ url: child.url, token }), base("http-process"), repeat, child.probe);
      return { pages, direct, http, httpProcess };
    } finally {
      await child.close();
    }
  } finally {
    await closeSources();
    await server.close();
    await store.close();
  }
}

export function printSources(r: SourcesResult, latencyMs: number): void {
  const f = (ms: number) => `${ms.toFixed(0)} ms`;
  const line = (name: string, m: SourceMeasure) =>
    console.log(
      `  ${name.padEnd(28)} cold ${f(m.cold)} (${m.coldGets} GETs, CPU: build ${f(m.coldCpu)}${m.coldServerCpu !== undefined ? ` + server ${f(m.coldServerCpu)}` : ""})  unchanged ${f(m.unchanged)}`,
    );
  const ratios = (m: SourceMeasure) => `cold ${(m.cold / r.direct.cold).toFixed(2)}×, unchanged ${(m.unchanged / r.direct.unchanged).toFixed(2)}×`;
  console.log(`\nBook sources, ${r.pages} pages, ${latencyMs} ms storage latency (median):`);
  line("direct", r.direct);
  line("http (server in-process)", r.http);
  line("http (server own process)", r.httpProcess);
  console.log(`  http/direct: in-process ${ratios(r.http)}; own process ${ratios(r.httpProcess)}`);
}
