/** Pure formatting of a load's numbers, and the plugin's prom-client metrics (one registry per process). */
import { Counter, Gauge, Histogram, Registry } from "prom-client";

/** delta: a plan since the cache's manifest; snapshot: the whole file list; offline: the cache as it was. */
export type LoadMode = "delta" | "snapshot" | "offline";

export interface LoadStats {
  bookId: string;
  manifestHash: string;
  /** Markdown pages materialized across all views. */
  pages: number;
  /** Objects downloaded from storage (GETs). */
  fetched: number;
  /** Objects the cache already held (no request). */
  reused: number;
  /** Files written into the views (new, changed, renamed or repaired). */
  written: number;
  /** Files removed from the views (deleted or renamed pages and assets). */
  deleted: number;
  /** Bytes downloaded. */
  bytes: number;
  ms: number;
  views: string[];
  /** True when the journal or storage was unreachable and the cache was used as is. */
  offline: boolean;
  /** Dropped corrupt cache objects that were fetched again. */
  repaired: number;
  mode: LoadMode;
  /** Every cached file was checked (cold or unknown cache, interrupted load, verifyCache); otherwise only what the plan touched. */
  verified: boolean;
  /** Journal statements this load ran and the rows they returned (flat in the book's size for a delta load). */
  journal: { queries: number; rows: number };
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** The one log line per load. */
export function formatLoadLine(s: LoadStats): string {
  const views = s.views.length > 1 ? ` in ${s.views.length} views` : "";
  const offline = s.offline ? " [OFFLINE: served from cache]" : "";
  const journal = s.offline ? "" : ` (${s.mode}${s.verified ? ", cache verified" : ""}; ${s.journal.queries} journal queries, ${s.journal.rows} rows)`;
  return (
    `[panaversity-fs] ${s.bookId}: ${s.pages} pages${views}, ${s.fetched} fetched, ${s.reused} reused, ` +
    `${s.deleted} deleted, ${s.written} written, ${formatBytes(s.bytes)} downloaded in ${s.ms} ms${journal}${offline}`
  );
}

export function createPluginMetrics(registry = new Registry()) {
  const r = [registry];
  return {
    registry,
    loads: new Counter({ name: "panaversityfs_plugin_loads_total", help: "Plugin content loads by outcome", labelNames: ["book_id", "outcome"], registers: r }),
    pages: new Gauge({ name: "panaversityfs_plugin_pages", help: "Pages materialized by the last load", labelNames: ["book_id"], registers: r }),
    fetched: new Counter({ name: "panaversityfs_plugin_fetched_total", help: "Objects fetched from storage", labelNames: ["book_id"], registers: r }),
    reused: new Counter({ name: "panaversityfs_plugin_cached_total", help: "Objects reused from the local cache", labelNames: ["book_id"], registers: r }),
    deleted: new Counter({ name: "panaversityfs_plugin_deleted_total", help: "Files removed from the cache views", labelNames: ["book_id"], registers: r }),
    bytes: new Counter({ name: "panaversityfs_plugin_fetched_bytes_total", help: "Bytes fetched from storage", labelNames: ["book_id"], registers: r }),
    journalRows: new Counter({ name: "panaversityfs_plugin_journal_rows_total", help: "Journal rows read by loads, by mode (delta or snapshot)", labelNames: ["book_id", "mode"], registers: r }),
    duration: new Histogram({
      name: "panaversityfs_plugin_load_duration_seconds",
      help: "Duration of a plugin content load",
      labelNames: ["book_id"],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers: r,
    }),
  };
}

export type PluginMetrics = ReturnType<typeof createPluginMetrics>;

const METRICS_KEY = Symbol.for("panaversity-fs.docusaurus.metrics");

/** Docusaurus loads plugin modules fresh per locale; the metrics live once per process. */
export function pluginMetrics(): PluginMetrics {
  const g = globalThis as { [METRICS_KEY]?: PluginMetrics };
  return (g[METRICS_KEY] ??= createPluginMetrics());
}

export function recordLoad(metrics: PluginMetrics, s: LoadStats): void {
  const labels = { book_id: s.bookId };
  metrics.loads.inc({ ...labels, outcome: s.offline ? "offline" : "ok" });
  metrics.pages.set(labels, s.pages);
  metrics.fetched.inc(labels, s.fetched);
  metrics.reused.inc(labels, s.reused);
  metrics.deleted.inc(labels, s.deleted);
  metrics.bytes.inc(labels, s.bytes);
  if (!s.offline) metrics.journalRows.inc({ ...labels, mode: s.mode }, s.journal.rows);
  metrics.duration.observe(labels, s.ms / 1000);
}
