/**
 * Garbage collection of storage: objects no journal row points to, and temporary uploads left by
 * writes that died, once they are older than a grace period. The grace period is what makes this
 * safe beside writers: a write uploads its object before it commits, so a young unreferenced
 * object may be one that is about to be referenced. A write that reuses an existing object
 * re-stores it when it is older than REFRESH_AFTER_MS (10 min, blobs/blob-store.ts), so any grace
 * longer than that plus the longest write is race-free; shorter graces are for offline maintenance.
 */
import pLimit from "p-limit";
import { objectKey, TEMP_PREFIX } from "../blobs/index.js";
import { isPfsError, PfsError } from "../errors/index.js";
import { journalError } from "../journal/db.js";
import { referencedHashes } from "../journal/queries.js";
import type { StoreContext } from "./context.js";

export const DEFAULT_GC_GRACE_SECONDS = 24 * 60 * 60;
const DELETE_CONCURRENCY = 8;

export interface GcInput {
  /** Only objects older than this are removed (default 24 h). */
  graceSeconds?: number;
  /** Report what would be removed, remove nothing. */
  dryRun?: boolean;
}

export interface GcReport {
  dryRun: boolean;
  graceSeconds: number;
  /** Storage keys removed (or that would be, with dryRun): objects and stale temporary uploads. */
  deleted: string[];
  deletedBytes: number;
  kept: { referenced: number; fresh: number };
}

export interface StoredObject {
  key: string;
  /** The content hash for objects, null for temporary uploads. */
  hash: string | null;
  size: number;
  lastModified: Date;
}

/** Pure: which stored objects may go. Referenced objects always stay; the rest stay while young. */
export function decideGc(objects: StoredObject[], referenced: Set<string>, cutoff: Date) {
  const remove: StoredObject[] = [];
  let keptReferenced = 0;
  let keptFresh = 0;
  for (const o of objects) {
    if (o.hash !== null && referenced.has(o.hash)) keptReferenced++;
    else if (o.lastModified.getTime() > cutoff.getTime()) keptFresh++;
    else remove.push(o);
  }
  return { remove, keptReferenced, keptFresh };
}

export async function gcOp(ctx: StoreContext, input: GcInput = {}): Promise<GcReport> {
  const graceSeconds = input.graceSeconds ?? DEFAULT_GC_GRACE_SECONDS;
  if (!Number.isFinite(graceSeconds) || graceSeconds < 0) throw new PfsError("INVALID_ARGUMENT", "graceSeconds must be a number of seconds, 0 or more.");
  const dryRun = input.dryRun ?? false;
  const cutoff = new Date(Date.now() - graceSeconds * 1000);

  // List storage first, then read the references: a write committing in between is then seen as referenced.
  const stored: StoredObject[] = [];
  for await (const o of ctx.blobs.list()) stored.push({ key: objectKey(o.hash), hash: o.hash, size: o.size, lastModified: o.lastModified });
  for await (const o of ctx.blobs.storage.list(TEMP_PREFIX)) stored.push({ key: o.key, hash: null, size: o.size, lastModified: o.lastModified });
  const referenced = await references(ctx);
  const { remove, keptReferenced, keptFresh } = decideGc(stored, referenced, cutoff);

  let doomed = remove;
  if (!dryRun && remove.length > 0) {
    // Read the references once more right before deleting, to narrow the window for a concurrent commit.
    const again = await references(ctx);
    doomed = remove.filter((o) => o.hash === null || !again.has(o.hash));
    const limit = pLimit(DELETE_CONCURRENCY);
    await Promise.all(doomed.map((o) => limit(() => ctx.blobs.storage.delete(o.key))));
  }
  return {
    dryRun,
    graceSeconds,
    deleted: doomed.map((o) => o.key),
    deletedBytes: doomed.reduce((n, o) => n + o.size, 0),
    kept: { referenced: keptReferenced + (remove.length - doomed.length), fresh: keptFresh },
  };
}

async function references(ctx: StoreContext): Promise<Set<string>> {
  try {
    return await referencedHashes(ctx.journal.db);
  } catch (err) {
    throw isPfsError(err) ? err : journalError(err, ctx.journal.description);
  }
}
