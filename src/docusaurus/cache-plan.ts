/**
 * Pure: what a load must do, given what the journal says the book is (DesiredState), what the last
 * successful load recorded (CacheManifest) and, when the cache is fully checked, what is on disk now
 * (stats). No I/O here.
 */
import { sha256Hex } from "../hashing/index.js";
import type { OverlayFile, SizedPlanFile } from "../store/plan.js";
import { mainViewKey, userViewKey, userViewPrefix, type BookFile, type DesiredState, type ViewSpec } from "./cache-layout.js";

/**
 * 2: the manifest holds the base file list and overlays, so a load can apply a delta plan to it.
 * 3: it is kept as a small head (all an unchanged load reads), the file lists and the summary texts.
 */
export const CACHE_MANIFEST_VERSION = 3;

export interface FileStat {
  size: number;
  mtimeMs: number;
  ino: number;
}

export interface CacheManifest {
  version: typeof CACHE_MANIFEST_VERSION;
  bookId: string;
  /** Base manifest hash from the journal (DESIGN 4.4): the next load's planBuild target. */
  manifestHash: string;
  /** The book's audit sequence number the load saw. */
  seq: number;
  /** loadFingerprint: changes when the base or an overlay of the build's users changes. */
  fingerprint: string;
  /** The base files at manifestHash, path → [hash, size]: what the next plan is applied to. */
  base: Record<string, [string, number]>;
  /** The overlays of the build's users (previewUser and overlayUsers) at this load. */
  overlays: OverlayFile[];
  /** The options that shaped the views; a cache built for other views is not complete for these. */
  viewsKey: string;
  /** The views materialized ("main", "user:<id>"). */
  views: string[];
  pages: number;
  /** target → hash and the stat it had when written. */
  targets: Record<string, { hash: string; bookPath: string; stat: FileStat }>;
  /** object hash → stat when last verified. */
  objects: Record<string, FileStat>;
  /** `${viewKey}|${lesson}` → summary hash. */
  summaries: Record<string, string>;
  writtenAt: string;
}

/** The file lists of a manifest: what a delta or full load reads and an unchanged load does not. */
export type CacheManifestFiles = Pick<CacheManifest, "base" | "targets" | "objects" | "summaries">;

/**
 * The manifest without its file lists, plus what an unchanged load needs of them, and the digests that
 * tie the head to the lists and summary texts written with it (one load's files, never a mix of two).
 */
export interface CacheManifestHead extends Omit<CacheManifest, keyof CacheManifestFiles> {
  objectCount: number;
  /** Cache-relative view files that are overlay pages (compiled in safe mode). */
  overlayTargets: string[];
  filesDigest: string;
  summariesDigest: string;
}

/** The head of a manifest whose lists serialize to `files` and summary texts to `summaries`. */
export function manifestHead(m: CacheManifest, overlayTargets: Iterable<string>, files: string, summaries: string): CacheManifestHead {
  const { base: _b, targets: _t, objects, summaries: _s, ...rest } = m;
  return { ...rest, objectCount: Object.keys(objects).length, overlayTargets: [...overlayTargets].sort(), filesDigest: sha256Hex(files), summariesDigest: sha256Hex(summaries) };
}

export function sameStat(a: FileStat | null | undefined, b: FileStat | null | undefined): boolean {
  return !!a && !!b && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ino === b.ino;
}

export interface ObjectPlan {
  /** Present and unchanged since they were verified: reuse without reading. */
  trusted: string[];
  /** Present but unknown or changed since verification: re-hash before reuse. */
  verify: string[];
  /** Not in the cache: GET from storage. */
  missing: string[];
}

/** Which of the wanted objects (hash → size) can be reused, which must be re-hashed, which must be fetched. */
export function planObjects(
  wanted: ReadonlyMap<string, number>,
  previous: Pick<CacheManifest, "objects"> | null,
  stats: ReadonlyMap<string, FileStat | null>,
): ObjectPlan {
  const plan: ObjectPlan = { trusted: [], verify: [], missing: [] };
  for (const [hash, size] of [...wanted].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const stat = stats.get(hash);
    if (!stat) plan.missing.push(hash);
    else if (stat.size === size && sameStat(previous?.objects[hash], stat)) plan.trusted.push(hash);
    else plan.verify.push(hash);
  }
  return plan;
}

export interface TargetPlan {
  /** Targets whose file must be (re)written: new, changed hash, or touched/missing on disk. */
  write: string[];
  /** Already right. */
  keep: string[];
  /** Files on disk that the book no longer has (deleted or renamed pages and assets). */
  remove: string[];
}

