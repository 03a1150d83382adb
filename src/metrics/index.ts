import { Counter, Gauge, Histogram, Registry } from "prom-client";

/** All metrics of one store, on a registry of its own so two stores (or tests) never mix counts. */
export function createMetrics(registry = new Registry()) {
  const r = [registry];
  return {
    registry,
    writeTotal: new Counter({ name: "panaversityfs_write_total", help: "Mutations by status and mode", labelNames: ["status", "mode"], registers: r }),
    writeDuration: new Histogram({
      name: "panaversityfs_write_duration_seconds",
      help: "Duration of store operations",
      labelNames: ["operation"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: r,
    }),
    readTotal: new Counter({ name: "panaversityfs_read_total", help: "Reads by source", labelNames: ["source"], registers: r }),
    archiveTotal: new Counter({ name: "panaversityfs_archive_total", help: "Archives by scope and status", labelNames: ["scope", "status"], registers: r }),
    archiveDuration: new Histogram({
      name: "panaversityfs_archive_duration_seconds",
      help: "Duration of archive streams",
      labelNames: ["scope"],
      buckets: [0.1, 0.5, 1, 5, 15, 60, 300],
      registers: r,
    }),
    archiveMemory: new Gauge({ name: "panaversityfs_archive_memory_bytes", help: "Peak RSS growth seen during the last archive", registers: r }),
    refusedTotal: new Counter({
      name: "panaversityfs_refused_total",
      help: "Refused attempts (bad input, forbidden, conflicts, failures) by operation and error code; no book label, so bad ids cannot grow it",
      labelNames: ["operation", "code"],
      registers: r,
    }),
    journalEntries: new Counter({ name: "panaversityfs_journal_entries_total", help: "Audit entries appended per existing book", labelNames: ["book_id"], registers: r }),
    deltaFiles: new Gauge({ name: "panaversityfs_delta_files_count", help: "Files in the last build plan", registers: r }),
    anchorWrites: new Counter({ name: "panaversityfs_anchor_writes_total", help: "Chain-head anchors written to object storage", registers: r }),
    anchorErrors: new Counter({ name: "panaversityfs_anchor_errors_total", help: "Anchor writes that failed (retried at the next flush)", registers: r }),
    integrityErrors: new Counter({
      name: "panaversityfs_integrity_errors_total",
      help: "Objects whose bytes did not match the journal (hash or size) when read",
      labelNames: ["operation"],
      registers: r,
    }),
    storageRetries: new Counter({ name: "panaversityfs_storage_retries_total", help: "Storage requests retried after a transient failure", labelNames: ["operation"], registers: r }),
  };
}

export type StoreMetrics = ReturnType<typeof createMetrics>;
