/**
 * The executor of one content load: asks the book source for the plan, gathers the stats the pure
 * planner needs (cache-plan.ts), and does what it decided: fetch objects through p-limit (retried with
 * the storage retry policy), link view files, remove deleted ones, persist the manifest last.
 */
import { join } from "node:path";
import { rm } from "node:fs/promises";
import pLimit, { type LimitFunction } from "p-limit";
import { PfsError, isPfsError } from "../errors/index.js";
import { retrying } from "../blobs/retry.js";
import { hashFile, removeAndPrune, writeFileAtomic } from "../fsutil/index.js";
import { manifestHash as manifestHashOf } from "../store/manifest.js";
import { STATIC_DIR, VIEW_DIR, desiredState, objectFile, type BookFile, type DesiredState } from "./cache-layout.js";
import {
  applyLoadPlan,
  buildManifest,
  loadFingerprint,
  pagesUsing,
  planDelta,
  planDeltaWork,
  planFullWork,
  planObjects,
  touchedObjects,
  viewsKey,
  viewsOf,
  type CacheManifest,
  type CacheWork,
  type FileStat,
} from "./cache-plan.js";
import { listObjects, type StoredManifest, readManifestFiles, readManifestHead, readSummaryTexts, statOrNull, walkFiles, writeManifest } from "./cache-fs.js";
import { overlayTargetsOf, placeTarget } from "./overlay-safety.js";
import { summaryTextsFor, writeReport } from "./offline-load.js";
import type { LoadMode, LoadStats } from "./report.js";
import type { JournalIo, LoadPlan, SourceSession } from "./source/types.js";
import type { SyncOptions, SyncResult } from "./sync.js";

/** Present while a load changes the cache; found at the start of a load, it calls for a full check. */
export const LOAD_MARKER_FILE = "load-in-progress";

export function buildUsers(opts: Pick<SyncOptions, "previewUser" | "overlayUsers">): string[] {
  return [...(opts.previewUser !== undefined ? [opts.previewUser] : []), ...opts.overlayUsers];
}

interface JournalState {
  mode: LoadMode;
  plan: LoadPlan;
  base: Map<string, BookFile>;
}

/** planLoad through the source, counting what the journal returned over every call of one load. */
function journalReader(source: SourceSession, opts: SyncOptions) {
  const io: JournalIo = { queries: 0, rows: 0 };
  const read = async (targetManifestHash?: string) => {
    const plan = await source.planLoad({ bookId: opts.bookId, targetManifestHash, userIds: buildUsers(opts) });
    io.queries += plan.io.queries;
    io.rows += plan.io.rows;
    return plan;
  };
  return { io, read };
}

/**
 * The book now: the cache's base list with the plan since its manifest applied ("delta"; `since` is
 * that plan when already read), or the whole list when the cache has no usable manifest or the journal
 * does not know its hash ("snapshot").
 */
async function readJournal(read: (target?: string) => Promise<LoadPlan>, opts: SyncOptions, previous: CacheManifest | null, since: LoadPlan | null): Promise<JournalState> {
  const snapshot = (plan: LoadPlan): JournalState => ({
    mode: "snapshot",
    plan,
    base: new Map(plan.files.map((f) => [f.path, { path: f.path, hash: f.currentHash!, size: f.size! }])),
  });
  if (!previous || opts.journalRead === "snapshot") return snapshot(await read());
  const plan = since ?? (await read(previous.manifestHash));
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
  return { mode: "delta", plan, base };
}

/** The figures a load counts itself; the rest of LoadStats comes from the plan and the clock. */
type Counts = Omit<LoadStats, "bookId" | "manifestHash" | "ms" | "offline" | "mode" | "verified" | "journal">;
type Stat = (verified: boolean, s: Counts) => LoadStats;

