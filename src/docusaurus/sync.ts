/**
 * One content load: snapshot the journal, fetch only missing objects, materialize the views, persist
 * the cache manifest last. I/O lives here; every decision is made by the pure functions it calls.
 */
import { join } from "node:path";
import { readFile, rm } from "node:fs/promises";
import pLimit from "p-limit";
import { openStore, type Store } from "../store/store.js";
import type { StoreOptions } from "../store/config.js";
import { PfsError, isPfsError } from "../errors/index.js";
import { sha256Hex } from "../hashing/index.js";
import {
  MANIFEST_FILE,
  REPORT_FILE,
  STATIC_DIR,
  VIEW_DIR,
  desiredState,
  mainViewKey,
  objectFile,
  userViewKey,
  userViewPrefix,
  type DesiredState,
  type ViewSpec,
} from "./layout.js";
import { CACHE_MANIFEST_VERSION, planObjects, planTargets, unreferencedObjects, viewsFingerprint, viewsKey, type CacheManifest, type FileStat } from "./plan.js";
import { hashFile, listObjects, placeObject, readManifest, removeAndPrune, statOrNull, walkFiles, writeAtomic, writeVerified } from "./cache-fs.js";
import type { LoadStats } from "./report.js";

export interface SyncOptions {
  bookId: string;
  /** Absolute cache folder. */
  cacheDir: string;
  store: StoreOptions;
  previewUser?: string;
  overlayUsers: string[];
  includeSummaries: boolean;
  concurrency: number;
  offline: "fail" | "use-cache";
  fetchAttempts: number;
  warn?: (message: string) => void;
}

export interface SyncResult {
  stats: LoadStats;
  fingerprint: string;
  /** `${viewKey}|${lesson book path}` → summary text. */
  summaries: Map<string, string>;
}

const UNREACHABLE = new Set(["JOURNAL_UNAVAILABLE", "STORAGE_UNAVAILABLE"]);

export function isUnreachable(err: unknown): err is PfsError {
  return isPfsError(err) && UNREACHABLE.has(err.code);
}

/** The views these options ask for, from snapshots that all saw the same committed state. */
export async function takeViews(store: Store, opts: Pick<SyncOptions, "bookId" | "previewUser" | "overlayUsers">): Promise<{ views: ViewSpec[]; manifestHash: string }> {
  for (let attempt = 0; ; attempt++) {
    const main = await store.snapshot({ bookId: opts.bookId, userId: opts.previewUser });
    const users = [];
    for (const user of opts.overlayUsers) users.push({ user, snap: await store.snapshot({ bookId: opts.bookId, userId: user }) });
    // Every view from the same committed state; under a stream of writes, give up after a few tries
    // (each view is still one consistent snapshot on its own).
    const consistent = users.every((u) => u.snap.seq === main.seq);
    if (consistent || attempt >= 4) {
      const views: ViewSpec[] = [
        { key: mainViewKey(), user: opts.previewUser, prefix: "", files: main.files },
        ...users.map(({ user, snap }) => ({ key: userViewKey(user), user, prefix: userViewPrefix(user), files: snap.files })),
      ];
      return { views, manifestHash: main.manifestHash };
    }
  }
}

/** Opens the store only for the duration of `fn` (an embedded journal allows one process at a time). */
export async function withStore<T>(options: StoreOptions, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore(options);
  try {
    return await fn(store);
  } finally {
    await store.close().catch(() => {});
  }
}

/** Just the fingerprint (for the dev-server poller): one snapshot per view, no object reads. */
export async function currentFingerprint(opts: SyncOptions): Promise<string> {
  return withStore(opts.store, async (store) => viewsFingerprint((await takeViews(store, opts)).views));
}

export async function syncBook(opts: SyncOptions): Promise<SyncResult> {
  const started = Date.now();
  try {
    return await withStore(opts.store, (store) => syncWith(store, opts, started));
  } catch (err) {
    if (!isUnreachable(err)) throw err;
    if (opts.offline !== "use-cache") {
      throw new PfsError(err.code, `panaversity-fs: cannot load book "${opts.bookId}": ${err.message} (set offline: "use-cache" to build from a complete local cache instead).`, err.details, { cause: err });
    }
    return loadFromCache(opts, err, started);
  }
}

