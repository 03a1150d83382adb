/**
 * One content load, from a BookSource (source/types.ts) into the cache folder. With a complete cache:
 * one planLoad since the cache's manifest hash says what changed, and only the files it touches are
 * stat-ed, fetched, written or removed. A cold or unknown cache (or verifyCache) takes the full path.
 * Decisions: cache-plan.ts (pure); doing them: load-executor.ts; offline builds: offline-load.ts.
 */
import type { StoreOptions } from "../store/config.js";
import { PfsError, isPfsError } from "../errors/index.js";
import { buildUsers, runLoad } from "./load-executor.js";
import { loadFromCache } from "./offline-load.js";
import { loadFingerprint } from "./cache-plan.js";
import { sourceFor, type SourceChoice } from "./source/index.js";
import type { LoadStats } from "./report.js";

export { LOAD_MARKER_FILE } from "./load-executor.js";

export interface SyncOptions {
  bookId: string;
  /** Absolute cache folder. */
  cacheDir: string;
  /** The direct source's store (read-only); ignored when `source` is given. */
  store: StoreOptions;
  /** Where the book comes from: `pfs serve` (url + read token) or a BookSource; absent: the direct source on `store`. */
  source?: SourceChoice;
  previewUser?: string;
  overlayUsers: string[];
  includeSummaries: boolean;
  concurrency: number;
  offline: "fail" | "use-cache";
  fetchAttempts: number;
  /**
   * Check every cached file (stat, and re-hash what changed since it was written) instead of only the
   * ones the plan touches. Always on when the manifest is missing; the plugin also turns it on for PFS_VERIFY_CACHE=1.
   */
  verifyCache?: boolean;
  /** "snapshot" ignores the cache's manifest hash and reads the whole file list (benchmarks compare the two). */
  journalRead?: "plan" | "snapshot";
  /** Components an overlay page may use; any other unsafe overlay is materialized as an inert page. */
  overlayComponents?: readonly string[];
  warn?: (message: string) => void;
}

export interface SyncResult {
  stats: LoadStats;
  fingerprint: string;
  /** `${viewKey}|${lesson book path}` → summary text. */
  summaries: Map<string, string>;
  /** Cache-relative view files (docs/…) that are overlay pages: compiled in safe mode. */
  overlayFiles: string[];
}

const UNREACHABLE = new Set(["JOURNAL_UNAVAILABLE", "STORAGE_UNAVAILABLE"]);

export function isUnreachable(err: unknown): err is PfsError {
  return isPfsError(err) && UNREACHABLE.has(err.code);
}

/** The manifest hash of each cache's last load in this process: the dev-server poll plans from it. */
const lastManifestHash = new Map<string, string>();

/** Just the fingerprint (for the dev-server poller): one planLoad since the last load, no object reads. */
export async function currentFingerprint(opts: SyncOptions): Promise<string> {
  return sourceFor(opts).session(async (source) => {
    const plan = await source.planLoad({ bookId: opts.bookId, targetManifestHash: lastManifestHash.get(opts.cacheDir), userIds: buildUsers(opts) });
    return loadFingerprint(plan.manifestHash, plan.overlays);
  });
}

export async function syncBook(opts: SyncOptions): Promise<SyncResult> {
  const started = Date.now();
  try {
    return await sourceFor(opts).session((source) => runLoad(source, opts, started, (hash) => lastManifestHash.set(opts.cacheDir, hash)));
  } catch (err) {
    if (!isUnreachable(err)) throw err;
    if (opts.offline !== "use-cache") {
      throw new PfsError(err.code, `panaversity-fs: cannot load book "${opts.bookId}": ${err.message} (set offline: "use-cache" to build from a complete local cache instead).`, err.details, { cause: err });
    }
    return loadFromCache(opts, err, started);
  }
}