export async function runLoad(source: SourceSession, opts: SyncOptions, started: number, remember: (manifestHash: string) => void): Promise<SyncResult> {
  const { cacheDir } = opts;
  const stored = await readManifestHead(cacheDir);
  const head = stored && stored.bookId === opts.bookId && stored.viewsKey === viewsKey(opts) ? stored : null;
  // A load that stopped half-way left this marker: what it touched is known only to a full check.
  const interrupted = (await statOrNull(join(cacheDir, LOAD_MARKER_FILE))) !== null;
  const { io, read } = journalReader(source, opts);
  const since = head && opts.journalRead !== "snapshot" ? await read(head.manifestHash) : null;
  let checkAll = interrupted || opts.verifyCache === true;
  const statsOf = (manifestHash: string, mode: LoadMode, verified: boolean, s: Counts): LoadStats => ({ bookId: opts.bookId, manifestHash, ...s, ms: Date.now() - started, offline: false, mode, verified, journal: io });

  // Nothing changed and nothing to check: only the manifest's head and the summary texts are read, no file is even stat-ed.
  if (since && !since.warning && since.status === "unchanged" && !checkAll && head!.fingerprint === loadFingerprint(since.manifestHash, since.overlays)) {
    remember(since.manifestHash);
    try {
      const summaries = await readSummaryTexts(cacheDir, head!);
      const stats = statsOf(since.manifestHash, "delta", false, { pages: head!.pages, fetched: 0, reused: head!.objectCount, written: 0, deleted: 0, bytes: 0, views: head!.views, repaired: 0 });
      await writeReport(cacheDir, stats);
      return { stats, fingerprint: head!.fingerprint, summaries, overlayFiles: head!.overlayTargets };
    } catch (err) {
      opts.warn?.(`panaversity-fs: the cached summaries are unreadable (${(err as Error).message}); checking the whole cache.`);
      checkAll = true;
    }
  }
  const previous = head && (await readManifestFiles(cacheDir, head));
  const { mode, plan, base } = await readJournal(read, opts, previous, previous ? since : null);
  const full = mode === "snapshot" || !previous || checkAll;
  remember(plan.manifestHash);
  const stat: Stat = (verified, s) => statsOf(plan.manifestHash, mode, verified, s);
  return applyChanges(source, opts, { previous, plan, base, fingerprint: loadFingerprint(plan.manifestHash, plan.overlays), full, stat });
}

interface ChangeInput {
  previous: StoredManifest | null;
  plan: LoadPlan;
  base: Map<string, BookFile>;
  fingerprint: string;
  full: boolean;
  stat: Stat;
}

async function applyChanges(source: SourceSession, opts: SyncOptions, c: ChangeInput): Promise<SyncResult> {
  const { cacheDir } = opts;
  const views = viewsOf(c.base, c.plan.overlays, opts);
  const desired = desiredState(views, { includeSummaries: opts.includeSummaries });
  const safety = { components: opts.overlayComponents ?? [], overlayTargets: overlayTargetsOf(desired.targets, c.plan.overlays, opts.previewUser) };
  const limit = pLimit(opts.concurrency);
  await writeFileAtomic(join(cacheDir, LOAD_MARKER_FILE), `${new Date().toISOString()}\n`);

  const { work, objectStats, targetStats } = await gatherWork(cacheDir, desired, c.full ? null : c.previous!, c.previous, limit);
  const fetched = await fetchMissing(source, opts, desired, c.previous, work, objectStats, limit);

  // Views: write changed targets, remove the ones the book no longer has.
  const written = new Map<string, FileStat>();
  await Promise.all(
    work.write.map((target) =>
      limit(async () => {
        const want = desired.targets.get(target)!;
        const unsafe = await placeTarget(cacheDir, target, want, safety);
        if (unsafe.length) opts.warn?.(`panaversity-fs: overlay ${want.bookPath} (${target}) is not safe markdown (${unsafe[0]!.line}:${unsafe[0]!.column} ${unsafe[0]!.construct}); built as an inert page.`);
        written.set(target, (await statOrNull(join(cacheDir, target)))!);
      }),
    ),
  );
  for (const target of work.remove) await removeAndPrune(join(cacheDir, target), join(cacheDir, target.split("/")[0]!));

  // The manifest, last: it describes only what is really on disk now.
  const manifest = buildManifest({
    bookId: opts.bookId,
    viewsKey: viewsKey(opts),
    views: views.map((v) => v.key),
    desired,
    plan: c.plan,
    base: c.base,
    fingerprint: c.fingerprint,
    targetStats,
    written,
    objectStats,
    writtenAt: new Date().toISOString(),
  });
  // A full check reads every summary from its (just verified) object; a delta reuses the texts of the objects it kept.
  const reuse = !c.full && c.previous ? { hashes: c.previous.summaries, texts: await readSummaryTexts(cacheDir, c.previous).catch(() => new Map<string, string>()) } : null;
  const summaries = await summaryTextsFor(cacheDir, desired.summaries, reuse, limit);
  await writeManifest(cacheDir, manifest, safety.overlayTargets, summaries);
  for (const hash of work.dropObjects) await rm(join(cacheDir, objectFile(hash)), { force: true });
  await rm(join(cacheDir, LOAD_MARKER_FILE), { force: true });

  const stats = c.stat(c.full, {
    pages: desired.pages,
    fetched: fetched.count,
    reused: desired.objects.size - fetched.count,
    written: work.write.length,
    deleted: work.remove.length,
    bytes: fetched.bytes,
    views: manifest.views,
    repaired: fetched.repaired,
  });
  await writeReport(cacheDir, stats);
  return { stats, fingerprint: c.fingerprint, summaries, overlayFiles: [...safety.overlayTargets] };
}