/**
 * A target is kept only when the last load wrote the same hash there and the file on disk is still
 * the very file it wrote (same inode, size and mtime); anything else is rewritten. Files found on disk
 * that are not wanted any more are removed, whether or not a manifest mentions them (a crashed load
 * may have left them).
 */
export function planTargets(
  desired: DesiredState,
  previous: CacheManifest | null,
  onDisk: ReadonlyMap<string, FileStat>,
): TargetPlan {
  const plan: TargetPlan = { write: [], keep: [], remove: [] };
  for (const [target, want] of desired.targets) {
    const had = previous?.targets[target];
    if (had && had.hash === want.hash && sameStat(had.stat, onDisk.get(target))) plan.keep.push(target);
    else plan.write.push(target);
  }
  for (const target of onDisk.keys()) if (!desired.targets.has(target)) plan.remove.push(target);
  plan.write.sort();
  plan.keep.sort();
  plan.remove.sort();
  return plan;
}

/** Objects the new manifest no longer references (safe to delete once it is persisted). */
export function unreferencedObjects(onDisk: Iterable<string>, desired: DesiredState): string[] {
  return [...onDisk].filter((h) => !desired.objects.has(h)).sort();
}

/** Describes which views a set of options produces; part of the cache's identity. */
export function viewsKey(opts: { bookId: string; previewUser?: string; overlayUsers: string[]; includeSummaries: boolean; overlayComponents?: readonly string[] }): string {
  // The overlay allowlist decides which overlay pages are inert: a cache built under another one is not this view.
  return JSON.stringify([opts.bookId, opts.previewUser ?? null, [...opts.overlayUsers].sort(), opts.includeSummaries, [...(opts.overlayComponents ?? [])].sort()]);
}

/** Changes exactly when the site's input does: the base manifest hash or an overlay of the build's users. */
export function loadFingerprint(manifestHash: string, overlays: readonly OverlayFile[]): string {
  const lines = overlays.map((o) => `${o.userId}|${o.path}:${o.hash}`).sort();
  return sha256Hex([manifestHash, ...lines].join("\n"));
}

/** The cache's base list with a plan applied: the book's base files now. */
export function applyLoadPlan(base: Record<string, [string, number]>, files: readonly SizedPlanFile[]): Map<string, BookFile> {
  const out = new Map<string, BookFile>();
  for (const [path, [hash, size]] of Object.entries(base)) out.set(path, { path, hash, size });
  for (const f of files) {
    if (f.currentHash === null) out.delete(f.path);
    else out.set(f.path, { path: f.path, hash: f.currentHash, size: f.size ?? 0 });
  }
  return out;
}

/**
 * The views a build shows: the main one (the base, with previewUser's overlays where they exist) and
 * one per overlay user holding only that user's overlays (the rest of a user's book is the base page)
 * and the base summaries of those pages.
 */
export function viewsOf(base: ReadonlyMap<string, BookFile>, overlays: readonly OverlayFile[], opts: { previewUser?: string; overlayUsers: string[] }): ViewSpec[] {
  const of = (user: string) => overlays.filter((o) => o.userId === user).map((o) => ({ path: o.path, hash: o.hash, size: o.size }));
  const main = new Map(base);
  if (opts.previewUser !== undefined) for (const f of of(opts.previewUser)) main.set(f.path, f);
  /** A user's pages, plus the base summaries of those pages (summaries are metadata, not pages) unless the user has their own. */
  const userFiles = (user: string): BookFile[] => {
    const own = new Map(of(user).map((f) => [f.path, f]));
    for (const path of [...own.keys()]) {
      const stem = path.replace(/\.mdx?$/, "");
      if (stem === path) continue;
      for (const summary of [`${stem}.summary.md`, `${stem}.summary.mdx`]) {
        const b = base.get(summary);
        if (b && !own.has(summary)) own.set(summary, b);
      }
    }
    return [...own.values()];
  };
  return [
    { key: mainViewKey(), user: opts.previewUser, prefix: "", files: [...main.values()] },
    ...opts.overlayUsers.map((user) => ({ key: userViewKey(user), user, prefix: userViewPrefix(user), files: userFiles(user) })),
  ];
}