async function syncWith(store: Store, opts: SyncOptions, started: number): Promise<SyncResult> {
  const { cacheDir } = opts;
  const { views, manifestHash } = await takeViews(store, opts);
  const desired = desiredState(views, { includeSummaries: opts.includeSummaries });
  const previous = await readManifest(cacheDir);
  const limit = pLimit(opts.concurrency);

  // 1. Objects: reuse what the cache holds (re-hashing anything that changed since it was verified), fetch the rest.
  const objectStats = await listObjects(cacheDir);
  const objectPlan = planObjects(desired, previous, objectStats);
  let repaired = 0;
  const missing = [...objectPlan.missing];
  await Promise.all(
    objectPlan.verify.map((hash) =>
      limit(async () => {
        if ((await hashFile(join(cacheDir, objectFile(hash)))) === hash) return;
        opts.warn?.(`panaversity-fs: cached object ${hash} is corrupt; fetching it again.`);
        await rm(join(cacheDir, objectFile(hash)), { force: true });
        missing.push(hash);
        repaired++;
      }),
    ),
  );
  let bytes = 0;
  await Promise.all(
    missing.map((hash) =>
      limit(async () => {
        const size = await fetchObject(store, hash, join(cacheDir, objectFile(hash)), desired, opts.fetchAttempts);
        bytes += size;
      }),
    ),
  );

  // 2. Views: write changed targets, remove the ones the book no longer has.
  const onDisk = await walkFiles(cacheDir, [VIEW_DIR, STATIC_DIR]);
  const targetPlan = planTargets(desired, previous, onDisk);
  await Promise.all(targetPlan.write.map((target) => limit(() => placeObject(cacheDir, desired.targets.get(target)!.hash, target))));
  for (const target of targetPlan.remove) {
    await removeAndPrune(join(cacheDir, target), join(cacheDir, target.split("/")[0]!));
  }

  // 3. The manifest, last: it describes only what is really on disk now.
  const fingerprint = viewsFingerprint(views);
  const manifest = await buildManifest(opts, views.map((v) => v.key), desired, manifestHash, fingerprint, onDisk, targetPlan.write);
  await writeAtomic(join(cacheDir, MANIFEST_FILE), JSON.stringify(manifest, null, 1));
  for (const hash of unreferencedObjects(objectStats.keys(), desired)) await rm(join(cacheDir, objectFile(hash)), { force: true });

  const summaries = await readSummaries(cacheDir, desired, false);
  const stats: LoadStats = {
    bookId: opts.bookId,
    manifestHash,
    pages: desired.pages,
    fetched: missing.length,
    reused: desired.objects.size - missing.length,
    written: targetPlan.write.length,
    deleted: targetPlan.remove.length,
    bytes,
    ms: Date.now() - started,
    views: views.map((v) => v.key),
    offline: false,
    repaired,
  };
  await writeReport(cacheDir, stats);
  return { stats, fingerprint, summaries };
}

/**
 * GET one object into the cache, streaming and verifying its SHA-256 on the way; transient failures
 * and corrupt transfers are retried. Returns the byte count.
 */
async function fetchObject(store: Store, hash: string, file: string, desired: DesiredState, attempts: number): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await writeVerified(file, await store.ctx.blobs.get(hash), hash);
    } catch (err) {
      const pages = pagesUsing(desired, hash);
      if (isPfsError(err, "NOT_FOUND")) {
        throw new PfsError("INTEGRITY_ERROR", `panaversity-fs: object ${hash} for ${pages} is missing from storage (the journal points at it).`, { hash, pages }, { cause: err });
      }
      const retryable = isPfsError(err, "STORAGE_UNAVAILABLE") || isPfsError(err, "INTEGRITY_ERROR");
      if (!retryable || attempt >= attempts) {
        if (isPfsError(err)) throw new PfsError(err.code, `${err.message} (while fetching ${pages})`, { ...err.details, pages }, { cause: err });
        throw err;
      }
      await new Promise((r) => setTimeout(r, 100 * 2 ** attempt));
    }
  }
}

function pagesUsing(desired: DesiredState, hash: string): string {
  const paths = [...desired.targets.values()].filter((t) => t.hash === hash).map((t) => t.bookPath);
  const summaries = [...desired.summaries].filter(([, h]) => h === hash).map(([k]) => `summary of ${k.split("|")[1]}`);
  const all = [...new Set([...paths, ...summaries])];
  return all.length ? all.slice(0, 3).join(", ") + (all.length > 3 ? ` and ${all.length - 3} more` : "") : "an unknown page";
}

