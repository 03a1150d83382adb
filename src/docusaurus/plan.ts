/**
 * Pure: what a load must do, given what the journal says the book is (DesiredState), what the last
 * successful load recorded (CacheManifest) and what is on disk now (stats). No I/O here.
 */
import { sha256Hex } from "../hashing/index.js";
import type { DesiredState } from "./layout.js";

export const CACHE_MANIFEST_VERSION = 1;

export interface FileStat {
  size: number;
  mtimeMs: number;
  ino: number;
}

export interface CacheManifest {
  version: typeof CACHE_MANIFEST_VERSION;
  bookId: string;
  /** Base manifest hash from the journal (DESIGN 4.4). */
  manifestHash: string;
  /** Hash over every view's file list, overlays included: changes when anything the site shows changes. */
  fingerprint: string;
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

/** Which objects can be reused, which must be re-hashed, which must be fetched. */
export function planObjects(
  desired: DesiredState,
  previous: CacheManifest | null,
  stats: ReadonlyMap<string, FileStat | null>,
): ObjectPlan {
  const plan: ObjectPlan = { trusted: [], verify: [], missing: [] };
  for (const [hash, size] of [...desired.objects].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
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
export function viewsKey(opts: { bookId: string; previewUser?: string; overlayUsers: string[]; includeSummaries: boolean }): string {
  return JSON.stringify([opts.bookId, opts.previewUser ?? null, [...opts.overlayUsers].sort(), opts.includeSummaries]);
}

/** Hash over every view's (path, hash) list, overlays included. Changes exactly when the site's input does. */
export function viewsFingerprint(views: { key: string; files: { path: string; hash: string }[] }[]): string {
  const lines: string[] = [];
  for (const view of [...views].sort((a, b) => (a.key < b.key ? -1 : 1))) {
    lines.push(`#${view.key}`);
    for (const f of [...view.files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) lines.push(`${f.path}:${f.hash}`);
  }
  return sha256Hex(lines.join("\n"));
}