/** What a delta load changes on disk, from the last load's manifest alone (no directory walk). */
export interface DeltaPlan {
  /** Targets that are new or whose hash changed. */
  write: string[];
  /** Targets the last load wrote that the book no longer has. */
  remove: string[];
  /** Objects wanted now that the last load did not hold, hash → size. */
  newObjects: Map<string, number>;
  /** Objects the last load held that nothing wants any more (deleted after the manifest is written). */
  dropObjects: string[];
}

export function planDelta(desired: DesiredState, previous: Pick<CacheManifest, "targets" | "objects">): DeltaPlan {
  const write: string[] = [];
  for (const [target, want] of desired.targets) if (previous.targets[target]?.hash !== want.hash) write.push(target);
  const remove = Object.keys(previous.targets).filter((t) => !desired.targets.has(t));
  const newObjects = new Map([...desired.objects].filter(([hash]) => !previous.objects[hash]));
  const dropObjects = Object.keys(previous.objects).filter((h) => !desired.objects.has(h));
  return { write: write.sort(), remove: remove.sort(), newObjects, dropObjects: dropObjects.sort() };
}

/** What one load does to the cache: objects to check or fetch, view files to write and remove, objects to drop. */
export interface CacheWork {
  /** Objects the load needs on disk (hash → size). */
  wanted: ReadonlyMap<string, number>;
  /** Stats of the wanted objects found on disk (for planObjects). */
  checkStats: ReadonlyMap<string, FileStat>;
  write: string[];
  remove: string[];
  dropObjects: string[];
}

/** A full check: from a walk of the whole cache. */
export function planFullWork(desired: DesiredState, previous: CacheManifest | null, objectStats: ReadonlyMap<string, FileStat>, targetStats: ReadonlyMap<string, FileStat>): CacheWork {
  const targets = planTargets(desired, previous, targetStats);
  return { wanted: desired.objects, checkStats: objectStats, write: targets.write, remove: targets.remove, dropObjects: unreferencedObjects(objectStats.keys(), desired) };
}

/** The objects a delta load touches: the new ones and those of every target it writes (only these are stat-ed). */
export function touchedObjects(desired: DesiredState, delta: DeltaPlan): Map<string, number> {
  const touched = new Map(delta.newObjects);
  for (const target of delta.write) touched.set(desired.targets.get(target)!.hash, desired.targets.get(target)!.size);
  return touched;
}

/** A delta load: from the manifest and the plan alone, plus the stats of the touched objects. */
export function planDeltaWork(delta: DeltaPlan, touched: ReadonlyMap<string, number>, fresh: ReadonlyMap<string, FileStat>): CacheWork {
  return { wanted: touched, checkStats: fresh, write: delta.write, remove: delta.remove, dropObjects: delta.dropObjects };
}

export interface ManifestParts {
  bookId: string;
  viewsKey: string;
  views: string[];
  desired: DesiredState;
  plan: { manifestHash: string; seq: number; overlays: OverlayFile[] };
  base: ReadonlyMap<string, BookFile>;
  fingerprint: string;
  /** Stats known before this load wrote anything (walked, or carried over from the last manifest). */
  targetStats: ReadonlyMap<string, FileStat>;
  /** Targets this load wrote, with their new stats. */
  written: ReadonlyMap<string, FileStat>;
  objectStats: ReadonlyMap<string, FileStat>;
  writtenAt: string;
}

/** The cache manifest a load persists last: it describes only what is really on disk. */
export function buildManifest(p: ManifestParts): CacheManifest {
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
    bookId: p.bookId,
    manifestHash: p.plan.manifestHash,
    seq: p.plan.seq,
    fingerprint: p.fingerprint,
    viewsKey: p.viewsKey,
    views: p.views,
    pages: p.desired.pages,
    base: Object.fromEntries([...p.base.values()].map((f) => [f.path, [f.hash, f.size]])),
    overlays: p.plan.overlays,
    targets,
    objects,
    summaries: Object.fromEntries(p.desired.summaries),
    writtenAt: p.writtenAt,
  };
}

/** "content/a.md, content/b.md and 3 more": the pages an object serves, for error messages. */
export function pagesUsing(desired: DesiredState, hash: string): string {
  const paths = [...desired.targets.values()].filter((t) => t.hash === hash).map((t) => t.bookPath);
  const summaries = [...desired.summaries].filter(([, h]) => h === hash).map(([k]) => `summary of ${k.split("|")[1]}`);
  const all = [...new Set([...paths, ...summaries])];
  return all.length ? all.slice(0, 3).join(", ") + (all.length > 3 ? ` and ${all.length - 3} more` : "") : "an unknown page";
}