async function buildManifest(
  opts: SyncOptions,
  views: string[],
  desired: DesiredState,
  manifestHash: string,
  fingerprint: string,
  onDisk: ReadonlyMap<string, FileStat>,
  written: string[],
): Promise<CacheManifest> {
  const rewritten = new Set(written);
  const targets: CacheManifest["targets"] = {};
  for (const [target, want] of [...desired.targets].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const s = rewritten.has(target) ? await statOrNull(join(opts.cacheDir, target)) : onDisk.get(target);
    if (!s) throw new Error(`panaversity-fs: ${target} vanished from the cache while loading.`);
    targets[target] = { hash: want.hash, bookPath: want.bookPath, stat: s };
  }
  const objects: CacheManifest["objects"] = {};
  for (const hash of [...desired.objects.keys()].sort()) {
    const s = await statOrNull(join(opts.cacheDir, objectFile(hash)));
    if (s) objects[hash] = s;
  }
  return {
    version: CACHE_MANIFEST_VERSION,
    bookId: opts.bookId,
    manifestHash,
    fingerprint,
    viewsKey: viewsKey(opts),
    views,
    pages: desired.pages,
    targets,
    objects,
    summaries: Object.fromEntries([...desired.summaries].sort(([a], [b]) => (a < b ? -1 : 1))),
    writtenAt: new Date().toISOString(),
  };
}

async function readSummaries(cacheDir: string, desired: Pick<DesiredState, "summaries">, verify: boolean): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const [key, hash] of desired.summaries) {
    const bytes = await readFile(join(cacheDir, objectFile(hash)));
    if (verify && sha256Hex(bytes) !== hash) throw new Error(`summary object ${hash} is corrupt`);
    out.set(key, bytes.toString("utf8"));
  }
  return out;
}

async function writeReport(cacheDir: string, stats: LoadStats): Promise<void> {
  await writeAtomic(join(cacheDir, REPORT_FILE), JSON.stringify({ ...stats, at: new Date().toISOString() }, null, 2) + "\n");
}

/**
 * offline: "use-cache" — the journal or storage is unreachable. The cache is used only when it is
 * complete for these options and every file still hashes to what the manifest says.
 */
async function loadFromCache(opts: SyncOptions, cause: PfsError, started: number): Promise<SyncResult> {
  const what = cause.code === "JOURNAL_UNAVAILABLE" ? "journal" : "storage";
  const refuse = (why: string): never => {
    throw new PfsError(cause.code, `panaversity-fs: the ${what} is unreachable (${cause.message}) and the local cache cannot be used: ${why}.`, { ...cause.details, cacheDir: opts.cacheDir }, { cause });
  };
  const manifest = await readManifest(opts.cacheDir);
  if (!manifest) return refuse(`there is no complete cache in ${opts.cacheDir}`);
  if (manifest.bookId !== opts.bookId || manifest.viewsKey !== viewsKey(opts)) {
    return refuse(`it was built for other options (book ${manifest.bookId}, views ${manifest.viewsKey})`);
  }
  const onDisk = await walkFiles(opts.cacheDir, [VIEW_DIR, STATIC_DIR]);
  for (const target of onDisk.keys()) if (!manifest.targets[target]) refuse(`${target} is not part of the last complete load (a load was interrupted)`);
  for (const [target, entry] of Object.entries(manifest.targets)) {
    if (!onDisk.has(target)) refuse(`${target} (${entry.bookPath}) is missing`);
    if ((await hashFile(join(opts.cacheDir, target))) !== entry.hash) refuse(`${target} (${entry.bookPath}) does not match its hash (corrupt)`);
  }
  let summaries: Map<string, string>;
  try {
    summaries = await readSummaries(opts.cacheDir, { summaries: new Map(Object.entries(manifest.summaries)) }, true);
  } catch (err) {
    return refuse(`a cached summary is missing or corrupt (${(err as Error).message})`);
  }
  opts.warn?.(
    `\n!!! panaversity-fs OFFLINE BUILD: the ${what} is unreachable (${cause.message}).\n` +
      `!!! Building book "${opts.bookId}" from the local cache of ${manifest.writtenAt} (manifest ${manifest.manifestHash.slice(0, 12)}); ` +
      `recent changes in the store are NOT included.\n`,
  );
  const stats: LoadStats = {
    bookId: opts.bookId,
    manifestHash: manifest.manifestHash,
    pages: manifest.pages,
    fetched: 0,
    reused: Object.keys(manifest.objects).length,
    written: 0,
    deleted: 0,
    bytes: 0,
    ms: Date.now() - started,
    views: manifest.views,
    offline: true,
    repaired: 0,
  };
  await writeReport(opts.cacheDir, stats);
  return { stats, fingerprint: manifest.fingerprint, summaries };
}
