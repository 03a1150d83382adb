/**
 * Direct vs HTTP book source in one run (issue 15): the same book loaded cold and unchanged through the
 * direct source (read-only store) and through `pfs serve` with a read-only token. Storage latency (if any)
 * is applied by the caller to every object read, so both sources read from an equally remote bucket.
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { openStore, type StoreOptions } from "../src/index.js";
import { syncBook, type SyncOptions } from "../src/docusaurus/sync.js";
import { closeSources, directSource, httpSource, type BookSource } from "../src/docusaurus/source/index.js";
import { startSourceServer } from "../test/support/source-server.js";

export interface SourceMeasure {
  cold: number;
  unchanged: number;
  coldGets: number;
}

export interface SourcesResult {
  pages: number;
  direct: SourceMeasure;
  http: SourceMeasure;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function measureSource(source: BookSource, base: Omit<SyncOptions, "source">, repeat: number, gets: () => number): Promise<SourceMeasure> {
  const colds: number[] = [];
  const unchanged: number[] = [];
  let coldGets = 0;
  for (let i = 0; i < repeat; i++) {
    await rm(base.cacheDir, { recursive: true, force: true });
    const g = gets();
    let t = performance.now();
    await syncBook({ ...base, source });
    colds.push(performance.now() - t);
    coldGets = gets() - g;
    t = performance.now();
    const r = await syncBook({ ...base, source });
    unchanged.push(performance.now() - t);
    if (r.stats.fetched !== 0) throw new Error("an unchanged load fetched objects");
  }
  return { cold: median(colds), unchanged: median(unchanged), coldGets };
}

export async function benchSources(root: string, storeOptions: StoreOptions, bookId: string, pages: number, concurrency: number, repeat: number, gets: () => number): Promise<SourcesResult> {
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
  try {
    const direct = await measureSource(directSource(storeOptions), base("direct"), repeat, gets);
    const http = await measureSource(httpSource({ url: server.url, token }), base("http"), repeat, gets);
    return { pages, direct, http };
  } finally {
    await closeSources();
    await server.close();
    await store.close();
  }
}

export function printSources(r: SourcesResult, latencyMs: number): void {
  const f = (ms: number) => `${ms.toFixed(0)} ms`;
  console.log(`\nBook sources, ${r.pages} pages, ${latencyMs} ms storage latency (median):`);
  console.log(`  direct  cold ${f(r.direct.cold)} (${r.direct.coldGets} GETs)  unchanged ${f(r.direct.unchanged)}`);
  console.log(`  http    cold ${f(r.http.cold)} (${r.http.coldGets} GETs)  unchanged ${f(r.http.unchanged)}`);
  console.log(`  http/direct: cold ${(r.http.cold / r.direct.cold).toFixed(2)}×, unchanged ${(r.http.unchanged / r.direct.unchanged).toFixed(2)}×`);
}
