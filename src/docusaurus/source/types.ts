/**
 * All the plugin knows of the store (DESIGN 4.5 "One narrow source"): a load plan since a manifest,
 * with the overlays the build needs, and one object by hash, verified. Two implementations: direct
 * (journal + bucket, read-only) and HTTP (`pfs serve` with a read-only token for one book).
 */
import type { Readable } from "node:stream";
import type { LoadPlan } from "../../store/plan.js";

export type { LoadPlan, OverlayFile, SizedPlanFile, JournalIo } from "../../store/plan.js";

export interface LoadRequest {
  bookId: string;
  /** The manifest hash the cache holds (absent: a cold cache, the whole file list comes back). */
  targetManifestHash?: string;
  /** The build's previewUser and overlayUsers: their overlay rows come with the plan. */
  userIds: string[];
}

export interface ObjectRequest {
  bookId: string;
  hash: string;
  /** The users whose overlays the build reads (an object may be referenced only by an overlay). */
  userIds: string[];
}

/** What one load (or one dev-server poll) does with the store. */
export interface SourceSession {
  planLoad(request: LoadRequest): Promise<LoadPlan>;
  /**
   * The object's bytes as a stream that ends only when they hash to `hash` (it errors with
   * INTEGRITY_ERROR otherwise), so whoever writes it to a temp file and renames on success never
   * uses unverified bytes. Unreachable: STORAGE_UNAVAILABLE; not in the book: NOT_FOUND.
   */
  openObject(request: ObjectRequest): Promise<Readable>;
}

export interface BookSource {
  readonly kind: "direct" | "http";
  /** Where it reads from, without credentials (for messages). */
  readonly description: string;
  /**
   * Runs one load or poll. A source that can stay open does (and this is just `fn(self)`); the direct
   * source on an embedded journal opens it only for the duration, since one process at a time may hold it.
   * Unreachable journal or server: JOURNAL_UNAVAILABLE.
   */
  session<T>(fn: (session: SourceSession) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
