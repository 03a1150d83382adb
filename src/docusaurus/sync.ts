/**
 * One content load. With a complete cache: one planLoad (planBuild since the cache's manifest hash, plus
 * the build users' overlays) says what changed, and only the files it touches are stat-ed, fetched,
 * written or removed. A cold or unknown cache (or verifyCache) takes the full path: the whole file list,
 * and every cached file checked against the manifest. The cache manifest is persisted last. I/O lives
 * here; every decision is made by the pure functions it calls.
 */
import { join } from "node:path";
import { readFile, rm } from "node:fs/promises";
import pLimit from "p-limit";
import { openStore, type Store } from "../store/store.js";
import type { StoreOptions } from "../store/config.js";
import type { JournalIo, LoadPlan } from "../store/plan.js";
import { manifestHash as manifestHashOf } from "../store/manifest.js";
import { PfsError, isPfsError } from "../errors/index.js";
import { sha256Hex } from "../hashing/index.js";
import { MANIFEST_FILE, REPORT_FILE, STATIC_DIR, VIEW_DIR, desiredState, objectFile, type BookFile, type DesiredState } from "./cache-layout.js";
import {
  CACHE_MANIFEST_VERSION,
  applyLoadPlan,
  loadFingerprint,
  planDelta,
  planObjects,
  planTargets,
  unreferencedObjects,
  verifyCacheRequested,
  viewsKey,
  viewsOf,
  type CacheManifest,
  type FileStat,
} from "./cache-plan.js";
import { listObjects, placeObject, readManifest, statOrNull, walkFiles, writeVerified } from "./cache-fs.js";
import { hashFile, removeAndPrune, writeFileAtomic } from "../fsutil/index.js";
import type { LoadMode, LoadStats } from "./report.js";
import { isInertCopy, overlayTargetsOf, placeTarget } from "./overlay-safety.js";

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
  /**
   * Check every cached file (stat, and re-hash what changed since it was written) instead of only the
   * ones the plan touches. Also on with PFS_VERIFY_CACHE=1, and always when the manifest is missing.
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

/** Present while a load changes the cache; found at the start of a load, it calls for a full check. */
export const LOAD_MARKER_FILE = "load-in-progress";

const UNREACHABLE = new Set(["JOURNAL_UNAVAILABLE", "STORAGE_UNAVAILABLE"]);