/** The stats the planner needs: a walk of the whole cache (full), or only the touched objects' (delta). */
async function gatherWork(cacheDir: string, desired: DesiredState, deltaFrom: CacheManifest | null, previous: CacheManifest | null, limit: LimitFunction) {
  if (!deltaFrom) {
    const objectStats = await listObjects(cacheDir);
    const targetStats = await walkFiles(cacheDir, [VIEW_DIR, STATIC_DIR]);
    return { work: planFullWork(desired, previous, objectStats, targetStats), objectStats, targetStats };
  }
  const delta = planDelta(desired, deltaFrom);
  const touched = touchedObjects(desired, delta);
  const fresh = new Map<string, FileStat>();
  await Promise.all(
    [...touched.keys()].map((hash) =>
      limit(async () => {
        const s = await statOrNull(join(cacheDir, objectFile(hash)));
        if (s) fresh.set(hash, s);
      }),
    ),
  );
  const objectStats = new Map([...Object.entries(deltaFrom.objects), ...fresh]);
  const targetStats = new Map(Object.entries(deltaFrom.targets).map(([t, e]) => [t, e.stat]));
  return { work: planDeltaWork(delta, touched, fresh), objectStats, targetStats };
}

/** Reuses what the cache holds (re-hashing anything unknown or changed since it was verified), fetches the rest. */
async function fetchMissing(source: SourceSession, opts: SyncOptions, desired: DesiredState, previous: CacheManifest | null, work: CacheWork, objectStats: Map<string, FileStat>, limit: LimitFunction) {
  const { cacheDir } = opts;
  const objectPlan = planObjects(work.wanted, previous, work.checkStats);
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
        const s = await fetchObject(source, opts, hash, desired);
        bytes += s.size; // not `bytes += await …`: that reads bytes before the await and loses parallel sums
        objectStats.set(hash, s);
      }),
    ),
  );
  return { count: missing.length, bytes, repaired };
}

/**
 * GETs one object into the cache (temp + rename, so only bytes the source verified are ever used);
 * transient failures and corrupt transfers are retried (src/blobs/retry.ts). Returns its stat.
 */
async function fetchObject(source: SourceSession, opts: SyncOptions, hash: string, desired: DesiredState): Promise<FileStat> {
  const file = join(opts.cacheDir, objectFile(hash));
  try {
    await retrying(
      async () => writeFileAtomic(file, await source.openObject({ bookId: opts.bookId, hash, userIds: buildUsers(opts) })),
      (err) => isPfsError(err, "STORAGE_UNAVAILABLE") || isPfsError(err, "INTEGRITY_ERROR"),
      { maxAttempts: opts.fetchAttempts },
    );
  } catch (err) {
    const pages = pagesUsing(desired, hash);
    if (isPfsError(err, "NOT_FOUND")) {
      throw new PfsError("INTEGRITY_ERROR", `panaversity-fs: object ${hash} for ${pages} is missing from storage (the journal points at it).`, { hash, pages }, { cause: err });
    }
    if (isPfsError(err)) throw new PfsError(err.code, `${err.message} (while fetching ${pages})`, { ...err.details, pages }, { cause: err });
    throw err;
  }
  return (await statOrNull(file))!;
}
