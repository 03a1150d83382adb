/**
 * Garbage collection of storage: objects no journal row points to, and uploads left by writes that
 * died (temp objects, partial local temp files, open S3 multipart uploads), once they are older than
 * a grace period. The grace period is what makes this
 * safe beside writers: a write uploads its object before it commits, so a young unreferenced
 * object may be one that is about to be referenced. A write that reuses an existing object
 * re-stores it when it is older than REFRESH_AFTER_MS (10 min, blobs/blob-store.ts), so any grace
 * longer than that plus the longest write is race-free; shorter graces are for offline maintenance.
 */
import pLimit from "p-limit";
import { objectKey, TEMP_PREFIX, type IncompleteUpload } from "../blobs/index.js";
import { isPfsError, PfsError } from "../errors/index.js";
import { referencedHashes } from "../journal/queries.js";
import { inJournal, type StoreContext } from "./context.js";

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
  /** Unfinished uploads past grace removed (or that would be): partial local temp files, S3 multipart uploads. */
  abortedUploads: IncompleteUpload[];
  kept: { referenced: number; fresh: number };
}

/** A leftover of a write that died: a temp object (tmp/), a partial local file or an open S3 multipart upload. */
export interface TempUpload {
  kind: "temp-object" | IncompleteUpload["kind"];
  key: string;
  uploadId?: string;
  size: number;
  lastModified: Date;
  pastGrace: boolean;
}

/**
 * Everything a dead write can leave in storage, each judged against the grace cutoff (verify and gc
 * share it). `unchecked` says why unfinished uploads could not be listed (a server without the call).
 */
export async function listTempUploads(ctx: StoreContext, cutoff: Date): Promise<{ temps: TempUpload[]; unchecked?: string }> {
  const past = (d: Date) => d.getTime() <= cutoff.getTime();
  const temps: TempUpload[] = [];
  for await (const o of ctx.blobs.storage.list(TEMP_PREFIX)) temps.push({ kind: "temp-object", key: o.key, size: o.size, lastModified: o.lastModified, pastGrace: past(o.lastModified) });
  try {
    for await (const u of ctx.blobs.storage.listIncomplete()) temps.push({ ...u, pastGrace: past(u.lastModified) });
  } catch (err) {
    if (isPfsError(err) && err.details.unsupported === true) return { temps, unchecked: err.message };
    throw err;
  }
  return { temps };
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
  const { temps } = await listTempUploads(ctx, cutoff);
  for (const t of temps) if (t.kind === "temp-object") stored.push({ key: t.key, hash: null, size: t.size, lastModified: t.lastModified });
  const unfinished = temps.filter((t) => t.kind !== "temp-object");
  const abort: IncompleteUpload[] = unfinished.filter((t) => t.pastGrace).map(({ pastGrace: _, ...u }) => u as IncompleteUpload);
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
  if (!dryRun && abort.length > 0) {
    const limit = pLimit(DELETE_CONCURRENCY);
    await Promise.all(abort.map((u) => limit(() => ctx.blobs.storage.abortIncomplete(u))));
  }
  return {
    dryRun,
    graceSeconds,
    deleted: doomed.map((o) => o.key),
    deletedBytes: doomed.reduce((n, o) => n + o.size, 0) + abort.reduce((n, u) => n + u.size, 0),
    abortedUploads: abort,
    kept: { referenced: keptReferenced + (remove.length - doomed.length), fresh: keptFresh + (unfinished.length - abort.length) },
  };
}

async function references(ctx: StoreContext): Promise<Set<string>> {
  return inJournal(ctx, () => referencedHashes(ctx.journal.db));
}