export function isUnreachable(err: unknown): err is PfsError {
  return isPfsError(err) && UNREACHABLE.has(err.code);
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

function buildUsers(opts: Pick<SyncOptions, "previewUser" | "overlayUsers">): string[] {
  return [...(opts.previewUser !== undefined ? [opts.previewUser] : []), ...opts.overlayUsers];
}

/** The manifest hash of each cache's last load in this process: the dev-server poll plans from it. */
const lastManifestHash = new Map<string, string>();

/** Just the fingerprint (for the dev-server poller): one planLoad since the last load, no object reads. */
export async function currentFingerprint(opts: SyncOptions): Promise<string> {
  return withStore(opts.store, async (store) => {
    const plan = await store.planLoad({ bookId: opts.bookId, targetManifestHash: lastManifestHash.get(opts.cacheDir), userIds: buildUsers(opts) });
    return loadFingerprint(plan.manifestHash, plan.overlays);
  });
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

interface JournalState {
  mode: LoadMode;
  plan: LoadPlan;
  base: Map<string, BookFile>;
  io: JournalIo;
}

/**
 * The book now, from one planLoad: the cache's base list with the plan applied ("delta"), or the whole
 * list when the cache has no usable manifest or the journal does not know its hash ("snapshot").
 */
async function readJournal(store: Store, opts: SyncOptions, previous: CacheManifest | null): Promise<JournalState> {
  const userIds = buildUsers(opts);
  const io: JournalIo = { queries: 0, rows: 0 };
  const read = async (targetManifestHash?: string) => {
    const plan = await store.planLoad({ bookId: opts.bookId, targetManifestHash, userIds });
    io.queries += plan.io.queries;
    io.rows += plan.io.rows;
    return plan;
  };
  const snapshot = (plan: LoadPlan): JournalState => ({
    mode: "snapshot",
    plan,
    base: new Map(plan.files.map((f) => [f.path, { path: f.path, hash: f.currentHash!, size: f.size! }])),
    io,
  });
  if (!previous || opts.journalRead === "snapshot") return snapshot(await read());
  const plan = await read(previous.manifestHash);
  if (plan.warning) {
    opts.warn?.(`panaversity-fs: ${plan.warning} Loading the whole book and checking the cache.`);
    return snapshot(plan);
  }
  const base = applyLoadPlan(previous.base, plan.files);
  // Self-check: the cache's list plus the plan must be the journal's book; if not, never build from it.
  if (plan.status === "changed" && manifestHashOf(base.values()) !== plan.manifestHash) {
    opts.warn?.(`panaversity-fs: the cache's file list plus the journal's changes do not give manifest ${plan.manifestHash}; loading the whole book.`);
    return snapshot(await read());
  }
  return { mode: "delta", plan, base, io };
}

async function syncWith(store: Store, opts: SyncOptions, started: number): Promise<SyncResult> {
  const { cacheDir } = opts;
  const stored = await readManifest(cacheDir);
  const previous = stored && stored.bookId === opts.bookId && stored.viewsKey === viewsKey(opts) ? stored : null;
  // A load that stopped half-way left this marker: what it touched is known only to a full check.
  const interrupted = (await statOrNull(join(cacheDir, LOAD_MARKER_FILE))) !== null;
  const { mode, plan, base, io } = await readJournal(store, opts, previous);
  const mustCheck = mode === "snapshot" || !previous || interrupted || opts.verifyCache === true || verifyCacheRequested(process.env, process.argv);
  const fingerprint = loadFingerprint(plan.manifestHash, plan.overlays);
  lastManifestHash.set(cacheDir, plan.manifestHash);
  const stat = (verified: boolean, s: Omit<LoadStats, "bookId" | "manifestHash" | "ms" | "offline" | "mode" | "verified" | "journal">): LoadStats => ({
    bookId: opts.bookId,
    manifestHash: plan.manifestHash,
    ...s,
    ms: Date.now() - started,
    offline: false,
    mode,
    verified,
    journal: io,
  });

  // Nothing changed and nothing to check: no file is touched or even stat-ed.
  let full = mustCheck;
  if (!full && previous!.fingerprint === fingerprint) {
    try {
      const summaries = await readSummaries(cacheDir, { summaries: new Map(Object.entries(previous!.summaries)) }, false);
      const stats = stat(false, { pages: previous!.pages, fetched: 0, reused: Object.keys(previous!.objects).length, written: 0, deleted: 0, bytes: 0, views: previous!.views, repaired: 0 });
      await writeReport(cacheDir, stats);
      return { stats, fingerprint, summaries, overlayFiles: [...overlayTargetsOf(Object.entries(previous!.targets), previous!.overlays, opts.previewUser)] };
    } catch (err) {
      opts.warn?.(`panaversity-fs: a cached summary is unreadable (${(err as Error).message}); checking the whole cache.`);
      full = true;
    }
  }

  const views = viewsOf(base, plan.overlays, opts);
  const desired = desiredState(views, { includeSummaries: opts.includeSummaries });
  const safety = { components: opts.overlayComponents ?? [], overlayTargets: overlayTargetsOf(desired.targets, plan.overlays, opts.previewUser) };
  const limit = pLimit(opts.concurrency);
  await writeFileAtomic(join(cacheDir, LOAD_MARKER_FILE), `${new Date().toISOString()}\n`);

  // 1. What to do: from a walk of the whole cache (full), or from the manifest and the plan alone (delta,
  // where only the objects of the targets it writes are stat-ed).
  let wanted: ReadonlyMap<string, number>;
  let checkStats: ReadonlyMap<string, FileStat>;
  let objectStats: Map<string, FileStat>;
  let targetStats: ReadonlyMap<string, FileStat>;
  let toWrite: string[];
  let toRemove: string[];
  let dropObjects: string[];
  if (full) {
    objectStats = await listObjects(cacheDir);
    targetStats = await walkFiles(cacheDir, [VIEW_DIR, STATIC_DIR]);
    const targetPlan = planTargets(desired, previous, targetStats);
    [wanted, checkStats, toWrite, toRemove] = [desired.objects, objectStats, targetPlan.write, targetPlan.remove];
    dropObjects = unreferencedObjects(objectStats.keys(), desired);
  } else {
    const delta = planDelta(desired, previous!);
    const touched = new Map(delta.newObjects);
    for (const target of delta.write) touched.set(desired.targets.get(target)!.hash, desired.targets.get(target)!.size);
    const fresh = new Map<string, FileStat>();
    await Promise.all(
      [...touched.keys()].map((hash) =>
        limit(async () => {
          const s = await statOrNull(join(cacheDir, objectFile(hash)));
          if (s) fresh.set(hash, s);
        }),
      ),
    );
    objectStats = new Map([...Object.entries(previous!.objects), ...fresh]);
    targetStats = new Map(Object.entries(previous!.targets).map(([t, e]) => [t, e.stat]));
    [wanted, checkStats, toWrite, toRemove, dropObjects] = [touched, fresh, delta.write, delta.remove, delta.dropObjects];
  }

  // 2. Objects: reuse what the cache holds (re-hashing anything unknown or changed since it was verified), fetch the rest.
  const objectPlan = planObjects(wanted, previous, checkStats);
  let repaired = 0;
  const missing = [...objectPlan.missing];
  await Promise.all(
    objectPlan.verify.map((hash) =>
      limit(async () => {
        if ((await hashFile(join(cacheDir, objectFile(hash)))).hash === hash) return;
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
        bytes += size; // not `bytes += await …`: that reads bytes before the await and loses parallel sums
        objectStats.set(hash, (await statOrNull(join(cacheDir, objectFile(hash))))!);
      }),
    ),
  );

  // 3. Views: write changed targets, remove the ones the book no longer has.
  const written = new Map<string, FileStat>();
  await Promise.all(
    toWrite.map((target) =>
      limit(async () => {
        const want = desired.targets.get(target)!;
        const unsafe = await placeTarget(cacheDir, target, want, safety);
        if (unsafe.length) opts.warn?.(`panaversity-fs: overlay ${want.bookPath} (${target}) is not safe markdown (${unsafe[0]!.line}:${unsafe[0]!.column} ${unsafe[0]!.construct}); built as an inert page.`);
        written.set(target, (await statOrNull(join(cacheDir, target)))!);
      }),
    ),
  );
  for (const target of toRemove) await removeAndPrune(join(cacheDir, target), join(cacheDir, target.split("/")[0]!));

  // 4. The manifest, last: it describes only what is really on disk now.
  const manifest = buildManifest(opts, { views: views.map((v) => v.key), desired, plan, base, fingerprint, targetStats, written, objectStats });
  await writeFileAtomic(join(cacheDir, MANIFEST_FILE), JSON.stringify(manifest));
  for (const hash of dropObjects) await rm(join(cacheDir, objectFile(hash)), { force: true });
  await rm(join(cacheDir, LOAD_MARKER_FILE), { force: true });

  const summaries = await readSummaries(cacheDir, desired, false);
  const stats = stat(full, {
    pages: desired.pages,
    fetched: missing.length,
    reused: desired.objects.size - missing.length,
    written: toWrite.length,
    deleted: toRemove.length,
    bytes,
    views: manifest.views,
    repaired,
  });
  await writeReport(cacheDir, stats);
  return { stats, fingerprint, summaries, overlayFiles: [...safety.overlayTargets] };
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

interface ManifestParts {
  views: string[];
  desired: DesiredState;
  plan: LoadPlan;
  base: ReadonlyMap<string, BookFile>;
  fingerprint: string;
  /** Stats known before this load wrote anything (walked, or carried over from the last manifest). */
  targetStats: ReadonlyMap<string, FileStat>;
  /** Targets this load wrote, with their new stats. */
  written: ReadonlyMap<string, FileStat>;
  objectStats: ReadonlyMap<string, FileStat>;
}

function buildManifest(opts: SyncOptions, p: ManifestParts): CacheManifest {
  // Insertion order, not sorted: the manifest is read back by key, and sorting 20,000 keys costs a delta load time.
  const targets: CacheManifest["targets"] = {};
  for (const [target, want] of p.desired.targets) {
    const s = p.written.get(target) ?? p.targetStats.get(target);
    if (!s) throw new Error(`panaversity-fs: ${target} vanished from the cache while loading.`);
    targets[target] = { hash: want.hash, bookPath: want.bookPath, stat: s };
  }
  const objects: CacheManifest["objects"] = {};
  for (const hash of p.desired.objects.keys()) {
    const s = p.objectStats.get(hash);
    if (s) objects[hash] = s;
  }
  return {
    version: CACHE_MANIFEST_VERSION,
    bookId: opts.bookId,
    manifestHash: p.plan.manifestHash,
    seq: p.plan.seq,
    fingerprint: p.fingerprint,
    viewsKey: viewsKey(opts),
    views: p.views,
    pages: p.desired.pages,
    base: Object.fromEntries([...p.base.values()].map((f) => [f.path, [f.hash, f.size]])),
    overlays: p.plan.overlays,
    targets,
    objects,
    summaries: Object.fromEntries(p.desired.summaries),
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
  await writeFileAtomic(join(cacheDir, REPORT_FILE), JSON.stringify({ ...stats, at: new Date().toISOString() }, null, 2) + "\n");
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
  const overlayFiles = overlayTargetsOf(Object.entries(manifest.targets), manifest.overlays, opts.previewUser);
  for (const [target, entry] of Object.entries(manifest.targets)) {
    if (!onDisk.has(target)) refuse(`${target} (${entry.bookPath}) is missing`);
    const matches = (await hashFile(join(opts.cacheDir, target))).hash === entry.hash || (overlayFiles.has(target) && (await isInertCopy(opts.cacheDir, target, entry, opts.overlayComponents ?? [])));
    if (!matches) refuse(`${target} (${entry.bookPath}) does not match its hash (corrupt)`);
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
    mode: "offline",
    verified: true,
    journal: { queries: 0, rows: 0 },
  };
  await writeReport(opts.cacheDir, stats);
  return { stats, fingerprint: manifest.fingerprint, summaries, overlayFiles: [...overlayFiles] };
}
